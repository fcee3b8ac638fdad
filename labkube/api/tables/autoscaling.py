"""Table columns of HorizontalPodAutoscalers as upstream prints them: REFERENCE, TARGETS
(`cpu: 12%/50%`, `memory: 20Mi/100Mi`, two metrics then `+ N more...`), MINPODS, MAXPODS, REPLICAS, AGE.
Objects in either version are read in their v2 form."""
from __future__ import annotations

from ..autoscaling.conversion import V1, to_v2
from .base import AGE, NAME, Column, Printer, age_of, name_of

SHOWN = 2   # metrics listed before "+ N more..."


def _d(v) -> dict:
    return v if isinstance(v, dict) else {}


def _metric(spec: dict, status: dict) -> str:
    """One metric as upstream's formatHPAMetrics writes it."""
    kind = spec.get("type")
    key = {"Resource": "resource", "ContainerResource": "containerResource", "Pods": "pods",
           "Object": "object", "External": "external"}.get(kind)
    if key is None:
        return "<unknown type>"
    src, st = _d(spec.get(key)), _d(status.get(key))
    tgt, cur = _d(src.get("target")), _d(st.get("current"))
    if key in ("resource", "containerResource"):
        name = src.get("name", "")
        if tgt.get("averageValue") is not None:
            now = cur.get("averageValue")
            return f"{name}: {'<unknown>' if now is None else now}/{tgt['averageValue']}"
        now = f"{cur['averageUtilization']}%" if cur.get("averageUtilization") is not None else "<unknown>"
        want = f"{tgt['averageUtilization']}%" if tgt.get("averageUtilization") is not None else "<auto>"
        return f"{name}: {now}/{want}"
    if key == "pods":
        return f"{cur.get('averageValue', '<unknown>')}/{tgt.get('averageValue')}"
    if tgt.get("averageValue") is not None:
        return f"{cur.get('averageValue', '<unknown>')}/{tgt['averageValue']} (avg)"
    return f"{cur.get('value', '<unknown>')}/{tgt.get('value')}"


def targets(obj: dict) -> str:
    spec, st = _d(obj.get("spec")), _d(obj.get("status"))
    metrics = [m for m in spec.get("metrics") or [] if isinstance(m, dict)]
    if not metrics:
        return "<none>"
    current = [m if isinstance(m, dict) else {} for m in st.get("currentMetrics") or []]
    out = [_metric(m, current[i] if i < len(current) else {}) for i, m in enumerate(metrics)]
    text = ", ".join(out[:SHOWN])
    return text + f" + {len(out) - SHOWN} more..." if len(out) > SHOWN else text


def _cells(o: dict) -> list:
    if o.get("apiVersion") == V1:
        o = to_v2(o)
    spec, st = _d(o.get("spec")), _d(o.get("status"))
    ref = _d(spec.get("scaleTargetRef"))
    low = spec.get("minReplicas")
    return [name_of(o), f"{ref.get('kind', '')}/{ref.get('name', '')}", targets(o),
            "<unset>" if low is None else str(low), spec.get("maxReplicas", 0), st.get("currentReplicas", 0), age_of(o)]


HPAS = Printer((NAME, Column("Reference", description="The object whose replicas are scaled."),
                Column("Targets", description="Each metric's current value / its target."),
                Column("MinPods", description="The fewest replicas it scales to."),
                Column("MaxPods", type="integer", description="The most replicas it scales to."),
                Column("Replicas", type="integer", description="The target's replicas last seen."), AGE), _cells)
