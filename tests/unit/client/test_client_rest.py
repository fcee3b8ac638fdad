"""labkube.client: kubeconfig loading and the REST client against a tiny mutual-TLS server on 127.0.0.1."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import ssl

import pytest
import yaml
from aiohttp import web

from labkube.client import ApiError, Client, KubeConfig, KubeConfigError
from labkube.client import rest as rest_mod
from labkube.testing import make_pki
from steppingclock import SteppingClock


def write_kubeconfig(d, pki, server, inline=False):
    user = ({"client-certificate-data": base64.b64encode(open(pki["client.crt"], "rb").read()).decode(),
             "client-key-data": base64.b64encode(open(pki["client.key"], "rb").read()).decode()}
            if inline else {"client-certificate": "client.crt", "client-key": "client.key"})
    cluster = ({"certificate-authority-data": base64.b64encode(open(pki["ca.crt"], "rb").read()).decode()}
               if inline else {"certificate-authority": "ca.crt"})
    cluster["server"] = server
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "lab",
           "contexts": [{"name": "other", "context": {"cluster": "nope", "user": "nope"}},
                        {"name": "lab", "context": {"cluster": "c", "user": "u", "namespace": "ns1"}}],
           "clusters": [{"name": "c", "cluster": cluster}], "users": [{"name": "u", "user": user}]}
    p = os.path.join(d, "inline.kubeconfig" if inline else "k.kubeconfig")
    with open(p, "w") as f:
        yaml.safe_dump(doc, f)
    return p


@pytest.mark.parametrize("inline", [False, True])
def test_kubeconfig_paths_and_data(tmp_path, inline):
    pki = make_pki(str(tmp_path))
    p = write_kubeconfig(str(tmp_path), pki, "https://127.0.0.1:6443/", inline)
    cfg = KubeConfig.load(p)
    assert cfg.server == "https://127.0.0.1:6443"
    assert cfg.namespace == "ns1"
    assert cfg.ca_data == open(pki["ca.crt"], "rb").read()
    assert cfg.key_data == open(pki["client.key"], "rb").read()
    assert isinstance(cfg.ssl_context(), ssl.SSLContext)


def test_kubeconfig_errors(tmp_path):
    with pytest.raises(KubeConfigError):
        KubeConfig.load(str(tmp_path / "missing"))
    p = tmp_path / "bad"
    p.write_text(yaml.safe_dump({"current-context": "x", "contexts": []}))
    with pytest.raises(KubeConfigError, match="context 'x' not found"):
        KubeConfig.load(str(p))


INFLIGHT = {"now": 0, "peak": 0}          # requests inside the server's /namespaces/slow/ handler


@pytest.fixture
async def server(tmp_path):
    pki = make_pki(str(tmp_path))
    seen = []
    release = asyncio.Event()
    INFLIGHT.update(now=0, peak=0)

    async def handle(request: web.Request):
        body = await request.read()
        if request.path.startswith("/api/v1/namespaces/slow/"):
            INFLIGHT["now"] += 1
            INFLIGHT["peak"] = max(INFLIGHT["peak"], INFLIGHT["now"])
            await asyncio.sleep(0.01)           # let the other requests of the burst arrive
            INFLIGHT["now"] -= 1
        seen.append((request.method, request.path_qs, request.headers.get("Content-Type"),
                     json.loads(body) if body else None, request.transport.get_extra_info("peercert")))
        p = request.path
        if p == "/api/v1/namespaces/default/pods/missing":
            return web.json_response({"kind": "Status", "apiVersion": "v1", "status": "Failure",
                                      "reason": "NotFound", "message": 'pods "missing" not found',
                                      "code": 404}, status=404)
        if p == "/api/v1/namespaces/hold/pods" and request.query.get("watch") == "true":
            resp = web.StreamResponse()
            await resp.prepare(request)
            await release.wait()                # a watch that stays open until teardown
            return resp
        if p == "/api/v1/namespaces/echo/configmaps" and request.method == "POST":
            return web.Response(body=body, content_type="application/json")     # the body as sent
        if p == "/api/v1/namespaces/echo/configmaps" and request.query.get("watch") == "true":
            resp = web.StreamResponse()
            await resp.prepare(request)
            for obj in ECHO_CASES.values():
                await resp.write(json.dumps({"type": "ADDED", "object": obj}, ensure_ascii=False).encode() + b"\n")
            return resp
        if p == "/api/v1/namespaces/many/pods" and request.query.get("watch") == "true":
            resp = web.StreamResponse()
            await resp.prepare(request)
            lines = [json.dumps({"type": "ADDED", "object": {"metadata": {"name": f"p{i}"}}}).encode()
                     for i in range(300)]
            blob = b"\n".join(lines[:299]) + b"\n" + lines[299]       # the last one without its newline
            await resp.write(blob[:50])                                  # a line split across writes
            await resp.write(blob[50:])
            return resp
        if p == "/api/v1/namespaces/default/pods" and request.query.get("watch") == "true":
            resp = web.StreamResponse()
            await resp.prepare(request)
            for t, n in (("ADDED", "a"), ("MODIFIED", "a")):
                ev = {"type": t, "object": {"metadata": {"name": n, "resourceVersion": "7"}}}
                await resp.write(json.dumps(ev).encode() + b"\n")
            if request.query.get("resourceVersion") == "1":
                await resp.write(json.dumps({"type": "ERROR", "object": {
                    "kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}}).encode()[:30])
                await resp.write(json.dumps({"type": "ERROR", "object": {
                    "kind": "Status", "code": 410, "reason": "Expired", "message": "too old"}}).encode()[30:] + b"\n")
            return resp
        if p == "/api/v1/namespaces/default/pods" and request.method == "GET":
            return web.json_response({"kind": "PodList", "apiVersion": "v1",
                                      "metadata": {"resourceVersion": "5"},
                                      "items": [{"metadata": {"name": "a"}}]})
        if p.endswith("/log"):
            return web.Response(text="smoke-ok\n")
        return web.json_response({"kind": "Pod", "metadata": {"name": "x"}})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    sctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=pki["ca.crt"])
    sctx.load_cert_chain(pki["server.crt"], pki["server.key"])
    sctx.verify_mode = ssl.CERT_REQUIRED
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=sctx)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]
    kc = write_kubeconfig(str(tmp_path), pki, f"https://127.0.0.1:{port}")
    yield kc, seen
    release.set()
    await runner.cleanup()


async def test_verbs_and_errors(server):
    kc, seen = server
    async with Client(KubeConfig.load(kc)) as c:
        with pytest.raises(ApiError) as ei:
            await c.get("pods", "missing", namespace="default")
        assert (ei.value.code, ei.value.reason) == (404, "NotFound")
        assert ei.value.message == 'pods "missing" not found'
        items = await c.list("po", namespace="default", label_selector="app=web")
        assert items == [{"metadata": {"name": "a"}, "kind": "Pod", "apiVersion": "v1"}]
        await c.create("deployments", {"metadata": {"name": "d", "namespace": "ns2"}})
        await c.patch("deployments", "d", [{"op": "remove", "path": "/x"}], namespace="ns2", patch_type="json")
        await c.replace("replicasets", "r", {"metadata": {"name": "r"}}, namespace="ns2", subresource="status")
        await c.delete("pods", "p", namespace="default", grace_period_seconds=0, propagation_policy="Background")
        await c.post_subresource("pods", "p", "binding", {"target": {"kind": "Node", "name": "w1"}}, namespace="default")
        assert await c.logs("p", "default", container="c") == "smoke-ok\n"
        await c.delete_collection("pods", namespace="default", label_selector="app=x", grace_period_seconds=1)
    m = [(s[0], s[1], s[2]) for s in seen]
    assert m[1] == ("GET", "/api/v1/namespaces/default/pods?labelSelector=app%3Dweb", None)
    assert m[2][:2] == ("POST", "/apis/apps/v1/namespaces/ns2/deployments")
    assert m[3] == ("PATCH", "/apis/apps/v1/namespaces/ns2/deployments/d", "application/json-patch+json")
    assert m[4][:2] == ("PUT", "/apis/apps/v1/namespaces/ns2/replicasets/r/status")
    assert seen[5][3] == {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
                          "propagationPolicy": "Background"}
    assert m[6][:2] == ("POST", "/api/v1/namespaces/default/pods/p/binding")
    assert m[7][:2] == ("GET", "/api/v1/namespaces/default/pods/p/log?container=c")
    assert seen[0][4] is not None  # the server saw our client certificate
    assert m[8][:2] == ("DELETE", "/api/v1/namespaces/default/pods?labelSelector=app%3Dx")
    assert seen[8][3]["gracePeriodSeconds"] == 1


async def test_a_patch_without_reply_returns_none_and_still_raises(server):
    kc, seen = server
    async with Client(KubeConfig.load(kc)) as c:
        assert await c.patch("pods", "x", {"status": {}}, namespace="default", subresource="status") == \
            {"kind": "Pod", "metadata": {"name": "x"}}
        assert await c.patch("pods", "x", {"status": {}}, namespace="default", subresource="status",
                             reply=False) is None
        with pytest.raises(ApiError) as ei:
            await c.patch("pods", "missing", {"status": {}}, namespace="default", reply=False)
        assert ei.value.code == 404
    assert [s[:2] for s in seen] == [("PATCH", "/api/v1/namespaces/default/pods/x/status")] * 2 + [
        ("PATCH", "/api/v1/namespaces/default/pods/missing")]


async def test_watch_stream_and_expired(server):
    kc, _ = server
    async with Client(KubeConfig.load(kc)) as c:
        evs = [e async for e in c.watch("pods", namespace="default", resource_version="5")]
        assert [(e["type"], e["object"]["kind"]) for e in evs] == [("ADDED", "Pod"), ("MODIFIED", "Pod")]
        got = []
        with pytest.raises(ApiError) as ei:
            async for e in c.watch("pods", namespace="default", resource_version="1"):
                got.append(e)
        assert ei.value.code == 410 and len(got) == 2
        raw = [e async for e in c.watch("pods", namespace="default", resource_version="1", raise_errors=False)]
        assert raw[-1]["type"] == "ERROR" and raw[-1]["object"]["code"] == 410


ECHO_CASES = {  # what: an object that must come back exactly as sent, in a body, a reply and a watch event
    "plain": {"metadata": {"name": "a"}, "data": {"k": "v"}},
    "non-ASCII text": {"metadata": {"name": "b"}, "data": {"greeting": "grüße, 你好 ✓"}},
    "integer beyond 64 bits": {"metadata": {"name": "c"}, "x": {"big": 2 ** 70, "neg": -(2 ** 65)}},
    "floats, nulls, booleans": {"metadata": {"name": "d"}, "x": {"f": 0.25, "n": None, "t": True, "e": []}},
}


@pytest.mark.parametrize("what", list(ECHO_CASES))
async def test_bodies_replies_and_watch_events_keep_every_json_value(server, what):
    kc, seen = server
    obj = ECHO_CASES[what]
    async with Client(KubeConfig.load(kc)) as c:
        back = await c.create("configmaps", obj, namespace="echo")
        evs = [e async for e in c.watch("configmaps", namespace="echo")]
    assert seen[-2][3] == obj and back == obj, what                 # as the server read it, as we read its reply
    got = next(e["object"] for e in evs if e["object"]["metadata"]["name"] == obj["metadata"]["name"])
    assert {k: v for k, v in got.items() if k not in ("kind", "apiVersion")} == obj, what


async def test_watch_splits_many_events_per_chunk_and_lines_across_chunks(server):
    kc, _ = server
    async with Client(KubeConfig.load(kc)) as c:
        evs = [e async for e in c.watch("pods", namespace="many")]
    assert [e["object"]["metadata"]["name"] for e in evs] == [f"p{i}" for i in range(300)]


@pytest.mark.parametrize("step,lets_others_in_between_every_line", [
    (0.0, False),       # the slice never ends: the other task runs only when the received lines run out
    (2 * rest_mod.WATCH_SLICE, True),   # every line reaches the slice's end: a turn for the others before each
])
async def test_a_watch_reading_many_received_lines_lets_other_tasks_run(server, monkeypatch, step,
                                                                     lets_others_in_between_every_line):
    kc, _ = server
    monkeypatch.setattr(rest_mod, "perf_counter", SteppingClock(step))
    turns = 0

    async def other_task():
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)
    async with Client(KubeConfig.load(kc)) as c:
        ticker = asyncio.create_task(other_task())
        at_event = [turns async for _ in c.watch("pods", namespace="many")]
        ticker.cancel()
    assert len(at_event) == 300
    # whether the other task had a turn between each event and the next; the last line comes
    # without its newline and is read once the stream has ended
    between = [b > a for a, b in zip(at_event[:-1], at_event[1:-1])]
    assert all(between) is lets_others_in_between_every_line, at_event


async def open_watches(c, seen, n: int) -> list[asyncio.Task]:
    """n watches held open on namespace "hold"; returns once the server has seen them (or ~4 s)."""
    async def hold():
        async for _ in c.watch("pods", namespace="hold"):
            pass
    tasks = [asyncio.create_task(hold()) for _ in range(n)]
    for _ in range(200):
        if sum(1 for s in seen if "namespaces/hold" in s[1]) == n:
            break
        await asyncio.sleep(0.02)
    return tasks


async def test_requests_in_flight_are_capped_and_watches_do_not_count(server):
    kc, seen = server
    async with Client(KubeConfig.load(kc), max_in_flight=3) as c:
        watches = await open_watches(c, seen, 5)
        got = await asyncio.gather(*(c.get("pods", f"p{i}", namespace="slow") for i in range(12)))
        assert sum(1 for s in seen if "namespaces/hold" in s[1]) == 5       # five watches open ...
        assert len(got) == 12 and INFLIGHT["peak"] == 3                      # ... and still 3 requests at once
        for t in watches:
            t.cancel()
        await asyncio.gather(*watches, return_exceptions=True)
    with pytest.raises(ValueError, match="max_in_flight must be at least 1, got 0"):
        Client(KubeConfig.load(kc), max_in_flight=0)


async def test_many_open_watches_do_not_starve_requests(server):
    kc, seen = server
    async with Client(KubeConfig.load(kc)) as c:
        tasks = await open_watches(c, seen, 60)
        assert sum(1 for s in seen if "namespaces/hold" in s[1]) == 60
        got = await asyncio.wait_for(c.get("pods", "p", namespace="default"), 5)
        assert got["metadata"]["name"] == "x"
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def test_tls_server_name_is_used_for_verification(server, tmp_path):
    kc, _ = server
    doc = yaml.safe_load(open(kc))
    url = doc["clusters"][0]["cluster"]["server"]
    doc["clusters"][0]["cluster"]["server"] = url.replace("127.0.0.1", "localhost")
    doc["clusters"][0]["cluster"]["tls-server-name"] = "not-in-the-cert"
    p = os.path.join(os.path.dirname(kc), "named.kubeconfig")
    with open(p, "w") as f:
        yaml.safe_dump(doc, f)
    async with Client(KubeConfig.load(p)) as c:
        with pytest.raises(Exception) as ei:
            await c.get("pods", "x", namespace="default")
        assert "not-in-the-cert" in str(ei.value) or "certificate" in str(ei.value).lower()
    doc["clusters"][0]["cluster"]["tls-server-name"] = "localhost"
    with open(p, "w") as f:
        yaml.safe_dump(doc, f)
    async with Client(KubeConfig.load(p)) as c:
        assert (await c.get("pods", "x", namespace="default"))["metadata"]["name"] == "x"


@pytest.mark.parametrize("pick,want", [
    (lambda line: True, [f"p{i}" for i in range(300)]),
    (lambda line: b'"p2' in line, ["p2"] + [f"p{i}" for i in range(20, 30)] + [f"p{i}" for i in range(200, 300)]),
    (lambda line: b'"p0"' in line or b'"p299"' in line, ["p0", "p299"]),   # the first, the last without newline
    (lambda line: False, []),
])
async def test_watch_skips_the_lines_decode_line_rejects(server, pick, want):
    kc, _ = server
    async with Client(KubeConfig.load(kc)) as c:
        evs = [e async for e in c.watch("pods", namespace="many", decode_line=pick)]
    assert [e["object"]["metadata"]["name"] for e in evs] == want
