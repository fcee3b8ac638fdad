"""Protobuf bodies (kubectl 1.31 `create rolebinding`), auth reviews, PriorityClass admission,
and the further kinds of issue 4 over HTTP."""
import pathlib

import pytest

from labkube.apiserver.protobuf import ProtobufError, decode_body

GOLDEN = pathlib.Path(__file__).with_name("rolebinding.pb")  # recorded from kubectl 1.31.9 -v=9


def test_decode_recorded_rolebinding():
    obj = decode_body(GOLDEN.read_bytes())
    assert obj["kind"] == "RoleBinding" and obj["apiVersion"] == "rbac.authorization.k8s.io/v1"
    assert obj["metadata"]["name"] == "rb4"
    assert obj["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cr1"}
    assert obj["subjects"] == [{"kind": "User", "apiGroup": "rbac.authorization.k8s.io", "name": "alice"},
                               {"kind": "ServiceAccount", "name": "default", "namespace": "kube-system"}]


@pytest.mark.parametrize("body", [b"", b"{}", b"k8s\x00\x0a\x06\x12\x04Node", b"k8s\x00\xff"])
def test_undecodable_protobuf(body):
    with pytest.raises((ProtobufError, IndexError)):
        decode_body(body)


async def test_protobuf_post_over_http(api):
    r = await api.post("/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
                       data=GOLDEN.read_bytes(), headers={"Content-Type": "application/vnd.kubernetes.protobuf"})
    body = await r.json()
    assert r.status == 201, body
    assert body["metadata"]["namespace"] == "default" and body["roleRef"]["name"] == "cr1"
    r = await api.post("/api/v1/namespaces/default/pods", data=b"k8s\x00\x0a\x05\x12\x03Pod",
                       headers={"Content-Type": "application/vnd.kubernetes.protobuf"})
    assert r.status == 415


async def test_self_subject_reviews(api):
    r = await api.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                       json={"spec": {"resourceAttributes": {"verb": "create", "resource": "pods"}}})
    assert r.status == 201 and (await r.json())["status"]["allowed"] is True
    r = await api.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json={"spec": {}})
    assert r.status == 422
    r = await api.post("/apis/authentication.k8s.io/v1/selfsubjectreviews", json={})
    assert "userInfo" in (await r.json())["status"]
    assert (await api.get("/apis/authentication.k8s.io/v1/selfsubjectreviews")).status == 405


async def test_priority_class_admission(api):
    pcs = "/apis/scheduling.k8s.io/v1/priorityclasses"
    names = [i["metadata"]["name"] for i in (await (await api.get(pcs)).json())["items"]]
    assert names == ["system-cluster-critical", "system-node-critical"]
    await api.post(pcs, json={"metadata": {"name": "high"}, "value": 1000, "preemptionPolicy": "Never"})
    pod = {"metadata": {"name": "p"}, "spec": {"priorityClassName": "high",
                                               "containers": [{"name": "c", "image": "x"}]}}
    body = await (await api.post("/api/v1/namespaces/default/pods", json=pod)).json()
    assert body["spec"]["priority"] == 1000 and body["spec"]["preemptionPolicy"] == "Never"
    pod["metadata"]["name"], pod["spec"]["priorityClassName"] = "q", "nope"
    r = await api.post("/api/v1/namespaces/default/pods", json=pod)
    assert r.status == 403 and "no PriorityClass with name nope" in (await r.json())["message"]
    r = await api.post(pcs, json={"metadata": {"name": "huge"}, "value": 2000000000})
    assert r.status == 422


JOB = {"metadata": {"name": "j"}, "spec": {"template": {"spec": {"restartPolicy": "Never",
                                                                 "containers": [{"name": "c", "image": "x"}]}}}}


async def test_job_selector_generated_and_immutable(api):
    jobs = "/apis/batch/v1/namespaces/default/jobs"
    body = await (await api.post(jobs, json=JOB)).json()
    uid = body["metadata"]["uid"]
    assert body["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    assert body["spec"]["template"]["metadata"]["labels"]["job-name"] == "j"
    assert body["spec"]["backoffLimit"] == 6 and body["spec"]["completions"] == 1
    r = await api.patch(jobs + "/j", json={"spec": {"completions": 3}},
                        headers={"Content-Type": "application/merge-patch+json"})
    assert r.status == 422 and "field is immutable" in (await r.json())["message"]


@pytest.mark.parametrize("path,obj,check", [
    ("/apis/apps/v1/namespaces/default/statefulsets",
     {"metadata": {"name": "s"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "serviceName": "s",
                                          "template": {"metadata": {"labels": {"a": "b"}},
                                                       "spec": {"containers": [{"name": "c", "image": "x"}]}}}},
     lambda o: o["spec"]["podManagementPolicy"] == "OrderedReady" and o["spec"]["replicas"] == 1),
    ("/apis/apps/v1/namespaces/default/daemonsets",
     {"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"a": "b"}},
                                          "template": {"metadata": {"labels": {"a": "b"}},
                                                       "spec": {"containers": [{"name": "c", "image": "x"}]}}}},
     lambda o: o["spec"]["updateStrategy"]["rollingUpdate"] == {"maxUnavailable": 1, "maxSurge": 0}),
    ("/apis/batch/v1/namespaces/default/cronjobs",
     {"metadata": {"name": "cj"}, "spec": {"schedule": "*/5 * * * *", "jobTemplate": {"spec": JOB["spec"]}}},
     lambda o: o["spec"]["concurrencyPolicy"] == "Allow" and o["spec"]["successfulJobsHistoryLimit"] == 3),
    ("/api/v1/namespaces/default/persistentvolumeclaims",
     {"metadata": {"name": "c"}, "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
     lambda o: o["status"]["phase"] == "Pending" and o["spec"]["volumeMode"] == "Filesystem"),
    ("/apis/rbac.authorization.k8s.io/v1/clusterroles",
     {"metadata": {"name": "system:reader"}, "rules": [{"verbs": ["get"], "resources": ["pods"], "apiGroups": [""]}]},
     lambda o: o["metadata"]["name"] == "system:reader"),
])
async def test_more_kinds_create_with_defaults(api, path, obj, check):
    r = await api.post(path, json=obj)
    body = await r.json()
    assert r.status == 201, body
    assert check(body), body


@pytest.mark.parametrize("path,obj,message", [
    ("/apis/batch/v1/namespaces/default/cronjobs", {"metadata": {"name": "cj"}, "spec": {"jobTemplate": {"spec": JOB["spec"]}}},
     "spec.schedule: Required value"),
    ("/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings",
     {"metadata": {"name": "rb"}, "roleRef": {"kind": "Thing", "name": "x"}}, 'roleRef.kind: Unsupported value: "Thing"'),
    ("/api/v1/namespaces/default/persistentvolumeclaims", {"metadata": {"name": "c"}, "spec": {}},
     "spec.accessModes: Required value"),
    ("/apis/networking.k8s.io/v1/namespaces/default/ingresses",
     {"metadata": {"name": "i"}, "spec": {"rules": [{"http": {"paths": [{"path": "/", "backend": {"service": {"name": "s"}}}]}}]}},
     "spec.rules[0].http.paths[0].pathType: Required value"),
])
async def test_more_kinds_validation(api, path, obj, message):
    r = await api.post(path, json=obj)
    body = await r.json()
    assert r.status == 422 and message in body["message"], body
