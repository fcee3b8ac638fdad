"""Defaults for StatefulSets, DaemonSets, Jobs and CronJobs (upstream apps/v1, batch/v1)."""
from __future__ import annotations

from .apps import _template, rolling_strategy


def _status(obj: dict) -> None:
    if not isinstance(obj.get("status"), dict):
        obj["status"] = {}


def default_statefulset(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    if spec.get("replicas") is None:
        spec["replicas"] = 1
    spec.setdefault("podManagementPolicy", "OrderedReady")
    rolling_strategy(spec, "updateStrategy", partition=0)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
    for t in spec.get("volumeClaimTemplates") or []:
        if isinstance(t, dict):
            t.setdefault("apiVersion", "v1")
            t.setdefault("kind", "PersistentVolumeClaim")
            (t.setdefault("spec", {})).setdefault("volumeMode", "Filesystem")
    _template(spec)
    _status(obj)


def default_daemonset(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    rolling_strategy(spec, "updateStrategy", maxUnavailable=1, maxSurge=0)
    spec.setdefault("revisionHistoryLimit", 10)
    _template(spec)
    _status(obj)


def default_job_spec(spec: dict) -> None:
    if spec.get("completions") is None and spec.get("parallelism") is None:
        spec["completions"] = 1
    if spec.get("parallelism") is None:
        spec["parallelism"] = 1
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    _template(spec)


def default_job(obj: dict) -> None:
    """Also generates the selector and template labels from the job's uid, as upstream does."""
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    default_job_spec(spec)
    md = obj.get("metadata") or {}
    uid, name = md.get("uid"), md.get("name", "")
    if uid and not spec.get("manualSelector") and not spec.get("selector"):
        spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
        tmd = (spec.get("template") or {}).get("metadata")
        if isinstance(tmd, dict):
            labels = tmd.get("labels") or {}
            labels.update({"batch.kubernetes.io/controller-uid": uid, "controller-uid": uid,
                           "batch.kubernetes.io/job-name": name, "job-name": name})
            tmd["labels"] = labels
    _status(obj)


def default_cronjob(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    jt = spec.get("jobTemplate")
    if isinstance(jt, dict):
        jt.setdefault("metadata", {}).setdefault("creationTimestamp", None)
        default_job_spec(jt.setdefault("spec", {}))
    _status(obj)
