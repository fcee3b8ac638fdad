"""Reading and sizing a terminal's master side: shared by the kubelet's container stdio
(`kubectl run -it`, `attach`) and its exec sessions (`kubectl exec -it`)."""
from __future__ import annotations

import asyncio
import fcntl
import os
import struct
import termios

CHUNK = 32 * 1024


def set_winsize(fd: int, cols: int, rows: int) -> None:
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


async def read_when_ready(fd: int) -> bytes:
    """The next chunk of a non-blocking fd, once it is readable; b"" at its end (end of file, or
    EIO: every slave end of the terminal is closed, its processes are gone)."""
    loop = asyncio.get_running_loop()
    while True:
        ready = loop.create_future()
        loop.add_reader(fd, lambda: ready.done() or ready.set_result(None))
        try:
            await ready
        finally:
            loop.remove_reader(fd)
        try:
            return os.read(fd, CHUNK)
        except BlockingIOError:
            continue
        except OSError:
            return b""
