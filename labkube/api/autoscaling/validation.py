"""Validation of an autoscaling/v2 HorizontalPodAutoscaler (after defaults), with upstream's
field paths and messages: the target to scale, replica bounds, each metric's source and target,
and the scaling rules of `behavior`."""
from __future__ import annotations

from ..quantity import parse as parse_quantity
from ..validation.field import FieldError, Path, forbidden, invalid, required, unsupported

METRIC_TYPES = ("ContainerResource", "External", "Object", "Pods", "Resource")
TARGET_TYPES = ("AverageValue", "Utilization", "Value")
SELECT_POLICIES = ("Disabled", "Max", "Min")
POLICY_TYPES = ("Percent", "Pods")
MAX_STABILIZATION_WINDOW = 3600
MAX_PERIOD = 1800
_SOURCE_KEY = {"Resource": "resource", "ContainerResource": "containerResource", "Pods": "pods",
               "Object": "object", "External": "external"}


def _int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _positive_quantity(v) -> bool:
    try:
        return parse_quantity(v) > 0
    except (ValueError, TypeError, ArithmeticError):
        return False


def _target(t, p: Path) -> list[FieldError]:
    t = t if isinstance(t, dict) else {}
    errs = []
    if not t.get("type"):
        errs.append(required(p.child("type"), "must specify a metric target type"))
    elif t["type"] not in TARGET_TYPES:
        errs.append(invalid(p.child("type"), t["type"], "must be either Utilization, Value, or AverageValue"))
    for key in ("value", "averageValue"):
        if t.get(key) is not None and not _positive_quantity(t[key]):
            errs.append(invalid(p.child(key), t[key], "must be positive"))
    u = t.get("averageUtilization")
    if u is not None and (not _int(u) or u < 1):
        errs.append(invalid(p.child("averageUtilization"), u, "must be greater than 0"))
    return errs


def _resource_source(src: dict, p: Path, container: bool) -> list[FieldError]:
    errs = []
    if not src.get("name"):
        errs.append(required(p.child("name"), "must specify a resource name"))
    if container and not src.get("container"):
        errs.append(required(p.child("container"), "must specify a container"))
    tgt = src.get("target") if isinstance(src.get("target"), dict) else {}
    errs += _target(tgt, p.child("target"))
    if tgt.get("averageUtilization") is None and tgt.get("averageValue") is None:
        errs.append(required(p.child("target").child("averageUtilization"),
                             "must set either a target raw value or a target utilization"))
    if tgt.get("averageUtilization") is not None and tgt.get("averageValue") is not None:
        errs.append(forbidden(p.child("target").child("averageValue"),
                              "may not set both a target raw value and a target utilization"))
    return errs


def _metric(m, p: Path) -> list[FieldError]:
    m = m if isinstance(m, dict) else {}
    t = m.get("type")
    if not t:
        return [required(p.child("type"), "must specify a metric source type")]
    if t not in METRIC_TYPES:
        return [unsupported(p.child("type"), t, METRIC_TYPES)]
    key = _SOURCE_KEY[t]
    others = [k for k in _SOURCE_KEY.values() if k != key and m.get(k) is not None]
    errs = [forbidden(p.child(k), "must populate the given metric source only") for k in others]
    src = m.get(key)
    if not isinstance(src, dict):
        return errs + [required(p.child(key), "must populate information for the given metric source")]
    sp = p.child(key)
    if t in ("Resource", "ContainerResource"):
        return errs + _resource_source(src, sp, t == "ContainerResource")
    metric = src.get("metric") if isinstance(src.get("metric"), dict) else {}
    if not metric.get("name"):
        errs.append(required(sp.child("metric").child("name"), "must specify a metric name"))
    if t == "Object":
        ref = src.get("describedObject") if isinstance(src.get("describedObject"), dict) else {}
        for k in ("kind", "name"):
            if not ref.get(k):
                errs.append(required(sp.child("describedObject").child(k)))
    return errs + _target(src.get("target"), sp.child("target"))


def _policy(pol, p: Path) -> list[FieldError]:
    pol = pol if isinstance(pol, dict) else {}
    errs = []
    if pol.get("type") not in POLICY_TYPES:
        errs.append(unsupported(p.child("type"), pol.get("type"), POLICY_TYPES))
    v = pol.get("value")
    if not _int(v) or v <= 0:
        errs.append(invalid(p.child("value"), v, "must be greater than zero"))
    s = pol.get("periodSeconds")
    if not _int(s) or s <= 0:
        errs.append(invalid(p.child("periodSeconds"), s, "must be greater than zero"))
    elif s > MAX_PERIOD:
        errs.append(invalid(p.child("periodSeconds"), s, f"must be less than or equal to {MAX_PERIOD}"))
    return errs


def _rules(rules, p: Path) -> list[FieldError]:
    if not isinstance(rules, dict):
        return []
    errs = []
    w = rules.get("stabilizationWindowSeconds")
    if w is not None:
        if not _int(w) or w < 0:
            errs.append(invalid(p.child("stabilizationWindowSeconds"), w, "must be greater than or equal to zero"))
        elif w > MAX_STABILIZATION_WINDOW:
            errs.append(invalid(p.child("stabilizationWindowSeconds"), w,
                                f"must be less than or equal to {MAX_STABILIZATION_WINDOW}"))
    sel = rules.get("selectPolicy")
    if sel is not None and sel not in SELECT_POLICIES:
        errs.append(unsupported(p.child("selectPolicy"), sel, SELECT_POLICIES))
    policies = rules.get("policies")
    if not policies:
        errs.append(required(p.child("policies"), "must specify at least one Policy"))
    for i, pol in enumerate(policies or []):
        errs += _policy(pol, p.child("policies").index(i))
    return errs


def validate_hpa(obj: dict) -> list[FieldError]:
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    errs, sp = [], Path("spec")
    ref = spec.get("scaleTargetRef") if isinstance(spec.get("scaleTargetRef"), dict) else {}
    for key in ("kind", "name"):
        if not ref.get(key):
            errs.append(required(sp.child("scaleTargetRef").child(key)))
    low, top = spec.get("minReplicas"), spec.get("maxReplicas")
    if low is not None and (not _int(low) or low < 1):
        errs.append(invalid(sp.child("minReplicas"), low, "must be greater than or equal to 1"))
    if not _int(top) or top < 1:
        errs.append(invalid(sp.child("maxReplicas"), top, "must be greater than 0"))
    elif _int(low) and top < low:
        errs.append(invalid(sp.child("maxReplicas"), top, "must be greater than or equal to `minReplicas`"))
    for i, m in enumerate(spec.get("metrics") or []):
        errs += _metric(m, sp.child("metrics").index(i))
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        errs += _rules(behavior.get("scaleUp"), sp.child("behavior").child("scaleUp"))
        errs += _rules(behavior.get("scaleDown"), sp.child("behavior").child("scaleDown"))
    return errs
