"""The kubelet's end of a container's stdin or terminal (`stdin: true` / `tty: true`), what
`kubectl attach` and `kubectl run -i/-it` talk to.

- A terminal container gets its pseudo-terminal from the runtime (crun's console socket);
  we keep the master: everything the container writes is appended to its log file (so
  `kubectl logs` shows it) and handed to the attached clients; their keystrokes and window
  sizes go to the master.
- A `stdin: true` container without a terminal reads a pipe whose write end we keep; its
  output goes straight to the log file as usual. With `stdinOnce` the pipe is closed when the
  first attached client closes its stdin, so the container sees end of file.

The ends live as long as the container (a restarted kubelet cannot re-attach: the container
keeps running, only its stdin is gone).
"""
from __future__ import annotations

import asyncio
import os

from ..terminal import read_when_ready, set_winsize


class ContainerStdio:
    def __init__(self, log_path: str, *, master: int | None = None, stdin_fd: int | None = None,
                 stdin_once: bool = False):
        if (master is None) == (stdin_fd is None):
            raise ValueError("a container's stdio is either a terminal master or a stdin pipe")
        self.log_path, self.master, self.stdin_fd, self.stdin_once = log_path, master, stdin_fd, stdin_once
        self.listeners: set[asyncio.Queue] = set()
        self.ended = asyncio.Event()           # terminal: the container side hung up
        self._pump_task: asyncio.Task | None = None
        for fd in (master, stdin_fd):
            if fd is not None:
                os.set_blocking(fd, False)
        if master is not None:
            set_winsize(master, 80, 24)

    @property
    def terminal(self) -> bool:
        return self.master is not None

    def start(self) -> None:
        """Start copying the terminal's output (a stdin pipe has nothing to copy)."""
        if self.master is not None and self._pump_task is None:
            self._pump_task = asyncio.get_running_loop().create_task(self._pump())
        elif self.master is None:
            self.ended.set()

    async def _pump(self) -> None:
        os.makedirs(os.path.dirname(self.log_path) or ".", exist_ok=True)
        try:
            with open(self.log_path, "ab", buffering=0) as log:
                while True:
                    data = await read_when_ready(self.master)
                    if not data:             # the container's side of the terminal is closed
                        break
                    log.write(data)
                    for q in list(self.listeners):
                        q.put_nowait(data)
        finally:
            self.ended.set()
            for q in list(self.listeners):
                q.put_nowait(None)

    def subscribe(self) -> asyncio.Queue:
        """A queue of the terminal's output from now on; None marks its end."""
        q: asyncio.Queue = asyncio.Queue()
        if self.ended.is_set():
            q.put_nowait(None)
        self.listeners.add(q)
        return q

    def unsubscribe(self, q: asyncio.Queue) -> None:
        self.listeners.discard(q)

    async def write(self, data: bytes) -> None:
        """Keystrokes or stdin bytes for the container; dropped once its side is gone."""
        while data:
            fd = self.master if self.master is not None else self.stdin_fd
            if fd is None:
                return
            try:
                n = os.write(fd, data)
            except BlockingIOError:
                await asyncio.sleep(0.01)
                continue
            except OSError:                     # EPIPE / EIO: nobody reads any more
                return
            data = data[n:]

    def resize(self, cols: int, rows: int) -> None:
        if self.master is not None:
            try:
                set_winsize(self.master, cols, rows)
            except OSError:
                pass

    def client_stdin_closed(self) -> None:
        """An attached client ended its stdin: with stdinOnce the container's stdin ends too."""
        if self.stdin_once and self.stdin_fd is not None:
            os.close(self.stdin_fd)
            self.stdin_fd = None

    def close(self) -> None:
        if self._pump_task is not None and not self._pump_task.done():
            self._pump_task.cancel()
        for attr in ("master", "stdin_fd"):
            fd = getattr(self, attr)
            if fd is not None:
                setattr(self, attr, None)
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.ended.set()
        for q in list(self.listeners):
            q.put_nowait(None)
