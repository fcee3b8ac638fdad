"""ServiceAccount admission: a pod's ServiceAccount must exist (`default` is waited for a
moment), and the kube-api-access projected volume and its read-only mounts."""
import asyncio

import pytest
from apiserver_helpers import PODS

from labkube.api import errors
from labkube.apiserver import saadmission

SAS = "/api/v1/namespaces/default/serviceaccounts"
PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
OWN = {"name": "own", "mountPath": PATH}


def pod(automount=None, sa=None, init=False, own_mount=False):
    c = {"name": "c", "image": "x"}
    spec = {"containers": [c, {"name": "d", "image": "x", **({"volumeMounts": [OWN]} if own_mount else {})}]}
    if own_mount:
        spec["volumes"] = [{"name": "own", "emptyDir": {}}]
    if init:
        spec["initContainers"] = [{"name": "i", "image": "x"}]
    if automount is not None:
        spec["automountServiceAccountToken"] = automount
    if sa:
        spec["serviceAccountName"] = sa
    return {"metadata": {"name": "p"}, "spec": spec}


@pytest.mark.parametrize("case, sa_automount, pod_kw, mounted_in", [
    ("default: every container", None, {}, ["c", "d"]),
    ("opt-out on the pod", None, {"automount": False}, []),
    ("opt-out on the ServiceAccount", False, {"sa": "robot"}, []),
    ("pod opt-in beats ServiceAccount opt-out", False, {"sa": "robot", "automount": True}, ["c", "d"]),
    ("existing mount at the path is kept", None, {"own_mount": True}, ["c"]),
    ("init containers too", None, {"init": True}, ["i", "c", "d"]),
])
async def test_api_access_volume(api, case, sa_automount, pod_kw, mounted_in):
    name = pod_kw.get("sa", "default")
    if name != "default":        # the api fixture has `default`, as the ServiceAccount controller makes it
        sa = {"metadata": {"name": name}}
        if sa_automount is not None:
            sa["automountServiceAccountToken"] = sa_automount
        assert (await api.post(SAS, json=sa)).status == 201
    r = await api.post(PODS, json=pod(**pod_kw))
    body = await r.json()
    assert r.status == 201, body
    spec = body["spec"]
    assert spec["serviceAccountName"] == pod_kw.get("sa", "default")
    generated = [v for v in spec.get("volumes") or [] if v["name"].startswith("kube-api-access-")]
    containers = spec.get("initContainers", []) + spec["containers"]
    mounts = {c["name"]: [m for m in c.get("volumeMounts") or [] if m["mountPath"] == PATH] for c in containers}
    if not mounted_in:
        assert generated == [] and all(m in ([], [OWN]) for m in mounts.values()), case
        return
    [vol] = generated
    assert len(vol["name"]) == len("kube-api-access-") + 5
    assert vol["projected"] == {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                       "fieldPath": "metadata.namespace"}}]}}]}
    want = {"name": vol["name"], "readOnly": True, "mountPath": PATH}
    assert {n: m for n, m in mounts.items()} == {
        c["name"]: ([want] if c["name"] in mounted_in else [OWN]) for c in containers}, case


def _pod(name="p", generate=None, sa=None, mirror=False):
    md = {"generateName": generate} if generate else {"name": name}
    if mirror:
        md["annotations"] = {"kubernetes.io/config.mirror": "x"}
    spec = {"containers": [{"name": "c", "image": "x"}]}
    if sa:
        spec["serviceAccountName"] = sa
    return {"metadata": md, "spec": spec}


@pytest.mark.parametrize("case, ns, body, message", [
    ("a named ServiceAccount that does not exist", "default", _pod("x", sa="foo"),
     'pods "x" is forbidden: error looking up service account default/foo: serviceaccount "foo" not found'),
    ("a controller's pod is named by its generateName", "default", _pod(generate="web-5d4f8-", sa="foo"),
     'pods "web-5d4f8-" is forbidden: error looking up service account default/foo: serviceaccount "foo" not found'),
    ("`default` that never comes", "empty", _pod("y"),
     'pods "y" is forbidden: error looking up service account empty/default: serviceaccount "default" not found'),
])
async def test_missing_service_account_is_forbidden(api, case, ns, body, message):
    assert (await api.post("/api/v1/namespaces", json={"metadata": {"name": "empty"}})).status == 201
    r = await api.post(f"/api/v1/namespaces/{ns}/pods", json=body)
    status = await r.json()
    assert (r.status, status["reason"], status["message"]) == (403, "Forbidden", message), case
    assert status["details"]["kind"] == "pods"
    assert (await api.get(f"/api/v1/namespaces/{ns}/pods")).status == 200
    assert (await (await api.get(f"/api/v1/namespaces/{ns}/pods")).json())["items"] == [], case


async def test_pod_waits_for_default_of_a_new_namespace(api):
    """`kubectl create ns x; kubectl run -n x` does not race the ServiceAccount controller."""
    assert (await api.post("/api/v1/namespaces", json={"metadata": {"name": "fresh"}})).status == 201
    create = asyncio.ensure_future(api.post("/api/v1/namespaces/fresh/pods", json=_pod("early")))
    await asyncio.sleep(0.3)
    assert not create.done()
    r = await api.post("/api/v1/namespaces/fresh/serviceaccounts", json={"metadata": {"name": "default"}})
    assert r.status == 201
    r = await create
    assert r.status == 201, await r.text()
    assert (await r.json())["spec"]["serviceAccountName"] == "default"


async def test_mirror_pod_is_not_looked_up(api):
    r = await api.post(PODS, json=_pod("static-web", sa="none-such", mirror=True))
    body = await r.json()
    assert r.status == 201, body
    assert not any(v["name"].startswith("kube-api-access-") for v in body["spec"].get("volumes") or [])


class _Accounts:
    """A registry stand-in whose ServiceAccount appears after ``appears_at`` lookups (None: never)."""
    def __init__(self, appears_at):
        self.appears_at, self.lookups = appears_at, 0

    async def get(self, res, ns, name, latest=False):
        self.lookups += 1
        if self.appears_at is not None and self.lookups >= self.appears_at:
            return {"metadata": {"name": name, "namespace": ns}}
        raise errors.not_found("serviceaccounts", name)


@pytest.mark.parametrize("case, name, appears_at, found, lookups", [
    ("present", "robot", 1, True, 1),
    ("another name is looked up once", "robot", 2, False, 1),
    ("default is looked up again until it appears", "default", 4, True, 4),
    ("default gives up after 10 lookups", "default", None, False, 10),
    ("default appearing on the 10th lookup still counts", "default", 10, True, 10),
])
async def test_find_service_account_lookups(case, name, appears_at, found, lookups):
    reg = _Accounts(appears_at)
    if found:
        sa = await saadmission.find_service_account(reg, "ns", name, pause=0)
        assert sa["metadata"]["name"] == name, case
    else:
        with pytest.raises(errors.ApiError) as e:
            await saadmission.find_service_account(reg, "ns", name, pause=0)
        assert (e.value.code, e.value.message) == (404, f'serviceaccount "{name}" not found'), case
    assert reg.lookups == lookups, case


def test_generated_volume_names_use_kubernetes_suffix_letters():
    import re
    names = set()
    for _ in range(50):
        p = {"spec": {"containers": [{"name": "c", "image": "busybox"}]}}
        saadmission.mount_api_access(p, None)
        names.add(p["spec"]["volumes"][0]["name"])
    assert all(re.fullmatch(r"kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}", n) for n in names)
    assert len(names) > 40  # drawn afresh per pod
