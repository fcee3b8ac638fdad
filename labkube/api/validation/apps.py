"""Validation of Deployments, ReplicaSets (and the shared selector/template rules)."""
from __future__ import annotations

from ..selectors import LabelSelector
from .field import FieldError, Path, invalid, required, unsupported
from .names import check_labels
from .pod import validate_pod_spec

OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")


def _nonneg(v, p: Path) -> list[FieldError]:
    if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0):
        return [invalid(p, v, "must be greater than or equal to 0")]
    return []


def validate_selector(sel, p: Path) -> list[FieldError]:
    if not isinstance(sel, dict):
        return [required(p)]
    errs = check_labels(sel.get("matchLabels"), p.child("matchLabels"))
    for i, e in enumerate(sel.get("matchExpressions") or []):
        ep = p.child("matchExpressions").index(i)
        op = (e or {}).get("operator")
        if op not in OPERATORS:
            errs.append(unsupported(ep.child("operator"), op, OPERATORS))
        vals = (e or {}).get("values") or []
        if op in ("In", "NotIn") and not vals:
            errs.append(required(ep.child("values"), "must be specified when `operator` is 'In' or 'NotIn'"))
        if op in ("Exists", "DoesNotExist") and vals:
            errs.append(FieldError("forbidden", ep.child("values"),
                                   detail="may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    if not errs and LabelSelector.from_spec(sel).empty():
        errs.append(invalid(p, sel, "empty selector is invalid for deployment"))
    return errs


def validate_template(spec: dict, p: Path, restart_always: bool = True) -> list[FieldError]:
    tp = p.child("template")
    tmpl = spec.get("template")
    if not isinstance(tmpl, dict):
        return [required(tp)]
    md = tmpl.get("metadata") or {}
    errs = check_labels(md.get("labels"), tp.child("metadata", "labels"))
    sel = spec.get("selector")
    if isinstance(sel, dict) and not LabelSelector.from_spec(sel).matches(md.get("labels") or {}):
        errs.append(invalid(tp.child("metadata", "labels"), md.get("labels") or {},
                            "`selector` does not match template `labels`"))
    errs += validate_pod_spec(tmpl.get("spec"), tp.child("spec"), template=True)
    rp = (tmpl.get("spec") or {}).get("restartPolicy")
    if restart_always and rp not in (None, "Always"):
        errs.append(unsupported(tp.child("spec", "restartPolicy"), rp, ("Always",)))
    return errs


def validate_replicaset(obj: dict) -> list[FieldError]:
    p = Path("spec")
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [required(p)]
    errs = _nonneg(spec.get("replicas"), p.child("replicas"))
    errs += _nonneg(spec.get("minReadySeconds"), p.child("minReadySeconds"))
    errs += validate_selector(spec.get("selector"), p.child("selector"))
    errs += validate_template(spec, p)
    return errs


def validate_deployment(obj: dict) -> list[FieldError]:
    errs = validate_replicaset(obj)
    p = Path("spec")
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    strategy = spec.get("strategy") or {}
    st = strategy.get("type")
    if st is not None and st not in ("Recreate", "RollingUpdate"):
        errs.append(unsupported(p.child("strategy", "type"), st, ("Recreate", "RollingUpdate")))
    ru = strategy.get("rollingUpdate")
    if st == "Recreate" and ru:
        errs.append(FieldError("forbidden", p.child("strategy", "rollingUpdate"),
                               detail="may not be specified when strategy `type` is 'Recreate'"))
    if isinstance(ru, dict):
        if _zero(ru.get("maxSurge")) and _zero(ru.get("maxUnavailable")):
            errs.append(invalid(p.child("strategy", "rollingUpdate", "maxUnavailable"), ru.get("maxUnavailable"),
                                "may not be 0 when `maxSurge` is 0"))
    for f in ("revisionHistoryLimit", "progressDeadlineSeconds"):
        errs += _nonneg(spec.get(f), p.child(f))
    return errs


def _zero(v) -> bool:
    return v in (0, "0", "0%")


def validate_selector_update(new: dict, old: dict) -> list[FieldError]:
    ns, os_ = (new.get("spec") or {}).get("selector"), (old.get("spec") or {}).get("selector")
    if os_ is not None and ns != os_:
        return [invalid(Path("spec.selector"), ns, "field is immutable")]
    return []
