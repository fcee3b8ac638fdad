"""labkube.wsrelay: a client's WebSocket relayed to a backend's, both ways, as the ingress
(forward_close_code=True) and the apiserver's exec/attach/port-forward (False) use it. Who sees
which close code depends on who closes and on the flag; the relaying handler closes both sides
with CALLER_CODE once relay() has returned, so a close the relay made itself is told apart."""
from __future__ import annotations

import asyncio

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from labkube.wsrelay import relay

CALLER_CODE = 4999


class Lab:
    """A backend WebSocket and a handler relaying clients to it; records what the backend saw."""

    def __init__(self, forward: bool):
        self.forward = forward
        self.backend_saw: asyncio.Future = asyncio.get_running_loop().create_future()
        self.relay_returned = asyncio.Event()
        self.backend_url = ""

    async def backend(self, request: web.Request) -> web.WebSocketResponse:
        """Echoes text, reverses bytes, closes with code N on "close N"."""
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT and msg.data.startswith("close "):
                await ws.close(code=int(msg.data.split()[1]))
            elif msg.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(f"echo {msg.data}")
            elif msg.type == aiohttp.WSMsgType.BINARY:
                await ws.send_bytes(msg.data[::-1])
        self.backend_saw.set_result(ws.close_code)
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
    servers = []

    async def started(forward: bool):
        lab = Lab(forward)
        app = web.Application()
        app.router.add_get("/backend", lab.backend)
        app.router.add_get("/relay", lab.relaying)
        srv = TestServer(app)
        await srv.start_server()
        servers.append(srv)
        lab.backend_url = str(srv.make_url("/backend"))
        return lab, srv.make_url("/relay")

    yield started
    for srv in servers:
        await srv.close()


@pytest.mark.parametrize("forward", [True, False])
async def test_text_and_binary_messages_go_both_ways(start, forward):
    _, url = await start(forward)
    async with aiohttp.ClientSession() as s, s.ws_connect(url) as ws:
        await ws.send_str("hi")
        assert await ws.receive_str() == "echo hi"
        await ws.send_bytes(b"\x01\x02\x03")
        assert await ws.receive_bytes() == b"\x03\x02\x01"


@pytest.mark.parametrize("closer, forward, other_end_sees", [
    # the backend's code is passed on to the client (a pod's close code through the ingress)
    ("backend", True, 4002),
    ("backend", False, CALLER_CODE),
    # the client's is not, even forwarded: closing the backend's client-side socket ends the
    # backend-to-client direction first and the relay cancels that close before it is sent
    ("client", True, CALLER_CODE),
    ("client", False, CALLER_CODE),
])
async def test_what_the_other_end_sees_when_one_closes(start, closer, forward, other_end_sees):
    lab, url = await start(forward)
    async with aiohttp.ClientSession() as s, s.ws_connect(url) as ws:
        if closer == "client":
            await ws.close(code=4001)
            seen = await asyncio.wait_for(lab.backend_saw, 10)
        else:
            await ws.send_str("close 4002")
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.CLOSE
            seen = ws.close_code
    assert seen == other_end_sees
    await asyncio.wait_for(lab.relay_returned.wait(), 10)
