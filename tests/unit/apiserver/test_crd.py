"""CustomResourceDefinitions over HTTP: serving, schema, status subresource, columns, deletion, reload."""
import copy

from aiohttp.test_utils import TestClient, TestServer

from labkube.apiserver import keys
from labkube.apiserver.app import make_app

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"
CRD = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": "widgets.example.com"},
       "spec": {"group": "example.com", "scope": "Namespaced",
                "names": {"plural": "widgets", "kind": "Widget", "shortNames": ["wd"]},
                "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                              "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
                              "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                  "spec": {"type": "object", "required": ["size"], "properties": {
                                      "size": {"type": "integer", "minimum": 1},
                                      "color": {"type": "string", "default": "red"}}},
                                  "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}]}}


def widget(name, **spec):
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name}, "spec": spec}


async def test_crd_lifecycle(api):
    assert (await api.get(WIDGETS)).status == 404
    r = await api.post(CRDS, json=CRD)
    crd = await r.json()
    assert r.status == 201 and crd["spec"]["names"]["listKind"] == "WidgetList"
    assert {c["type"]: c["status"] for c in crd["status"]["conditions"]} == {"NamesAccepted": "True", "Established": "True"}
    groups = await (await api.get("/apis")).json()
    assert "example.com" in [g["name"] for g in groups["groups"]]
    rl = await (await api.get("/apis/example.com/v1")).json()
    assert {e["name"] for e in rl["resources"]} == {"widgets", "widgets/status"}

    w = await (await api.post(WIDGETS, json={**widget("a", size=2), "junk": 1})).json()
    assert w["spec"] == {"size": 2, "color": "red"} and "junk" not in w and w["metadata"]["generation"] == 1
    r = await api.post(WIDGETS, json=widget("b", size=0))
    body = await r.json()
    assert r.status == 422 and body["message"].startswith('Widget.example.com "b" is invalid: spec.size: Invalid value: 0')

    merge = {"Content-Type": "application/merge-patch+json"}
    w = await (await api.patch(WIDGETS + "/a/status", json={"status": {"phase": "ok"}, "spec": {"size": 9}},
                               headers=merge)).json()
    assert w["status"] == {"phase": "ok"} and w["spec"]["size"] == 2 and w["metadata"]["generation"] == 1
    w = await (await api.patch(WIDGETS + "/a", json={"spec": {"size": 4}, "status": {"phase": "no"}},
                               headers=merge)).json()
    assert w["spec"]["size"] == 4 and w["status"] == {"phase": "ok"} and w["metadata"]["generation"] == 2
    table = await (await api.get(WIDGETS, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"})).json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Size"]
    assert table["rows"][0]["cells"] == ["a", 4]
    doc = await (await api.get("/openapi/v3/apis/example.com/v1")).json()
    assert any(p.get("patch", {}).get("x-kubernetes-group-version-kind", {}).get("kind") == "Widget"
               for p in doc["paths"].values())

    assert (await api.delete(CRDS + "/widgets.example.com")).status == 200
    assert (await api.get(WIDGETS)).status == 404
    await api.post(CRDS, json=CRD)
    assert (await (await api.get(WIDGETS)).json())["items"] == []  # the old objects went with the CRD


async def test_crd_validation(api):
    bad = copy.deepcopy(CRD)
    bad["metadata"]["name"] = "wrong.example.com"
    bad["spec"]["versions"][0]["storage"] = False
    r = await api.post(CRDS, json=bad)
    msg = (await r.json())["message"]
    assert r.status == 422
    assert 'metadata.name: Invalid value: "wrong.example.com"' in msg
    assert "must have exactly one version marked as storage version" in msg


async def test_crds_are_served_after_restart(api, tmp_path):
    await api.post(CRDS, json=CRD)
    await api.post(WIDGETS, json=widget("kept", size=1))
    cfg = api.server.app[keys.CONFIG]
    await api.close()
    async with TestClient(TestServer(make_app(cfg, authenticate=False))) as again:
        got = await (await again.get(WIDGETS + "/kept")).json()
        assert got["spec"] == {"size": 1, "color": "red"}


async def test_every_served_version_sees_the_same_objects(api):
    two = copy.deepcopy(CRD)
    v2 = copy.deepcopy(two["spec"]["versions"][0])
    v2.update(name="v2", storage=False)
    two["spec"]["versions"].append(v2)
    assert (await api.post(CRDS, json=two)).status == 201
    await api.post(WIDGETS, json=widget("multi", size=1))
    got = await (await api.get("/apis/example.com/v2/namespaces/default/widgets/multi")).json()
    assert got["apiVersion"] == "example.com/v2" and got["spec"]["size"] == 1
    items = (await (await api.get("/apis/example.com/v2/namespaces/default/widgets")).json())["items"]
    assert [i["apiVersion"] for i in items] == ["example.com/v2"]
    versions = (await (await api.get("/apis")).json())["groups"]
    assert [v["version"] for g in versions if g["name"] == "example.com" for v in g["versions"]] == ["v1", "v2"]


async def test_custom_scale_subresource(api):
    crd = copy.deepcopy(CRD)
    v = crd["spec"]["versions"][0]
    v["subresources"]["scale"] = {"specReplicasPath": ".spec.size", "statusReplicasPath": ".status.count",
                                  "labelSelectorPath": ".status.selector"}
    await api.post(CRDS, json=crd)
    await api.post(WIDGETS, json=widget("s", size=2))
    await api.patch(WIDGETS + "/s/status", json={"status": {"count": 1, "selector": "app=s"}},
                    headers={"Content-Type": "application/merge-patch+json"})
    sc = await (await api.get(WIDGETS + "/s/scale")).json()
    assert sc["spec"] == {"replicas": 2} and sc["status"] == {"replicas": 1, "selector": "app=s"}
    r = await api.patch(WIDGETS + "/s/scale", json={"spec": {"replicas": 5}},
                        headers={"Content-Type": "application/merge-patch+json"})
    assert (await r.json())["spec"]["replicas"] == 5
    assert (await (await api.get(WIDGETS + "/s")).json())["spec"]["size"] == 5
