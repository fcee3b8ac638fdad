"""Server-side Table output: upstream column sets, cells, PartialObjectMetadata rows."""
import pytest

from labkube.api.tables import to_table
from labkube.api.tables.age import human_duration


def _cols(t):
    return [(c["name"], c["priority"]) for c in t["columnDefinitions"]]


def test_pod_table_columns_and_row():
    pod = {"metadata": {"name": "web", "namespace": "d", "labels": {"a": "b"}, "creationTimestamp": "2020-01-01T00:00:00Z"},
           "spec": {"containers": [{"name": "c"}, {"name": "d"}], "nodeName": "n1"},
           "status": {"phase": "Running", "podIP": "10.244.1.5",
                      "containerStatuses": [{"name": "c", "ready": True, "restartCount": 2, "state": {"running": {}}},
                                            {"name": "d", "ready": False, "restartCount": 1,
                                             "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}}
    t = to_table("pods", [pod], "42")
    assert t["metadata"]["resourceVersion"] == "42"
    assert _cols(t) == [("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0), ("IP", 1),
                        ("Node", 1), ("Nominated Node", 1), ("Readiness Gates", 1)]
    cells = t["rows"][0]["cells"]
    assert cells[:4] == ["web", "1/2", "CrashLoopBackOff", "3"]
    assert cells[5:7] == ["10.244.1.5", "n1"]
    assert t["rows"][0]["object"] == {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                                      "metadata": pod["metadata"]}


def test_terminating_pod_and_include_object():
    pod = {"metadata": {"name": "p", "deletionTimestamp": "2020-01-01T00:00:00Z"}, "spec": {"containers": [{}]},
           "status": {"phase": "Running"}}
    t = to_table("pods", [pod], "1", include="None")
    assert t["rows"][0]["cells"][2] == "Terminating" and "object" not in t["rows"][0]
    assert to_table("pods", [pod], "1", include="Object")["rows"][0]["object"] is pod


@pytest.mark.parametrize("labels,unsched,conds,status,roles", [
    ({"node-role.kubernetes.io/control-plane": ""}, False, [{"type": "Ready", "status": "True"}], "Ready", "control-plane"),
    ({}, True, [{"type": "Ready", "status": "False"}], "NotReady,SchedulingDisabled", "<none>"),
    ({"node-role.kubernetes.io/b": "", "node-role.kubernetes.io/a": ""}, False, [], "Unknown", "a,b"),
])
def test_node_status_and_roles(labels, unsched, conds, status, roles):
    node = {"metadata": {"name": "n", "labels": labels}, "spec": {"unschedulable": unsched},
            "status": {"conditions": conds, "nodeInfo": {"kubeletVersion": "v1.31.0"},
                       "addresses": [{"type": "InternalIP", "address": "10.200.0.11"}]}}
    cells = to_table("nodes", [node], "1")["rows"][0]["cells"]
    assert cells[1] == status and cells[2] == roles and cells[4] == "v1.31.0" and cells[5] == "10.200.0.11"


def test_deployment_and_generic_tables():
    dep = {"metadata": {"name": "web"}, "spec": {"replicas": 3, "selector": {"matchLabels": {"app": "web"}},
                                                 "template": {"spec": {"containers": [{"name": "c", "image": "i"}]}}},
           "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}}
    t = to_table("deployments", [dep], "1")
    assert [c[0] for c in _cols(t)] == ["Name", "Ready", "Up-to-date", "Available", "Age", "Containers", "Images", "Selector"]
    assert t["rows"][0]["cells"][:4] == ["web", "2/3", 3, 2]
    assert t["rows"][0]["cells"][5:] == ["c", "i", "app=web"]
    g = to_table("widgets", [{"metadata": {"name": "w"}}], "1")
    assert [c[0] for c in _cols(g)] == ["Name", "Age"]
    assert to_table("pods", [], "5")["rows"] == []


def test_service_and_event_cells():
    svc = {"metadata": {"name": "s"}, "spec": {"type": "NodePort", "clusterIP": "10.96.0.10",
                                               "ports": [{"port": 80, "nodePort": 30080, "protocol": "TCP"}]}}
    assert to_table("services", [svc], "1")["rows"][0]["cells"][:5] == ["s", "NodePort", "10.96.0.10", "<none>", "80:30080/TCP"]
    ev = {"metadata": {"name": "e"}, "type": "Normal", "reason": "Scheduled", "message": "ok",
          "involvedObject": {"kind": "Pod", "name": "web"}, "source": {"component": "default-scheduler"}}
    cells = to_table("events", [ev], "1")["rows"][0]["cells"]
    assert cells[1:4] == ["Normal", "Scheduled", "pod/web"] and cells[6] == "ok"


@pytest.mark.parametrize("secs,text", [(-5, "<invalid>"), (0, "0s"), (119, "119s"), (125, "2m5s"), (600, "10m"),
                                       (3 * 3600 + 60, "3h1m"), (9 * 3600, "9h"), (50 * 3600, "2d2h"),
                                       (30 * 86400, "30d"), (800 * 86400, "2y70d"), (9 * 365 * 86400, "9y")])
def test_human_duration(secs, text):
    assert human_duration(secs) == text
