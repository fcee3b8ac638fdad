"""Relaying one WebSocket to another, both ways, as the apiserver does for pods/exec, attach and
portforward (client <-> kubelet) and the ingress does for upgraded connections (client <-> pod).

Text and binary messages are copied as they come. The relay ends when either side closes, fails
or sends anything else (with autoping on, as both callers have it, the only other message that
arrives is an error): the direction that ended first stops, and `relay` returns once the other
direction is cancelled. A direction whose write fails because its sink is closing just stops:
the other direction, which reads that sink, ends with the sink's close next. The two callers
tell the peers differently how it ended, so that is a parameter:

- ``forward_close_code=True`` (the ingress, which like ingress-nginx passes close frames on as
  they are): before the other direction is cancelled, the side the ended direction was writing
  to is closed with the code and reason of the close the other side sent, either way round (a
  pod's 4001 reaches the client, a client's 4001 reaches the pod). A side that ended without a
  close frame (the connection dropped, 1006 in aiohttp) is told 1011; an empty close frame
  (no code) is passed on as 1000, as aiohttp cannot send an empty one.
- ``forward_close_code=False`` (the apiserver): the relay closes nothing; the caller closes both
  sides afterwards with the normal code.

Either way the caller closes what it opened once `relay` returns (a close is a no-op on a side
that is closed already). Closing the side being written to while the other direction is
reading it is safe with aiohttp: close() wakes that reader with a CLOSING message, which ends
the other direction.
"""
from __future__ import annotations

import asyncio

from aiohttp import WSCloseCode, WSMessage, WSMsgType

# the codes a close frame may carry (RFC 6455 7.4): not 1004-1006 or 1015, which only report
SENDABLE = frozenset(range(1000, 1004)) | frozenset(range(1007, 1015)) | frozenset(range(3000, 5000))


def close_to_forward(source, end: WSMessage) -> tuple[int, bytes]:
    """The (code, reason) to close the far side with when `source` ended with message `end`."""
    if end.type == WSMsgType.CLOSE:
        code, reason = end.data, (end.extra or "").encode()
    else:
        code, reason = source.close_code, b""
    if not code or code == 1005:
        return WSCloseCode.OK, reason
    if code not in SENDABLE:
        return WSCloseCode.INTERNAL_ERROR, b""
    return code, reason


async def _pipe(source, sink) -> WSMessage | None:
    """Copy text and binary messages source -> sink; returns the message that ended it, or None
    when writing to the sink failed because the sink is closing."""
    while True:
        msg = await source.receive()
        try:
            if msg.type == WSMsgType.TEXT:
                await sink.send_str(msg.data)
            elif msg.type == WSMsgType.BINARY:
                await sink.send_bytes(msg.data)
            else:
                return msg
        except ConnectionError:
            return None


async def relay(a, b, *, forward_close_code: bool) -> None:
    """Copy messages a -> b and b -> a until either direction ends (see the module docstring for
    what is closed then); a and b are aiohttp WebSockets of either side (server or client)."""
    pipes = {asyncio.create_task(_pipe(a, b)): (a, b), asyncio.create_task(_pipe(b, a)): (b, a)}
    try:
        pending = set(pipes)
        while pending:
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            if any(t.exception() is not None or t.result() is not None for t in done):
                break
        if forward_close_code:
            for task in pipes:
                if task.done() and task.exception() is None and task.result() is not None:
                    source, sink = pipes[task]
                    code, reason = close_to_forward(source, task.result())
                    await sink.close(code=code, message=reason)
    finally:
        for task in pipes:
            task.cancel()
        await asyncio.gather(*pipes, return_exceptions=True)
