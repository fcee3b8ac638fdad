"""labkube.wsrelay: a client's WebSocket relayed to a backend's, both ways, as the ingress
(forward_close_code=True) and the apiserver's exec/attach/port-forward (False) use it. Who sees
which close code and reason depends on the flag; the relaying handler closes both sides with
CALLER_CODE once relay() has returned, so a close the relay made itself is told apart."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import WSMessage, WSMsgType, web
from yarl import URL

from labkube.wsrelay import close_to_forward, relay

CALLER_CODE = 4999


class Lab:
    """A backend WebSocket and a handler relaying clients to it; records what the backend saw."""

    def __init__(self, forward: bool):
        self.forward = forward
        self.backend_saw: asyncio.Future = asyncio.get_running_loop().create_future()
        self.backend_got: list[str] = []
        self.relay_returned = asyncio.Event()
        self.backend_url = ""

    async def backend(self, request: web.Request) -> web.WebSocketResponse:
        """Echoes text, reverses bytes, says "last words" and closes with code N and reason R on
        "close N R"; records the texts it got and the code and reason of the close frame the relay
        sent it, if any."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        while True:
            msg = await ws.receive()
            if msg.type == aiohttp.WSMsgType.TEXT and msg.data.startswith("close "):
                _, code, reason = msg.data.split(" ", 2)
                await ws.send_str("last words")
                await ws.close(code=int(code), message=reason.encode())
            elif msg.type == aiohttp.WSMsgType.TEXT:
                self.backend_got.append(msg.data)
                await ws.send_str(f"echo {msg.data}")
            elif msg.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(msg.data[::-1])
            else:
                break
        if not self.backend_saw.done():
            self.backend_saw.set_result((msg.data, msg.extra) if msg.type == aiohttp.WSMsgType.CLOSE
                                        else (ws.close_code, ""))
        return ws

    async def relaying(self, request: web.Request) -> web.WebSocketResponse:
        async with aiohttp.ClientSession() as session:
            upstream = await session.ws_connect(self.backend_url)
            client = web.WebSocketResponse()
            await client.prepare(request)
            try:
                await relay(client, upstream, forward_close_code=self.forward)
            finally:
                self.relay_returned.set()
                await upstream.close(code=CALLER_CODE)
                await client.close(code=CALLER_CODE)
            return client


@pytest.fixture
async def start():
    """Serves a Lab as the ingress and the apiserver serve: without handler cancellation (unlike
    aiohttp's TestServer), so a client that drops its connection after its close handshake does
    not cancel the relaying handler before it has passed the close on."""
    runners = []

    async def started(forward: bool):
        lab = Lab(forward)
        app = web.Application()
        app.router.add_get("/backend", lab.backend)
        app.router.add_get("/relay", lab.relaying)
        runner = web.AppRunner(app)
        await runner.setup()
        runners.append(runner)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        base = URL.build(scheme="http", host="127.0.0.1", port=runner.addresses[0][1])
        lab.backend_url = str(base / "backend")
        return lab, base / "relay"

    yield started
    for runner in runners:
        await runner.cleanup()


@pytest.mark.parametrize("forward", [True, False])
async def test_text_and_binary_messages_go_both_ways(start, forward):
    _, url = await start(forward)
    async with aiohttp.ClientSession() as s, s.ws_connect(url) as ws:
        await ws.send_str("hi")
        assert await ws.receive_str() == "echo hi"
        await ws.send_bytes(b"\x01\x02\x03")
        assert await ws.receive_bytes() == b"\x03\x02\x01"


@pytest.mark.parametrize("closer, forward, other_end_sees", [
    # forwarded, each side's close code and reason reach the other end, either way round (as
    # ingress-nginx passes close frames on); messages sent before the close arrive before it
    ("backend", True, (4002, "backend done")),
    ("client", True, (4001, "client done")),
    # not forwarded (the apiserver), the other end sees the relaying handler's own close
    ("backend", False, (CALLER_CODE, "")),
    ("client", False, (CALLER_CODE, "")),
])
async def test_what_the_other_end_sees_when_one_closes(start, closer, forward, other_end_sees):
    lab, url = await start(forward)
    async with aiohttp.ClientSession() as s, s.ws_connect(url) as ws:
        if closer == "client":
            await ws.send_str("last words")
            await ws.close(code=4001, message=b"client done")
            seen = await asyncio.wait_for(lab.backend_saw, 10)
            assert lab.backend_got == ["last words"]
        else:
            await ws.send_str("close 4002 backend done")
            assert await ws.receive_str() == "last words"
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.CLOSE
            seen = (msg.data, msg.extra)
    assert seen == other_end_sees
    await asyncio.wait_for(lab.relay_returned.wait(), 10)


@pytest.mark.parametrize("end, close_code, forwarded", [
    (WSMessage(WSMsgType.CLOSE, 4001, "bye"), 4001, (4001, b"bye")),
    (WSMessage(WSMsgType.CLOSE, 1001, ""), 1001, (1001, b"")),
    (WSMessage(WSMsgType.CLOSE, 3000, "caf\u00e9"), 3000, (3000, "caf\u00e9".encode())),
    # an empty close frame has no code: passed on as 1000
    (WSMessage(WSMsgType.CLOSE, 0, ""), 0, (1000, b"")),
    # the connection ended without a close frame
    (WSMessage(WSMsgType.CLOSED, None, None), 1000, (1000, b"")),
    (WSMessage(WSMsgType.CLOSED, None, None), None, (1000, b"")),
    (WSMessage(WSMsgType.CLOSED, None, None), 1006, (1011, b"")),
    # aiohttp accepts a 1006 in a frame, which RFC 6455 forbids sending
    (WSMessage(WSMsgType.CLOSE, 1006, "x"), 1006, (1011, b"")),
    # a protocol error on the source: its code is passed on
    (WSMessage(WSMsgType.ERROR, ValueError("bad frame"), None), 1002, (1002, b"")),
])
def test_the_close_that_is_forwarded(end, close_code, forwarded):
    class Source:
        pass
    source = Source()
    source.close_code = close_code
    assert close_to_forward(source, end) == forwarded
