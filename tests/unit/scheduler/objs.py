"""Builders for nodes and pods used by the scheduler tests."""
from __future__ import annotations

CP_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def node(name, cpu="2", memory="4Gi", pods="110", labels=None, taints=None, unschedulable=False):
    n = {"apiVersion": "v1", "kind": "Node",
         "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
         "spec": {"taints": list(taints or [])},
         "status": {"allocatable": {"cpu": cpu, "memory": memory, "pods": pods},
                    "capacity": {"cpu": cpu, "memory": memory, "pods": pods},
                    "conditions": [{"type": "Ready", "status": "True"}]}}
    if unschedulable:
        n["spec"]["unschedulable"] = True
    return n


def pod(name, cpu=None, memory=None, node_name=None, tolerations=None, node_selector=None,
        affinity=None, priority=None, scheduler="default-scheduler", ns="default"):
    req = {}
    if cpu:
        req["cpu"] = cpu
    if memory:
        req["memory"] = memory
    spec = {"schedulerName": scheduler,
            "containers": [{"name": "c", "image": "busybox", "resources": {"requests": req} if req else {}}]}
    if node_name:
        spec["nodeName"] = node_name
    if tolerations:
        spec["tolerations"] = tolerations
    if node_selector:
        spec["nodeSelector"] = node_selector
    if affinity:
        spec["affinity"] = affinity
    if priority is not None:
        spec["priority"] = priority
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "uid": "u-" + name},
            "spec": spec, "status": {"phase": "Pending"}}
