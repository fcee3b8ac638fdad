"""HorizontalPodAutoscaler between autoscaling/v2 (the stored form) and autoscaling/v1, as
upstream's pkg/apis/autoscaling/v1 conversion does it.

v1 carries one CPU utilization target (`spec.targetCPUUtilizationPercentage`) and the current
CPU utilization; what it cannot express rides in annotations, in v1's (v2beta1-like) metric
shapes: `autoscaling.alpha.kubernetes.io/metrics` (every other metric spec),
`.../current-metrics` (all current metrics, even the CPU one, to keep the raw values) and
`.../conditions`. Unlike upstream's v1, `spec.behavior` also rides along in
`.../behavior` (in v2 form, as upstream's v2beta1 keeps it), so a v1 update does not drop it.
A v1 object without any metric gets upstream's implicit CPU target of 80 %. The v2 form never
carries these annotations. Malformed input is carried over as it is (the type checks after
conversion report it), and an annotation that is not the JSON it should be is a 400.
"""
from __future__ import annotations

import json

from .. import errors

METRICS = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior"
ROUND_TRIP = (METRICS, CURRENT_METRICS, CONDITIONS, BEHAVIOR)
DEFAULT_CPU_UTILIZATION = 80
V1, V2 = "autoscaling/v1", "autoscaling/v2"


def _dict(v) -> dict:
    return v if isinstance(v, dict) else {}


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def _is_cpu_resource(m) -> bool:
    return isinstance(m, dict) and m.get("type") == "Resource" and _dict(m.get("resource")).get("name") == "cpu"


def _metadata(obj: dict, annotations: dict | None) -> dict | None:
    md = obj.get("metadata")
    if not isinstance(md, dict):
        return md
    md = dict(md)
    if annotations:
        md["annotations"] = annotations
    else:
        md.pop("annotations", None)
    return md


def _plain_annotations(obj: dict):
    """The object's annotations without the round-trip ones (a non-mapping is kept for the type check)."""
    ann = _dict(obj.get("metadata")).get("annotations")
    if not isinstance(ann, dict):
        return ann
    return {k: v for k, v in ann.items() if k not in ROUND_TRIP}


# -- metric specs and statuses: v2 <-> v1 shapes ----------------------------------------------------
def _target_v2(utilization=None, average=None, value=None, kind=None) -> dict:
    kind = kind or ("Utilization" if utilization is not None else "Value" if value is not None else "AverageValue")
    return _drop_none({"type": kind, "averageUtilization": utilization, "averageValue": average, "value": value})


def _metric_spec_to_v1(m: dict) -> dict:
    t = m.get("type")
    out = {"type": t}
    if t in ("Resource", "ContainerResource"):
        key = "resource" if t == "Resource" else "containerResource"
        src = _dict(m.get(key))
        tgt = _dict(src.get("target"))
        out[key] = _drop_none({"name": src.get("name"), "container": src.get("container"),
                               "targetAverageUtilization": tgt.get("averageUtilization"),
                               "targetAverageValue": tgt.get("averageValue")})
    elif t == "Pods":
        src = _dict(m.get("pods"))
        out["pods"] = _drop_none({"metricName": _dict(src.get("metric")).get("name"),
                                  "selector": _dict(src.get("metric")).get("selector"),
                                  "targetAverageValue": _dict(src.get("target")).get("averageValue")})
    elif t == "Object":
        src = _dict(m.get("object"))
        tgt = _dict(src.get("target"))
        out["object"] = _drop_none({"target": src.get("describedObject"),
                                    "metricName": _dict(src.get("metric")).get("name"),
                                    "selector": _dict(src.get("metric")).get("selector"),
                                    "targetValue": tgt.get("value"), "averageValue": tgt.get("averageValue")})
    elif t == "External":
        src = _dict(m.get("external"))
        tgt = _dict(src.get("target"))
        out["external"] = _drop_none({"metricName": _dict(src.get("metric")).get("name"),
                                      "metricSelector": _dict(src.get("metric")).get("selector"),
                                      "targetValue": tgt.get("value"), "targetAverageValue": tgt.get("averageValue")})
    return out


def _metric_spec_to_v2(m: dict) -> dict:
    t = m.get("type")
    out = {"type": t}
    if t in ("Resource", "ContainerResource"):
        key = "resource" if t == "Resource" else "containerResource"
        src = _dict(m.get(key))
        out[key] = _drop_none({"name": src.get("name"), "container": src.get("container"),
                               "target": _target_v2(src.get("targetAverageUtilization"),
                                                    src.get("targetAverageValue"),
                                                    kind=None if src.get("targetAverageUtilization") is not None
                                                    else "AverageValue")})
    elif t == "Pods":
        src = _dict(m.get("pods"))
        out["pods"] = {"metric": _drop_none({"name": src.get("metricName"), "selector": src.get("selector")}),
                       "target": _target_v2(average=src.get("targetAverageValue"), kind="AverageValue")}
    elif t == "Object":
        src = _dict(m.get("object"))
        out["object"] = _drop_none({
            "describedObject": src.get("target"),
            "metric": _drop_none({"name": src.get("metricName"), "selector": src.get("selector")}),
            "target": _target_v2(value=src.get("targetValue"), average=src.get("averageValue"),
                                 kind="Value" if src.get("averageValue") is None else "AverageValue")})
    elif t == "External":
        src = _dict(m.get("external"))
        out["external"] = {
            "metric": _drop_none({"name": src.get("metricName"), "selector": src.get("metricSelector")}),
            "target": _target_v2(value=src.get("targetValue"), average=src.get("targetAverageValue"),
                                 kind="AverageValue" if src.get("targetValue") is None else "Value")}
    return out


_STATUS_KEYS = {"resource": "resource", "containerResource": "containerResource", "pods": "pods",
                "object": "object", "external": "external"}


def _metric_status_to_v1(m: dict) -> dict:
    t = m.get("type")
    out = {"type": t}
    for v2key in _STATUS_KEYS:
        src = m.get(v2key)
        if not isinstance(src, dict):
            continue
        cur, metric = _dict(src.get("current")), _dict(src.get("metric"))
        if v2key in ("resource", "containerResource"):
            out[v2key] = _drop_none({"name": src.get("name"), "container": src.get("container"),
                                     "currentAverageUtilization": cur.get("averageUtilization"),
                                     "currentAverageValue": cur.get("averageValue", "0")})
        elif v2key == "pods":
            out[v2key] = _drop_none({"metricName": metric.get("name"), "selector": metric.get("selector"),
                                     "currentAverageValue": cur.get("averageValue", "0")})
        elif v2key == "object":
            out[v2key] = _drop_none({"target": src.get("describedObject"), "metricName": metric.get("name"),
                                     "selector": metric.get("selector"), "currentValue": cur.get("value", "0"),
                                     "averageValue": cur.get("averageValue")})
        else:
            out[v2key] = _drop_none({"metricName": metric.get("name"), "metricSelector": metric.get("selector"),
                                     "currentValue": cur.get("value", "0"),
                                     "currentAverageValue": cur.get("averageValue")})
    return out


def _metric_status_to_v2(m: dict) -> dict:
    t = m.get("type")
    out = {"type": t}
    for key in _STATUS_KEYS:
        src = m.get(key)
        if not isinstance(src, dict):
            continue
        if key in ("resource", "containerResource"):
            out[key] = _drop_none({"name": src.get("name"), "container": src.get("container"), "current": _drop_none({
                "averageUtilization": src.get("currentAverageUtilization"),
                "averageValue": src.get("currentAverageValue")})})
        elif key == "pods":
            out[key] = {"metric": _drop_none({"name": src.get("metricName"), "selector": src.get("selector")}),
                        "current": _drop_none({"averageValue": src.get("currentAverageValue")})}
        elif key == "object":
            out[key] = _drop_none({"describedObject": src.get("target"),
                                   "metric": _drop_none({"name": src.get("metricName"), "selector": src.get("selector")}),
                                   "current": _drop_none({"value": src.get("currentValue"),
                                                          "averageValue": src.get("averageValue")})})
        else:
            out[key] = {"metric": _drop_none({"name": src.get("metricName"), "selector": src.get("metricSelector")}),
                        "current": _drop_none({"value": src.get("currentValue"),
                                               "averageValue": src.get("currentAverageValue")})}
    return out


# -- whole objects ----------------------------------------------------------------------------------
def _dumps(v) -> str:
    return json.dumps(v, separators=(",", ":"))


def to_v1(obj: dict) -> dict:
    """The v1 form of a v2 (stored) object; a new dict, obj is not changed."""
    if obj.get("apiVersion") == V1:
        return dict(obj)
    spec, st = obj.get("spec"), obj.get("status")
    out = {k: v for k, v in obj.items() if k not in ("spec", "status", "metadata")}
    out["apiVersion"] = V1
    ann = _plain_annotations(obj)
    extra = {}
    if isinstance(spec, dict):
        metrics = spec.get("metrics") if isinstance(spec.get("metrics"), list) else []
        v1spec = {k: spec[k] for k in ("scaleTargetRef", "minReplicas", "maxReplicas") if k in spec}
        for m in metrics:
            if _is_cpu_resource(m):
                util = _dict(_dict(m["resource"]).get("target")).get("averageUtilization")
                if util is not None:
                    v1spec["targetCPUUtilizationPercentage"] = util
                break
        others = [_metric_spec_to_v1(m) for m in metrics if isinstance(m, dict) and not (
            _is_cpu_resource(m) and _dict(_dict(m["resource"]).get("target")).get("averageUtilization") is not None)]
        if others:
            extra[METRICS] = _dumps(others)
        if isinstance(spec.get("behavior"), dict):
            extra[BEHAVIOR] = _dumps(spec["behavior"])
        out["spec"] = v1spec
    elif spec is not None:
        out["spec"] = spec
    if isinstance(st, dict):
        v1st = {k: st[k] for k in ("observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas")
                if k in st}
        v1st.setdefault("currentReplicas", 0)
        v1st.setdefault("desiredReplicas", 0)
        current = st.get("currentMetrics") if isinstance(st.get("currentMetrics"), list) else []
        for m in current:
            if _is_cpu_resource(m):
                util = _dict(_dict(m["resource"]).get("current")).get("averageUtilization")
                if util is not None:
                    v1st["currentCPUUtilizationPercentage"] = util
        if current:
            extra[CURRENT_METRICS] = _dumps([_metric_status_to_v1(m) for m in current if isinstance(m, dict)])
        if isinstance(st.get("conditions"), list) and st["conditions"]:
            extra[CONDITIONS] = _dumps(st["conditions"])
        out["status"] = v1st
    elif st is not None:
        out["status"] = st
    if isinstance(ann, dict) or ann is None:
        ann = {**(ann or {}), **extra}
    if "metadata" in obj:
        out["metadata"] = _metadata(obj, ann)
    elif ann:
        out["metadata"] = {"annotations": ann}
    return out


def _annotation(ann, key: str, want: type):
    if not isinstance(ann, dict) or key not in ann:
        return None
    try:
        v = json.loads(ann[key])
    except (TypeError, ValueError) as e:
        raise errors.bad_request(f'HorizontalPodAutoscaler in version "v1" cannot be handled as a '
                                 f"HorizontalPodAutoscaler: annotation {key}: {e}") from None
    if not isinstance(v, want):
        raise errors.bad_request(f'HorizontalPodAutoscaler in version "v1" cannot be handled as a '
                                 f"HorizontalPodAutoscaler: annotation {key}: expected a JSON {want.__name__}")
    return v


def to_v2(obj: dict) -> dict:
    """The v2 form of a v1 object (or a copy of a v2 one); a new dict, obj is not changed."""
    if obj.get("apiVersion") == V2:
        return dict(obj)
    ann = _dict(obj.get("metadata")).get("annotations")
    spec, st = obj.get("spec"), obj.get("status")
    out = {k: v for k, v in obj.items() if k not in ("spec", "status", "metadata")}
    out["apiVersion"] = V2
    if isinstance(spec, dict):
        v2spec = {k: spec[k] for k in ("scaleTargetRef", "minReplicas", "maxReplicas") if k in spec}
        metrics = [_metric_spec_to_v2(m) for m in _annotation(ann, METRICS, list) or [] if isinstance(m, dict)]
        cpu = spec.get("targetCPUUtilizationPercentage")
        if cpu is not None:
            metrics.append({"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": cpu}}})
        if not metrics:
            metrics = [{"type": "Resource", "resource": {"name": "cpu", "target": {
                "type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}]
        v2spec["metrics"] = metrics
        behavior = _annotation(ann, BEHAVIOR, dict)
        if behavior is not None:
            v2spec["behavior"] = behavior
        out["spec"] = v2spec
    elif spec is not None:
        out["spec"] = spec
    if isinstance(st, dict):
        v2st = {k: st[k] for k in ("observedGeneration", "lastScaleTime", "currentReplicas", "desiredReplicas")
                if k in st}
        current = _annotation(ann, CURRENT_METRICS, list)
        if current is not None:
            v2st["currentMetrics"] = [_metric_status_to_v2(m) for m in current if isinstance(m, dict)]
        elif st.get("currentCPUUtilizationPercentage") is not None:
            v2st["currentMetrics"] = [{"type": "Resource", "resource": {"name": "cpu", "current": {
                "averageUtilization": st["currentCPUUtilizationPercentage"]}}}]
        conditions = _annotation(ann, CONDITIONS, list)
        if conditions is not None:
            v2st["conditions"] = conditions
        out["status"] = v2st
    elif st is not None:
        out["status"] = st
    if "metadata" in obj:
        out["metadata"] = _metadata(obj, _plain_annotations(obj))
    return out


def convert(obj: dict, api_version: str) -> dict:
    """obj in api_version (autoscaling/v1 or autoscaling/v2), as a new dict."""
    return to_v1(obj) if api_version == V1 else to_v2(obj)
