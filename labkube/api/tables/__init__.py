"""Server-side Table output (`Accept: ...;as=Table`) for `kubectl get`: one Printer per resource."""
from __future__ import annotations

from . import apiservices, autoscaling, cluster, more, workloads
from .base import GENERIC, Column, Printer, build_table
from .custom import custom_printer

PRINTERS: dict[str, Printer] = {
    "pods": workloads.PODS,
    "deployments": workloads.DEPLOYMENTS,
    "replicasets": workloads.REPLICASETS,
    "nodes": cluster.NODES,
    "namespaces": cluster.NAMESPACES,
    "events": cluster.EVENTS,
    "services": cluster.SERVICES,
    "configmaps": cluster.CONFIGMAPS,
    "secrets": cluster.SECRETS,
    "serviceaccounts": cluster.SERVICEACCOUNTS,
    "leases": cluster.LEASES,
    "endpoints": cluster.ENDPOINTS,
    "componentstatuses": cluster.COMPONENTSTATUSES,
    "statefulsets": more.STATEFULSETS,
    "daemonsets": more.DAEMONSETS,
    "jobs": more.JOBS,
    "cronjobs": more.CRONJOBS,
    "persistentvolumeclaims": more.PVCS,
    "persistentvolumes": more.PVS,
    "priorityclasses": more.PRIORITYCLASSES,
    "storageclasses": more.STORAGECLASSES,
    "ingresses": more.INGRESSES,
    "ingressclasses": more.INGRESSCLASSES,
    "poddisruptionbudgets": more.PDBS,
    "horizontalpodautoscalers": autoscaling.HPAS,
    "apiservices": apiservices.APISERVICES,
    "resourcequotas": more.QUOTAS,
    "limitranges": more.CREATED_AT,
    "roles": more.CREATED_AT,
    "clusterroles": more.CREATED_AT,
    "rolebindings": more.BINDINGS,
    "clusterrolebindings": more.BINDINGS,
    "customresourcedefinitions": more.CREATED_AT,
}


def printer_for(resource_name: str) -> Printer:
    return PRINTERS.get(resource_name, GENERIC)


def register(resource_name: str, printer: Printer) -> None:
    PRINTERS[resource_name] = printer


def to_table(resource, objs: list[dict], resource_version: str, include: str = "Metadata",
             with_columns: bool = True, continue_token: str = "") -> dict:
    """resource: a Resource (custom ones use their CRD's printer columns) or a resource name."""
    if getattr(resource, "custom", False):
        printer = custom_printer(resource)
    else:
        printer = printer_for(getattr(resource, "name", resource))
    return build_table(printer, objs, resource_version, include, with_columns, continue_token)


__all__ = ["Column", "Printer", "printer_for", "register", "to_table"]
