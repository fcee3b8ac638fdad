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
    strategy = spec.get("strategy")
    if not isinstance(strategy, dict) or not strategy:
        strategy = {}
    if not strategy.get("type"):
        strategy["type"] = "RollingUpdate"
    if strategy["type"] == "RollingUpdate":
        ru = strategy.get("rollingUpdate") if isinstance(strategy.get("rollingUpdate"), dict) else {}
        ru.setdefault("maxUnavailable", "25%")
        ru.setdefault("maxSurge", "25%")
        strategy["rollingUpdate"] = ru
    spec["strategy"] = strategy
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    _template(spec)
    _selector_from_template(spec)
    if not isinstance(obj.get("status"), dict):
        obj["status"] = {}
