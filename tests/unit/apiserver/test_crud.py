"""REST verbs over HTTP: create/get/list/update/patch/delete, errors as Status objects."""
import json

import pytest

from apiserver_helpers import DEPLOYS, PODS, deploy, pod


async def _ok(resp, code=200):
    body = await resp.json()
    assert resp.status == code, body
    return body


async def test_create_get_list(api):
    created = await _ok(await api.post(PODS, json=pod("a")), 201)
    assert created["metadata"]["resourceVersion"] and created["metadata"]["namespace"] == "default"
    got = await _ok(await api.get(PODS + "/a"))
    assert got == created
    lst = await _ok(await api.get(PODS))
    assert lst["kind"] == "PodList" and [i["metadata"]["name"] for i in lst["items"]] == ["a"]
    assert int(lst["metadata"]["resourceVersion"]) >= int(created["metadata"]["resourceVersion"])
    empty = await _ok(await api.get("/api/v1/namespaces/kube-public/pods"))
    assert empty["items"] == []


async def test_missing_content_type_is_json_and_big_bodies_fit(api):
    body = json.dumps({"metadata": {"name": "big"}, "data": {"k": "x" * (3 * 1024 * 1024)}})
    r = await api.post("/api/v1/namespaces/default/configmaps", data=body, headers={"Content-Type": ""})
    assert r.status == 201, await r.text()


@pytest.mark.parametrize("path,code,reason,message", [
    (PODS + "/nope", 404, "NotFound", 'pods "nope" not found'),
    (DEPLOYS + "/nope", 404, "NotFound", 'deployments.apps "nope" not found'),
    ("/api/v1/widgets", 404, "NotFound", "the server could not find the requested resource"),
    ("/apis/apps/v1/namespaces/default/deployments/x/bogus", 404, "NotFound", "the server could not find"),
])
async def test_not_found_is_status(api, path, code, reason, message):
    r = await api.get(path)
    body = await r.json()
    assert r.status == code and body["kind"] == "Status" and body["reason"] == reason
    assert body["message"].startswith(message)


@pytest.mark.parametrize("path", ["/api/v1/widgets", PODS + "/p1/bogus"])
async def test_a_missing_path_has_empty_details(api, path):
    """kubectl tells a path the server does not serve from a missing object by details.name of
    the 404 (kubectl debug once panicked on a Status without details); upstream sends
    `details: {}` for a path it does not serve. (A missing pod's ephemeralcontainers:
    test_ephemeral_containers.py.)"""
    r = await api.get(path)
    body = await r.json()
    assert r.status == 404 and body["details"] == {}


async def test_create_errors(api):
    await _ok(await api.post(PODS, json=pod("a")), 201)
    dup = await api.post(PODS, json=pod("a"))
    assert dup.status == 409 and (await dup.json())["reason"] == "AlreadyExists"
    bad = pod("b")
    bad["spec"]["containers"][0]["image"] = ""
    r = await api.post(PODS, json=bad)
    body = await r.json()
    assert r.status == 422 and body["reason"] == "Invalid"
    assert body["message"] == 'Pod "b" is invalid: spec.containers[0].image: Required value'
    assert body["details"]["causes"][0]["field"] == "spec.containers[0].image"
    r = await api.post("/api/v1/namespaces/ghost/pods", json=pod("c"))
    assert r.status == 404 and (await r.json())["message"] == 'namespaces "ghost" not found'
    r = await api.post(PODS, data=b"{not json", headers={"Content-Type": "application/json"})
    assert r.status == 400 and (await r.json())["reason"] == "BadRequest"
    r = await api.post(PODS, data=b"\x6b\x38\x73\x00", headers={"Content-Type": "application/vnd.kubernetes.protobuf"})
    assert r.status == 415


async def test_generate_name_and_yaml_body(api):
    r = await api.post(PODS, data="metadata: {generateName: web-}\nspec: {containers: [{name: c, image: x}]}\n",
                       headers={"Content-Type": "application/yaml"})
    body = await _ok(r, 201)
    assert body["metadata"]["name"].startswith("web-")


async def test_put_conflict_and_generation(api):
    d = await _ok(await api.post(DEPLOYS, json=deploy("web")), 201)
    assert d["metadata"]["generation"] == 1
    d["spec"]["replicas"] = 3
    d2 = await _ok(await api.put(DEPLOYS + "/web", json=d))
    assert d2["metadata"]["generation"] == 2 and d2["spec"]["replicas"] == 3
    stale = await api.put(DEPLOYS + "/web", json=d)  # d still carries the old resourceVersion
    assert stale.status == 409 and (await stale.json())["reason"] == "Conflict"
    d2["metadata"]["labels"] = {"x": "y"}
    d3 = await _ok(await api.put(DEPLOYS + "/web", json=d2))
    assert d3["metadata"]["generation"] == 2
    d3["status"] = {"replicas": 3, "observedGeneration": 2}
    d4 = await _ok(await api.put(DEPLOYS + "/web/status", json=d3))
    assert d4["status"]["replicas"] == 3 and d4["metadata"]["generation"] == 2
    d4["status"] = {}
    d4["spec"]["replicas"] = 9
    d5 = await _ok(await api.put(DEPLOYS + "/web", json=d4))
    assert d5["status"]["replicas"] == 3  # main resource update keeps status
    assert d5["metadata"]["generation"] == 3


async def test_status_patch_only_changes_status(api):
    await _ok(await api.post(PODS, json=pod("s")), 201)
    r = await api.patch(PODS + "/s/status", json={"status": {"phase": "Running"}, "spec": {"nodeName": "x"}},
                        headers={"Content-Type": "application/merge-patch+json"})
    body = await _ok(r)
    assert body["status"]["phase"] == "Running" and "nodeName" not in body["spec"]


@pytest.mark.parametrize("ctype,patch", [
    ("application/merge-patch+json", {"spec": {"replicas": 4}}),
    ("application/strategic-merge-patch+json", {"spec": {"replicas": 4}}),
    ("application/json-patch+json", [{"op": "replace", "path": "/spec/replicas", "value": 4}]),
    ("application/apply-patch+yaml", {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 4}}),
])
async def test_patch_types(api, ctype, patch):
    await _ok(await api.post(DEPLOYS, json=deploy("p")), 201)
    # apply needs a field manager, and force: the creator owns spec.replicas
    query = "?fieldManager=test&force=true" if ctype == "application/apply-patch+yaml" else ""
    body = await _ok(await api.patch(DEPLOYS + "/p" + query, data=json.dumps(patch), headers={"Content-Type": ctype}))
    assert body["spec"]["replicas"] == 4 and body["metadata"]["generation"] == 2


async def test_apply_patch_creates(api):
    r = await api.patch(DEPLOYS + "/ssa?fieldManager=kubectl&force=false", data=json.dumps(deploy("ssa")),
                        headers={"Content-Type": "application/apply-patch+yaml"})
    assert r.status == 201


async def test_unknown_patch_type_is_415(api):
    await _ok(await api.post(PODS, json=pod("u")), 201)
    r = await api.patch(PODS + "/u", json={}, headers={"Content-Type": "text/plain"})
    assert r.status == 415


async def test_dry_run(api):
    r = await api.post(PODS + "?dryRun=All", json=pod("dry"))
    assert r.status == 201
    assert (await api.get(PODS + "/dry")).status == 404
    await _ok(await api.post(DEPLOYS, json=deploy("d")), 201)
    r = await api.patch(DEPLOYS + "/d?dryRun=All", json={"spec": {"replicas": 5}},
                        headers={"Content-Type": "application/merge-patch+json"})
    assert (await _ok(r))["spec"]["replicas"] == 5
    assert (await _ok(await api.get(DEPLOYS + "/d")))["spec"]["replicas"] == 1


async def test_list_selectors_and_paging(api):
    for i, node in enumerate(["n1", "n2", "", "n1"]):
        p = pod(f"p{i}")
        if node:
            p["spec"]["nodeName"] = node
        p["metadata"]["labels"]["tier"] = "fe" if i % 2 else "be"
        await _ok(await api.post(PODS, json=p), 201)

    async def names(query):
        return [i["metadata"]["name"] for i in (await _ok(await api.get(PODS + query)))["items"]]
    assert await names("?fieldSelector=spec.nodeName%3Dn1") == ["p0", "p3"]
    assert await names("?fieldSelector=spec.nodeName!%3Dn1") == ["p1", "p2"]
    assert await names("?fieldSelector=metadata.name%3Dp2") == ["p2"]
    assert await names("?fieldSelector=status.phase%3DPending&labelSelector=tier%3Dfe") == ["p1", "p3"]
    assert await names("?labelSelector=tier+in+(be),app!%3Dp0") == ["p2"]
    page1 = await _ok(await api.get(PODS + "?limit=3"))
    assert len(page1["items"]) == 3 and page1["metadata"]["continue"]
    page2 = await _ok(await api.get(PODS + "?limit=3&continue=" + page1["metadata"]["continue"]))
    assert [i["metadata"]["name"] for i in page2["items"]] == ["p3"] and "continue" not in page2["metadata"]
    bad = await api.get(PODS + "?labelSelector=%3D%3D")
    assert bad.status == 400


async def test_table_output(api):
    await _ok(await api.post(PODS, json=pod("t")), 201)
    accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
    t = await _ok(await api.get(PODS, headers={"Accept": accept}))
    assert t["kind"] == "Table" and t["metadata"]["resourceVersion"]
    assert t["rows"][0]["cells"][0] == "t" and t["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    one = await _ok(await api.get(PODS + "/t", headers={"Accept": accept}))
    assert len(one["rows"]) == 1


async def test_unexpected_exception_is_500_status_and_logged(api, caplog, monkeypatch):
    from labkube.apiserver.registry import Registry

    async def boom(*a, **k):
        raise RuntimeError("disk on fire\nsecond line")
    monkeypatch.setattr(Registry, "get", boom)
    monkeypatch.setattr(Registry, "get_raw", boom)  # plain GETs read the stored text
    r = await api.get(PODS + "/x")
    body = await r.json()
    assert r.status == 500 and body["kind"] == "Status" and body["reason"] == "InternalError"
    assert "disk on fire" in body["message"] and "second line" not in body["message"]
    assert any(rec.exc_info for rec in caplog.records)


async def test_booleans_like_go(api):
    r = await api.get(PODS + "?watch=True&timeoutSeconds=1")
    assert r.headers["Content-Type"].startswith("application/json")
    await r.read()
    r = await api.get(PODS + "?watch=maybe")
    assert r.status == 400


@pytest.mark.parametrize("mode,status", [("Strict", 400), ("Warn", 201), ("Ignore", 201), ("", 201)])
async def test_field_validation(api, mode, status):
    body = pod("fv")
    body["spec"]["containers"][0]["imagee"] = "typo"
    r = await api.post(PODS + f"?fieldValidation={mode}", json=body)
    assert r.status == status
    if mode == "Strict":
        assert (await r.json())["message"] == ('Pod in version "v1" cannot be handled as a Pod: strict decoding error: '
                                               'unknown field "spec.containers[0].imagee"')
    elif mode == "Warn":
        assert r.headers["Warning"] == '299 - "unknown field \\"spec.containers[0].imagee\\""'
    else:
        assert "Warning" not in r.headers
