"""The kubelet's exec endpoint over a real websocket (aiohttp test server), with local
processes standing in for containers: channels, the close signal, the exit Status, and a
client that goes away taking its command with it."""
import asyncio
import json
import os
import types

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from labkube.kubelet.streaming import channels
from labkube.kubelet.streaming.routes import add_routes


def _app(tmp_path):
    running = types.SimpleNamespace(id="c1", state="running")
    worker = types.SimpleNamespace(namespace="ns", name="p", sandbox=None,
                                   current=lambda name: running if name == "c" else None)
    kl = types.SimpleNamespace(pods=types.SimpleNamespace(find=lambda ns, n: worker if n == "p" else None),
                               runtime=types.SimpleNamespace(exec_argv=lambda cid, cmd, tty: list(cmd)))
    app = web.Application()
    add_routes(app, kl)
    return app


async def _collect(ws):
    out, status = {1: b"", 2: b""}, None
    async for msg in ws:
        if msg.type != aiohttp.WSMsgType.BINARY:
            break
        ch, data = channels.decode(msg.data)
        if ch == channels.ERROR:
            status = json.loads(data)
        else:
            out[ch] += data
    return out, status


async def test_stdin_close_signal_and_exit_status(tmp_path):
    async with TestClient(TestServer(_app(tmp_path))) as client:
        ws = await client.ws_connect("/exec/ns/p/c", params=[("command", "sh"), ("command", "-c"),
                                                            ("command", "tr a-z A-Z; echo e >&2; exit 6"),
                                                            ("stdin", "true"), ("stdout", "true"),
                                                            ("stderr", "true")], protocols=["v5.channel.k8s.io"])
        assert ws.protocol == "v5.channel.k8s.io"
        await ws.send_bytes(channels.encode(channels.STDIN, b"abc\n"))
        await ws.send_bytes(bytes([channels.CLOSE, channels.STDIN]))
        out, status = await _collect(ws)
        assert out == {1: b"ABC\n", 2: b"e\n"}
        assert channels.exit_code_of(status) == 6


async def test_unknown_pod_and_container(tmp_path):
    async with TestClient(TestServer(_app(tmp_path))) as client:
        r = await client.get("/exec/ns/nope/c", params={"command": "true"})
        assert r.status == 404
        r = await client.get("/exec/ns/p/other", params={"command": "true"})
        assert r.status == 400


async def test_a_client_that_goes_away_ends_the_command(tmp_path):
    marker = tmp_path / "pid"
    async with TestClient(TestServer(_app(tmp_path))) as client:
        ws = await client.ws_connect("/exec/ns/p/c", params=[("command", "sh"), ("command", "-c"),
                                                            ("command", f"echo $$ > {marker}; exec sleep 60"),
                                                            ("stdout", "true")], protocols=["v5.channel.k8s.io"])
        for _ in range(100):
            if marker.exists() and marker.read_text().strip():
                break
            await asyncio.sleep(0.05)
        pid = int(marker.read_text())
        await ws.close()
        for _ in range(200):
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the command outlived its client")
