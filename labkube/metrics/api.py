"""The metrics.k8s.io/v1beta1 objects: NodeMetrics and PodMetrics built from the store's usage
(CPU as nanocores `123n`, memory as `Ki`, as metrics-server writes them), their lists with label
and field selectors, the group-version's APIResourceList, and NotFound Status replies.
"""
from __future__ import annotations

import datetime

from labkube.api.selectors import FieldSelector, LabelSelector

from .store import Usage

GROUP, VERSION = "metrics.k8s.io", "v1beta1"
GROUP_VERSION = f"{GROUP}/{VERSION}"

RESOURCES = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GROUP_VERSION, "resources": [
    {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics", "verbs": ["get", "list"]},
    {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics", "verbs": ["get", "list"]}]}


def rfc3339(ts: float) -> str:
    return datetime.datetime.fromtimestamp(int(ts), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def window(seconds: float) -> str:
    """A Go duration as metrics-server prints it: whole seconds `15s`, else `14.987s`."""
    r = round(seconds, 3)
    return f"{int(r)}s" if r == int(r) else f"{r}s"


def quantities(u: Usage) -> dict:
    return {"cpu": f"{u.cpu_nanocores}n", "memory": f"{u.memory_bytes // 1024}Ki"}


def _meta(name: str, labels: dict | None, now: float, namespace: str | None = None) -> dict:
    md = {"name": name, "creationTimestamp": rfc3339(now)}
    if namespace is not None:
        md["namespace"] = namespace
    if labels:
        md["labels"] = dict(labels)
    return md


def node_metrics(name: str, labels: dict | None, u: Usage, now: float) -> dict:
    return {"kind": "NodeMetrics", "apiVersion": GROUP_VERSION, "metadata": _meta(name, labels, now),
            "timestamp": rfc3339(u.timestamp), "window": window(u.window), "usage": quantities(u)}


def pod_metrics(namespace: str, name: str, labels: dict | None, containers: dict[str, Usage], now: float) -> dict:
    first = max(containers.values(), key=lambda u: u.timestamp)
    return {"kind": "PodMetrics", "apiVersion": GROUP_VERSION, "metadata": _meta(name, labels, now, namespace),
            "timestamp": rfc3339(first.timestamp), "window": window(first.window),
            "containers": [{"name": c, "usage": quantities(u)} for c, u in sorted(containers.items())]}


def listing(kind: str, items: list[dict]) -> dict:
    return {"kind": f"{kind}List", "apiVersion": GROUP_VERSION, "metadata": {}, "items": items}


def select(items: list[dict], label_selector: str | None, field_selector: str | None) -> list[dict]:
    """Items matching the selectors (ValueError for a malformed one)."""
    ls, fs = LabelSelector.parse(label_selector), FieldSelector.parse(field_selector)
    return [o for o in items if ls.matches((o.get("metadata") or {}).get("labels") or {}) and fs.matches(o)]


def not_found(resource: str, name: str) -> dict:
    """metrics-server's NotFound: `podmetrics.metrics.k8s.io "default/web" not found` (a pod by namespace/name)."""
    return status(404, "NotFound", f'{resource}.{GROUP} "{name}" not found',
                  {"name": name, "group": GROUP, "kind": resource})


def status(code: int, reason: str, message: str, details: dict | None = None) -> dict:
    out = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
           "reason": reason, "code": code}
    if details:
        out["details"] = details
    return out


def wants_table(accept: str) -> bool:
    return "as=Table" in accept.replace(" ", "")


def table(kind: str, items: list[dict]) -> dict:
    """meta.k8s.io/v1 Table of NodeMetrics or PodMetrics, as `kubectl get nodemetrics|podmetrics`
    shows them (metrics-server's columns: name, CPU, memory, window)."""
    cols = [{"name": "Name", "type": "string", "format": "name", "description": "Name of the resource"},
            {"name": "CPU", "type": "string", "format": "", "description": "CPU usage"},
            {"name": "Memory", "type": "string", "format": "", "description": "Memory usage"},
            {"name": "Window", "type": "string", "format": "", "description": "Interval of the usage"}]
    rows = []
    for o in items:
        usage = o.get("usage") or {}
        if kind == "PodMetrics":
            cpu = sum(int(c["usage"]["cpu"].rstrip("n")) for c in o.get("containers") or [])
            mem = sum(int(c["usage"]["memory"].rstrip("Ki")) for c in o.get("containers") or [])
            usage = {"cpu": f"{cpu}n", "memory": f"{mem}Ki"}
        meta = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": o["metadata"]}
        rows.append({"cells": [o["metadata"]["name"], usage.get("cpu", ""), usage.get("memory", ""), o.get("window")],
                     "object": meta})
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {}, "columnDefinitions": cols, "rows": rows}
