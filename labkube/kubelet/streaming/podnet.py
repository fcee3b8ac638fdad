"""Dial a TCP port inside a pod's network namespace (what port-forward connects to), so a
server bound only to the pod's 127.0.0.1 is reachable too.

The socket is made by a short-lived thread that enters the pod's netns with setns(2)
(network namespaces are per thread); a socket keeps the namespace it was created in, so
the event loop can use it afterwards. The thread goes back to its own netns, and ends.
"""
from __future__ import annotations

import asyncio
import ctypes
import os
import socket
import threading

CLONE_NEWNET = 0x40000000


def _setns(fd: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"setns: {os.strerror(err)}")


def connect_in_netns(netns_path: str, port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> socket.socket:
    """A connected socket to host:port as seen from inside ``netns_path`` (blocking)."""
    result: dict = {}

    def work() -> None:
        fds: list[int] = []
        try:
            fds.append(os.open(f"/proc/self/task/{threading.get_native_id()}/ns/net", os.O_RDONLY))
            fds.append(os.open(netns_path, os.O_RDONLY))
            _setns(fds[1])
            try:
                result["sock"] = socket.create_connection((host, port), timeout=timeout)
            finally:
                _setns(fds[0])
        except OSError as e:
            result["error"] = e
        finally:
            for fd in fds:
                os.close(fd)

    t = threading.Thread(target=work, name="podnet-dial", daemon=True)
    t.start()
    t.join()
    if "error" in result:
        raise result["error"]
    sock = result["sock"]
    sock.settimeout(None)
    return sock


async def open_connection(netns_path: str, port: int):
    """(reader, writer) to 127.0.0.1:port inside the pod's network namespace."""
    sock = await asyncio.to_thread(connect_in_netns, netns_path, port)
    return await asyncio.open_connection(sock=sock)
