"""The direct create path (labkube.apiserver.fastcreate): which pod creates it takes, and that
its replies - the created pod and every error - are byte for byte the aiohttp path's, with the
same defaults, validation and admission (LimitRange, ResourceQuota, ServiceAccount, namespace)."""
import asyncio
import re

import pytest
from apiserver_helpers import PODS, pod
from fastpath_helpers import exchange, exchange_with_both, get, normalised, paired_servers, post

from labkube import jsonio

QUOTA = {"metadata": {"name": "none-left"}, "spec": {"hard": {"pods": "0"}}}
LIMITS = {"metadata": {"name": "defaults"},
          "spec": {"limits": [{"type": "Container", "default": {"cpu": "200m"}, "defaultRequest": {"cpu": "100m"}}]}}
SETUP = [("/api/v1/namespaces", {"metadata": {"name": name}}) for name in ("quota", "limits")] + [
    (f"/api/v1/namespaces/{ns}/serviceaccounts", {"metadata": {"name": "default"}})
    for ns in ("default", "quota", "limits")] + [
    ("/api/v1/namespaces/quota/resourcequotas", QUOTA), ("/api/v1/namespaces/limits/limitranges", LIMITS),
    (PODS, pod("web"))]


@pytest.fixture
async def servers(tmp_path):
    """The same writes on a server with the direct paths and on one with aiohttp's alone."""
    async for started in paired_servers(tmp_path, SETUP):
        yield started


def _bad_image(name):
    p = pod(name)
    p["spec"]["containers"][0]["image"] = ""
    return p


# (case, request bytes, responses, the paths the direct path answered, client certificate, status lines)
CASES = [
    ("created", post(PODS, pod("a")), 1, [PODS], True, [201]),
    ("manager from User-Agent", post(PODS, pod("b"), "User-Agent: kubectl/v1.31.0 (linux/amd64)"), 1, [PODS], True,
     [201]),
    ("content type with charset", post(PODS, pod("c"), content_type="application/json; charset=utf-8"), 1, [PODS],
     True, [201]),
    ("LimitRange defaults", post("/api/v1/namespaces/limits/pods", pod("d")), 1, ["/api/v1/namespaces/limits/pods"],
     True, [201]),
    ("exists: 409", post(PODS, pod("web")), 1, [PODS], True, [409]),
    ("invalid: 422 naming the field", post(PODS, _bad_image("e")), 1, [PODS], True, [422]),
    ("quota exceeded: 403", post("/api/v1/namespaces/quota/pods", pod("f")), 1, ["/api/v1/namespaces/quota/pods"],
     True, [403]),
    ("no such namespace: 404", post("/api/v1/namespaces/nope/pods", pod("g")), 1, ["/api/v1/namespaces/nope/pods"],
     True, [404]),
    ("namespace mismatch: 400", post(PODS, {**pod("h"), "metadata": {"name": "h", "namespace": "limits"}}), 1,
     [PODS], True, [400]),
    ("wrong type: 400", post(PODS, {**pod("i"), "spec": {"containers": "x"}}), 1, [PODS], True, [400]),
    ("not JSON: 400", post(PODS, b"{nope"), 1, [PODS], True, [400]),
    ("an array: 400", post(PODS, b"[1]"), 1, [PODS], True, [400]),
    ("empty body: 400", post(PODS, b""), 1, [PODS], True, [400]),
    ("create, GET of it and another create, pipelined, in order",
     post(PODS, pod("j")) + get(PODS + "/j") + post(PODS, pod("k")), 3, [PODS], True, [201, 200, 201]),
    ("GET then create, pipelined", get(PODS + "/web") + post(PODS, pod("l")), 2, [PODS + "/web", PODS], True,
     [200, 201]),
    ("dry run: aiohttp", post(PODS + "?dryRun=All", pod("m")), 1, [], True, [201]),
    ("fieldManager: aiohttp", post(PODS + "?fieldManager=me", pod("n")), 1, [], True, [201]),
    ("YAML: aiohttp", post(PODS, b"metadata: {name: o}\nspec: {containers: [{name: c, image: busybox}]}\n",
                            content_type="application/yaml"), 1, [], True, [201]),
    ("no Content-Type: aiohttp", post(PODS, pod("p"), content_type=None), 1, [], True, [201]),
    ("other resource: aiohttp", post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "q"}}), 1, [],
     True, [201]),
    ("Expect: 100-continue: aiohttp", post(PODS, pod("r"), "Expect: 100-continue"), 1, [], True, [201]),
    ("Connection: close: aiohttp", post(PODS, pod("s"), "Connection: close"), 1, [], True, [201]),
    ("HTTP/1.0: aiohttp", post(PODS, pod("t")).replace(b"HTTP/1.1", b"HTTP/1.0", 1), 1, [], True, [201]),
    ("no client certificate: 401 from aiohttp", post(PODS, pod("u")), 1, [], False, [401]),
    ("create behind a slow request stays behind it", get(PODS) + post(PODS, pod("v")), 2, [], True, [200, 201]),
]


@pytest.mark.parametrize("raw,count,direct,cert,codes", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
async def test_direct_creates_equal_aiohttp_creates(servers, raw, count, direct, cert, codes):
    fast, plain, fast_seen, plain_seen = await exchange_with_both(servers, raw, count, cert)
    assert [int(re.findall(rb"HTTP/1.[01] (\d+) ", r)[-1]) for r in fast] == codes  # after any 100 Continue
    assert [normalised(r) for r in fast] == [normalised(r) for r in plain]
    answered_directly = list(plain_seen)
    for path in fast_seen:
        answered_directly.remove(path)
    assert answered_directly == direct


async def test_error_replies_name_the_cause(servers):
    """What the compared replies say (so the byte comparison above compares the right thing)."""
    (_, fast_port, _), _ = servers[0]
    ctx = servers[1]
    invalid, quota, exists = [jsonio.loads(r.split(b"\r\n\r\n", 1)[1]) for r in await exchange(
        fast_port, ctx, post(PODS, _bad_image("x1")) + post("/api/v1/namespaces/quota/pods", pod("x2"))
        + post(PODS, pod("web")), 3)]
    assert "spec.containers[0].image: Required value" in invalid["message"] and invalid["reason"] == "Invalid"
    assert "exceeded quota: none-left" in quota["message"] and quota["code"] == 403
    assert exists["reason"] == "AlreadyExists" and exists["code"] == 409


async def test_admission_and_defaults_apply_to_direct_creates(servers):
    (_, fast_port, fast_seen), _ = servers[0]
    fast_seen.clear()
    (resp,) = await exchange(fast_port, servers[1], post("/api/v1/namespaces/limits/pods", pod("y"),
                                                           "User-Agent: kubectl/v1.31.0"), 1)
    assert fast_seen == []
    created = jsonio.loads(resp.split(b"\r\n\r\n", 1)[1])
    c = created["spec"]["containers"][0]
    assert c["resources"] == {"limits": {"cpu": "200m"}, "requests": {"cpu": "100m"}}
    assert c["imagePullPolicy"] == "Always" and created["spec"]["restartPolicy"] == "Always"
    assert any(v["name"].startswith("kube-api-access-") for v in created["spec"]["volumes"])
    assert created["metadata"]["managedFields"][0]["manager"] == "kubectl"
    assert created["metadata"]["resourceVersion"]


async def test_body_arriving_after_the_headers_takes_the_aiohttp_path(servers):
    (_, fast_port, fast_seen), _ = servers[0]
    raw = post(PODS, pod("z"))
    head, body = raw.split(b"\r\n\r\n", 1)
    reader, writer = await asyncio.open_connection("127.0.0.1", fast_port, ssl=servers[1])
    fast_seen.clear()
    writer.write(head + b"\r\n\r\n")
    await writer.drain()
    await asyncio.sleep(0.2)
    writer.write(body)
    resp = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    await reader.readexactly(int(re.search(rb"Content-Length: (\d+)", resp).group(1)))
    writer.close()
    assert resp.startswith(b"HTTP/1.1 201 ") and fast_seen == [PODS]


async def test_shutdown_waits_for_a_direct_create(servers, monkeypatch):
    """A graceful stop lets a create in flight finish and answer, as aiohttp does for its handlers."""
    (runner, fast_port, _), _ = servers[0]
    from labkube.apiserver import fastcreate
    real = fastcreate.create
    started = asyncio.Event()

    async def slow_create(*args):
        started.set()
        await asyncio.sleep(0.3)
        return await real(*args)

    monkeypatch.setattr(fastcreate, "create", slow_create)
    reader, writer = await asyncio.open_connection("127.0.0.1", fast_port, ssl=servers[1])
    writer.write(post(PODS, pod("late")))
    await asyncio.wait_for(started.wait(), 10)
    stop = asyncio.ensure_future(runner.shutdown())
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    await stop
    writer.close()
    assert head.startswith(b"HTTP/1.1 201 ")


async def test_client_gone_before_the_reply_still_creates(servers, monkeypatch, caplog):
    """Like an aiohttp handler, a direct create that was taken completes when its client hangs up."""
    (_, fast_port, fast_seen), _ = servers[0]
    from labkube.apiserver import fastcreate
    real, taken, hung_up = fastcreate.create, asyncio.Event(), asyncio.Event()

    async def create_after_hang_up(*args):
        taken.set()
        await hung_up.wait()
        return await real(*args)

    monkeypatch.setattr(fastcreate, "create", create_after_hang_up)
    fast_seen.clear()
    _, writer = await asyncio.open_connection("127.0.0.1", fast_port, ssl=servers[1])
    writer.write(post(PODS, pod("gone")))
    await asyncio.wait_for(taken.wait(), 10)
    writer.transport.abort()
    await asyncio.sleep(0.05)  # the server sees the connection go
    hung_up.set()
    for _ in range(100):  # the create runs on; poll until it is stored (bounded)
        (resp,) = await exchange(fast_port, servers[1], get(PODS + "/gone"), 1)
        if resp.startswith(b"HTTP/1.1 200 "):
            break
        await asyncio.sleep(0.05)
    assert resp.startswith(b"HTTP/1.1 200 ") and PODS not in fast_seen  # created by the direct path
    assert not [r for r in caplog.records if r.name == "labkube.apiserver.fastcreate"]
