"""Defaults of an autoscaling/v2 HorizontalPodAutoscaler, as upstream's SetDefaults: minReplicas 1,
a CPU utilization target of 80 % when no metric is given, and, when `behavior` is given, each
direction's rules filled in from upstream's defaults field by field (a direction left out
gets them all). The HPA controller uses the same rules for an HPA without `behavior`."""
from __future__ import annotations

import copy

from .conversion import DEFAULT_CPU_UTILIZATION

SCALE_UP = {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
            "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                         {"type": "Percent", "value": 100, "periodSeconds": 15}]}
# the window is left out: the controller's --horizontal-pod-autoscaler-downscale-stabilization (300 s)
SCALE_DOWN = {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}


def scaling_rules(given, defaults: dict) -> dict:
    """The rules of one direction: defaults, overridden by each field `given` sets."""
    out = copy.deepcopy(defaults)
    if isinstance(given, dict):
        for k in ("stabilizationWindowSeconds", "selectPolicy", "policies"):
            if given.get(k) is not None:
                out[k] = given[k]
        for k, v in given.items():   # unknown fields stay for the type checks and validation to see
            out.setdefault(k, v)
    return out


def default_hpa(obj: dict) -> None:
    spec = obj.get("spec")
    if isinstance(spec, dict):
        if spec.get("minReplicas") is None:
            spec["minReplicas"] = 1
        if not spec.get("metrics"):
            spec["metrics"] = [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}]
        behavior = spec.get("behavior")
        if isinstance(behavior, dict):
            behavior["scaleUp"] = scaling_rules(behavior.get("scaleUp"), SCALE_UP)
            behavior["scaleDown"] = scaling_rules(behavior.get("scaleDown"), SCALE_DOWN)
    st = obj.get("status")
    if isinstance(st, dict):
        st.setdefault("desiredReplicas", 0)
