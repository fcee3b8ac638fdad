"""The Vagrant tier is opt-in: `make test-vagrant` (or LABCTL_TEST_VAGRANT=1) runs it."""
import os
import shutil

import pytest

VAGRANT_TEST_TIMEOUT = 5400


def pytest_collection_modifyitems(config, items):
    reason = None
    if os.environ.get("LABCTL_TEST_VAGRANT") != "1":
        reason = "the Vagrant tier is opt-in: make test-vagrant (or LABCTL_TEST_VAGRANT=1)"
    elif os.geteuid() != 0:
        reason = "the Vagrant tier needs root (libvirt, the box build)"
    elif not shutil.which("vagrant") or not shutil.which("virsh"):
        reason = "vagrant/libvirt missing: run scripts/host-setup-vagrant.sh"
    for item in items:
        if "tests/vagrant" in str(item.fspath):
            item.add_marker(pytest.mark.vagrant)
            # the first test also pays for the box and `labctl up` (tens of minutes under
            # QEMU emulation): far more than the suite's default 600 s per test
            item.add_marker(pytest.mark.timeout(VAGRANT_TEST_TIMEOUT))
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))
