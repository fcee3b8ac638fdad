"""The direct GET path (labkube.apiserver.fastget): which requests it answers, and that its
answers are byte for byte what the aiohttp path sends for the same request."""
import asyncio
import re
import ssl

import pytest
from aiohttp import web
from apiserver_helpers import PODS, pod
from apiserver_pki import make_pki

from labkube import jsonio
from labkube.apiserver.app import make_app
from labkube.apiserver.config import ApiserverConfig
from labkube.apiserver import fastget
from labkube.apiserver.fastget import FastAppRunner
from labkube.apiserver.tls import server_context

NODE = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}


async def _start(tmp_path, name, runner_class):
    """An apiserver over TLS on an ephemeral port; returns (runner, port, paths aiohttp handled)."""
    cfg = ApiserverConfig(tls_cert_file=str(tmp_path / "apiserver.crt"),
                          tls_private_key_file=str(tmp_path / "apiserver.key"), client_ca_file=str(tmp_path / "ca.crt"),
                          storage={"backend": "sqlite", "path": str(tmp_path / f"{name}.db"), "fsync": False})
    app = make_app(cfg)
    handled = []

    @web.middleware
    async def record(request, handler):
        handled.append(request.path_qs)
        return await handler(request)

    app.middlewares.insert(0, record)
    runner = runner_class(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context(cfg.tls_cert_file, cfg.tls_private_key_file,
                                                                         cfg.client_ca_file))
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1], handled


async def _exchange(port, ctx, raw: bytes, responses: int) -> list[bytes]:
    """Send raw request bytes on one connection; read `responses` responses (Content-Length framed,
    each with any interim response before it)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
    writer.write(raw)
    out = []
    for _ in range(responses):
        head = last = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        while last.startswith(b"HTTP/1.1 1"):  # an interim response (100 Continue) comes before the final one
            last = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            head += last
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        out.append(head + await reader.readexactly(length))
    writer.close()
    return out


def _normalised(resp: bytes) -> bytes:
    """Without what differs between two servers given the same writes: Date, uid, timestamps,
    the Age a Table shows (seconds since creation) and the random suffix of a pod's
    kube-api-access volume (ServiceAccount admission)."""
    resp = re.sub(rb"Date: [^\r]*", b"Date: -", resp)
    resp = re.sub(rb"kube-api-access-[a-z0-9]{5}", b"kube-api-access-x", resp)
    resp = re.sub(rb'"[0-9]s"', b'"-"', resp)
    return re.sub(rb'"(uid|creationTimestamp|time)":"[^"]*"', rb'"\1":"-"', resp)


def _get(path, *headers):
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{''.join(h + chr(13) + chr(10) for h in headers)}\r\n".encode()


@pytest.fixture
async def servers(tmp_path):
    """The same writes on a server with the direct path and on one with aiohttp's alone."""
    make_pki(tmp_path, {"apiserver": ("kube-apiserver", [], True),
                        "admin": ("kubernetes-admin", ["system:masters"], False)})
    ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    ctx.load_cert_chain(tmp_path / "admin.crt", tmp_path / "admin.key")
    anon = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    started = [await _start(tmp_path, "fast", FastAppRunner), await _start(tmp_path, "plain", web.AppRunner)]
    for _, port, _ in started:
        for path, obj in (("/api/v1/namespaces/default/serviceaccounts", {"metadata": {"name": "default"}}),
                          (PODS, pod("web")), ("/api/v1/nodes", NODE)):
            body = jsonio.dumps(obj)
            req = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" \
                  f"Content-Length: {len(body)}\r\n\r\n".encode() + body
            (resp,) = await _exchange(port, ctx, req, 1)
            assert resp.startswith(b"HTTP/1.1 201 ")
    yield started, ctx, anon
    for runner, _, _ in started:
        await runner.cleanup()


TABLE = "Accept: application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

# (case, request bytes, responses expected, which requests the direct path answers, client certificate)
CASES = [
    ("namespaced object", _get(PODS + "/web"), 1, [PODS + "/web"], True),
    ("cluster-scoped object", _get("/api/v1/nodes/n1"), 1, ["/api/v1/nodes/n1"], True),
    ("group resource", _get("/apis/scheduling.k8s.io/v1/priorityclasses/system-node-critical"), 1,
     ["/apis/scheduling.k8s.io/v1/priorityclasses/system-node-critical"], True),
    ("JSON Accept", _get(PODS + "/web", "Accept: application/json"), 1, [PODS + "/web"], True),
    ("several pipelined, in order", _get(PODS + "/web") + _get("/api/v1/nodes/n1") + _get(PODS + "/web"), 3,
     [PODS + "/web", "/api/v1/nodes/n1", PODS + "/web"], True),
    ("missing object: 404 from aiohttp", _get(PODS + "/nope"), 1, [], True),
    ("query string", _get(PODS + "/web?resourceVersion=0"), 1, [], True),
    ("Table output", _get(PODS + "/web", TABLE), 1, [], True),
    ("subresource", _get(PODS + "/web/status"), 1, [], True),
    ("list", _get(PODS), 1, [], True),
    ("unknown resource", _get("/api/v1/namespaces/default/gizmos/x"), 1, [], True),
    ("componentstatuses", _get("/api/v1/componentstatuses/etcd-0"), 1, [], True),
    ("escaped path", _get(PODS + "/w%65b"), 1, [], True),
    ("dot segment", _get("/api/v1/namespaces/default/nodes/../pods/web"), 1, [], True),
    ("empty segment", _get("/api/v1/namespaces/default//pods/web"), 1, [], True),
    ("Connection: close", _get(PODS + "/web", "Connection: close"), 1, [], True),
    ("Expect: 100-continue", _get(PODS + "/web", "Expect: 100-continue"), 1, [], True),
    ("no client certificate: 401", _get(PODS + "/web"), 1, [], False),
    ("HTTP/1.0", f"GET {PODS}/web HTTP/1.0\r\nHost: x\r\n\r\n".encode(), 1, [], True),
    ("GET behind a slow request stays behind it", _get(PODS) + _get(PODS + "/web"), 2, [], True),
]


@pytest.mark.parametrize("raw,count,direct,cert", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_direct_answers_equal_aiohttp_answers(servers, raw, count, direct, cert):
    (_, fast_port, fast_seen), (_, plain_port, plain_seen) = servers[0]
    ctx = servers[1] if cert else servers[2]
    fast_seen.clear()
    plain_seen.clear()
    fast = await _exchange(fast_port, ctx, raw, count)
    plain = await _exchange(plain_port, ctx, raw, count)
    assert [_normalised(r) for r in fast] == [_normalised(r) for r in plain]
    answered_directly = list(plain_seen)
    for path in fast_seen:
        answered_directly.remove(path)
    assert answered_directly == direct


async def test_path_keys_remembered_within_a_bound(servers, monkeypatch):
    (_, fast_port, fast_seen), _ = servers[0]
    monkeypatch.setattr(fastget, "_KEYS", {})
    monkeypatch.setattr(fastget, "_KEYS_MAX", 2)
    paths = [PODS + "/web", "/api/v1/nodes/n1", "/apis/scheduling.k8s.io/v1/priorityclasses/system-node-critical"]
    fast_seen.clear()
    for resp in await _exchange(fast_port, servers[1], b"".join(_get(p) for p in paths + paths), 2 * len(paths)):
        assert resp.startswith(b"HTTP/1.1 200 ")
    assert fast_seen == [] and 0 < len(fastget._KEYS) <= 2


async def test_client_not_reading_meets_aiohttps_back_pressure(servers):
    """With the connection's writing paused (the client's buffers are full), aiohttp answers:
    it writes the response and waits for the drain before reading the next request."""
    (runner, fast_port, fast_seen), _ = servers[0]
    reader, writer = await asyncio.open_connection("127.0.0.1", fast_port, ssl=servers[1])

    async def get():
        writer.write(_get(PODS + "/web"))
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        await reader.readexactly(int(re.search(rb"Content-Length: (\d+)", head).group(1)))
        return head

    fast_seen.clear()
    assert (await get()).startswith(b"HTTP/1.1 200 ") and fast_seen == []
    paused = [h for h in runner.server.connections if h.transport is not None and not h.writing_paused]
    for h in paused:
        h.pause_writing()
    try:
        assert (await get()).startswith(b"HTTP/1.1 200 ") and fast_seen == [PODS + "/web"]
    finally:
        for h in paused:
            h.resume_writing()
    writer.close()
