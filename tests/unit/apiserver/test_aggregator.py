"""API aggregation: an APIService naming a Service makes the apiserver proxy its group to the
Service's endpoints over TLS, with the caller's identity in front-proxy headers; discovery lists
the group; a backend that cannot be reached answers 503 ServiceUnavailable naming it."""
import asyncio
import base64
import ssl

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from apiserver_pki import make_pki

from labkube.apiserver import aggregator, apiservice_checks
from labkube.apiserver.app import make_app
from labkube.apiserver.config import ApiserverConfig
from labkube.apiserver.tls import server_context
from labkube.metrics.server import make_app as metrics_app
from labkube.metrics.server import server_context as metrics_context

AGG_JSON = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


class Source:
    ready = True

    def node_items(self, now):
        return [{"kind": "NodeMetrics", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": {"name": "w1"},
                 "timestamp": "2026-01-01T00:00:00Z", "window": "15s", "usage": {"cpu": "250000000n", "memory": "1024Ki"}}]

    def pod_items(self, now, namespace):
        return []


@pytest.fixture
async def cluster(tmp_path, monkeypatch):
    monkeypatch.setattr(apiservice_checks, "CHECK_INTERVAL", 0.05)
    make_pki(tmp_path, {"apiserver": ("kube-apiserver", [], True),
                        "metrics": ("metrics-server", [], True, ["metrics-server.kube-system.svc"]),
                        "proxy-client": ("kube-apiserver-kubelet-client", ["system:masters"], False),
                        "admin": ("kubernetes-admin", ["system:masters"], False)})
    seen = []

    @web.middleware
    async def record(request, handler):
        seen.append((request.path, dict(request.headers)))
        return await handler(request)

    backend = metrics_app(Source(), ["kube-apiserver-kubelet-client"])
    backend.middlewares.insert(0, record)
    runner = web.AppRunner(backend)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=metrics_context(
        str(tmp_path / "metrics.crt"), str(tmp_path / "metrics.key"), str(tmp_path / "ca.crt")))
    await site.start()
    mport = site._server.sockets[0].getsockname()[1]
    cfg = ApiserverConfig(tls_cert_file=str(tmp_path / "apiserver.crt"), tls_private_key_file=str(tmp_path / "apiserver.key"),
                          client_ca_file=str(tmp_path / "ca.crt"),
                          storage={"backend": "sqlite", "path": str(tmp_path / "r.db"), "fsync": False},
                          kubelet_client_certificate=str(tmp_path / "proxy-client.crt"),
                          kubelet_client_key=str(tmp_path / "proxy-client.key"),
                          kubelet_certificate_authority=str(tmp_path / "ca.crt"))
    server = TestServer(make_app(cfg), scheme="https")
    await server.start_server(ssl=server_context(cfg.tls_cert_file, cfg.tls_private_key_file, cfg.client_ca_file))
    cctx = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    cctx.load_cert_chain(tmp_path / "admin.crt", tmp_path / "admin.key")
    base = f"https://127.0.0.1:{server.port}"
    ca = base64.b64encode((tmp_path / "ca.crt").read_bytes()).decode()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=cctx)) as s:
        yield s, base, mport, ca, seen
    await server.close()
    await runner.cleanup()


async def register(s, base, ca, mport, endpoints=True):
    svc = {"metadata": {"name": "metrics-server"}, "spec": {"ports": [{"name": "https", "port": 443,
                                                                      "targetPort": "https"}]}}
    async with s.post(base + "/api/v1/namespaces/kube-system/services", json=svc) as r:
        assert r.status == 201, await r.text()
    if endpoints:
        ep = {"metadata": {"name": "metrics-server"},
              "subsets": [{"addresses": [{"ip": "127.0.0.1"}], "ports": [{"name": "https", "port": mport}]}]}
        async with s.post(base + "/api/v1/namespaces/kube-system/endpoints", json=ep) as r:
            assert r.status == 201, await r.text()
    apisvc = {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
              "metadata": {"name": "v1beta1.metrics.k8s.io"},
              "spec": {"group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100,
                       "versionPriority": 100, "caBundle": ca,
                       "service": {"namespace": "kube-system", "name": "metrics-server", "port": 443}}}
    async with s.post(base + "/apis/apiregistration.k8s.io/v1/apiservices", json=apisvc) as r:
        assert r.status == 201, await r.text()


async def test_metrics_group_is_proxied_with_the_callers_identity(cluster):
    s, base, mport, ca, seen = cluster
    await register(s, base, ca, mport)
    async with s.get(base + "/apis/metrics.k8s.io/v1beta1/nodes", headers={"Accept": "application/json"}) as r:
        assert r.status == 200, await r.text()
        body = await r.json()
    assert body["kind"] == "NodeMetricsList" and body["items"][0]["usage"]["cpu"] == "250000000n"
    [sent] = [h for path, h in seen if path.endswith("/nodes")]
    assert sent["X-Remote-User"] == "kubernetes-admin" and sent["X-Remote-Group"] == "system:masters"
    async with s.get(base + "/apis/metrics.k8s.io/v1beta1/nodes/w9") as r:
        assert r.status == 404 and (await r.json())["reason"] == "NotFound"
    async with s.get(f"https://127.0.0.1:{mport}/apis/metrics.k8s.io/v1beta1/nodes") as r:    # around the apiserver
        assert r.status == 403 and "front proxy" in (await r.json())["message"]


async def test_discovery_lists_the_aggregated_group(cluster):
    s, base, mport, ca, _ = cluster
    await register(s, base, ca, mport)
    async with s.get(base + "/apis") as r:
        names = [g["name"] for g in (await r.json())["groups"]]
    assert "metrics.k8s.io" in names and "apiregistration.k8s.io" in names
    async with s.get(base + "/apis/metrics.k8s.io") as r:
        assert (await r.json())["preferredVersion"]["groupVersion"] == "metrics.k8s.io/v1beta1"
    async with s.get(base + "/apis/metrics.k8s.io/v1beta1") as r:
        assert [x["name"] for x in (await r.json())["resources"]] == ["nodes", "pods"]
    for _ in range(100):                       # the availability check fetches the resource list
        async with s.get(base + "/apis", headers={"Accept": AGG_JSON}) as r:
            items = {i["metadata"]["name"]: i for i in (await r.json())["items"]}
        version = items["metrics.k8s.io"]["versions"][0]
        if version["freshness"] == "Current":
            break
        await asyncio.sleep(0.05)
    assert [(x["resource"], x["singularResource"]) for x in version["resources"]] == [
        ("nodes", "nodemetrics"), ("pods", "podmetrics")]                  # kubectl get podmetrics
    for _ in range(100):                       # and writes the Available condition just after
        async with s.get(base + "/apis/apiregistration.k8s.io/v1/apiservices/v1beta1.metrics.k8s.io") as r:
            conds = ((await r.json()).get("status") or {}).get("conditions")
        if conds:
            break
        await asyncio.sleep(0.05)
    assert conds[0]["type"] == "Available" and conds[0]["status"] == "True"


@pytest.mark.parametrize("endpoints, why", [(False, "no ready endpoint"), (True, "cannot connect to 127.0.0.1:1: Connect call failed")])
async def test_unreachable_backend_is_503(cluster, endpoints, why):
    s, base, mport, ca, _ = cluster
    await register(s, base, ca, 1 if endpoints else mport, endpoints=endpoints)
    async with s.get(base + "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods") as r:
        assert r.status == 503
        st = await r.json()
    assert st["reason"] == "ServiceUnavailable" and "v1beta1.metrics.k8s.io" in st["message"] and why in st["message"]


@pytest.mark.parametrize("headers, want", [
    ({"Authorization": "Bearer secret", "Impersonate-User": "x", "X-Remote-User": "forged", "Accept": "a/b"},
     [("Accept", "a/b"), ("X-Remote-User", "jane"), ("X-Remote-Group", "dev"), ("X-Remote-Group", "system:authenticated")]),
])
def test_proxy_headers_replace_credentials_with_identity(headers, want):
    from labkube.apiserver.tls import UserInfo
    assert aggregator.proxy_headers(headers, UserInfo("jane", ("dev", "system:authenticated"))) == want
