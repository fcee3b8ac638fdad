"""WebSockets through the reverse proxy: the pod's subprotocol choice, text and binary messages
both ways, the close code and reason passed on either way round (as ingress-nginx relays close
frames); a pod that refuses the upgrade gives 502."""
from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from aiohttp import web

from labkube.ingress.server import ReverseProxy, listen

CLOSES = web.AppKey("closes", asyncio.Queue)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def echo_ws(request: web.Request) -> web.WebSocketResponse:
    """The pod: answers text and reverses bytes, closes with 4001 on "bye"; puts the (code,
    reason) of a close frame it got on the app's CLOSES queue."""
    ws = web.WebSocketResponse(protocols=("chat",))
    await ws.prepare(request)
    while (msg := await ws.receive()).type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY):
        if msg.type == aiohttp.WSMsgType.TEXT and msg.data == "bye":
            await ws.close(code=4001, message=b"pod says bye")
        elif msg.type == aiohttp.WSMsgType.TEXT:
            await ws.send_str(f"{request.headers['Host']} says {msg.data}")
        else:
            await ws.send_bytes(msg.data[::-1])
    if msg.type == aiohttp.WSMsgType.CLOSE:
        request.app[CLOSES].put_nowait((msg.data, msg.extra))
    return ws


async def plain(_request: web.Request) -> web.Response:
    return web.Response(text="no upgrade here")


@pytest.fixture
async def app():
    app = web.Application()
    app[CLOSES] = asyncio.Queue()
    return app


@pytest.fixture
async def proxy_port(app):
    app.router.add_get("/ws", echo_ws)
    app.router.add_get("/plain", plain)
    backend = web.AppRunner(app)
    await backend.setup()
    pod = free_port()
    await web.TCPSite(backend, "127.0.0.1", pod).start()
    proxy = ReverseProxy(lambda host, path: (200, ("127.0.0.1", pod), "default/ws:80"))
    await proxy.start()
    port = free_port()
    runner = await listen(proxy, "127.0.0.1", port, 0, None)
    yield port
    await runner.cleanup()
    await proxy.close()
    await backend.cleanup()


async def test_messages_go_both_ways_and_the_close_is_passed_on(proxy_port):
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(f"http://127.0.0.1:{proxy_port}/ws", protocols=("other", "chat"),
                                headers={"Host": "ws.test"}) as ws:
            assert ws.protocol == "chat"
            await ws.send_str("hi")
            assert await ws.receive_str() == "ws.test says hi"
            await ws.send_bytes(b"\x01\x02\x03")
            assert await ws.receive_bytes() == b"\x03\x02\x01"
            await ws.send_str("bye")
            msg = await ws.receive()
            assert msg.type == aiohttp.WSMsgType.CLOSE and (msg.data, msg.extra) == (4001, "pod says bye")


@pytest.mark.parametrize("code, reason", [(4001, "client says bye"), (1000, ""), (1001, "going away"),
                                          (3000, "caf\u00e9")])
async def test_the_clients_close_reaches_the_pod(proxy_port, app, code, reason):
    async with aiohttp.ClientSession() as s:
        async with s.ws_connect(f"http://127.0.0.1:{proxy_port}/ws") as ws:
            await ws.send_str("hi")
            assert await ws.receive_str() == "127.0.0.1:%d says hi" % proxy_port
            await ws.close(code=code, message=reason.encode())
    assert await asyncio.wait_for(app[CLOSES].get(), 10) == (code, reason)


async def test_a_pod_that_refuses_the_upgrade_gives_502(proxy_port):
    async with aiohttp.ClientSession() as s:
        with pytest.raises(aiohttp.WSServerHandshakeError) as e:
            await s.ws_connect(f"http://127.0.0.1:{proxy_port}/plain")
        assert e.value.status == 502
