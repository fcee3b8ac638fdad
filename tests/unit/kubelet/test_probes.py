"""Probes: exec/httpGet/tcpSocket attempts, named ports, startup gating, liveness kill."""
from __future__ import annotations

import asyncio

import pytest
from aiohttp import web

from labkube.kubelet.probes import ContainerProbes, probe_settings, resolve_port, run_probe


async def _exec_ok(cmd, timeout):
    return (0, b"") if cmd == ["true"] else (1, b"no such file")


async def _server(status=200):
    async def handler(request):
        return web.Response(status=status, text="x")

    app = web.Application()
    app.router.add_get("/healthz", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1]


def test_defaults_and_named_ports():
    assert probe_settings({}) == {"initial": 0, "period": 10, "timeout": 1, "success": 1, "failure": 3}
    c = {"name": "c", "ports": [{"name": "http", "containerPort": 8080}]}
    assert resolve_port("http", c) == 8080 and resolve_port(81, c) == 81 and resolve_port("82", c) == 82
    with pytest.raises(ValueError):
        resolve_port("nope", c)


async def test_exec_http_tcp():
    assert (await run_probe({"exec": {"command": ["true"]}}, {}, "127.0.0.1", _exec_ok, 1))[0]
    ok, msg = await run_probe({"exec": {"command": ["false"]}}, {}, "127.0.0.1", _exec_ok, 1)
    assert not ok and "no such file" in msg
    runner, port = await _server()
    bad_runner, bad_port = await _server(500)
    try:
        assert (await run_probe({"httpGet": {"path": "/healthz", "port": port}}, {}, "127.0.0.1", None, 1))[0]
        ok, msg = await run_probe({"httpGet": {"path": "/healthz", "port": bad_port}}, {}, "127.0.0.1", None, 1)
        assert not ok and "500" in msg
        assert (await run_probe({"tcpSocket": {"port": port}}, {}, "127.0.0.1", None, 1))[0]
    finally:
        await runner.cleanup()
        await bad_runner.cleanup()
    assert not (await run_probe({"tcpSocket": {"port": port}}, {}, "127.0.0.1", None, 1))[0]


async def test_https_probe_does_not_verify_and_shares_one_context(tmp_path):
    """The kubelet probes HTTPS endpoints without checking their certificate (a self-signed one
    here), through one context built once, not one per attempt."""
    from labkube.kubelet.probes import probe_tls_context
    from labkube.testing import make_pki
    import ssl
    pki = make_pki(str(tmp_path))
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(pki["server.crt"], pki["server.key"])

    async def handler(request):
        return web.Response(status=200 if request.path == "/healthz" else 503, text="x")

    app = web.Application()
    app.router.add_get("/{p}", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_ctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    try:
        for path, want in (("/healthz", True), ("/down", False)):
            ok, msg = await run_probe({"httpGet": {"path": path, "port": port, "scheme": "HTTPS"}},
                                      {}, "127.0.0.1", None, 2)
            assert ok is want, msg
        # plain HTTP against the TLS port fails as a probe, it does not raise
        ok, _ = await run_probe({"httpGet": {"path": "/healthz", "port": port}}, {}, "127.0.0.1", None, 2)
        assert not ok
    finally:
        await runner.cleanup()
    ctx = probe_tls_context()
    assert ctx is probe_tls_context()
    assert ctx.verify_mode == ssl.CERT_NONE and not ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] == 0


async def test_readiness_and_startup_gate_then_liveness_kills():
    changes, kills = [], []
    results = {"startup": [1, 0], "live": [0, 1, 1]}

    async def exec_fn(cid, cmd, timeout):
        seq = results[cmd[0]]
        return (seq.pop(0) if seq else 0), b"failed"

    async def on_kill(cid, msg):
        kills.append((cid, msg))

    fast = {"periodSeconds": 0.01, "failureThreshold": 2}
    c = {"name": "c", "startupProbe": {"exec": {"command": ["startup"]}, **fast},
         "livenessProbe": {"exec": {"command": ["live"]}, **fast},
         "readinessProbe": {"exec": {"command": ["ready"]}, "periodSeconds": 0.01}}
    results["ready"] = []
    p = ContainerProbes(c, "cid1", "127.0.0.1", exec_fn, lambda: changes.append(1), on_kill)
    assert not p.started and not p.ready
    p.start()
    for _ in range(500):
        if kills:
            break
        await asyncio.sleep(0.01)
    p.stop()
    assert p.started and p.ready
    assert kills and kills[0][0] == "cid1" and kills[0][1].startswith("Liveness probe failed")


def test_disabled_probes_report_ready():
    p = ContainerProbes({"name": "c", "readinessProbe": {"exec": {"command": ["x"]}}}, "cid", "", None,
                        lambda: None, None, enabled=False)
    assert p.ready and p.started
