"""Validation per kind: `validate(resource, obj, old=None)` -> list of FieldError (empty = valid)."""
from __future__ import annotations

from ..resources import Resource
from ..autoscaling import validation as autoscaling
from . import apps, cluster, core, crd, pod, workloads
from .field import FieldError, Path
from .meta import validate_meta, validate_meta_update

_NAME_RULE = {"namespaces": "label", "services": "dns1035", "roles": "segment", "clusterroles": "segment",
              "rolebindings": "segment", "clusterrolebindings": "segment", "events": "subdomain"}

_CREATE = {
    "pods": pod.validate_pod,
    "deployments": apps.validate_deployment,
    "replicasets": apps.validate_replicaset,
    "services": core.validate_service,
    "configmaps": core.validate_configmap,
    "secrets": core.validate_secret,
    "events": core.validate_event,
    "leases": core.validate_lease,
    "nodes": core.validate_node,
    "statefulsets": workloads.validate_statefulset,
    "daemonsets": workloads.validate_daemonset,
    "jobs": workloads.validate_job,
    "cronjobs": workloads.validate_cronjob,
    "roles": cluster.validate_rules,
    "clusterroles": cluster.validate_rules,
    "rolebindings": cluster.validate_binding,
    "clusterrolebindings": cluster.validate_binding,
    "priorityclasses": cluster.validate_priorityclass,
    "persistentvolumeclaims": cluster.validate_pvc,
    "persistentvolumes": cluster.validate_pv,
    "ingresses": cluster.validate_ingress,
    "poddisruptionbudgets": cluster.validate_pdb,
    "horizontalpodautoscalers": autoscaling.validate_hpa,
    "storageclasses": cluster.validate_storageclass,
    "resourcequotas": cluster.validate_quota,
    "limitranges": cluster.validate_limitrange,
    "customresourcedefinitions": crd.validate_crd,
}

_UPDATE = {
    "pods": pod.validate_pod_update,
    "deployments": apps.validate_selector_update,
    "replicasets": apps.validate_selector_update,
    "services": core.validate_service_update,
    "statefulsets": apps.validate_selector_update,
    "daemonsets": apps.validate_selector_update,
    "jobs": workloads.validate_job_update,
    "rolebindings": cluster.validate_binding_update,
    "clusterrolebindings": cluster.validate_binding_update,
}

_EXTRA: dict = {}


def register(resource_name: str, create=None, update=None) -> None:
    """Add validators for further kinds (used by extra resource modules)."""
    if create:
        _CREATE[resource_name] = create
    if update:
        _UPDATE[resource_name] = update


# kinds whose own create and update rules read only the spec
_SPEC_RULES_ONLY = frozenset({"pods"})


def validate(res: Resource, obj: dict, old: dict | None = None, spec_kept: bool = False,
             meta_kept: bool = False) -> list[FieldError]:
    """Field errors of obj (an update of old when given). spec_kept: the update left the stored
    spec as it was (a status write), so the rules of a kind that checks only its spec are not run
    again (pods: upstream's status strategy validates metadata and status, not the spec). meta_kept
    (with spec_kept, for such a kind): obj's metadata is old's, as stored (a status write whose
    mutation left the metadata as handed): validate_meta passed it when it was stored and
    validate_meta_update finds nothing between a metadata and itself, so there is nothing to run."""
    if meta_kept and spec_kept and old is not None and not res.custom and res.name in _SPEC_RULES_ONLY:
        return []
    errs = validate_meta(obj, res.namespaced, _NAME_RULE.get(res.name, "subdomain") if not res.custom else "subdomain")
    if res.custom:
        from .. import crschema
        return errs + crschema.validate(obj, crschema.schema_for(res.group, res.version, res.name), Path(""), top=True) \
            + (validate_meta_update(obj, old) if old is not None else [])
    if spec_kept and old is not None and res.name in _SPEC_RULES_ONLY:
        return errs + validate_meta_update(obj, old)
    fn = _CREATE.get(res.name)
    if fn:
        errs += fn(obj)
    if old is not None:
        errs += validate_meta_update(obj, old)
        up = _UPDATE.get(res.name)
        if up:
            errs += up(obj, old)
    return errs


__all__ = ["FieldError", "Path", "register", "validate"]
