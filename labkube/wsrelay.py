"""Relaying one WebSocket to another, both ways, as the apiserver does for pods/exec, attach and
portforward (client <-> kubelet) and the ingress does for upgraded connections (client <-> pod).

Text and binary messages are copied as they come. The relay ends when either side closes, fails
or sends anything else (with autoping on, as both callers have it, the only other message that
arrives is an error): the other direction is then cancelled and `relay` returns. The two callers
tell the peers differently how it ended, so that is a parameter:

- ``forward_close_code=True`` (the ingress): the direction that ended closes the side it was
  writing to with the close code of the side it was reading from (1000 when that had none). A
  close code reaches the other end only when the side being closed is a server-side
  WebSocketResponse (a pod's 4001 reaches the client): aiohttp's ClientWebSocketResponse.close
  first wakes its own reader, so the opposite direction ends first and the relay cancels that
  close before its frame is sent; the caller's own close then tells the pod 1000.
- ``forward_close_code=False`` (the apiserver): the relay closes nothing; the caller closes both
  sides afterwards with the normal code.

Either way the caller closes what it opened once `relay` returns (a close is a no-op on a side
that is closed already).
"""
from __future__ import annotations

import asyncio

from aiohttp import WSCloseCode, WSMsgType


async def _pipe(source, sink, forward_close_code: bool) -> None:
    async for msg in source:
        if msg.type == WSMsgType.TEXT:
            await sink.send_str(msg.data)
        elif msg.type == WSMsgType.BINARY:
            await sink.send_bytes(msg.data)
        else:
            break
    if forward_close_code:
        await sink.close(code=source.close_code or WSCloseCode.OK)


async def relay(a, b, *, forward_close_code: bool) -> None:
    """Copy messages a -> b and b -> a until either direction ends (see the module docstring for
    what is closed then); a and b are aiohttp WebSockets of either side (server or client)."""
    pipes = [asyncio.create_task(_pipe(a, b, forward_close_code)),
             asyncio.create_task(_pipe(b, a, forward_close_code))]
    try:
        await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in pipes:
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)
