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
# One table per direction-free mapping: for each metric source, its v1 field names and the v2 path
# each one lives at. v2 paths create their intermediate mappings even when the leaf is absent (as
# upstream's structs serialize them); v1 fields are flat and absent leaves are dropped.
_SPEC_FIELDS = {
    "resource": (("name", "name"), ("container", "container"),
                 ("targetAverageUtilization", "target.averageUtilization"),
                 ("targetAverageValue", "target.averageValue")),
    "pods": (("metricName", "metric.name"), ("selector", "metric.selector"),
             ("targetAverageValue", "target.averageValue")),
    "object": (("target", "describedObject"), ("metricName", "metric.name"), ("selector", "metric.selector"),
               ("targetValue", "target.value"), ("averageValue", "target.averageValue")),
    "external": (("metricName", "metric.name"), ("metricSelector", "metric.selector"),
                 ("targetValue", "target.value"), ("targetAverageValue", "target.averageValue")),
}
_SPEC_FIELDS["containerResource"] = _SPEC_FIELDS["resource"]

# the same for statuses, with the value v1 shows when v2 has none (upstream's zero quantities)
_STATUS_FIELDS = {
    "resource": (("name", "name", None), ("container", "container", None),
                 ("currentAverageUtilization", "current.averageUtilization", None),
                 ("currentAverageValue", "current.averageValue", "0")),
    "pods": (("metricName", "metric.name", None), ("selector", "metric.selector", None),
             ("currentAverageValue", "current.averageValue", "0")),
    "object": (("target", "describedObject", None), ("metricName", "metric.name", None),
               ("selector", "metric.selector", None), ("currentValue", "current.value", "0"),
               ("averageValue", "current.averageValue", None)),
    "external": (("metricName", "metric.name", None), ("metricSelector", "metric.selector", None),
                 ("currentValue", "current.value", "0"), ("currentAverageValue", "current.averageValue", None)),
}
_STATUS_FIELDS["containerResource"] = _STATUS_FIELDS["resource"]

# v1 carries no target type: v2's follows from which target field is set, per source
_TARGET_KIND = {
    "resource": lambda t: "Utilization" if t.get("averageUtilization") is not None else "AverageValue",
    "pods": lambda t: "AverageValue",
    "object": lambda t: "Value" if t.get("averageValue") is None else "AverageValue",
    "external": lambda t: "AverageValue" if t.get("value") is None else "Value",
}
_TARGET_KIND["containerResource"] = _TARGET_KIND["resource"]

# the source's key in each metric, by metric type
_SOURCE_KEY = {"Resource": "resource", "ContainerResource": "containerResource", "Pods": "pods",
               "Object": "object", "External": "external"}


def _get_path(src: dict, path: str):
    *parents, leaf = path.split(".")
    for p in parents:
        src = _dict(src.get(p))
    return src.get(leaf)


def _flatten(src: dict, fields) -> dict:
    """v2 source -> v1 source: each v1 field from its v2 path (or its default), absent ones dropped."""
    out = {}
    for v1name, path, *default in fields:
        value = _get_path(src, path)
        if value is None and default:
            value = default[0]
        if value is not None:
            out[v1name] = value
    return out


def _nest(src: dict, fields) -> dict:
    """v1 source -> v2 source: each v1 field set at its v2 path, intermediate mappings always made."""
    out = {}
    for v1name, path, *_ in fields:
        *parents, leaf = path.split(".")
        at = out
        for p in parents:
            at = at.setdefault(p, {})
        if src.get(v1name) is not None:
            at[leaf] = src[v1name]
    return out


def _metric_spec_to_v1(m: dict) -> dict:
    key = _SOURCE_KEY.get(m.get("type"))
    out = {"type": m.get("type")}
    if key:
        out[key] = _flatten(_dict(m.get(key)), _SPEC_FIELDS[key])
    return out


def _metric_spec_to_v2(m: dict) -> dict:
    key = _SOURCE_KEY.get(m.get("type"))
    out = {"type": m.get("type")}
    if key:
        src = _nest(_dict(m.get(key)), _SPEC_FIELDS[key])
        src["target"] = {"type": _TARGET_KIND[key](src["target"]), **src["target"]}
        out[key] = src
    return out


def _metric_status_to_v1(m: dict) -> dict:
    out = {"type": m.get("type")}
    for key, fields in _STATUS_FIELDS.items():
        if isinstance(m.get(key), dict):
            out[key] = _flatten(m[key], fields)
    return out


def _metric_status_to_v2(m: dict) -> dict:
    out = {"type": m.get("type")}
    for key, fields in _STATUS_FIELDS.items():
        if isinstance(m.get(key), dict):
            out[key] = _nest(m[key], fields)
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
