"""The hollow kubelet's `running_status` (the Running status written out directly) against
`running_status_general` (the same through the kubelet's `status.pod_status`, the code it replaced
on the hot path): the same object and the same PATCH body bytes for the same pod and time."""
import copy
import itertools

import pytest

from labkube import jsonio
from labkube.kubelet.hollow.pods import pod_view, running_status, running_status_general

NOW = 1_796_300_000.25


def _c(name, image="registry.local/app:1", **kw):
    return {"name": name, "image": image, **kw}


PORTS = [{"containerPort": 8080, "protocol": "TCP"}, {"containerPort": 53, "protocol": "UDP", "name": "dns"}]
GUARANTEED = {"limits": {"cpu": "100m", "memory": "64Mi"}, "requests": {"cpu": "100m", "memory": "64Mi"}}
BURSTABLE = {"requests": {"cpu": "50m"}}
OLD_CONDS = [
    {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": "2026-12-03T10:00:00Z"},
    {"type": "Ready", "status": "False", "lastProbeTime": None, "lastTransitionTime": "2026-12-03T10:00:01Z",
     "reason": "ContainersNotReady"},
    {"type": "Initialized", "status": "True", "lastTransitionTime": "2026-12-03T10:00:02Z"},
    {"type": "ContainersReady", "status": "True"},               # True without a transition time
    {"status": "True", "lastTransitionTime": "2026-12-03T10:00:03Z"},  # no type
]

SPECS = {
    "one": {"containers": [_c("app")]},
    "several": {"containers": [_c("app"), _c("sidecar", "busybox"), _c("log", "registry.local/log@sha256:" + "a" * 64)]},
    "inits": {"initContainers": [_c("setup"), _c("migrate", "db:2")], "containers": [_c("app"), _c("side")]},
    "ports": {"containers": [_c("web", ports=PORTS), _c("dns", ports=PORTS[1:])]},
    "gates": {"readinessGates": [{"conditionType": "example.com/ready"}], "containers": [_c("app")]},
    "always": {"restartPolicy": "Always", "containers": [_c("app")]},
    "onfailure": {"restartPolicy": "OnFailure", "initContainers": [_c("i")], "containers": [_c("job")]},
    "never": {"restartPolicy": "Never", "initContainers": [_c("i1"), _c("i2")], "containers": [_c("job")]},
    "hostnet": {"hostNetwork": True, "containers": [_c("agent")]},
    "hostnet-false": {"hostNetwork": False, "containers": [_c("agent")]},
    "guaranteed": {"containers": [_c("a", resources=GUARANTEED), _c("b", resources=GUARANTEED)]},
    "burstable": {"containers": [_c("a", resources=BURSTABLE), _c("b")]},
    "no-image": {"containers": [{"name": "bare"}], "initContainers": [{"name": "bare-init"}]},
    "empty-inits": {"initContainers": [], "containers": [_c("app")]},
    "many": {"initContainers": [_c(f"i{i}") for i in range(12)], "containers": [_c(f"c{i}") for i in range(11)]},
    "no-containers": {"containers": []},
    "no-spec-containers": {},
}
STATUSES = {
    "none": None,
    "empty": {},
    "pending": {"phase": "Pending", "conditions": [OLD_CONDS[0]]},
    "carried": {"phase": "Pending", "conditions": OLD_CONDS, "startTime": "2026-12-03T10:00:00Z",
                "qosClass": "Guaranteed"},
    "dup-type": {"conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-03T09:00:00Z"},
                                {"type": "Ready", "status": "False", "lastTransitionTime": "2026-12-03T09:30:00Z"}]},
    "empty-start": {"startTime": "", "qosClass": ""},
}
UIDS = ["6f1c2a4e-8b7d-4c3e-9a1f-0d2e3c4b5a69", "nodashes"]


def _pod(spec, status, uid):
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "p", "namespace": "default", "uid": uid, "resourceVersion": "42"},
           "spec": {"nodeName": "hollow-1", "schedulerName": "default-scheduler", **copy.deepcopy(spec)}}
    if status is not None:
        pod["status"] = copy.deepcopy(status)
    return pod


CASES = list(itertools.product(SPECS, STATUSES, UIDS))


@pytest.mark.parametrize("spec,status,uid", CASES)
@pytest.mark.parametrize("now,ips", [(NOW, ("10.0.0.7", "10.244.3.17")), (NOW + 0.5, ("192.168.1.250", "10.244.0.2")),
                                      (NOW + 1, ("10.0.0.7", "10.0.0.7")), (0.0, ("172.16.0.1", ""))])
def test_running_status_is_the_general_form(spec, status, uid, now, ips):
    pod = _pod(SPECS[spec], STATUSES[status], uid)
    for p in (pod, pod_view(pod)):
        before = copy.deepcopy(p)
        want = running_status_general(p, *ips, now=now)
        got = running_status(p, *ips, now=now)
        assert got == want
        assert jsonio.dumps({"status": got}) == jsonio.dumps({"status": want})   # the PATCH body
        assert p == before


def test_running_status_default_now_is_the_general_form_of_that_second():
    pod = _pod(SPECS["inits"], STATUSES["carried"], UIDS[0])
    got = running_status(pod, "10.0.0.7", "10.244.3.17")
    when = got["containerStatuses"][0]["state"]["running"]["startedAt"]
    import calendar
    import time
    t = calendar.timegm(time.strptime(when, "%Y-%m-%dT%H:%M:%SZ"))
    assert got == running_status_general(pod, "10.0.0.7", "10.244.3.17", now=t + 0.1)


def test_running_status_missing_container_name_raises_as_before():
    pod = _pod({"containers": [{"image": "x"}]}, None, UIDS[0])
    for fn in (running_status, running_status_general):
        with pytest.raises(KeyError):
            fn(pod, "10.0.0.7", "10.244.3.17", now=NOW)


def _pod_view_before(pod):
    """pod_view as it was before the plain-loop form (comprehensions and keep_keys)."""
    from labkube.client.informer import keep_keys
    from labkube.kubelet.hollow.pods import CONTAINER_KEEP, META_KEEP, SPEC_KEEP, STATUS_KEEP
    md, spec, st = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    view_spec = {k: spec[k] for k in SPEC_KEEP if k in spec}
    for k in ("containers", "initContainers"):
        if k in spec:
            view_spec[k] = keep_keys(spec[k], CONTAINER_KEEP)
    return {"metadata": {k: md[k] for k in META_KEEP if k in md}, "spec": view_spec,
            "status": {k: st[k] for k in STATUS_KEEP if k in st}}


VIEW_EXTRAS = {
    "plain": {},
    "deleting": {"metadata": {"deletionTimestamp": "2026-12-03T11:00:00Z", "deletionGracePeriodSeconds": 30,
                              "labels": {"a": "b"}, "managedFields": []}},
    "null-lists": {"spec": {"containers": None, "initContainers": None}},
    "full-container": {"spec": {"containers": [{"name": "c", "image": "i", "resources": {"limits": {"cpu": "1"}},
                                                "ports": PORTS, "env": [{"name": "A", "value": "1"}],
                                                "imagePullPolicy": "Always"}, {}]}},
    "unbound": {"spec": {"nodeName": None}},
    "no-meta": None,
}


@pytest.mark.parametrize("spec,status,uid", CASES)
@pytest.mark.parametrize("extra", list(VIEW_EXTRAS))
def test_pod_view_is_the_earlier_view(spec, status, uid, extra):
    pod = _pod(SPECS[spec], STATUSES[status], uid)
    if VIEW_EXTRAS[extra] is None:
        pod = {"spec": pod["spec"]}
    else:
        for part, more in VIEW_EXTRAS[extra].items():
            pod[part] = {**pod.get(part, {}), **copy.deepcopy(more)}
    before = copy.deepcopy(pod)
    got, want = pod_view(pod), _pod_view_before(pod)
    assert got == want
    assert jsonio.dumps(got) == jsonio.dumps(want)          # keys in the same order too
    assert pod == before
    assert pod_view({}) == _pod_view_before({})
