"""Defaults for Deployments and ReplicaSets (and their pod templates)."""
from __future__ import annotations

from .pod import default_pod_spec


def _template(spec: dict) -> None:
    t = spec.get("template")
    if isinstance(t, dict):
        md = t.get("metadata")
        if not isinstance(md, dict):
            t["metadata"] = md = {}
        md.setdefault("creationTimestamp", None)
        default_pod_spec(t.setdefault("spec", {}))


def rolling_strategy(spec: dict, key: str, **rolling) -> None:
    """Default spec[key] as upstream defaults a Deployment's `strategy` and a StatefulSet's or
    DaemonSet's `updateStrategy`: no type (missing, null or "") is RollingUpdate, and a
    RollingUpdate's `rollingUpdate` gets each of `rolling`'s fields that is missing or null."""
    strategy = spec.get(key) if isinstance(spec.get(key), dict) else {}
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        ru = strategy.get("rollingUpdate") if isinstance(strategy.get("rollingUpdate"), dict) else {}
        for field, value in rolling.items():
            if ru.get(field) is None:
                ru[field] = value
        strategy["rollingUpdate"] = ru
    spec[key] = strategy


def default_replicaset(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    _template(spec)
    _selector_from_template(spec)
    if not isinstance(obj.get("status"), dict):
        obj["status"] = {"replicas": 0}


def _selector_from_template(spec: dict) -> None:
    """Nothing is inferred (apps/v1 requires a selector); keep an explicit null out."""
    if spec.get("selector") is None:
        spec.pop("selector", None)


def default_deployment(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    rolling_strategy(spec, "strategy", maxUnavailable="25%", maxSurge="25%")
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(spec)
    _selector_from_template(spec)
    if not isinstance(obj.get("status"), dict):
        obj["status"] = {}
