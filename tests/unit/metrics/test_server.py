"""The metrics-server's API: NodeMetrics and PodMetrics lists and objects, selectors, namespaces,
Table output for `kubectl get podmetrics`, NotFound, readiness."""
import pytest
from aiohttp.test_utils import TestClient, TestServer

from labkube.metrics import api
from labkube.metrics.server import make_app
from labkube.metrics.store import Usage

U = Usage(timestamp=1700000000.0, window=5.0, cpu_nanocores=250_000_000, memory_bytes=8 * 1024 * 1024)


class Source:
    ready = False

    def node_items(self, now):
        return [api.node_metrics(n, {"role": r}, U, now) for n, r in (("m-k8s", "master"), ("w1-k8s", "worker"))]

    def pod_items(self, now, namespace):
        pods = [("default", "web-1", {"app": "web"}), ("default", "db", {"app": "db"}), ("kube-system", "x", {})]
        return [api.pod_metrics(ns, n, labels, {"a": U, "b": U}, now) for ns, n, labels in pods
                if namespace in (None, ns)]


@pytest.fixture
async def client():
    async with TestClient(TestServer(make_app(Source(), [], authenticate=False))) as c:
        yield c


def names(doc):
    return [(i["metadata"].get("namespace"), i["metadata"]["name"]) for i in doc["items"]]


@pytest.mark.parametrize("path, want", [
    ("/apis/metrics.k8s.io/v1beta1/nodes", [(None, "m-k8s"), (None, "w1-k8s")]),
    ("/apis/metrics.k8s.io/v1beta1/nodes?labelSelector=role%3Dworker", [(None, "w1-k8s")]),
    ("/apis/metrics.k8s.io/v1beta1/pods", [("default", "web-1"), ("default", "db"), ("kube-system", "x")]),
    ("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods", [("default", "web-1"), ("default", "db")]),
    ("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app+in+(web)", [("default", "web-1")]),
    ("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?fieldSelector=metadata.name%3Ddb", [("default", "db")]),
])
async def test_lists(client, path, want):
    r = await client.get(path)
    assert r.status == 200
    assert names(await r.json()) == want


async def test_objects_and_not_found(client):
    pod = await (await client.get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods/web-1")).json()
    assert pod["kind"] == "PodMetrics" and pod["window"] == "5s" and pod["timestamp"] == "2023-11-14T22:13:20Z"
    assert pod["containers"] == [{"name": "a", "usage": {"cpu": "250000000n", "memory": "8192Ki"}},
                                 {"name": "b", "usage": {"cpu": "250000000n", "memory": "8192Ki"}}]
    node = await (await client.get("/apis/metrics.k8s.io/v1beta1/nodes/w1-k8s")).json()
    assert node["usage"] == {"cpu": "250000000n", "memory": "8192Ki"} and node["metadata"]["labels"] == {"role": "worker"}
    r = await client.get("/apis/metrics.k8s.io/v1beta1/namespaces/kube-system/pods/web-1")
    assert r.status == 404 and (await r.json())["message"] == 'podmetrics.metrics.k8s.io "kube-system/web-1" not found'
    r = await client.get("/apis/metrics.k8s.io/v1beta1/pods?labelSelector=a+in+(")
    assert r.status == 400 and "invalid label selector" in (await r.json())["message"]


async def test_table_for_kubectl_get(client):
    r = await client.get("/apis/metrics.k8s.io/v1beta1/namespaces/default/pods",
                         headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
    doc = await r.json()
    assert [c["name"] for c in doc["columnDefinitions"]] == ["Name", "CPU", "Memory", "Window"]
    assert doc["rows"][0]["cells"] == ["web-1", "500000000n", "16384Ki", "5s"]


async def test_resource_list_and_readiness(client):
    doc = await (await client.get("/apis/metrics.k8s.io/v1beta1")).json()
    assert [(x["name"], x["kind"], x["namespaced"]) for x in doc["resources"]] == [
        ("nodes", "NodeMetrics", False), ("pods", "PodMetrics", True)]
    assert (await client.get("/readyz")).status == 503      # nothing scraped yet
    assert (await client.get("/healthz")).status == 200


@pytest.mark.parametrize("seconds, want", [(15.0, "15s"), (14.9871, "14.987s"), (5.0004, "5s")])
def test_window(seconds, want):
    assert api.window(seconds) == want
