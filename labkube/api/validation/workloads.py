"""Validation of StatefulSets, DaemonSets, Jobs and CronJobs."""
from __future__ import annotations

from .apps import _nonneg, validate_selector, validate_template
from .field import FieldError, Path, invalid, required, unsupported


def _spec(obj: dict):
    spec = obj.get("spec")
    return spec if isinstance(spec, dict) else None


def _with_claim_volumes(spec: dict) -> dict:
    """The spec with its volumeClaimTemplates as pod volumes, as the pods get them (a
    container may mount a claim template by name)."""
    tmpl = spec.get("template")
    if not isinstance(tmpl, dict) or not isinstance(tmpl.get("spec"), dict):
        return spec
    volumes = list(tmpl["spec"].get("volumes") or [])
    have = {(v or {}).get("name") for v in volumes}
    for t in spec.get("volumeClaimTemplates") or []:
        name = ((t or {}).get("metadata") or {}).get("name")
        if name and name not in have:
            volumes.append({"name": name, "persistentVolumeClaim": {"claimName": name}})
    return {**spec, "template": {**tmpl, "spec": {**tmpl["spec"], "volumes": volumes}}}


def validate_statefulset(obj: dict) -> list[FieldError]:
    p, spec = Path("spec"), _spec(obj)
    if spec is None:
        return [required(p)]
    errs = _nonneg(spec.get("replicas"), p.child("replicas"))
    errs += validate_selector(spec.get("selector"), p.child("selector"))
    errs += validate_template(_with_claim_volumes(spec), p)
    pmp = spec.get("podManagementPolicy")
    if pmp not in (None, "OrderedReady", "Parallel"):
        errs.append(unsupported(p.child("podManagementPolicy"), pmp, ("OrderedReady", "Parallel")))
    ust = (spec.get("updateStrategy") or {}).get("type")
    if ust not in (None, "RollingUpdate", "OnDelete"):
        errs.append(unsupported(p.child("updateStrategy", "type"), ust, ("OnDelete", "RollingUpdate")))
    for i, t in enumerate(spec.get("volumeClaimTemplates") or []):
        if not ((t or {}).get("metadata") or {}).get("name"):
            errs.append(required(p.child("volumeClaimTemplates").index(i).child("metadata", "name")))
    return errs


def validate_daemonset(obj: dict) -> list[FieldError]:
    p, spec = Path("spec"), _spec(obj)
    if spec is None:
        return [required(p)]
    errs = validate_selector(spec.get("selector"), p.child("selector"))
    errs += validate_template(spec, p)
    ust = (spec.get("updateStrategy") or {}).get("type")
    if ust not in (None, "RollingUpdate", "OnDelete"):
        errs.append(unsupported(p.child("updateStrategy", "type"), ust, ("OnDelete", "RollingUpdate")))
    return errs


def validate_job_spec(spec, p: Path, generated_selector: bool = True) -> list[FieldError]:
    if not isinstance(spec, dict):
        return [required(p)]
    errs = []
    for f in ("parallelism", "completions", "backoffLimit", "activeDeadlineSeconds", "ttlSecondsAfterFinished"):
        errs += _nonneg(spec.get(f), p.child(f))
    if spec.get("selector") is not None or spec.get("manualSelector"):
        errs += validate_selector(spec.get("selector"), p.child("selector"))
    tmpl = spec.get("template")
    if not isinstance(tmpl, dict):
        return errs + [required(p.child("template"))]
    errs += validate_template(spec if spec.get("selector") else {"template": tmpl}, p, restart_always=False)
    rp = (tmpl.get("spec") or {}).get("restartPolicy")
    if rp not in ("OnFailure", "Never"):
        errs.append(FieldError("required", p.child("template", "spec", "restartPolicy"), detail="") if rp is None
                    else unsupported(p.child("template", "spec", "restartPolicy"), rp, ("OnFailure", "Never")))
    cm = spec.get("completionMode")
    if cm not in (None, "NonIndexed", "Indexed"):
        errs.append(unsupported(p.child("completionMode"), cm, ("NonIndexed", "Indexed")))
    return errs


def validate_job(obj: dict) -> list[FieldError]:
    return validate_job_spec(obj.get("spec"), Path("spec"))


def validate_cronjob(obj: dict) -> list[FieldError]:
    p, spec = Path("spec"), _spec(obj)
    if spec is None:
        return [required(p)]
    errs = []
    sched = spec.get("schedule")
    if not sched:
        errs.append(required(p.child("schedule")))
    elif not isinstance(sched, str) or (len(sched.split()) != 5 and not sched.startswith("@")):
        errs.append(invalid(p.child("schedule"), sched, "unparseable cron schedule (expected 5 fields)"))
    cp = spec.get("concurrencyPolicy")
    if cp not in (None, "Allow", "Forbid", "Replace"):
        errs.append(unsupported(p.child("concurrencyPolicy"), cp, ("Allow", "Forbid", "Replace")))
    jt = spec.get("jobTemplate")
    if not isinstance(jt, dict):
        return errs + [required(p.child("jobTemplate"))]
    errs += validate_job_spec(jt.get("spec"), p.child("jobTemplate", "spec"))
    return errs


def validate_job_update(new: dict, old: dict) -> list[FieldError]:
    ns, os_ = new.get("spec") or {}, old.get("spec") or {}
    errs = []
    for f in ("selector", "template", "completions", "completionMode"):
        if f in os_ and ns.get(f) != os_.get(f) and not (f == "template" and os_.get("suspend")):
            errs.append(invalid(Path("spec").child(f), ns.get(f) if f != "template" else "...", "field is immutable"))
    return errs
