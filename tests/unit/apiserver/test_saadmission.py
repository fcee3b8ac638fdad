"""ServiceAccount admission: the kube-api-access projected volume and its read-only mounts."""
import pytest
from apiserver_helpers import PODS

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
    ("default ServiceAccount missing: still mounted", "no-sa", {}, ["c", "d"]),
    ("opt-out on the pod", None, {"automount": False}, []),
    ("opt-out on the ServiceAccount", False, {"sa": "robot"}, []),
    ("pod opt-in beats ServiceAccount opt-out", False, {"sa": "robot", "automount": True}, ["c", "d"]),
    ("existing mount at the path is kept", None, {"own_mount": True}, ["c"]),
    ("init containers too", None, {"init": True}, ["i", "c", "d"]),
])
async def test_api_access_volume(api, case, sa_automount, pod_kw, mounted_in):
    if sa_automount != "no-sa":
        sa = {"metadata": {"name": pod_kw.get("sa", "default")}}
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
