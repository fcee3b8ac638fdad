"""Server-side apply over HTTP: managedFields per field manager and operation, conflicts, force."""
import json

import pytest

from apiserver_helpers import DEPLOYS, deploy

from labkube.api import managedfields as mf

APPLY_CT = {"Content-Type": "application/apply-patch+yaml"}


async def _apply(api, name, body, manager="kubectl", force=False, code=200):
    r = await api.patch(f"{DEPLOYS}/{name}?fieldManager={manager}&force={str(force).lower()}",
                        data=json.dumps(body), headers=APPLY_CT)
    out = await r.json()
    assert r.status == code, out
    return out


def _owners(obj):
    return {(e["manager"], e["operation"], e.get("subresource", "")):
            {mf.path_string(p) for p in mf.from_fields_v1(e["fieldsV1"])}
            for e in obj["metadata"].get("managedFields") or []}


async def test_apply_creates_then_updates_under_one_apply_entry(api):
    first = await _apply(api, "d", deploy("d"), code=201)
    assert list(_owners(first)) == [("kubectl", "Apply", "")]
    second = await _apply(api, "d", deploy("d", replicas=3))
    assert second["spec"]["replicas"] == 3 and list(_owners(second)) == [("kubectl", "Apply", "")]
    stored = await (await api.get(f"{DEPLOYS}/d")).json()
    assert stored["metadata"]["managedFields"] == second["metadata"]["managedFields"]
    assert ".spec.replicas" in _owners(stored)[("kubectl", "Apply", "")]
    assert ".spec.strategy.type" not in _owners(stored)[("kubectl", "Apply", "")]  # defaults are nobody's


async def test_second_manager_conflicts_then_forces(api):
    await _apply(api, "d", deploy("d", replicas=2), code=201)
    body = await _apply(api, "d", {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 5}},
                        manager="hpa", code=409)
    assert body["reason"] == "Conflict" and body["code"] == 409
    assert body["message"] == 'Apply failed with 1 conflict: conflict with "kubectl": .spec.replicas'
    assert body["details"]["causes"] == [{"type": "FieldManagerConflict", "message": 'conflict with "kubectl"',
                                          "field": ".spec.replicas"}]
    forced = await _apply(api, "d", {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 5}},
                          manager="hpa", force=True)
    owners = _owners(forced)
    assert forced["spec"]["replicas"] == 5 and owners[("hpa", "Apply", "")] == {".spec.replicas"}
    assert ".spec.replicas" not in owners[("kubectl", "Apply", "")]
    # kubectl no longer owns replicas: applying its config without replicas leaves them alone
    cfg = deploy("d")
    del cfg["spec"]["replicas"]
    again = await _apply(api, "d", cfg)
    assert again["spec"]["replicas"] == 5


async def test_dropped_field_is_removed(api):
    cfg = deploy("d")
    cfg["metadata"]["labels"] = {"team": "a", "tier": "web"}
    await _apply(api, "d", cfg, code=201)
    cfg["metadata"]["labels"] = {"team": "a"}
    out = await _apply(api, "d", cfg)
    assert out["metadata"]["labels"] == {"team": "a"}


@pytest.mark.parametrize("method,path,ctype,body,manager,sub", [
    ("PUT", "", "application/json", None, "kubectl-edit", ""),
    ("PATCH", "", "application/merge-patch+json", {"spec": {"replicas": 4}}, "kubectl-patch", ""),
    ("PATCH", "/scale", "application/merge-patch+json", {"spec": {"replicas": 4}}, "kubectl-scale", "scale"),
])
async def test_updates_are_recorded_as_update_managers(api, method, path, ctype, body, manager, sub):
    created = await _apply(api, "d", deploy("d"), code=201)
    if body is None:
        body = dict(created, spec=dict(created["spec"], replicas=4))
    r = await api.request(method, f"{DEPLOYS}/d{path}?fieldManager={manager}", data=json.dumps(body),
                          headers={"Content-Type": ctype})
    assert r.status == 200, await r.text()
    got = await (await api.get(f"{DEPLOYS}/d")).json()
    owners = _owners(got)
    assert owners[(manager, "Update", sub)] == {".spec.replicas"}
    assert ".spec.replicas" not in owners[("kubectl", "Apply", "")]
    entry = next(e for e in got["metadata"]["managedFields"] if e["manager"] == manager)
    assert entry["apiVersion"] == "apps/v1" and entry["fieldsType"] == "FieldsV1"


async def test_post_records_the_creator_and_the_user_agent_names_it_without_fieldmanager(api):
    r = await api.post(DEPLOYS, json=deploy("d"), headers={"User-Agent": "kopf/1.37 (linux)"})
    assert r.status == 201
    owners = _owners(await r.json())
    assert list(owners) == [("kopf", "Update", "")]
    assert ".spec.strategy.type" in owners[("kopf", "Update", "")]  # the created object, defaults included


async def test_status_writes_own_status_only(api):
    await _apply(api, "d", deploy("d"), code=201)
    r = await api.patch(f"{DEPLOYS}/d/status?fieldManager=ctrl", json={"status": {"replicas": 1}},
                        headers={"Content-Type": "application/merge-patch+json"})
    assert r.status == 200, await r.text()
    owners = _owners(await r.json())
    assert owners[("ctrl", "Update", "status")] == {".status.replicas"}


@pytest.mark.parametrize("query,ctype,body,code,message", [
    ("", "application/apply-patch+yaml", deploy("d"), 422, "fieldManager: Required value"),
    ("?fieldManager=x&force=true", "application/merge-patch+json", {"spec": {}}, 422,
     "force: Forbidden: may not be specified for non-apply patch"),
    ("?fieldManager=x", "application/apply-patch+yaml", {"spec": {"replicas": 1}}, 400,
     "the apiVersion and kind of an applied configuration"),
    ("?fieldManager=x", "application/apply-patch+yaml",
     {**deploy("d"), "metadata": {"name": "d", "managedFields": [{"manager": "m"}]}}, 422,
     "metadata.managedFields: Invalid value"),
])
async def test_bad_apply_requests(api, query, ctype, body, code, message):
    r = await api.patch(f"{DEPLOYS}/d{query}", data=json.dumps(body), headers={"Content-Type": ctype})
    out = await r.json()
    assert r.status == code and message in out["message"], out


async def test_dry_run_apply_stores_nothing(api):
    await _apply(api, "d", deploy("d"), code=201)
    r = await api.patch(f"{DEPLOYS}/d?fieldManager=kubectl&dryRun=All", data=json.dumps(deploy("d", replicas=9)),
                        headers=APPLY_CT)
    assert (await r.json())["spec"]["replicas"] == 9
    assert (await (await api.get(f"{DEPLOYS}/d")).json())["spec"]["replicas"] == 1


async def test_managed_fields_sent_in_an_update_replace_the_stored_ones(api):
    """kubectl's migration from client-side apply rewrites managedFields with a JSON patch;
    `[{}]` resets them; a body without them keeps them."""
    created = await _apply(api, "d", deploy("d"), code=201)
    r = await api.put(f"{DEPLOYS}/d?fieldManager=edit", json={**created, "metadata": {
        k: v for k, v in created["metadata"].items() if k != "managedFields"}})
    assert r.status == 200 and _owners(await r.json()) == _owners(created)
    moved = [dict(created["metadata"]["managedFields"][0], manager="renamed")]
    r = await api.patch(f"{DEPLOYS}/d?fieldManager=kubectl", data=json.dumps(
        [{"op": "replace", "path": "/metadata/managedFields", "value": moved}]),
        headers={"Content-Type": "application/json-patch+json"})
    assert list(_owners(await r.json())) == [("renamed", "Apply", "")]
    r = await api.patch(f"{DEPLOYS}/d?fieldManager=kubectl", json={"metadata": {"managedFields": [{}]}},
                        headers={"Content-Type": "application/merge-patch+json"})
    assert "managedFields" not in (await r.json())["metadata"]
