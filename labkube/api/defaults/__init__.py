"""Defaulting per kind: `apply_defaults(resource, obj)` fills in what Kubernetes fills in."""
from __future__ import annotations

from ..resources import Resource
from .apps import default_deployment, default_replicaset
from .core import default_namespace, default_node, default_secret, default_service
from ..autoscaling.defaults import default_hpa
from .cluster import default_ingress, default_priorityclass, default_pv, default_pvc, default_storageclass
from .crd import default_crd
from .pod import default_pod, default_pod_spec
from .workloads import default_cronjob, default_daemonset, default_job, default_statefulset

_BY_RESOURCE = {
    "pods": default_pod,
    "deployments": default_deployment,
    "replicasets": default_replicaset,
    "namespaces": default_namespace,
    "services": default_service,
    "secrets": default_secret,
    "nodes": default_node,
    "statefulsets": default_statefulset,
    "daemonsets": default_daemonset,
    "jobs": default_job,
    "cronjobs": default_cronjob,
    "persistentvolumes": default_pv,
    "persistentvolumeclaims": default_pvc,
    "storageclasses": default_storageclass,
    "priorityclasses": default_priorityclass,
    "ingresses": default_ingress,
    "horizontalpodautoscalers": default_hpa,
    "customresourcedefinitions": default_crd,
}


def register(resource_name: str, fn) -> None:
    """Add a defaulting function for a further kind."""
    _BY_RESOURCE[resource_name] = fn


def apply_defaults(res: Resource, obj: dict) -> dict:
    fn = _BY_RESOURCE.get(res.name)
    if fn:
        fn(obj)
    return obj


__all__ = ["apply_defaults", "default_pod_spec", "register"]
