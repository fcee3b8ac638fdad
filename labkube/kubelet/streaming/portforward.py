"""Port-forward (`portforward.k8s.io` over SPDY/3.1, here tunnelled in a websocket as kubectl
1.31+ does: subprotocol `SPDY/3.1+portforward.k8s.io`, SPDY bytes in binary messages).

The client opens two streams per forwarded connection, both with headers `port` and
`requestid`: `streamtype: error` and `streamtype: data`. We reply to each (SYN_REPLY), dial
the pod's address on that port, and copy bytes both ways on the data stream. A dial error
is written to the error stream; the error stream is finished (FIN) once the data stream is
done, which is what the client waits for. PINGs are echoed.
"""
from __future__ import annotations

import asyncio
import logging

from aiohttp import WSMsgType, web

from . import spdy

log = logging.getLogger(__name__)
PROTOCOL = "SPDY/3.1+portforward.k8s.io"
CHUNK = 32 * 1024


class _Pair:
    def __init__(self) -> None:
        self.error: int | None = None
        self.data: int | None = None
        self.port = 0
        self.writer: asyncio.StreamWriter | None = None
        self.task: asyncio.Task | None = None
        self.pending: list[bytes] = []          # client bytes that came before the dial finished
        self.pending_fin = False


class PortForwardSession:
    """Serve one websocket; ``dial(port)`` returns (reader, writer) to the pod's port."""

    def __init__(self, ws: web.WebSocketResponse, dial):
        self.ws, self.dial = ws, dial
        self.codec = spdy.HeaderCodec()
        self.reader = spdy.FrameReader(self.codec)
        self.pairs: dict[str, _Pair] = {}
        self.by_stream: dict[int, _Pair] = {}
        self._lock = asyncio.Lock()

    async def send(self, raw: bytes) -> None:
        async with self._lock:
            if not self.ws.closed:
                try:
                    await self.ws.send_bytes(raw)
                except (ConnectionResetError, RuntimeError):
                    pass

    async def run(self) -> None:
        try:
            async for msg in self.ws:
                if msg.type != WSMsgType.BINARY:
                    continue
                for frame in self.reader.feed(msg.data):
                    await self.handle(frame)
        except spdy.SpdyError as e:
            log.warning("port-forward: %s", e)
        finally:
            for p in self.pairs.values():
                if p.task is not None:
                    p.task.cancel()
                if p.writer is not None:
                    p.writer.close()

    async def handle(self, f: spdy.Frame) -> None:
        if not f.control:
            p = self.by_stream.get(f.stream_id)
            if p is not None and f.stream_id == p.data and p.writer is None:
                p.pending.append(f.data)
                p.pending_fin = p.pending_fin or f.fin
            elif p is not None and f.stream_id == p.data:
                if f.data:
                    p.writer.write(f.data)
                    await p.writer.drain()
                if f.fin and p.writer.can_write_eof():
                    p.writer.write_eof()
            return
        if f.type == spdy.SYN_STREAM:
            await self.open_stream(f)
        elif f.type == spdy.PING:
            await self.send(spdy.control(spdy.PING, 0, f.data))
        elif f.type == spdy.RST_STREAM:
            p = self.by_stream.get(f.stream_id)
            if p is not None and p.writer is not None and f.stream_id == p.data:
                p.writer.close()

    async def open_stream(self, f: spdy.Frame) -> None:
        kind, rid = f.headers.get("streamtype"), f.headers.get("requestid", "")
        try:
            port = int(f.headers.get("port", ""))
        except ValueError:
            await self.send(spdy.rst_stream(f.stream_id, spdy.RST_PROTOCOL_ERROR))
            return
        if kind not in ("error", "data"):
            await self.send(spdy.rst_stream(f.stream_id, spdy.RST_PROTOCOL_ERROR))
            return
        p = self.pairs.setdefault(f"{rid}/{port}", _Pair())
        p.port = port
        setattr(p, kind, f.stream_id)
        self.by_stream[f.stream_id] = p
        await self.send(spdy.syn_reply(self.codec, f.stream_id))
        if p.error is not None and p.data is not None and p.task is None:
            p.task = asyncio.create_task(self.forward(p))

    async def forward(self, p: _Pair) -> None:
        try:
            reader, p.writer = await self.dial(p.port)
        except OSError as e:
            msg = f"error forwarding port {p.port} to pod: {e.strerror or e}"
            await self.send(spdy.data_frame(p.error, msg.encode(), fin=True))
            await self.send(spdy.data_frame(p.data, b"", fin=True))
            return
        for chunk in p.pending:
            p.writer.write(chunk)
        if p.pending_fin and p.writer.can_write_eof():
            p.writer.write_eof()
        p.pending = []
        try:
            while True:
                chunk = await reader.read(CHUNK)
                if not chunk:
                    break
                await self.send(spdy.data_frame(p.data, chunk))
        except (ConnectionResetError, OSError):
            pass
        await self.send(spdy.data_frame(p.data, b"", fin=True))
        await self.send(spdy.data_frame(p.error, b"", fin=True))
