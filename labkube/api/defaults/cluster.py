"""Defaults for storage and scheduling kinds: PV, PVC, StorageClass, PriorityClass, PDB, Ingress."""
from __future__ import annotations


def _phase(obj: dict, phase: str) -> None:
    st = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    st.setdefault("phase", phase)
    obj["status"] = st


def default_pv(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    if isinstance(spec, dict):
        spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        spec.setdefault("volumeMode", "Filesystem")
    _phase(obj, "Pending")


def default_pvc(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    if isinstance(spec, dict):
        spec.setdefault("volumeMode", "Filesystem")
    _phase(obj, "Pending")


def default_storageclass(obj: dict) -> None:
    obj.setdefault("reclaimPolicy", "Delete")
    obj.setdefault("volumeBindingMode", "Immediate")


def default_priorityclass(obj: dict) -> None:
    obj.setdefault("preemptionPolicy", "PreemptLowerPriority")


def default_ingress(obj: dict) -> None:
    st = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    st.setdefault("loadBalancer", {})
    obj["status"] = st
