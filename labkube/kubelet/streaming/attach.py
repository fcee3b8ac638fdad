"""One attach session (`kubectl attach`, `kubectl run -i/-it`): the container's main process,
over the channel protocol (channels.py).

- A terminal container: its terminal's output from now on goes out on channel 1; stdin and
  resize messages go to the terminal. The session ends when the container's side of the
  terminal closes (the process exited) or the client leaves.
- Otherwise the container's log file is followed from its current end (our containers log to
  a file), and when the container keeps a stdin pipe, channel 0 feeds it; closing stdin (the
  v5 close signal or the socket ending) ends the container's stdin when it has stdinOnce.
- ``from_start``: the log is followed from its beginning instead. The first attach to a
  `stdin: true, stdinOnce: true` container is `kubectl run -i`'s one session, which starts only
  once kubectl has seen the pod Running: whatever a quick script printed in between would be
  lost (upstream loses it too, kubernetes#27264; docker's old attach replayed the logs, as we do).

``stdio`` is the runtime's ContainerStdio (runtime/stdio.py) or None; ``log`` is
(path, is_live) for following the log file.
"""
from __future__ import annotations

import asyncio

from aiohttp import WSMsgType, web

from .. import logs
from . import channels


class AttachSession:
    def __init__(self, ws: web.WebSocketResponse, stdio, *, stdin: bool, log_path: str | None, is_live,
                 from_start: bool = False):
        self.ws, self.stdio, self.want_stdin = ws, stdio, stdin
        self.log_path, self.is_live, self.from_start = log_path, is_live, from_start

    async def run(self) -> None:
        terminal = self.stdio is not None and self.stdio.terminal
        offset = 0
        if not terminal and self.log_path and not self.from_start:   # the end before any input arrives
            _, offset = await asyncio.to_thread(logs.render, self.log_path)
        feeder = asyncio.create_task(self._feed())
        try:
            if terminal:
                await self._terminal_output(feeder)
            elif self.log_path:
                await self._follow_log(feeder, offset)
            else:
                await self._send(channels.status_message(None, "no output of this container yet"))
                return
        finally:
            feeder.cancel()
            await asyncio.gather(feeder, return_exceptions=True)
        await self._send(channels.status_message(0))

    async def _terminal_output(self, feeder: asyncio.Task) -> None:
        q = self.stdio.subscribe()
        try:
            while True:
                get = asyncio.ensure_future(q.get())
                await asyncio.wait([get, feeder], return_when=asyncio.FIRST_COMPLETED)
                if not get.done():
                    get.cancel()
                    return                      # the client left
                data = get.result()
                if data is None:
                    return                      # the container's terminal closed
                await self._send(channels.encode(channels.STDOUT, data))
        finally:
            self.stdio.unsubscribe(q)

    async def _follow_log(self, feeder: asyncio.Task, offset: int) -> None:
        while not feeder.done():
            live = self.is_live()                  # asked first: what it wrote before ending is read below
            chunk, offset = await asyncio.to_thread(logs.render, self.log_path, start=offset)
            if chunk:
                await self._send(channels.encode(channels.STDOUT, chunk))
            elif not live:
                return
            else:
                await asyncio.wait([feeder], timeout=0.2)

    async def _send(self, message: bytes) -> None:
        await channels.send(self.ws, message)

    async def _feed(self) -> None:
        """Client messages until the socket ends: stdin, resize, the stdin close signal."""
        stdin_open = True
        try:
            async for msg in self.ws:
                if msg.type != WSMsgType.BINARY or not msg.data or self.stdio is None:
                    continue
                ch, payload = channels.decode(msg.data)
                if ch == channels.STDIN and self.want_stdin and stdin_open:
                    await self.stdio.write(payload)
                elif ch == channels.RESIZE:
                    size = channels.parse_resize(payload)
                    if size:
                        self.stdio.resize(*size)
                elif ch == channels.CLOSE and payload[:1] == bytes([channels.STDIN]) and stdin_open:
                    stdin_open = False
                    self.stdio.client_stdin_closed()
        finally:
            if stdin_open and self.want_stdin and self.stdio is not None:
                self.stdio.client_stdin_closed()
