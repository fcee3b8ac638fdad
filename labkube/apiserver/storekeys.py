"""Where objects live in storage, and stamping what is read: keys
`/registry/<resource>/<namespace>/<name>` (cluster-scoped `/registry/<resource>/<name>`;
custom resources `/registry/<group>/<plural>/...`), resourceVersion, apiVersion."""
from __future__ import annotations

from ..api import versions
from ..api.resources import Resource


def _root(res: Resource) -> str:
    """Custom resources live under /registry/<group>/<plural>/ (their plural may equal a built-in's)."""
    return f"/registry/{res.group}/{res.name}/" if res.custom else f"/registry/{res.name}/"


def key(res: Resource, namespace: str | None, name: str) -> str:
    return f"{_root(res)}{namespace}/{name}" if res.namespaced else f"{_root(res)}{name}"


def prefix(res: Resource, namespace: str | None) -> str:
    return f"{_root(res)}{namespace}/" if res.namespaced and namespace else _root(res)


def with_rv(obj: dict, rev: int) -> dict:
    obj.setdefault("metadata", {})["resourceVersion"] = str(rev)
    return obj


def as_version(res: Resource, obj: dict) -> dict:
    """Custom resources are stored once for all versions, built-in ones served in several versions
    in one (converted: a new dict); answer in the version asked for."""
    if res.custom:
        obj["apiVersion"] = res.api_version
    elif res.converted:
        return versions.to_served(res, obj)
    return obj
