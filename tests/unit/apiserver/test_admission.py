"""Admission: LimitRange defaults and limits, ResourceQuota counts and compute requests."""
from apiserver_helpers import PODS

QUOTAS = "/api/v1/namespaces/default/resourcequotas"
LIMITS = "/api/v1/namespaces/default/limitranges"


def _pod(name, **resources):
    return {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "x", "resources": resources}]}}


async def test_limitrange_defaults_and_max(api):
    await api.post(LIMITS, json={"metadata": {"name": "lr"}, "spec": {"limits": [
        {"type": "Container", "default": {"cpu": "500m"}, "defaultRequest": {"cpu": "100m"}, "max": {"cpu": "1"}}]}})
    body = await (await api.post(PODS, json=_pod("a"))).json()
    assert body["spec"]["containers"][0]["resources"] == {"limits": {"cpu": "500m"}, "requests": {"cpu": "100m"}}
    assert body["status"]["qosClass"] == "Burstable"
    r = await api.post(PODS, json=_pod("b", limits={"cpu": "2"}))
    msg = (await r.json())["message"]
    assert r.status == 403 and "maximum cpu usage per Container is 1, but limit is 2" in msg


async def test_quota_counts_pods(api):
    r = await api.post(QUOTAS, json={"metadata": {"name": "q"}, "spec": {"hard": {"pods": "2"}}})
    assert r.status == 201
    for n in ("a", "b"):
        assert (await api.post(PODS, json=_pod(n))).status == 201
    r = await api.post(PODS, json=_pod("c"))
    body = await r.json()
    assert r.status == 403 and body["reason"] == "Forbidden"
    assert body["message"] == 'pods "c" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2'
    generated = {"metadata": {"generateName": "web-7d9c-"}, "spec": _pod("")["spec"]}
    r = await api.post(PODS, json=generated)      # named by its prefix, as Kubernetes' admission names it
    assert (await r.json())["message"].startswith('pods "web-7d9c-" is forbidden: exceeded quota: q,')
    q = await (await api.get(QUOTAS + "/q")).json()
    assert q["status"]["used"] == {"pods": "2"} and q["status"]["hard"] == {"pods": "2"}
    await api.delete(PODS + "/a")
    assert (await api.post(PODS, json=_pod("c"))).status == 201


async def test_quota_compute_requests(api):
    await api.post(QUOTAS, json={"metadata": {"name": "cpu"}, "spec": {"hard": {"requests.cpu": "1", "limits.memory": "1Gi"}}})
    r = await api.post(PODS, json=_pod("none"))
    assert r.status == 403 and "must specify" in (await r.json())["message"]
    ok = _pod("ok", requests={"cpu": "600m"}, limits={"memory": "512Mi"})
    assert (await api.post(PODS, json=ok)).status == 201
    r = await api.post(PODS, json=_pod("big", requests={"cpu": "500m"}, limits={"memory": "256Mi"}))
    body = await r.json()
    assert r.status == 403 and "requested: requests.cpu=500m, used: requests.cpu=600m, limited: requests.cpu=1" in body["message"]


async def test_bad_quantities_are_422(api):
    r = await api.post(PODS, json=_pod("bad", requests={"cpu": "lots"}))
    body = await r.json()
    assert r.status == 422 and "spec.containers[0].resources.requests[cpu]: Invalid value" in body["message"]
    r = await api.post(PODS, json=_pod("inv", requests={"cpu": "2"}, limits={"cpu": "1"}))
    assert r.status == 422 and "must be less than or equal to cpu limit of 1" in (await r.json())["message"]
    r = await api.post(QUOTAS, json={"metadata": {"name": "bad"}, "spec": {"hard": {"pods": "x"}}})
    assert r.status == 422


async def test_quota_holds_under_concurrent_creates(api):
    import asyncio
    await api.post(QUOTAS, json={"metadata": {"name": "q"}, "spec": {"hard": {"pods": "3"}}})
    rs = await asyncio.gather(*(api.post(PODS, json=_pod(f"c{i}")) for i in range(12)))
    assert sorted(r.status for r in rs) == [201] * 3 + [403] * 9
    pods = await (await api.get(PODS)).json()
    assert len(pods["items"]) == 3


async def test_global_default_priority_class_follows_its_changes(api):
    """Pods without priorityClassName get the globalDefault class; a change to it is seen at once."""
    pcs = "/apis/scheduling.k8s.io/v1/priorityclasses"
    spec = (await (await api.post(PODS, json=_pod("p0"))).json())["spec"]
    assert "priorityClassName" not in spec and spec.get("priority", 0) == 0
    r = await api.post(pcs, json={"metadata": {"name": "dflt"}, "value": 100, "globalDefault": True})
    assert r.status == 201, await r.text()
    spec = (await (await api.post(PODS, json=_pod("p1"))).json())["spec"]
    assert (spec["priorityClassName"], spec["priority"]) == ("dflt", 100)
    r = await api.patch(pcs + "/dflt", json={"globalDefault": False},
                        headers={"Content-Type": "application/merge-patch+json"})
    assert r.status == 200, await r.text()
    spec = (await (await api.post(PODS, json=_pod("p2"))).json())["spec"]
    assert "priorityClassName" not in spec and spec.get("priority", 0) == 0
    r = await api.post(pcs, json={"metadata": {"name": "other"}, "value": 7, "globalDefault": True})
    assert r.status == 201, await r.text()
    spec = (await (await api.post(PODS, json=_pod("p3"))).json())["spec"]
    assert (spec["priorityClassName"], spec["priority"]) == ("other", 7)
    assert (await api.delete(pcs + "/other")).status == 200
    spec = (await (await api.post(PODS, json=_pod("p4"))).json())["spec"]
    assert "priorityClassName" not in spec and spec.get("priority", 0) == 0


CLAIMS = "/api/v1/namespaces/default/persistentvolumeclaims"
CLASSES = "/apis/storage.k8s.io/v1/storageclasses"


def _claim(name, **spec):
    return {"metadata": {"name": name}, "spec": {"accessModes": ["ReadWriteOnce"],
                                                 "resources": {"requests": {"storage": "1Gi"}}, **spec}}


async def test_default_storage_class_is_served_and_given_to_claims_without_class(api):
    sc = await (await api.get(CLASSES + "/standard")).json()
    assert (sc["provisioner"], sc["reclaimPolicy"], sc["volumeBindingMode"]) == (
        "labkube.io/hostpath", "Delete", "Immediate")
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    table = await (await api.get(CLASSES, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})).json()
    assert [r["cells"][0] for r in table["rows"]] == ["standard (default)"]
    for name, spec, want in [("unset", {}, "standard"), ("null", {"storageClassName": None}, "standard"),
                             ("none", {"storageClassName": ""}, ""), ("fast", {"storageClassName": "fast"}, "fast")]:
        body = await (await api.post(CLAIMS, json=_claim(name, **spec))).json()
        assert body["spec"].get("storageClassName") == want, name


async def test_without_a_default_class_a_claim_keeps_no_class(api):
    await api.patch(CLASSES + "/standard", json={"metadata": {"annotations": {
        "storageclass.kubernetes.io/is-default-class": "false"}}},
        headers={"Content-Type": "application/merge-patch+json"})
    body = await (await api.post(CLAIMS, json=_claim("plain"))).json()
    assert "storageClassName" not in body["spec"]


async def test_claims_get_the_pvc_protection_finalizer(api):
    body = await (await api.post(CLAIMS, json=_claim("kept"))).json()
    assert body["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    r = await api.delete(CLAIMS + "/kept")
    gone_yet = await (await api.get(CLAIMS + "/kept")).json()
    assert r.status == 200 and gone_yet["metadata"]["deletionTimestamp"]     # Terminating until released
