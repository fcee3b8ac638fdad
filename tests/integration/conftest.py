"""Integration tests need root and the node stack; elsewhere they are skipped with a reason.

Only one lab fits on a machine (fixed namespace names and addresses), so every integration
module holds the machine's lab lock while it runs: two pytest runs (or a benchmark wrapped in
`flock /run/lock/labctl-lab.lock ...`) queue instead of tearing down each other's lab.
"""
import fcntl
import os
import shutil

import pytest

from labtools import labctl

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


LAB_LOCK = "/run/lock/labctl-lab.lock"


@pytest.fixture(scope="module", autouse=True)
def machine_lab_lock(request):
    """Holds the machine-wide lab lock for the whole module (blocks until it is free).
    A module that creates no netns nodes opts out with `USES_LAB = False`."""
    if ("integration" not in str(request.node.fspath) or os.geteuid() != 0
            or not getattr(request.module, "USES_LAB", True)):
        yield
        return
    os.makedirs(os.path.dirname(LAB_LOCK), exist_ok=True)
    with open(LAB_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """An environment of one's own for labctl: a throwaway HOME and state directory; the lab is
    removed before (one left behind by an earlier run) and after the module."""
    home = tmp_path_factory.mktemp("home")
    state = tmp_path_factory.mktemp("state") / "lab"
    e = dict(os.environ, HOME=str(home), LABCTL_STATE_DIR=str(state))
    labctl("down", env=e)
    yield e
    labctl("down", env=e)


@pytest.fixture(scope="module")
def lab(env):
    """The default 3-node netns lab, up, with KUBECONFIG pointing at its admin kubeconfig."""
    up = labctl("up", env=env)
    assert up.returncode == 0, f"labctl up failed:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}"
    return dict(env, KUBECONFIG=labctl("kubeconfig", env=env).stdout.strip())
