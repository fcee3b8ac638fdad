"""Integration tests need root and the node stack; elsewhere they are skipped with a reason."""
import os
import shutil

import pytest

NEEDED = ["ip", "unshare", "crun", "/usr/sbin/sshd"]


def pytest_collection_modifyitems(config, items):
    reason = None
    if os.geteuid() != 0:
        reason = "integration tests need root (they create network namespaces)"
    else:
        missing = [tool for tool in NEEDED if not shutil.which(tool)]
        if missing:
            reason = f"missing {', '.join(missing)}: run `make install`"
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))
