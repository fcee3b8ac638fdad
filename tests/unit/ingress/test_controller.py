"""The controller on the FakeApi, serving on loopback: the IngressClass made when missing, requests
routed to the endpoints of the Ingress's Services in turn, 503 without endpoints, Ingresses of other
classes ignored, the status addresses, and routing that stops when the Ingress goes."""
from __future__ import annotations

import asyncio
import socket

import aiohttp
import pytest
from aiohttp import web

from labkube.client.fake import FakeApi
from labkube.ingress.config import IngressConfig
from labkube.ingress.controller import IngressController


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def start_pod(name: str) -> tuple[web.AppRunner, int]:
    """A loopback server standing in for a pod: answers its own name."""
    async def hello(_request):
        return web.Response(text=name)
    app = web.Application()
    app.router.add_get("/{tail:.*}", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, port


def ingress(name, host, service, class_name=None):
    spec = {"rules": [{"host": host, "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {
        "service": {"name": service, "port": {"number": 80}}}}]}}]}
    if class_name:
        spec["ingressClassName"] = class_name
    return {"metadata": {"name": name}, "spec": spec}


def node(name, ip):
    return {"metadata": {"name": name}, "status": {"addresses": [{"type": "InternalIP", "address": ip}],
                                                   "conditions": [{"type": "Ready", "status": "True"}]}}


async def eventually(what, fn, timeout=5.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        got = await fn()
        if got:
            return got
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


@pytest.fixture
async def lab():
    api = FakeApi()
    pods = [await start_pod("pod-a"), await start_pod("pod-b")]
    for n in (node("w2", "10.200.0.12"), node("w1", "10.200.0.11")):
        await api.create("nodes", n)
    await api.create("services", {"metadata": {"name": "web"}, "spec": {"ports": [
        {"name": "http", "port": 80, "targetPort": 8080}]}}, namespace="default")
    await api.create("endpoints", {"metadata": {"name": "web"}, "subsets": [{
        "addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "http", "port": port}]} for _, port in pods]},
        namespace="default")
    await api.create("services", {"metadata": {"name": "empty"}, "spec": {"ports": [{"port": 80}]}}, namespace="default")
    port = free_port()
    ctl = IngressController(api, IngressConfig("127.0.0.1", port, 0, 5.0))
    task = asyncio.create_task(ctl.run())
    yield api, ctl, port
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    for runner, _ in pods:
        await runner.cleanup()


async def get(port, host):
    async def once():
        try:
            async with aiohttp.ClientSession() as s:
                async with s.get(f"http://127.0.0.1:{port}/x", headers={"Host": host}) as r:
                    return r.status, await r.text()
        except aiohttp.ClientConnectionError:
            return None
    return await eventually("the listener", once)


async def test_serves_ingresses_of_its_class_and_writes_their_status(lab):
    api, ctl, port = lab
    created = await eventually("the IngressClass", lambda: api.list("ingressclasses"))
    assert created[0]["metadata"]["annotations"]["ingressclass.kubernetes.io/is-default-class"] == "true"
    await api.create("ingresses", ingress("web", "web.test", "web"), namespace="default")
    await api.create("ingresses", ingress("down", "down.test", "empty", class_name="labkube"), namespace="default")
    await api.create("ingresses", ingress("theirs", "theirs.test", "web", class_name="nginx"), namespace="default")

    async def routed():
        return (await get(port, "web.test"))[0] == 200
    await eventually("web.test routed", routed)
    answers = {(await get(port, "web.test"))[1] for _ in range(4)}
    assert answers == {"pod-a", "pod-b"}                      # round-robin over both endpoints
    assert (await get(port, "down.test"))[0] == 503
    assert (await get(port, "theirs.test"))[0] == 404          # another class: not ours

    async def status_of(name):
        ing = await api.get("ingresses", name, namespace="default")
        return ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress")
    assert await eventually("web's status", lambda: status_of("web")) == [{"ip": "10.200.0.11"}, {"ip": "10.200.0.12"}]
    assert await status_of("theirs") is None

    await api.delete("ingresses", "web", namespace="default")

    async def gone():
        return (await get(port, "web.test"))[0] == 404
    await eventually("web.test no longer routed", gone)


async def test_shares_the_processs_informers_and_leaves_them_running():
    from labkube.client.informer import Informer
    api = FakeApi()
    pod, pod_port = await start_pod("pod-a")
    await api.create("nodes", node("w1", "10.200.0.11"))
    await api.create("services", {"metadata": {"name": "web"}, "spec": {"ports": [{"port": 80}]}}, namespace="default")
    await api.create("endpoints", {"metadata": {"name": "web"}, "subsets": [{
        "addresses": [{"ip": "127.0.0.1"}], "ports": [{"port": pod_port}]}]}, namespace="default")
    shared = {name: Informer(api, name) for name in ("services", "endpoints", "nodes")}
    for inf in shared.values():
        inf.start()
    port = free_port()
    ctl = IngressController(api, IngressConfig("127.0.0.1", port, 0, 5.0), shared={**shared, "nodes": None})
    assert ctl.services is shared["services"] and ctl.endpoints is shared["endpoints"]
    assert ctl.nodes is not shared["nodes"] and ctl.nodes in ctl.owned     # None: one of its own
    task = asyncio.create_task(ctl.run())
    try:
        await api.create("ingresses", ingress("web", "web.test", "web"), namespace="default")

        async def routed():
            return (await get(port, "web.test")) == (200, "pod-a")
        await eventually("web.test routed", routed)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await pod.cleanup()
    assert all(inf._task is not None and not inf._task.done() for inf in shared.values())
    for inf in shared.values():
        await inf.stop()


async def test_status_follows_node_readiness(lab):
    api, ctl, port = lab
    await eventually("the IngressClass", lambda: api.list("ingressclasses"))
    await api.create("ingresses", ingress("web", "web.test", "web"), namespace="default")

    async def addresses():
        ing = await api.get("ingresses", "web", namespace="default")
        return [a["ip"] for a in ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []]
    assert await eventually("both nodes", lambda: addresses()) == ["10.200.0.11", "10.200.0.12"]
    await api.patch("nodes", "w2", {"status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}},
                    subresource="status")

    async def only_w1():
        return await addresses() == ["10.200.0.11"]
    await eventually("the NotReady node dropped", only_w1)


async def test_an_ingress_that_becomes_ours_by_a_class_change_gets_its_status(lab):
    api, ctl, port = lab
    await eventually("the IngressClass", lambda: api.list("ingressclasses"))
    await api.create("ingresses", ingress("later", "later.test", "web", class_name="mine"), namespace="default")

    async def routed():
        return (await get(port, "later.test"))[0] == 200
    await eventually("the listener", lambda: get(port, "x.test"))
    assert (await get(port, "later.test"))[0] == 404                          # class "mine" is nobody's yet

    async def has_status():
        ing = await api.get("ingresses", "later", namespace="default")
        return ((ing.get("status") or {}).get("loadBalancer") or {}).get("ingress")
    await asyncio.sleep(0.3)
    assert await has_status() is None
    await api.create("ingressclasses", {"metadata": {"name": "mine"}, "spec": {"controller": "labkube.io/ingress"}})
    await eventually("later.test routed", routed)
    assert await eventually("its status", has_status) == [{"ip": "10.200.0.11"}, {"ip": "10.200.0.12"}]
