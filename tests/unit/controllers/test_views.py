"""What the controller-manager's pod informer keeps of a pod (labkube.controllers.views)."""
from __future__ import annotations

import pytest

from labkube.controllers.views import pod_view


def test_pod_view_drops_only_what_no_controller_reads():
    raw = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "p", "namespace": "ns", "uid": "u", "labels": {"a": "b"},
                        "annotations": {"batch.kubernetes.io/job-completion-index": "3"},
                        "managedFields": [{"manager": "x"}]},
           "spec": {"nodeName": "w1", "hostname": "h", "subdomain": "s", "tolerations": [{"operator": "Exists"}],
                    "containers": [{"name": "c", "image": "nginx", "command": ["sh"], "env": [{"name": "A"}],
                                    "ports": [{"name": "http", "containerPort": 80}],
                                    "resources": {"requests": {"cpu": "10m"}},
                                    "readinessProbe": {"tcpSocket": {"port": 80}}}],
                    "initContainers": [{"name": "i", "image": "busybox", "restartPolicy": "Always"}]},
           "status": {"phase": "Running", "podIP": "10.244.1.2", "podIPs": [{"ip": "10.244.1.2"}],
                      "conditions": [{"type": "Initialized", "status": "True"},
                                     {"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-01T00:00:00Z"},
                                     {"type": "ContainersReady", "status": "True"}],
                      "containerStatuses": [{"name": "c", "ready": True, "restartCount": 2, "image": "nginx",
                                             "imageID": "fake://nginx", "containerID": "fake://1",
                                             "state": {"running": {}}, "lastState": {"terminated": {}}}]}}
    v = pod_view(raw)
    assert v["metadata"] == {"name": "p", "namespace": "ns", "uid": "u", "labels": {"a": "b"},
                             "annotations": {"batch.kubernetes.io/job-completion-index": "3"}}
    assert v["spec"] == {"nodeName": "w1", "hostname": "h", "subdomain": "s", "tolerations": [{"operator": "Exists"}],
                         "containers": [{"name": "c", "ports": [{"name": "http", "containerPort": 80}],
                                         "resources": {"requests": {"cpu": "10m"}}}],
                         "initContainers": [{"name": "i", "restartPolicy": "Always"}]}
    assert v["status"] == {"phase": "Running", "podIP": "10.244.1.2", "podIPs": [{"ip": "10.244.1.2"}],
                           "conditions": [{"type": "Ready", "status": "True",
                                           "lastTransitionTime": "2026-12-01T00:00:00Z"}],
                           "containerStatuses": [{"name": "c", "ready": True, "restartCount": 2,
                                                  "state": {"running": {}}}]}
    assert raw["spec"]["containers"][0]["image"] == "nginx" and len(raw["status"]["conditions"]) == 3


def test_pod_view_of_a_bare_pod():
    assert pod_view({"metadata": {"name": "p"}}) == {"metadata": {"name": "p"}}


def token_volume(suffix: str) -> dict:
    return {"name": f"kube-api-access-{suffix}", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}


def test_pod_view_keeps_only_claim_volumes():
    claim = {"name": "data", "persistentVolumeClaim": {"claimName": "data-0"}}
    v = pod_view({"metadata": {"name": "p"}, "spec": {"volumes": [token_volume("x1"), claim, {"name": "t", "emptyDir": {}}]}})
    assert v["spec"] == {"volumes": [claim]}
    assert pod_view({"metadata": {"name": "q"}, "spec": {"volumes": [token_volume("x2")]}})["spec"] == {}


def test_pods_of_one_template_share_their_common_parts():
    def pod(name, node, started):
        return {"metadata": {"name": name, "labels": {"app": "web"}, "ownerReferences": [{"uid": "rs-1"}]},
                "spec": {"nodeName": node, "tolerations": [{"operator": "Exists"}], "volumes": [token_volume(name)],
                         "containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "10m"}}}]},
                "status": {"phase": "Running", "podIP": f"10.244.0.{len(name)}",
                           "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": started}]}}
    a, b = pod_view(pod("a", "w1", "T1")), pod_view(pod("bb", "w2", "T1"))
    c = pod_view(pod("ccc", "w1", "T2"))
    for part, key in [("metadata", "labels"), ("metadata", "ownerReferences"), ("spec", "tolerations"),
                      ("spec", "containers"), ("status", "conditions")]:
        assert a[part][key] is b[part][key], key
    assert a["status"]["conditions"] is not c["status"]["conditions"]          # a different moment
    assert a["spec"]["containers"] is c["spec"]["containers"]
    assert (a["spec"]["nodeName"], b["spec"]["nodeName"]) == ("w1", "w2")
    assert (a["metadata"]["name"], b["status"]["podIP"]) == ("a", "10.244.0.2")


def _running(name: str, node: str, moment: str, ip: str) -> dict:
    """A pod's Running event as decoded: each string a fresh object, as the watch gives them."""
    fresh = "".join
    return {"metadata": {"name": fresh(name), "namespace": "ns", "uid": fresh(["u-", name]),
                         "resourceVersion": fresh(["7", name]), "creationTimestamp": fresh(moment),
                         "labels": {"app": "web"}},
            "spec": {"nodeName": fresh(node), "containers": [{"name": "c"}]},
            "status": {"phase": "Running", "hostIP": fresh("127.0.0.1"), "hostIPs": [{"ip": fresh("127.0.0.1")}],
                       "podIP": fresh(ip), "podIPs": [{"ip": fresh(ip)}], "startTime": fresh(moment)}}


OWN_FIELD_CASES = [  # (part, field, held once by pods of one node or moment)
    ("metadata", "creationTimestamp", True),
    ("spec", "nodeName", True),
    ("status", "hostIP", True),
    ("status", "startTime", True),
    ("metadata", "name", False),
    ("metadata", "uid", False),
    ("metadata", "resourceVersion", False),
    ("status", "podIP", False),
]


@pytest.mark.parametrize("part,field,shared", OWN_FIELD_CASES, ids=[f"{c[0]}.{c[1]}" for c in OWN_FIELD_CASES])
def test_own_fields_come_last_and_only_those_pods_repeat_are_held_once(part, field, shared):
    raw_a = _running("a", "w1", "2026-12-01T00:00:00Z", "10.244.0.2")
    raw_b = _running("b", "w1", "2026-12-01T00:00:00Z", "10.244.0.3")
    a, b = pod_view(raw_a), pod_view(raw_b)
    assert a[part][field] == raw_a[part][field]
    assert (a[part][field] is b[part][field]) is shared or a[part][field] != b[part][field]
    assert list(a["metadata"]) == ["namespace", "labels", "name", "uid", "resourceVersion", "creationTimestamp"]
    assert list(a["status"]) == ["phase", "podIP", "podIPs", "hostIP", "hostIPs", "startTime"]
    assert a["status"]["hostIPs"] == [{"ip": "127.0.0.1"}] and a["status"]["podIPs"] == [{"ip": "10.244.0.2"}]
