"""Exit codes of detached containers: be a child subreaper and wait for known pids.

`crun create` exits once the container is set up; the container's init is then re-parented
to the nearest subreaper. The kubelet sets PR_SET_CHILD_SUBREAPER so that is itself,
and waits for each container pid through a pidfd (so asyncio's own child watcher keeps
the exit statuses of the helper processes it started). A pid that is not our child
(a container started by an earlier kubelet) is only watched for exit: its code is lost.
"""
from __future__ import annotations

import asyncio
import ctypes
import logging
import os

log = logging.getLogger(__name__)
PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def decode_status(status: int) -> int:
    """waitpid status -> a shell-style exit code (128+signal when killed)."""
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return 128 + os.WTERMSIG(status)
    return 255


def pid_alive(pid: int) -> bool:
    """True when ``pid`` exists and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (OSError, IndexError):
        return False


def pid_start_time(pid: int) -> int | None:
    """Process start time in clock ticks (tells a reused pid apart)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


class Reaper:
    def __init__(self) -> None:
        self._waits: dict[int, asyncio.Future] = {}

    def watch(self, pid: int) -> asyncio.Future:
        """A future resolving to the exit code of ``pid`` (None when it is not our child)."""
        fut = self._waits.get(pid)
        if fut is not None:
            return fut
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._waits[pid] = fut
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            self._finish(pid, self._reap(pid))
            return fut

        def ready() -> None:
            loop.remove_reader(fd)
            os.close(fd)
            self._finish(pid, self._reap(pid))

        loop.add_reader(fd, ready)
        return fut

    def poll(self, pid: int) -> None:
        """Reap ``pid`` now if it has exited (for callers that saw it die first)."""
        try:
            got, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            self._finish(pid, None)
            return
        if got == pid:
            self._finish(pid, decode_status(status))

    def _reap(self, pid: int) -> int | None:
        try:
            got, status = os.waitpid(pid, 0)
            return decode_status(status) if got == pid else None
        except ChildProcessError:
            return None

    def sweep(self) -> list[int]:
        """Reap orphans re-parented to us that nobody waits for (zombies seen twice in a row)."""
        me, found = os.getpid(), []
        try:
            pids = [int(p) for p in os.listdir("/proc") if p.isdigit()]
        except OSError:
            return []
        zombies = set()
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[0] == "Z" and int(fields[1]) == me and pid not in self._waits:
                zombies.add(pid)
        for pid in zombies & getattr(self, "_seen_zombies", set()):
            try:
                os.waitpid(pid, os.WNOHANG)
                found.append(pid)
            except ChildProcessError:
                pass
        self._seen_zombies = zombies - set(found)
        return found

    async def run_sweeper(self, interval: float = 30.0) -> None:
        while True:
            await asyncio.sleep(interval)
            reaped = self.sweep()
            if reaped:
                log.debug("reaped orphaned processes %s", reaped)

    def _finish(self, pid: int, code: int | None) -> None:
        fut = self._waits.pop(pid, None)
        if fut is not None and not fut.done():
            fut.set_result(code)
