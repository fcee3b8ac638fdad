"""What the controller-manager's pod informer keeps of a pod (labkube.controllers.views)."""
from __future__ import annotations

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
