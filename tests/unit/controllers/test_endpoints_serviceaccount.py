"""Endpoints and ServiceAccount controllers on the FakeApi."""
from __future__ import annotations

from labkube.controllers.endpoints import EndpointsController
from labkube.controllers.serviceaccount import ServiceAccountController

from .harness import Harness


def svc(name, selector, ports):
    return {"metadata": {"name": name, "labels": {"svc": name}}, "spec": {"selector": selector, "ports": ports}}


def pod(name, ip, ready=True, labels=None, ports=None):
    return {"metadata": {"name": name, "labels": labels or {"app": "web"}},
            "spec": {"nodeName": "w1", "containers": [{"name": "c", "ports": ports or []}]},
            "status": {"phase": "Running", "podIP": ip,
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


async def test_endpoints_follow_ready_pods_and_named_ports():
    h = Harness(EndpointsController)
    await h.api.create("services", svc("web", {"app": "web"}, [{"name": "http", "port": 80, "targetPort": "web"}]))
    await h.api.create("services", {"metadata": {"name": "manual"}, "spec": {"ports": [{"port": 1}]}})
    await h.api.create("pods", pod("a", "10.244.1.3", ports=[{"name": "web", "containerPort": 8080}]))
    await h.api.create("pods", pod("b", "10.244.1.2", ready=False, ports=[{"name": "web", "containerPort": 8080}]))
    await h.api.create("pods", pod("c", "10.244.1.4"))                  # no port named "web": left out
    await h.api.create("pods", pod("d", "10.244.1.5", labels={"app": "db"}))
    await h.start()
    await h.run()
    ep = await h.api.get("endpoints", "web", "default")
    (subset,) = ep["subsets"]
    assert subset["ports"] == [{"port": 8080, "protocol": "TCP", "name": "http"}]
    assert [a["ip"] for a in subset["addresses"]] == ["10.244.1.3"]
    assert [a["ip"] for a in subset["notReadyAddresses"]] == ["10.244.1.2"]
    assert subset["addresses"][0]["targetRef"]["name"] == "a" and ep["metadata"]["labels"] == {"svc": "web"}
    assert h.api.all("endpoints") == [ep]              # the selector-less service is left alone
    await h.api.delete("pods", "a", "default", grace_period_seconds=0)
    await h.run()
    ep = await h.api.get("endpoints", "web", "default")
    assert "addresses" not in ep["subsets"][0]
    await h.api.delete("services", "web", "default")
    await h.run()
    assert h.api.all("endpoints") == []


async def test_default_service_account_everywhere():
    h = Harness(ServiceAccountController)
    await h.start()
    await h.run()
    assert sorted(sa["metadata"]["namespace"] for sa in h.api.all("serviceaccounts")) == [
        "default", "kube-node-lease", "kube-public", "kube-system"]
    await h.api.create("namespaces", {"metadata": {"name": "new"}})
    await h.api.delete("serviceaccounts", "default", "default")
    await h.run()
    assert len(h.api.all("serviceaccounts")) == 5


async def test_statefulset_style_pods_get_hostnames():
    h = Harness(EndpointsController)
    await h.api.create("services", svc("db", {"app": "db"}, [{"port": 5432}]))
    p = pod("db-0", "10.244.1.9", labels={"app": "db"})
    p["spec"].update({"hostname": "db-0", "subdomain": "db"})
    await h.api.create("pods", p)
    await h.start()
    await h.run()
    ep = await h.api.get("endpoints", "db", "default")
    assert ep["subsets"][0]["addresses"][0]["hostname"] == "db-0"
    assert ep["subsets"][0]["ports"] == [{"port": 5432, "protocol": "TCP"}]
