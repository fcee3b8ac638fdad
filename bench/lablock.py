"""The machine-wide lab lock for benchmarks that create netns nodes or a lab.

Only one lab fits on a machine; integration tests and benchmarks queue on
/run/lock/labctl-lab.lock. `hold_lab_lock()` blocks until the lock is free. When the
benchmark already runs under `flock /run/lock/labctl-lab.lock ...`, it has inherited the
locked file and uses it (taking the lock again through a new open would wait forever).
SIGTERM is turned into SystemExit so the benchmark's cleanup (`finally:`) still runs.
"""
from __future__ import annotations

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


def hold_lab_lock(say=lambda msg: print(msg, file=sys.stderr, flush=True)) -> int:
    """Hold the lab lock until the process exits; returns its descriptor."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench: terminated"))
    fd = _inherited_fd()
    if fd is None:
        os.makedirs(os.path.dirname(LAB_LOCK), exist_ok=True)
        fd = os.open(LAB_LOCK, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        say(f"bench: waiting for the lab lock {LAB_LOCK} (another lab or integration test)")
        fcntl.flock(fd, fcntl.LOCK_EX)
    return fd
