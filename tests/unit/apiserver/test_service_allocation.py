"""Service updates go through the cluster IP and node port allocators, and the allocations
survive an apiserver restart.

Each case creates Service `web`, updates it, and then checks the stored spec and which node
ports / cluster IPs another Service can (or cannot) take afterwards."""
from dataclasses import dataclass, field
from typing import Callable

import pytest
from aiohttp.test_utils import TestClient, TestServer

from labkube.apiserver import keys
from labkube.apiserver.app import make_app
from labkube.apiserver.config import ApiserverConfig

SVCS = "/api/v1/namespaces/default/services"
MERGE = {"Content-Type": "application/merge-patch+json"}
LOW, HIGH = 30000, 32767


def svc(name, type_="ClusterIP", ports=({"port": 80},), **spec):
    return {"metadata": {"name": name}, "spec": {"type": type_, "ports": [dict(p) for p in ports], **spec}}


def nps(spec) -> list:
    return [p.get("nodePort") for p in spec.get("ports") or []]


async def can_create_probe(api, probe: dict, taken: str) -> bool:
    """Whether the Service `probe` may be created (it is deleted again); else the 422 says `taken`."""
    r = await api.post(SVCS, json=probe)
    if r.status == 201:
        assert (await api.delete(f"{SVCS}/probe")).status == 200
        return True
    body = await r.json()
    assert r.status == 422 and taken in body["message"], body
    return False


async def can_take_port(api, port) -> bool:
    """Whether another Service may be created with this nodePort."""
    return await can_create_probe(api, svc("probe", "NodePort", [{"port": 80, "nodePort": port}]),
                                  "provided port is already allocated")


async def can_take_ip(api, ip) -> bool:
    """Whether another Service may be created with this clusterIP."""
    return await can_create_probe(api, svc("probe", clusterIP=ip), "provided IP is already allocated")


@dataclass
class Case:
    id: str
    create: dict                                   # spec of `web`
    patch: dict                                    # merge patch of `web`
    check: Callable[[dict, dict], bool]            # (spec after create, spec after update)
    free: Callable[[dict, dict], list] = lambda old, new: []    # node ports / IPs another Service can take
    taken: Callable[[dict, dict], list] = lambda old, new: []   # ... and those it cannot
    others: list = field(default_factory=list)     # Services created before `web`
    status: int = 200
    message: str = ""                              # expected in the 422 message


CASES = [
    Case("ClusterIP->NodePort allocates a node port",
         svc("web")["spec"], {"spec": {"type": "NodePort"}},
         check=lambda old, new: "nodePort" not in old["ports"][0] and LOW <= new["ports"][0]["nodePort"] <= HIGH,
         taken=lambda old, new: nps(new)),
    Case("ClusterIP->NodePort reserves the requested node port",
         svc("web")["spec"], {"spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30081}]}},
         check=lambda old, new: nps(new) == [30081], taken=lambda old, new: [30081]),
    Case("ClusterIP->NodePort with a node port another Service holds is 422",
         svc("web")["spec"], {"spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}},
         others=[svc("other", "NodePort", [{"port": 80, "nodePort": 30080}])], status=422,
         message='spec.ports[0].nodePort: Invalid value: 30080: provided port is already allocated',
         check=lambda old, new: new["type"] == "ClusterIP" and nps(new) == [None], taken=lambda old, new: [30080]),
    Case("ClusterIP->NodePort with a node port out of range is 422",
         svc("web")["spec"], {"spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 8080}]}}, status=422,
         message="spec.ports[0].nodePort: Invalid value: 8080: provided port is not in the valid range",
         check=lambda old, new: new["type"] == "ClusterIP"),
    Case("NodePort->ClusterIP releases the node port",
         svc("web", "NodePort", [{"port": 80, "nodePort": 30080}])["spec"], {"spec": {"type": "ClusterIP"}},
         check=lambda old, new: nps(new) == [None] and "externalTrafficPolicy" not in new,
         free=lambda old, new: [30080]),
    Case("NodePort->LoadBalancer keeps the node port",
         svc("web", "NodePort", [{"port": 80, "nodePort": 30080}])["spec"], {"spec": {"type": "LoadBalancer"}},
         check=lambda old, new: nps(new) == [30080], taken=lambda old, new: [30080]),
    Case("a replaced port list keeps the node ports of the ports it keeps and frees the rest",
         svc("web", "NodePort", [{"name": "a", "port": 80}, {"name": "b", "port": 81}])["spec"],
         {"spec": {"ports": [{"name": "a", "port": 80}]}},
         check=lambda old, new: nps(new) == nps(old)[:1],
         taken=lambda old, new: nps(old)[:1], free=lambda old, new: nps(old)[1:]),
    Case("an added port gets a new node port",
         svc("web", "NodePort", [{"name": "a", "port": 80}])["spec"],
         {"spec": {"ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}]}},
         check=lambda old, new: nps(new)[0] == nps(old)[0] and LOW <= nps(new)[1] <= HIGH and nps(new)[1] != nps(old)[0],
         taken=lambda old, new: nps(new)),
    Case("moving to another free node port releases the old one",
         svc("web", "NodePort", [{"port": 80, "nodePort": 30080}])["spec"],
         {"spec": {"ports": [{"port": 80, "nodePort": 30090}]}},
         check=lambda old, new: nps(new) == [30090], free=lambda old, new: [30080], taken=lambda old, new: [30090]),
    Case("moving to a node port another Service holds is 422 and keeps the old one",
         svc("web", "NodePort", [{"port": 80, "nodePort": 30080}])["spec"],
         {"spec": {"ports": [{"port": 80, "nodePort": 30090}]}},
         others=[svc("other", "NodePort", [{"port": 80, "nodePort": 30090}])], status=422,
         message="spec.ports[0].nodePort: Invalid value: 30090: provided port is already allocated",
         check=lambda old, new: nps(new) == [30080], taken=lambda old, new: [30080, 30090]),
    Case("clusterIP is immutable",
         svc("web")["spec"], {"spec": {"clusterIP": "10.96.0.200"}}, status=422,
         message="spec.clusterIP: Invalid value: \"10.96.0.200\": field is immutable",
         check=lambda old, new: new["clusterIP"] == old["clusterIP"],
         taken=lambda old, new: [old["clusterIP"]], free=lambda old, new: ["10.96.0.200"]),
    Case("ClusterIP->ExternalName releases the cluster IP",
         svc("web")["spec"], {"spec": {"type": "ExternalName", "externalName": "example.org"}},
         check=lambda old, new: "clusterIP" not in new and "clusterIPs" not in new,
         free=lambda old, new: [old["clusterIP"]]),
    Case("NodePort->ExternalName releases the cluster IP and the node port",
         svc("web", "NodePort", [{"port": 80, "nodePort": 30080}])["spec"],
         {"spec": {"type": "ExternalName", "externalName": "example.org"}},
         check=lambda old, new: "clusterIP" not in new and nps(new) == [None],
         free=lambda old, new: [old["clusterIP"], 30080]),
    Case("ExternalName->ClusterIP allocates a cluster IP",
         {"type": "ExternalName", "externalName": "example.org", "ports": [{"port": 80}]},
         {"spec": {"type": "ClusterIP", "externalName": None}},
         check=lambda old, new: "clusterIP" not in old and new["clusterIP"].startswith("10.96.")
         and new["clusterIPs"] == [new["clusterIP"]],
         taken=lambda old, new: [new["clusterIP"]]),
    Case("ExternalName->ClusterIP reserves the requested cluster IP",
         {"type": "ExternalName", "externalName": "example.org", "ports": [{"port": 80}]},
         {"spec": {"type": "ClusterIP", "externalName": None, "clusterIP": "10.96.0.77"}},
         check=lambda old, new: new["clusterIP"] == "10.96.0.77", taken=lambda old, new: ["10.96.0.77"]),
    Case("ExternalName->ClusterIP with a cluster IP another Service holds is 422",
         {"type": "ExternalName", "externalName": "example.org", "ports": [{"port": 80}]},
         {"spec": {"type": "ClusterIP", "externalName": None, "clusterIP": "10.96.0.77"}},
         others=[svc("other", clusterIP="10.96.0.77")], status=422,
         message='spec.clusterIP: Invalid value: "10.96.0.77": provided IP is already allocated',
         check=lambda old, new: new["type"] == "ExternalName" and "clusterIP" not in new,
         taken=lambda old, new: ["10.96.0.77"]),
    Case("externalTrafficPolicy Local allocates a healthCheckNodePort",
         svc("web", "LoadBalancer", [{"port": 80, "nodePort": 30080}])["spec"],
         {"spec": {"externalTrafficPolicy": "Local"}},
         check=lambda old, new: "healthCheckNodePort" not in old and LOW <= new["healthCheckNodePort"] <= HIGH
         and new["healthCheckNodePort"] != 30080,
         taken=lambda old, new: [30080, new["healthCheckNodePort"]]),
    Case("externalTrafficPolicy back to Cluster releases the healthCheckNodePort",
         svc("web", "LoadBalancer", [{"port": 80, "nodePort": 30080}], externalTrafficPolicy="Local",
             healthCheckNodePort=30099)["spec"],
         {"spec": {"externalTrafficPolicy": "Cluster"}},
         check=lambda old, new: old["healthCheckNodePort"] == 30099 and "healthCheckNodePort" not in new,
         free=lambda old, new: [30099], taken=lambda old, new: [30080]),
    Case("LoadBalancer Local->ClusterIP releases node port and healthCheckNodePort",
         svc("web", "LoadBalancer", [{"port": 80, "nodePort": 30080}], externalTrafficPolicy="Local")["spec"],
         {"spec": {"type": "ClusterIP"}},
         check=lambda old, new: nps(new) == [None] and "healthCheckNodePort" not in new
         and "externalTrafficPolicy" not in new,
         free=lambda old, new: [30080, old["healthCheckNodePort"]]),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
async def test_service_update_goes_through_the_allocators(api, case):
    for other in case.others:
        assert (await api.post(SVCS, json=other)).status == 201
    r = await api.post(SVCS, json={"metadata": {"name": "web"}, "spec": case.create})
    assert r.status == 201, await r.text()
    old = (await r.json())["spec"]
    r = await api.patch(f"{SVCS}/web", json=case.patch, headers=MERGE)
    body = await r.json()
    assert r.status == case.status, body
    if case.status != 200:
        assert case.message in body["message"], body["message"]
    new = (await (await api.get(f"{SVCS}/web")).json())["spec"]
    assert case.check(old, new), new
    for x in case.free(old, new):
        assert await (can_take_port(api, x) if isinstance(x, int) else can_take_ip(api, x)), f"{x} should be free"
    for x in case.taken(old, new):
        assert not await (can_take_port(api, x) if isinstance(x, int) else can_take_ip(api, x)), f"{x} should be taken"


async def test_put_without_node_ports_keeps_them_and_dry_run_reserves_nothing(api):
    r = await api.post(SVCS, json=svc("web"))
    s = await r.json()
    r = await api.patch(f"{SVCS}/web?dryRun=All", json={"spec": {"type": "NodePort"}}, headers=MERGE)
    dry = (await r.json())["spec"]
    assert r.status == 200 and LOW <= dry["ports"][0]["nodePort"] <= HIGH
    assert await can_take_port(api, dry["ports"][0]["nodePort"])            # dry run reserved nothing
    assert nps((await (await api.get(f"{SVCS}/web")).json())["spec"]) == [None]
    s = await (await api.patch(f"{SVCS}/web", json={"spec": {"type": "NodePort"}}, headers=MERGE)).json()
    port = s["spec"]["ports"][0]["nodePort"]
    s["spec"]["ports"] = [{"port": 80}]                                      # a PUT leaving nodePort out keeps it
    s = await (await api.put(f"{SVCS}/web", json=s)).json()
    assert nps(s["spec"]) == [port] and not await can_take_port(api, port)


async def test_dry_run_create_shows_and_checks_the_allocation_but_holds_nothing(api):
    r = await api.post(f"{SVCS}?dryRun=All", json=svc("web", "NodePort"))
    s = (await r.json())["spec"]
    assert r.status == 201 and s["clusterIP"].startswith("10.96.") and LOW <= nps(s)[0] <= HIGH
    assert await can_take_port(api, nps(s)[0]) and await can_take_ip(api, s["clusterIP"])
    assert (await api.post(SVCS, json=svc("other", "NodePort", [{"port": 80, "nodePort": 30080}]))).status == 201
    r = await api.post(f"{SVCS}?dryRun=All", json=svc("web", "NodePort", [{"port": 80, "nodePort": 30080}]))
    assert r.status == 422 and "provided port is already allocated" in (await r.json())["message"]


async def test_one_node_port_may_serve_tcp_and_udp_but_not_twice_the_same_protocol(api):
    both = [{"name": "t", "port": 53, "protocol": "TCP", "nodePort": 30053},
            {"name": "u", "port": 53, "protocol": "UDP", "nodePort": 30053}]
    r = await api.post(SVCS, json=svc("dns", "NodePort", both))
    assert r.status == 201, await r.text()
    twice = [{"name": "a", "port": 80, "nodePort": 30054}, {"name": "b", "port": 81, "nodePort": 30054}]
    r = await api.post(SVCS, json=svc("web", "NodePort", twice))
    assert r.status == 422 and "spec.ports[1].nodePort" in (await r.json())["message"]
    assert await can_take_port(api, 30054)                                   # the failed create left nothing held


@pytest.mark.parametrize("spec, message", [
    ({"type": "ExternalName", "externalName": "example.org", "clusterIP": "10.96.0.9"},
     "spec.clusterIP: Forbidden: may not be set for ExternalName services"),
    ({"type": "NodePort", "ports": [{"port": 80}], "healthCheckNodePort": 30100},
     "spec.healthCheckNodePort: Invalid value: 30100: may only be set when `type` is 'LoadBalancer' and "
     "`externalTrafficPolicy` is 'Local'"),
])
async def test_fields_the_type_does_not_use_are_rejected(api, spec, message):
    r = await api.post(SVCS, json={"metadata": {"name": "bad"}, "spec": spec})
    assert r.status == 422 and message in (await r.json())["message"]


def _app(path):
    cfg = ApiserverConfig(tls_cert_file="unused", tls_private_key_file="unused", client_ca_file="unused",
                          storage={"backend": "sqlite", "path": str(path), "fsync": False}, watch_history=20)
    app = make_app(cfg, authenticate=False)
    app[keys.BOOKMARK_INTERVAL] = 0.05
    return app


async def test_allocations_are_rebuilt_from_stored_services_after_a_restart(tmp_path):
    db = tmp_path / "registry.db"
    async with TestClient(TestServer(_app(db))) as api:
        assert (await api.post(SVCS, json=svc("np", "NodePort", [{"port": 80, "nodePort": 30080}]))).status == 201
        lb = svc("lb", "LoadBalancer", [{"port": 80, "nodePort": 30081}], externalTrafficPolicy="Local")
        hc = (await (await api.post(SVCS, json=lb)).json())["spec"]["healthCheckNodePort"]
        web = (await (await api.post(SVCS, json=svc("web", "NodePort", [{"port": 80, "nodePort": 30082}]))).json())
        r = await api.patch(f"{SVCS}/web", json={"spec": {"type": "ClusterIP"}}, headers=MERGE)   # frees 30082
        assert r.status == 200
    async with TestClient(TestServer(_app(db))) as api:
        for port in (30080, 30081, hc):
            assert not await can_take_port(api, port), port
        assert not await can_take_ip(api, web["spec"]["clusterIP"])
        assert await can_take_port(api, 30082)
        r = await api.patch(f"{SVCS}/np", json={"spec": {"type": "ClusterIP"}}, headers=MERGE)
        assert r.status == 200 and await can_take_port(api, 30080)
