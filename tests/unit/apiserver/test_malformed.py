"""Malformed input never produces a 500: every resource, many broken bodies, each verb."""
import json

import pytest

from labkube.api.resources import RESOURCES

BODIES = [
    [], "str", 1, None, {}, {"metadata": "x"}, {"metadata": {"name": 5}}, {"metadata": {"name": "ok", "labels": []}},
    {"metadata": {"name": "ok", "labels": {"a": 1}}}, {"metadata": {"name": "ok", "annotations": "x"}},
    {"metadata": {"name": "ok"}, "spec": "x"}, {"metadata": {"name": "ok"}, "spec": []},
    {"metadata": {"name": "ok"}, "spec": {"containers": {"a": 1}}},
    {"metadata": {"name": "ok"}, "spec": {"containers": ["x"], "volumes": "v"}},
    {"metadata": {"name": "ok"}, "spec": {"containers": [{"name": "c", "image": "x", "ports": "p", "env": [1],
                                                          "resources": {"limits": "x"}}]}},
    {"metadata": {"name": "ok"}, "spec": {"selector": "x", "template": "y", "replicas": "2", "strategy": 1}},
    {"metadata": {"name": "ok"}, "spec": {"selector": {"matchLabels": "x"}, "template": {"metadata": "m", "spec": None}}},
    {"metadata": {"name": "ok"}, "spec": {"ports": [None, {"port": "80"}], "type": 7}},
    {"metadata": {"name": "ok", "finalizers": "f", "ownerReferences": [None]}},
    {"metadata": {"name": "ok"}, "data": [], "stringData": 3, "rules": "r", "roleRef": [], "subjects": "s",
     "value": "high", "involvedObject": []},
    {"metadata": {"name": "ok"}, "spec": {"jobTemplate": [], "schedule": 5, "hard": [], "limits": {}, "taints": {}}},
]


def _collection(r):
    root = f"/apis/{r.group}/{r.version}" if r.group else f"/api/{r.version}"
    return f"{root}/namespaces/default/{r.name}" if r.namespaced else f"{root}/{r.name}"


@pytest.mark.parametrize("res", [r for r in RESOURCES if "create" in r.verbs], ids=lambda r: r.name)
async def test_malformed_creates_are_4xx(api, res):
    for body in BODIES:
        r = await api.post(_collection(res), data=json.dumps(body), headers={"Content-Type": "application/json"})
        text = await r.text()
        assert r.status < 500, (body, text)
        if r.status >= 400:
            assert json.loads(text)["kind"] == "Status"


@pytest.mark.parametrize("res", [r for r in RESOURCES if "patch" in r.verbs and r.name != "namespaces"],
                         ids=lambda r: r.name)
async def test_malformed_updates_are_4xx(api, res):
    name = "victim"
    good = {"metadata": {"name": name}}
    await api.post(_collection(res), json=good)
    url = f"{_collection(res)}/{name}"
    for body in BODIES:
        for ctype in ("application/merge-patch+json", "application/strategic-merge-patch+json",
                      "application/json-patch+json"):
            r = await api.patch(url, data=json.dumps(body), headers={"Content-Type": ctype})
            assert r.status < 500, (ctype, body, await r.text())
        r = await api.put(url, data=json.dumps(body), headers={"Content-Type": "application/json"})
        assert r.status < 500, ("PUT", body, await r.text())
        if "status" in res.subresources:
            r = await api.put(url + "/status", data=json.dumps(body), headers={"Content-Type": "application/json"})
            assert r.status < 500, ("PUT status", body, await r.text())
    r = await api.delete(url, data=b"[1]", headers={"Content-Type": "application/json"})
    assert r.status < 500
    r = await api.delete(url, data=json.dumps({"propagationPolicy": "Sideways"}), headers={"Content-Type": "application/json"})
    assert r.status < 500


@pytest.mark.parametrize("method,path,ctype", [
    ("POST", "/api/v1/namespaces/default/pods/victim/binding", "application/json"),
    ("POST", "/api/v1/namespaces/default/pods/victim/eviction", "application/json"),
    ("PATCH", "/apis/apps/v1/namespaces/default/deployments/victim/scale", "application/merge-patch+json"),
    ("PATCH", "/apis/apps/v1/namespaces/default/deployments/victim/scale", "application/json-patch+json"),
    ("PUT", "/apis/apps/v1/namespaces/default/deployments/victim/scale", "application/json"),
    ("PUT", "/api/v1/namespaces/default/finalize", "application/json"),
    ("PATCH", "/api/v1/namespaces/default/pods/victim/status", "application/strategic-merge-patch+json"),
    ("POST", "/apis/authentication.k8s.io/v1/selfsubjectreviews", "application/json"),
])
async def test_malformed_subresource_bodies(api, method, path, ctype):
    await api.post("/api/v1/namespaces/default/pods",
                   json={"metadata": {"name": "victim"}, "spec": {"containers": [{"name": "c", "image": "x"}]}})
    await api.post("/apis/apps/v1/namespaces/default/deployments", json={
        "metadata": {"name": "victim"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "template": {
            "metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x"}]}}}})
    for body in BODIES + [{"target": "x"}, {"target": {"name": 5}}, {"spec": {"replicas": "3"}}, {"spec": "x"},
                          {"spec": {"finalizers": "x"}}, [{"op": "add", "path": 5}]]:
        r = await api.request(method, path, data=json.dumps(body), headers={"Content-Type": ctype})
        assert r.status < 500, (body, await r.text())
    for q in ("?limit=x", "?continue=zzz", "?labelSelector=a%20in", "?fieldSelector=x", "?watch=1&resourceVersion=abc",
              "?watch=1&timeoutSeconds=x", "?includeObject=All"):
        r = await api.get("/api/v1/namespaces/default/pods" + q,
                          headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})
        assert 400 <= r.status < 500, q
