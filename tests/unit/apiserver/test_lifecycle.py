"""Deletion (graceful pods, finalizers, propagation), namespaces, binding, scale, services."""
import pytest

from apiserver_helpers import DEPLOYS, PODS, deploy, pod

MERGE = {"Content-Type": "application/merge-patch+json"}


async def test_unscheduled_pod_deletes_at_once(api):
    await api.post(PODS, json=pod("u"))
    r = await api.delete(PODS + "/u", json={"propagationPolicy": "Background"})
    assert r.status == 200
    assert (await api.get(PODS + "/u")).status == 404


async def test_bound_pod_deletes_gracefully(api):
    await api.post(PODS, json=pod("g", nodeName="n1", terminationGracePeriodSeconds=20))
    body = await (await api.delete(PODS + "/g")).json()
    assert body["metadata"]["deletionTimestamp"] and body["metadata"]["deletionGracePeriodSeconds"] == 20
    again = await (await api.delete(PODS + "/g", json={"gracePeriodSeconds": 5})).json()
    assert again["metadata"]["deletionGracePeriodSeconds"] == 20  # still terminating
    await api.delete(PODS + "/g", json={"gracePeriodSeconds": 0})
    assert (await api.get(PODS + "/g")).status == 404


async def test_terminal_pod_deletes_at_once(api):
    await api.post(PODS, json=pod("t", nodeName="n1"))
    await api.patch(PODS + "/t/status", json={"status": {"phase": "Succeeded"}}, headers=MERGE)
    await api.delete(PODS + "/t")
    assert (await api.get(PODS + "/t")).status == 404


async def test_foreground_finalizer_and_removal(api):
    await api.post(DEPLOYS, json=deploy("f"))
    r = await api.delete(DEPLOYS + "/f", json={"propagationPolicy": "Foreground"})
    body = await r.json()
    assert body["metadata"]["finalizers"] == ["foregroundDeletion"] and body["metadata"]["deletionTimestamp"]
    got = await (await api.get(DEPLOYS + "/f")).json()
    assert got["metadata"]["deletionTimestamp"]
    await api.patch(DEPLOYS + "/f", json={"metadata": {"finalizers": None}}, headers=MERGE)
    assert (await api.get(DEPLOYS + "/f")).status == 404


async def test_background_delete_returns_status(api):
    await api.post(DEPLOYS, json=deploy("b"))
    body = await (await api.delete(DEPLOYS + "/b", json={"propagationPolicy": "Background"})).json()
    assert body["kind"] == "Status" and body["status"] == "Success" and body["details"]["name"] == "b"


async def test_delete_preconditions(api):
    await api.post(PODS, json=pod("pc"))
    r = await api.delete(PODS + "/pc", json={"preconditions": {"uid": "wrong"}})
    assert r.status == 409


async def test_namespace_lifecycle(api):
    assert (await api.post("/api/v1/namespaces", json={"metadata": {"name": "team"}})).status == 201
    await api.post("/api/v1/namespaces/team/pods", json=pod("x"))
    ns = await (await api.delete("/api/v1/namespaces/team")).json()
    assert ns["status"]["phase"] == "Terminating"
    r = await api.post("/api/v1/namespaces/team/pods", json=pod("y"))
    body = await r.json()
    assert r.status == 403 and "because it is being terminated" in body["message"]
    ns = await (await api.get("/api/v1/namespaces/team")).json()
    ns["spec"]["finalizers"] = []
    assert (await api.put("/api/v1/namespaces/team/finalize", json=ns)).status == 200
    await api.delete("/api/v1/namespaces/team")
    assert (await api.get("/api/v1/namespaces/team")).status == 404
    assert (await api.post("/api/v1/namespaces/team/pods", json=pod("z"))).status == 404
    assert (await api.post("/api/v1/namespaces", json={"metadata": {"name": "team"}})).status == 201
    assert (await api.post("/api/v1/namespaces/team/serviceaccounts", json={"metadata": {"name": "default"}})).status == 201
    assert (await api.post("/api/v1/namespaces/team/pods", json=pod("z"))).status == 201


async def test_system_namespaces_and_kubernetes_service_exist(api):
    names = [n["metadata"]["name"] for n in (await (await api.get("/api/v1/namespaces")).json())["items"]]
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]
    svc = await (await api.get("/api/v1/namespaces/default/services/kubernetes")).json()
    assert svc["spec"]["clusterIP"] == "10.96.0.1"
    sl = await (await api.get("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes")).json()
    assert sl["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
    assert [e["addresses"] for e in sl["endpoints"]] == [[a["ip"] for a in (await (await api.get(
        "/api/v1/namespaces/default/endpoints/kubernetes")).json())["subsets"][0]["addresses"]]]
    assert [p["name"] for p in sl["ports"]] == ["https"]


async def test_binding(api):
    await api.post(PODS, json=pod("b"))
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "b"},
               "target": {"apiVersion": "v1", "kind": "Node", "name": "n1"}}
    r = await api.post(PODS + "/b/binding", json=binding)
    assert r.status == 201
    p = await (await api.get(PODS + "/b")).json()
    assert p["spec"]["nodeName"] == "n1"
    assert any(c["type"] == "PodScheduled" for c in p["status"]["conditions"])
    r = await api.post(PODS + "/b/binding", json=binding)
    assert r.status == 409 and "already assigned" in (await r.json())["message"]


async def test_binding_stores_the_pod_without_validating_it_again(api):
    # as upstream's BindingREST: the pod is updated in storage directly (it validated when created),
    # so what the handler did not change is neither type-checked nor validated again
    from labkube.apiserver import keys
    await api.post(PODS, json=pod("v"))
    storage = api.app[keys.REGISTRY].storage
    k = "/registry/pods/default/v"
    stored, rev = await storage.get(k)
    stored["spec"]["containers"][0]["name"] = "Not_A_DNS_Label"
    await storage.update(k, stored, rev)
    binding = {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "v"}, "target": {"kind": "Node", "name": "n1"}}
    r = await api.post(PODS + "/v/binding", json=binding)
    assert r.status == 201, await r.text()
    p = await (await api.get(PODS + "/v")).json()
    assert p["spec"]["nodeName"] == "n1" and p["spec"]["containers"][0]["name"] == "Not_A_DNS_Label"


async def test_a_status_write_does_not_validate_the_stored_spec_again(api):
    # upstream's status strategy validates metadata and status only; a spec the write left as
    # stored is not walked again, while a status patch that also touches the spec still is
    from labkube.apiserver import keys
    await api.post(PODS, json=pod("s"))
    storage = api.app[keys.REGISTRY].storage
    k = "/registry/pods/default/s"
    stored, rev = await storage.get(k)
    stored["spec"]["containers"][0]["name"] = "Not_A_DNS_Label"
    await storage.update(k, stored, rev)
    r = await api.patch(PODS + "/s/status", json={"status": {"phase": "Running"}}, headers=MERGE)
    assert r.status == 200 and (await r.json())["status"]["phase"] == "Running"
    r = await api.patch(PODS + "/s/status", json={"spec": {"containers": "x"}, "status": {"phase": "Failed"}},
                        headers=MERGE)
    assert r.status == 400, await r.text()


async def test_scale_subresource(api):
    await api.post(DEPLOYS, json=deploy("s", replicas=2))
    sc = await (await api.get(DEPLOYS + "/s/scale")).json()
    assert sc["kind"] == "Scale" and sc["apiVersion"] == "autoscaling/v1" and sc["spec"]["replicas"] == 2
    assert sc["status"]["selector"] == "app=s"
    r = await api.patch(DEPLOYS + "/s/scale", json={"spec": {"replicas": 5}},
                        headers={"Content-Type": "application/strategic-merge-patch+json"})
    assert (await r.json())["spec"]["replicas"] == 5
    sc = await (await api.get(DEPLOYS + "/s/scale")).json()
    sc["spec"]["replicas"] = 1
    assert (await (await api.put(DEPLOYS + "/s/scale", json=sc)).json())["spec"]["replicas"] == 1
    d = await (await api.get(DEPLOYS + "/s")).json()
    assert d["spec"]["replicas"] == 1 and d["metadata"]["generation"] == 3
    r = await api.patch(DEPLOYS + "/s/scale", json={"spec": {"replicas": -1}}, headers=MERGE)
    assert r.status == 422


async def test_pod_log_without_node_is_400(api):
    await api.post(PODS, json=pod("l"))
    r = await api.get(PODS + "/l/log")
    assert r.status == 400 and (await r.json())["kind"] == "Status"


@pytest.mark.parametrize("svc_type", ["ClusterIP", "NodePort"])
async def test_service_ip_allocation(api, svc_type):
    ips = set()
    for name in ("a", "b"):
        s = await (await api.post("/api/v1/namespaces/default/services",
                                  json={"metadata": {"name": name}, "spec": {"type": svc_type, "ports": [{"port": 80}]}})).json()
        assert s["spec"]["ports"][0]["targetPort"] == 80
        if svc_type == "NodePort":
            assert 30000 <= s["spec"]["ports"][0]["nodePort"] <= 32767
        ips.add(s["spec"]["clusterIP"])
    assert len(ips) == 2 and "10.96.0.1" not in ips
    r = await api.post("/api/v1/namespaces/default/services",
                       json={"metadata": {"name": "c"}, "spec": {"clusterIP": "10.96.0.1", "ports": [{"port": 80}]}})
    assert r.status == 422 and "already allocated" in (await r.json())["message"]


async def test_node_ports_kept_on_update_only_while_the_type_needs_them(api):
    url = "/api/v1/namespaces/default/services"
    s = await (await api.post(url, json={"metadata": {"name": "lb"},
                                         "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}})).json()
    node_port = s["spec"]["ports"][0]["nodePort"]
    s["spec"]["ports"] = [{"port": 80}]                          # a replace that leaves nodePort out keeps it
    s = await (await api.put(f"{url}/lb", json=s)).json()
    assert s["spec"]["ports"][0]["nodePort"] == node_port
    s["spec"].update(type="ClusterIP", ports=[{"port": 80}])     # ... unless the new type has no node ports
    r = await api.put(f"{url}/lb", json=s)
    assert r.status == 200, await r.text()
    assert "nodePort" not in (await r.json())["spec"]["ports"][0]


@pytest.mark.parametrize("ns", ["default", "kube-system", "kube-public"])
async def test_system_namespaces_may_not_be_deleted(api, ns):
    r = await api.delete(f"/api/v1/namespaces/{ns}")
    assert r.status == 403 and "this namespace may not be deleted" in (await r.json())["message"]
