"""The endpoints controller as kube-proxy and the cluster DNS rely on it: table-driven subsets
(readiness, named and numeric targetPorts, multi-port, headless, terminating pods), and the
controller on the FakeApi following pods and services."""
from __future__ import annotations

import pytest

from labkube.controllers.endpoints import EndpointsController
from labkube.controllers.servicepods import desired_subsets, selects

from .harness import Harness


def svc(name="web", selector=None, ports=None, **spec):
    return {"metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": selector if selector is not None else {"app": "web"},
                     "ports": ports if ports is not None else [{"name": "http", "port": 80, "targetPort": "web"}],
                     **spec}}


def pod(name, ip, ready=True, node="w1", labels=None, ports=None, deleting=False, phase="Running"):
    p = {"metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "labels": labels or {"app": "web"}},
         "spec": {"nodeName": node, "containers": [{"name": "c", "ports": ports if ports is not None else
                                                     [{"name": "web", "containerPort": 8080}]}]},
         "status": {"phase": phase, "podIP": ip,
                    "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}
    if deleting:
        p["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return p


def ips(subsets, key="addresses"):
    return [a["ip"] for s in subsets for a in s.get(key) or []]


SELECTS = [
    # (id, service, pod labels, pod namespace, selected)
    ("all-labels-match", svc(selector={"app": "web", "tier": "fe"}), {"app": "web", "tier": "fe", "x": "1"},
     "default", True),
    ("one-label-differs", svc(selector={"app": "web", "tier": "fe"}), {"app": "web", "tier": "be"}, "default", False),
    ("other-namespace", svc(), {"app": "web"}, "other", False),
    ("empty-selector-selects-nothing", svc(selector={}), {"app": "web"}, "default", False),
]


@pytest.mark.parametrize("service, labels, namespace, selected", [c[1:] for c in SELECTS], ids=[c[0] for c in SELECTS])
def test_which_pods_a_service_selects(service, labels, namespace, selected):
    p = pod("a", "10.244.1.2", labels=labels)
    p["metadata"]["namespace"] = namespace
    assert selects(service, p) is selected


CASES = [
    # (id, service, pods, ready IPs, not-ready IPs, ports of the first subset)
    ("named-target-port", svc(), [pod("a", "10.244.1.2")], ["10.244.1.2"], [],
     [{"name": "http", "port": 8080, "protocol": "TCP"}]),
    ("numeric-target-port", svc(ports=[{"port": 80, "targetPort": 9000}]), [pod("a", "10.244.1.2")],
     ["10.244.1.2"], [], [{"port": 9000, "protocol": "TCP"}]),
    ("target-port-defaults-to-port", svc(ports=[{"name": "p", "port": 81, "protocol": "UDP"}]),
     [pod("a", "10.244.1.2")], ["10.244.1.2"], [], [{"name": "p", "port": 81, "protocol": "UDP"}]),
    ("unready-pods-apart", svc(), [pod("a", "10.244.1.2"), pod("b", "10.244.2.3", ready=False)],
     ["10.244.1.2"], ["10.244.2.3"], [{"name": "http", "port": 8080, "protocol": "TCP"}]),
    ("publish-not-ready", svc(publishNotReadyAddresses=True), [pod("b", "10.244.2.3", ready=False)],
     ["10.244.2.3"], [], [{"name": "http", "port": 8080, "protocol": "TCP"}]),
    ("no-ip-terminating-or-finished-left-out", svc(),
     [pod("a", None), pod("b", "10.244.1.4", deleting=True), pod("c", "10.244.1.5", phase="Succeeded")], [], [], None),
    ("headless-same-addresses", svc(clusterIP="None"), [pod("a", "10.244.1.2"), pod("b", "10.244.2.2")],
     ["10.244.1.2", "10.244.2.2"], [], [{"name": "http", "port": 8080, "protocol": "TCP"}]),
    ("headless-without-ports", svc(clusterIP="None", ports=[]), [pod("a", "10.244.1.2")], ["10.244.1.2"], [], None),
    ("multi-port", svc(ports=[{"name": "http", "port": 80, "targetPort": "web"},
                              {"name": "metrics", "port": 9100, "targetPort": 9100}]),
     [pod("a", "10.244.1.2")], ["10.244.1.2"], [],
     [{"name": "http", "port": 8080, "protocol": "TCP"}, {"name": "metrics", "port": 9100, "protocol": "TCP"}]),
]


@pytest.mark.parametrize("service, pods, ready, not_ready, ports", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_desired_subsets(service, pods, ready, not_ready, ports):
    subsets = desired_subsets(service, pods)
    assert sorted(ips(subsets)) == ready
    assert sorted(ips(subsets, "notReadyAddresses")) == not_ready
    if ports is not None:
        assert subsets[0]["ports"] == ports
    for a in [a for s in subsets for a in (s.get("addresses") or []) + (s.get("notReadyAddresses") or [])]:
        assert a["nodeName"] == "w1" and a["targetRef"]["kind"] == "Pod" and a["targetRef"]["uid"].startswith("uid-")


def test_pods_whose_named_ports_differ_get_separate_subsets():
    subsets = desired_subsets(svc(), [pod("a", "10.244.1.2"), pod("b", "10.244.1.3", ports=[
        {"name": "web", "containerPort": 9090}])])
    assert sorted((s["ports"][0]["port"], ips([s])[0]) for s in subsets) == [(8080, "10.244.1.2"), (9090, "10.244.1.3")]


async def test_controller_follows_readiness_labels_and_service_changes():
    h = Harness(EndpointsController)
    await h.api.create("services", svc())
    await h.api.create("pods", pod("a", "10.244.1.2", ready=False))
    await h.start()
    await h.run()
    ep = await h.api.get("endpoints", "web", "default")
    assert ips(ep["subsets"], "notReadyAddresses") == ["10.244.1.2"] and not ips(ep["subsets"])
    a = await h.api.get("pods", "a", "default")
    a["status"]["conditions"][0]["status"] = "True"
    await h.api.replace("pods", "a", a, "default", subresource="status")
    await h.run()
    assert ips((await h.api.get("endpoints", "web", "default"))["subsets"]) == ["10.244.1.2"]
    a = await h.api.get("pods", "a", "default")
    a["metadata"]["labels"] = {"app": "other"}               # relabelled: no longer selected
    await h.api.replace("pods", "a", a, "default")
    await h.run()
    assert (await h.api.get("endpoints", "web", "default"))["subsets"] == []
    s = await h.api.get("services", "web", "default")
    s["spec"]["selector"] = {"app": "other"}                 # the service follows it
    await h.api.replace("services", "web", s, "default")
    await h.run()
    assert ips((await h.api.get("endpoints", "web", "default"))["subsets"]) == ["10.244.1.2"]
    rv = (await h.api.get("endpoints", "web", "default"))["metadata"]["resourceVersion"]
    await h.run()                                           # nothing changed: no write
    assert (await h.api.get("endpoints", "web", "default"))["metadata"]["resourceVersion"] == rv


async def test_headless_service_and_deletion():
    h = Harness(EndpointsController)
    await h.api.create("services", svc("db", clusterIP="None", ports=[]))
    await h.api.create("pods", pod("db-0", "10.244.1.7"))
    await h.start()
    await h.run()
    assert ips((await h.api.get("endpoints", "db", "default"))["subsets"]) == ["10.244.1.7"]
    await h.api.delete("pods", "db-0", "default", grace_period_seconds=0)
    await h.run()
    assert (await h.api.get("endpoints", "db", "default"))["subsets"] == []
    await h.api.delete("services", "db", "default")
    await h.run()
    assert h.api.all("endpoints") == []


async def test_selectorless_endpoints_are_left_alone():
    h = Harness(EndpointsController)
    await h.api.create("services", {"metadata": {"name": "kube-dns", "namespace": "kube-system"},
                                    "spec": {"ports": [{"name": "dns", "port": 53, "protocol": "UDP"}]}})
    manual = {"metadata": {"name": "kube-dns", "namespace": "kube-system"},
              "subsets": [{"addresses": [{"ip": "10.200.0.10"}], "ports": [{"name": "dns", "port": 53,
                                                                            "protocol": "UDP"}]}]}
    await h.api.create("endpoints", manual)
    await h.start()
    await h.run()
    assert (await h.api.get("endpoints", "kube-dns", "kube-system"))["subsets"] == manual["subsets"]


# -- EndpointSlices -------------------------------------------------------------------------

async def test_endpointslices_mirror_the_pods():
    from labkube.controllers.endpointslice import MANAGED_BY, SERVICE_NAME, EndpointSliceController
    h = Harness(EndpointSliceController)
    await h.api.create("services", svc())
    await h.start()
    await h.run()
    (empty,) = h.api.all("endpointslices", "default")              # a selector service with no pods
    assert empty["endpoints"] == [] and empty["metadata"]["labels"][SERVICE_NAME] == "web"
    await h.api.create("pods", pod("a", "10.244.1.2"))
    await h.api.create("pods", pod("b", "10.244.2.3", ready=False, node="w2"))
    await h.run()
    (sl,) = h.api.all("endpointslices", "default")
    assert sl["addressType"] == "IPv4" and sl["ports"] == [{"name": "http", "port": 8080, "protocol": "TCP"}]
    assert sl["metadata"]["ownerReferences"][0]["kind"] == "Service"
    assert [(e["addresses"], e["conditions"]["ready"], e["nodeName"]) for e in sl["endpoints"]] == [
        (["10.244.1.2"], True, "w1"), (["10.244.2.3"], False, "w2")]
    foreign = {"metadata": {"name": "web-by-hand", "labels": {SERVICE_NAME: "web", MANAGED_BY: "someone-else"}},
               "addressType": "IPv4", "endpoints": [], "ports": []}
    await h.api.create("endpointslices", foreign, "default")
    await h.api.delete("endpointslices", sl["metadata"]["name"], "default")   # deleted by hand: made again
    await h.run()
    names = sorted(s["metadata"]["name"] for s in h.api.all("endpointslices", "default"))
    assert names == sorted([sl["metadata"]["name"], "web-by-hand"])
    await h.api.delete("services", "web", "default")
    await h.run()
    assert [s["metadata"]["name"] for s in h.api.all("endpointslices", "default")] == ["web-by-hand"]


async def test_an_unnamed_service_port_is_named_empty_in_the_slice():
    """kubectl describe service dereferences every slice port's name: an unnamed port must
    carry name "" as the Kubernetes controller writes it (a missing name crashed kubectl)."""
    from labkube.controllers.endpointslice import EndpointSliceController
    h = Harness(EndpointSliceController)
    await h.api.create("services", svc(ports=[{"port": 80, "targetPort": 8080}]))
    await h.api.create("pods", pod("a", "10.244.1.2"))
    await h.start()
    await h.run()
    (sl,) = h.api.all("endpointslices", "default")
    assert sl["ports"] == [{"name": "", "port": 8080, "protocol": "TCP"}]
