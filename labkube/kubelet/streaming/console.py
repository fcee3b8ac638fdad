"""The container-side terminal of `crun exec -t --console-socket PATH` (and of `crun create
--console-socket PATH` for a `tty: true` container): crun creates the pseudo-terminal in the
container, sends its master over the unix socket (SCM_RIGHTS), then waits for the command
and exits with its code (`create` exits once the container is set up). Holding the master ourselves means a
resize applies to the container's own terminal at any time.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile


class ConsoleError(OSError):
    pass


def _socket_dir() -> str:
    base = "/run" if os.access("/run", os.W_OK) else None
    return tempfile.mkdtemp(prefix="labkube-exec-", dir=base)


async def start_with_console(argv_for, timeout: float = 10.0):
    """Start ``argv_for(socket_path)`` and receive the terminal master it sends; returns
    (process, master fd). Raises ConsoleError with crun's words when it sends none."""
    d = _socket_dir()
    path = os.path.join(d, "console.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        srv.bind(path)
        srv.listen(1)
        srv.setblocking(False)
        pipe = asyncio.subprocess.PIPE
        proc = await asyncio.create_subprocess_exec(*argv_for(path), stdin=asyncio.subprocess.DEVNULL,
                                                    stdout=pipe, stderr=pipe, start_new_session=True)
        loop = asyncio.get_running_loop()
        accept = asyncio.ensure_future(loop.sock_accept(srv))
        exited = asyncio.ensure_future(proc.wait())
        await asyncio.wait([accept, exited], timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        if not accept.done() and exited.done() and proc.returncode == 0:
            await asyncio.wait([accept], timeout=2)   # `create` sends the terminal, then exits at once
        if not accept.done():
            accept.cancel()
            if not exited.done():
                proc.kill()
            await proc.wait()
            err = (await proc.stderr.read()).decode(errors="replace").strip()
            raise ConsoleError(err or "the runtime sent no terminal")
        exited.cancel()
        conn, _ = accept.result()
        with conn:
            conn.setblocking(True)
            conn.settimeout(timeout)
            _, fds, _, _ = await asyncio.to_thread(socket.recv_fds, conn, 1024, 4)
        if not fds:
            raise ConsoleError("the runtime sent no terminal")
        for extra in fds[1:]:
            os.close(extra)
        return proc, fds[0]
    finally:
        srv.close()
        shutil.rmtree(d, ignore_errors=True)
