"""The kubelet's attach endpoint (what `kubectl run -it` and `kubectl attach` use) over a real
websocket, with local processes standing in for a container's main process: a terminal
container (keystrokes in, output out and into the log file, resize, its end ends the
session) and a `stdin: true, stdinOnce: true` container (stdin through the kept pipe, closed
by the client's close signal, output followed from the log file)."""
import asyncio
import contextlib
import json
import os
import pty
import subprocess
import time
import types

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from labkube.kubelet.runtime.stdio import ContainerStdio
from labkube.kubelet.streaming import channels
from labkube.kubelet.streaming.routes import add_routes


def _log(tmp_path):
    """The container's log file, <pod dir>/logs/<container>/0.log, as the kubelet lays it out."""
    (tmp_path / "logs" / "c").mkdir(parents=True, exist_ok=True)
    return tmp_path / "logs" / "c" / "0.log"


def _app(tmp_path, stdio, live):
    running = types.SimpleNamespace(id="c1", state="running")
    worker = types.SimpleNamespace(namespace="ns", name="p", sandbox=types.SimpleNamespace(pod_dir=str(tmp_path)),
                                   current=lambda name: running if name == "c" else None)
    kl = types.SimpleNamespace(pods=types.SimpleNamespace(find=lambda ns, n: worker if n == "p" else None),
                               runtime=types.SimpleNamespace(stdio=lambda cid: stdio if cid == "c1" else None),
                               log_is_live=lambda w, c, path: live())
    app = web.Application()
    add_routes(app, kl)
    return app


async def _until(ws, predicate, what):
    """Read stdout until predicate(stdout so far); returns (stdout, final Status or None)."""
    out = b""
    async for msg in ws:
        if msg.type != aiohttp.WSMsgType.BINARY:
            break
        ch, data = channels.decode(msg.data)
        if ch == channels.ERROR:
            return out, json.loads(data)
        out += data
        if predicate(out):
            return out, None
    raise AssertionError(f"the session ended before {what}: {out!r}")


async def test_attach_to_a_terminal_container(tmp_path):
    log = _log(tmp_path)
    master, slave = pty.openpty()
    proc = subprocess.Popen(["sh", "-c", "PS1='$ ' exec sh -i"], stdin=slave, stdout=slave, stderr=slave,
                            start_new_session=True)
    os.close(slave)
    stdio = ContainerStdio(str(log), master=master, stdin_once=True)
    stdio.start()
    try:
        async with TestClient(TestServer(_app(tmp_path, stdio, lambda: proc.poll() is None))) as client:
            ws = await client.ws_connect("/attach/ns/p/c", params={"stdin": "true", "stdout": "true", "tty": "true"},
                                         protocols=["v5.channel.k8s.io"])
            await ws.send_bytes(channels.encode(channels.RESIZE, b'{"Width":100,"Height":40}'))
            await ws.send_bytes(channels.encode(channels.STDIN, b"stty size; echo in-the-$((6*7))\n"))
            await _until(ws, lambda o: b"40 100" in o and b"in-the-42" in o, "the size and the output")
            await ws.send_bytes(channels.encode(channels.STDIN, b"exit 3\n"))
            _, status = await _until(ws, lambda o: False, "the end")
            assert status == {"metadata": {}, "status": "Success"}       # attach reports no exit code
        assert proc.wait(10) == 3
        assert b"in-the-42" in log.read_bytes()                          # `kubectl logs` sees it too
    finally:
        stdio.close()
        if proc.poll() is None:
            proc.kill()


async def test_attach_feeds_a_stdin_once_pipe(tmp_path):
    log = _log(tmp_path)
    r, w = os.pipe()
    with open(log, "ab") as out:
        proc = subprocess.Popen(["tr", "a-z", "A-Z"], stdin=r, stdout=out, stderr=out)
    os.close(r)
    stdio = ContainerStdio(str(log), stdin_fd=w, stdin_once=True)
    stdio.start()
    try:
        async with TestClient(TestServer(_app(tmp_path, stdio, lambda: proc.poll() is None))) as client:
            ws = await client.ws_connect("/attach/ns/p/c", params={"stdin": "true", "stdout": "true"},
                                         protocols=["v5.channel.k8s.io"])
            await ws.send_bytes(channels.encode(channels.STDIN, b"hello pipe\n"))
            await ws.send_bytes(bytes([channels.CLOSE, channels.STDIN]))     # end of input: tr finishes
            assert await asyncio.to_thread(proc.wait, 10) == 0
            out, status = await _until(ws, lambda o: False, "the end")
            assert out == b"HELLO PIPE\n" and status["status"] == "Success"
        assert stdio.stdin_fd is None                                    # stdinOnce: closed for good
    finally:
        stdio.close()
        if proc.poll() is None:
            proc.kill()


async def test_attach_without_kept_stdin_follows_the_log(tmp_path):
    log = _log(tmp_path)
    log.write_bytes(b"before attach\n")
    live = [True]
    async with TestClient(TestServer(_app(tmp_path, None, lambda: live[0]))) as client:
        ws = await client.ws_connect("/attach/ns/p/c", params={"stdout": "true"}, protocols=["v5.channel.k8s.io"])
        await asyncio.sleep(0.3)
        with open(log, "ab") as f:
            f.write(b"after attach\n")
        out, _ = await _until(ws, lambda o: b"after attach\n" in o, "the new line")
        assert out == b"after attach\n"
        live[0] = False
        _, status = await _until(ws, lambda o: False, "the end")
        assert status["status"] == "Success"


def _script_waiting_on_stdin(log, r):
    """A `kubectl run -i` container whose script printed before any attach came, then reads stdin."""
    with open(log, "ab") as out:
        proc = subprocess.Popen(["sh", "-c", "echo printed before the attach; tr a-z A-Z"], stdin=r, stdout=out,
                                stderr=out)
    os.close(r)
    for _ in range(500):                       # the race lost on purpose: the output is there first
        if log.read_bytes():
            break
        time.sleep(0.01)
    assert log.read_bytes() == b"printed before the attach\n"
    return proc


@contextlib.asynccontextmanager
async def _stdin_once_container_served(tmp_path):
    """(kubelet test client, process) for a stdin+stdinOnce container that printed before any attach."""
    log = _log(tmp_path)
    r, w = os.pipe()
    proc = _script_waiting_on_stdin(log, r)
    stdio = ContainerStdio(str(log), stdin_fd=w, stdin_once=True)
    stdio.start()
    try:
        async with TestClient(TestServer(_app(tmp_path, stdio, lambda: proc.poll() is None))) as client:
            yield client, proc
    finally:
        stdio.close()
        if proc.poll() is None:
            proc.kill()


async def test_the_first_attach_to_a_stdin_once_container_gets_its_output_from_the_start(tmp_path):
    """kubectl run -i attaches only once it has seen the pod Running; a quick script has printed
    by then (the CI flake: nothing but `pod "dns" deleted`). Its one session gets it all."""
    async with _stdin_once_container_served(tmp_path) as (client, proc):
        ws = await client.ws_connect("/attach/ns/p/c", params={"stdin": "true", "stdout": "true"},
                                     protocols=["v5.channel.k8s.io"])
        await ws.send_bytes(channels.encode(channels.STDIN, b"after\n"))
        await ws.send_bytes(bytes([channels.CLOSE, channels.STDIN]))
        assert await asyncio.to_thread(proc.wait, 10) == 0
        out, status = await _until(ws, lambda o: False, "the end")
        assert out == b"printed before the attach\nAFTER\n" and status["status"] == "Success"


async def test_a_later_attach_to_a_stdin_once_container_follows_from_the_end(tmp_path):
    """Only the first attach replays: a second `kubectl attach` sees what comes after it."""
    async with _stdin_once_container_served(tmp_path) as (client, proc):
        first = await client.ws_connect("/attach/ns/p/c", params={"stdout": "true"},
                                        protocols=["v5.channel.k8s.io"])
        await asyncio.wait_for(_until(first, lambda o: o == b"printed before the attach\n", "the early output"), 10)
        await first.close()
        second = await client.ws_connect("/attach/ns/p/c", params={"stdin": "true", "stdout": "true"},
                                         protocols=["v5.channel.k8s.io"])
        await second.send_bytes(channels.encode(channels.STDIN, b"later\n"))
        await second.send_bytes(bytes([channels.CLOSE, channels.STDIN]))
        assert await asyncio.to_thread(proc.wait, 10) == 0
        out, status = await _until(second, lambda o: False, "the end")
        assert out == b"LATER\n" and status["status"] == "Success"
