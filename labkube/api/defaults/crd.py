"""Defaults for CustomResourceDefinitions: names and the status the apiserver reports."""
from __future__ import annotations

from ..meta import now


def default_crd(obj: dict) -> None:
    spec = obj.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("names"), dict):
        return
    names = spec["names"]
    kind = names.get("kind") or ""
    names.setdefault("singular", kind.lower())
    names.setdefault("listKind", kind + "List")
    for v in spec.get("versions") or []:
        if isinstance(v, dict):
            v.setdefault("served", True)
            v.setdefault("storage", False)
    spec.setdefault("conversion", {"strategy": "None"})
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    t = now()
    status["acceptedNames"] = dict(names)
    status["conditions"] = [
        {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts", "message": "no conflicts found",
         "lastTransitionTime": t},
        {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
         "message": "the initial names have been accepted", "lastTransitionTime": t}]
    status["storedVersions"] = [v["name"] for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("storage")]
    obj["status"] = status
