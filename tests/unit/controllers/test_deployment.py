"""Deployment controller (with the ReplicaSet controller and a simulated kubelet) on the FakeApi:
ReplicaSet naming/labels/annotations, rolling update bounds, Recreate, rollout undo, history
cleanup, pause, scaling, status and conditions."""
from __future__ import annotations

import copy
import json

import pytest

from labkube.controllers.deployment import DeploymentController
from labkube.controllers.deployment_util import (fnv32a, normalize_template, surge_and_unavailable, template_hash,
                                                 templates_equal)
from labkube.controllers.replicaset import ReplicaSetController
from labkube.controllers.util import is_ready

from .harness import Harness, deploy_obj


async def make(d, kubelet=True):
    h = Harness(DeploymentController, ReplicaSetController)
    await h.api.create("deployments", d)
    await h.start()
    h.kubelet = kubelet
    return h


def rss(h):
    return {rs["metadata"]["name"]: rs for rs in h.api.all("replicasets")}


def cond(d, t):
    return next(c for c in d["status"]["conditions"] if c["type"] == t)


@pytest.mark.parametrize("replicas,surge,unavail,want", [
    (3, None, None, (1, 0)), (4, None, None, (1, 1)), (10, "25%", "25%", (3, 2)),
    (10, 0, 0, (0, 1)), (3, 2, "50%", (2, 1)), (1, "0%", "100%", (0, 1)),
])
def test_surge_unavailable_resolution(replicas, surge, unavail, want):
    ru = {k: v for k, v in (("maxSurge", surge), ("maxUnavailable", unavail)) if v is not None}
    d = deploy_obj("d", replicas, strategy={"type": "RollingUpdate", "rollingUpdate": ru})
    assert surge_and_unavailable(d) == want


def test_semantic_template_equality_and_hash():
    rs_tmpl = {"metadata": {"labels": {"app": "d5", "pod-template-hash": "abc"}},
               "spec": {"containers": [{"name": "cz", "image": "img-z"}]}}
    undo = {"metadata": {"creationTimestamp": None, "labels": {"app": "d5"}},
            "spec": {"containers": [{"name": "cz", "image": "img-z", "resources": {}}]}}
    assert templates_equal(rs_tmpl, undo)
    assert template_hash(rs_tmpl) == template_hash(undo)
    other = copy.deepcopy(undo)
    other["spec"]["containers"][0]["image"] = "img-y"
    assert not templates_equal(rs_tmpl, other) and template_hash(other) != template_hash(undo)
    assert template_hash(undo, 1) != template_hash(undo)
    assert normalize_template(undo) == {"metadata": {"labels": {"app": "d5"}},
                                        "spec": {"containers": [{"name": "cz", "image": "img-z"}]}}


@pytest.mark.parametrize("data, want", [(b"", 0x811C9DC5), (b"a", 0xE40C292C), (b"foobar", 0xBF9CF968)])
def test_fnv32a_test_vectors(data, want):
    assert fnv32a(data) == want


# Kubernetes spells a hash's decimal digits with its alphabet: "0" -> "4" ... "5" -> "9", "6" -> "b" ... "9" -> "f"
DIGIT_OF = dict(zip("456789bcdf", "0123456789"))


@pytest.mark.parametrize("tmpl, collisions", [
    ({"spec": {"containers": [{"name": "nginx", "image": "nginx:1.14.2"}]}}, None),
    ({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}, None),
    ({"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}, 2),
    (None, None),
])
def test_template_hash_is_spelt_as_kubernetes_spells_pod_template_hashes(tmpl, collisions):
    h = template_hash(tmpl, collisions)
    assert set(h) <= set(DIGIT_OF)                      # like 7c5ddbdf54: no other letters
    data = json.dumps(normalize_template(tmpl), sort_keys=True, separators=(",", ":")).encode()
    data += str(collisions).encode() if collisions else b""
    assert "".join(DIGIT_OF[c] for c in h) == str(fnv32a(data))


NORMALIZE_CASES = [  # (what, template, normalized)
    ("none", None, {}),
    ("empty", {}, {}),
    ("no metadata", {"spec": {"containers": [{"name": "c"}]}}, {"spec": {"containers": [{"name": "c"}]}}),
    ("metadata None", {"metadata": None, "spec": {"x": 1}}, {"spec": {"x": 1}}),
    ("hash label only", {"metadata": {"labels": {"pod-template-hash": "h"}}}, {}),
    ("hash label and another", {"metadata": {"labels": {"pod-template-hash": "h", "app": "a"}}},
     {"metadata": {"labels": {"app": "a"}}}),
    ("creationTimestamp set", {"metadata": {"creationTimestamp": "2026-01-01T00:00:00Z", "name": "n"}},
     {"metadata": {"name": "n"}}),
    ("labels None", {"metadata": {"labels": None, "annotations": {"a": "b"}}}, {"metadata": {"annotations": {"a": "b"}}}),
    ("nested empties", {"spec": {"containers": [{"name": "c", "resources": {}, "env": [], "args": None}],
                                 "securityContext": {}, "volumes": [{"name": "v", "emptyDir": {}}]}},
     {"spec": {"containers": [{"name": "c"}], "volumes": [{"name": "v"}]}}),
    ("false and zero kept", {"spec": {"hostNetwork": False, "priority": 0, "x": ""}},
     {"spec": {"hostNetwork": False, "priority": 0, "x": ""}}),
]


@pytest.mark.parametrize("what,tmpl,want", NORMALIZE_CASES, ids=[c[0] for c in NORMALIZE_CASES])
def test_normalize_template_leaves_its_argument_as_it_was(what, tmpl, want):
    before = copy.deepcopy(tmpl)
    got = normalize_template(tmpl)
    assert got == want
    assert tmpl == before                       # the ReplicaSet's cached template is not touched
    got.setdefault("metadata", {}).setdefault("labels", {})["new"] = "x"
    assert tmpl == before                       # nor shared with the result


async def test_new_deployment_creates_replicaset_and_rolls_out():
    h = await make(deploy_obj("web", 3))
    await h.run()
    d = await h.api.get("deployments", "web", "default")
    (name, rs), = rss(h).items()
    h_ = rs["metadata"]["labels"]["pod-template-hash"]
    assert name == f"web-{h_}"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": h_}
    assert rs["spec"]["template"]["metadata"]["labels"] == {"app": "web", "pod-template-hash": h_}
    assert rs["metadata"]["ownerReferences"] == [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                                  "uid": d["metadata"]["uid"], "controller": True,
                                                  "blockOwnerDeletion": True}]
    ann = rs["metadata"]["annotations"]
    assert (ann["deployment.kubernetes.io/revision"], ann["deployment.kubernetes.io/desired-replicas"],
            ann["deployment.kubernetes.io/max-replicas"]) == ("1", "3", "4")
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "1"
    assert all(p["metadata"]["labels"]["pod-template-hash"] == h_ for p in h.pods())
    st = d["status"]
    assert (st["observedGeneration"], st["replicas"], st["updatedReplicas"], st["readyReplicas"],
            st["availableReplicas"], st.get("unavailableReplicas")) == (1, 3, 3, 3, 3, 0)
    assert cond(d, "Available")["reason"] == "MinimumReplicasAvailable"
    assert cond(d, "Progressing")["reason"] == "NewReplicaSetAvailable"
    assert cond(d, "Progressing")["message"] == f'ReplicaSet "{name}" has successfully progressed.'
    assert [e["message"] for e in h.events("ScalingReplicaSet")] == [f"Scaled up replica set {name} to 3 from 0"]


async def test_rolling_update_respects_surge_and_unavailable_then_undo():
    h = await make(deploy_obj("web", 4, strategy={"type": "RollingUpdate",
                                                  "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}))
    await h.run()
    first = set(rss(h))
    await h.api.patch("deployments", "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "busybox:2"}]}}}}, namespace="default")
    seen = {"max_total": 0, "min_ready": 99}

    def check(h):
        live = [p for p in h.pods() if not p["metadata"].get("deletionTimestamp")]
        seen["max_total"] = max(seen["max_total"], len(live))
        seen["min_ready"] = min(seen["min_ready"], sum(1 for p in live if is_ready(p)))
    await h.run(check=check)
    assert seen["max_total"] <= 5 and seen["min_ready"] >= 3
    by = rss(h)
    new_name = (set(by) - first).pop()
    old_name = first.pop()
    assert by[new_name]["spec"]["replicas"] == 4 and by[old_name]["spec"]["replicas"] == 0
    assert by[new_name]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    d = await h.api.get("deployments", "web", "default")
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    assert d["status"]["updatedReplicas"] == 4 and d["status"]["replicas"] == 4
    assert all(p["spec"]["containers"][0]["image"] == "busybox:2" for p in h.pods())
    # kubectl rollout undo: JSON patch of the old RS's template (hash removed, kubectl's empty values added)
    tmpl = copy.deepcopy(by[old_name]["spec"]["template"])
    del tmpl["metadata"]["labels"]["pod-template-hash"]
    tmpl["metadata"]["creationTimestamp"] = None
    tmpl["spec"]["containers"][0]["resources"] = {}
    await h.api.patch("deployments", "web", [
        {"op": "replace", "path": "/spec/template", "value": tmpl},
        {"op": "replace", "path": "/metadata/annotations", "value": {"deployment.kubernetes.io/revision": "1"}}],
        namespace="default", patch_type="json")
    await h.run()
    by = rss(h)
    assert set(by) == {new_name, old_name}               # no third ReplicaSet
    assert by[old_name]["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert by[old_name]["spec"]["replicas"] == 4 and by[new_name]["spec"]["replicas"] == 0
    d = await h.api.get("deployments", "web", "default")
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert cond(d, "Progressing")["reason"] == "NewReplicaSetAvailable"


async def test_recreate_waits_for_old_pods_to_be_gone():
    h = await make(deploy_obj("db", 2, strategy={"type": "Recreate"}))
    await h.run()
    h.kubelet = False                           # old pods will hang in Terminating
    await h.api.patch("deployments", "db", {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "busybox:2"}]}}}}, namespace="default")
    await h.run()
    assert len(rss(h)) == 1                     # new RS not created while old pods exist
    assert all(p["metadata"].get("deletionTimestamp") for p in h.pods())
    h.kubelet = True
    await h.run()
    by = rss(h)
    assert len(by) == 2 and sorted(rs["spec"]["replicas"] for rs in by.values()) == [0, 2]
    assert all(p["spec"]["containers"][0]["image"] == "busybox:2" for p in h.pods())


async def test_revision_history_limit_cleans_old_replicasets():
    h = await make(deploy_obj("web", 1, revisionHistoryLimit=1))
    await h.run()
    for tag in ("2", "3", "4"):
        await h.api.patch("deployments", "web", {"spec": {"template": {"spec": {"containers": [
            {"name": "c", "image": f"busybox:{tag}"}]}}}}, namespace="default")
        await h.run()
    revs = sorted(rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"] for rs in rss(h).values())
    assert revs == ["3", "4"]


async def test_paused_deployment_scales_but_does_not_roll():
    h = await make(deploy_obj("web", 2))
    await h.run()
    await h.api.patch("deployments", "web", {"spec": {"paused": True, "replicas": 3, "template": {"spec": {
        "containers": [{"name": "c", "image": "busybox:9"}]}}}}, namespace="default")
    await h.run()
    (rs,) = rss(h).values()
    assert rs["spec"]["replicas"] == 3 and len(h.pods()) == 3
    d = await h.api.get("deployments", "web", "default")
    assert cond(d, "Progressing")["reason"] == "DeploymentPaused"
    await h.api.patch("deployments", "web", {"spec": {"paused": False}}, namespace="default")
    await h.run()
    assert len(rss(h)) == 2
    d = await h.api.get("deployments", "web", "default")
    assert d["status"]["updatedReplicas"] == 3 and cond(d, "Progressing")["reason"] == "NewReplicaSetAvailable"


async def test_scaling_event_and_observed_generation():
    h = await make(deploy_obj("web", 2))
    await h.run()
    await h.api.patch("deployments", "web", {"spec": {"replicas": 5}}, namespace="default")
    await h.run()
    d = await h.api.get("deployments", "web", "default")
    assert d["status"]["observedGeneration"] == d["metadata"]["generation"] == 2
    assert d["status"]["availableReplicas"] == 5
    (rs,) = rss(h).values()
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "5"


async def test_progress_deadline_exceeded():
    h = await make(deploy_obj("web", 1, progressDeadlineSeconds=60), kubelet=False)
    await h.run()
    d = await h.api.get("deployments", "web", "default")
    assert cond(d, "Progressing")["status"] == "True"
    assert cond(d, "Available")["status"] == "False"
    h.clock.advance(62)
    await h.run()
    d = await h.api.get("deployments", "web", "default")
    assert cond(d, "Progressing")["reason"] == "ProgressDeadlineExceeded"
    assert cond(d, "Progressing")["status"] == "False"


@pytest.mark.parametrize("replicas,surge,unavail", [(4, 1, 0), (4, "25%", "25%"), (5, 0, 2), (3, "50%", "0%"), (1, 1, 0)])
async def test_rolling_bounds_hold_for_every_setting(replicas, surge, unavail):
    d = deploy_obj("web", replicas, strategy={"type": "RollingUpdate",
                                              "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavail}})
    h = await make(d)
    await h.run()
    max_surge, max_unavail = surge_and_unavailable(d)
    seen = {"max_total": 0, "min_ready": 99}

    def check(h):
        live = [p for p in h.pods() if not p["metadata"].get("deletionTimestamp")]
        seen["max_total"] = max(seen["max_total"], len(live))
        seen["min_ready"] = min(seen["min_ready"], sum(1 for p in live if is_ready(p)))
    await h.api.patch("deployments", "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "busybox:2"}]}}}}, namespace="default")
    await h.run(check=check)
    assert seen["max_total"] <= replicas + max_surge
    assert seen["min_ready"] >= replicas - max_unavail
    d = await h.api.get("deployments", "web", "default")
    assert d["status"]["updatedReplicas"] == replicas and d["status"]["availableReplicas"] == replicas
    assert sorted(p["spec"]["containers"][0]["image"] for p in h.pods()) == ["busybox:2"] * replicas


async def test_rollover_to_a_third_template_mid_rollout():
    h = await make(deploy_obj("web", 4, strategy={"type": "RollingUpdate",
                                                  "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}))
    await h.run()
    h.kubelet = False              # new pods stay unready: the first rollout cannot finish
    await h.api.patch("deployments", "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "busybox:2"}]}}}}, namespace="default")
    await h.run()
    assert len(rss(h)) == 2
    await h.api.patch("deployments", "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "busybox:3"}]}}}}, namespace="default")
    h.kubelet = True
    await h.run()
    by = rss(h)
    assert len(by) == 3
    sizes = sorted((rs["metadata"]["annotations"]["deployment.kubernetes.io/revision"], rs["spec"]["replicas"])
                   for rs in by.values())
    assert sizes == [("1", 0), ("2", 0), ("3", 4)]
    assert sorted(p["spec"]["containers"][0]["image"] for p in h.pods()) == ["busybox:3"] * 4


async def test_replica_failure_surfaces_on_replicaset_and_deployment():
    from labkube.client.errors import status_error
    h = await make(deploy_obj("web", 2), kubelet=False)
    await h.run()
    quota = [True]

    def reactor(verb, res, ns, name, body):
        if verb == "create" and res == "pods" and quota[0]:
            raise status_error(403, "Forbidden", f'pods "{name}" is forbidden: exceeded quota: q')
    h.api.reactors.append(reactor)
    await h.api.patch("deployments", "web", {"spec": {"replicas": 4}}, namespace="default")
    await h.run()
    (rs,) = rss(h).values()
    (c,) = [c for c in rs["status"]["conditions"] if c["type"] == "ReplicaFailure"]
    assert c["reason"] == "FailedCreate" and "exceeded quota" in c["message"]
    d = await h.api.get("deployments", "web", "default")
    assert cond(d, "ReplicaFailure")["status"] == "True"
    quota[0] = False
    h.clock.advance(400)
    await h.run()
    (rs,) = rss(h).values()
    assert not [c for c in rs["status"].get("conditions") or [] if c["type"] == "ReplicaFailure"]
    assert len(h.pods()) == 4
    d = await h.api.get("deployments", "web", "default")
    assert not [c for c in d["status"]["conditions"] if c["type"] == "ReplicaFailure"]
