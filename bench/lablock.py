"""The machine-wide lab lock for benchmarks that create netns nodes or a lab.

Only one lab fits on a machine; integration tests and benchmarks queue on
/run/lock/labctl-lab.lock. `hold_lab_lock()` blocks until the lock is free and keeps it until
the process exits; `with lab_lock():` holds it for a block only. When the
benchmark already runs under `flock /run/lock/labctl-lab.lock ...`, it has inherited the
locked file and uses it (taking the lock again through a new open would wait forever).
SIGTERM is turned into SystemExit so the benchmark's cleanup (`finally:`) still runs.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import sys

LAB_LOCK = "/run/lock/labctl-lab.lock"


def _inherited_fd() -> int | None:
    """An open descriptor of the lock file this process inherited (from flock(1)), if any."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return None
    for name in names:
        try:
            if os.readlink(f"/proc/self/fd/{name}") == LAB_LOCK:
                return int(name)
        except OSError:
            continue
    return None


def _acquire(say) -> tuple[int, bool]:
    """The locked descriptor, and whether it was inherited (then it is not ours to close)."""
    fd = _inherited_fd()
    inherited = fd is not None
    if not inherited:
        os.makedirs(os.path.dirname(LAB_LOCK), exist_ok=True)
        fd = os.open(LAB_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        say(f"bench: waiting for the lab lock {LAB_LOCK} (another lab or integration test)")
        fcntl.flock(fd, fcntl.LOCK_EX)
    return fd, inherited


def _say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def hold_lab_lock(say=_say) -> int:
    """Hold the lab lock until the process exits; returns its descriptor."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: terminated"))
    return _acquire(say)[0]


@contextlib.contextmanager
def lab_lock(say=_say):
    """Hold the lab lock for the `with` block (waits for whoever holds it now)."""
    fd, inherited = _acquire(say)
    try:
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        if not inherited:
            os.close(fd)
