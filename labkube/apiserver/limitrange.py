"""LimitRange admission for pods: Container defaults (limits, requests) and min/max checks."""
from __future__ import annotations

from ..api import errors
from ..api import quantity
from ..api.defaults.pod import qos_class
from ..api.resources import resource
from .registry import Registry, prefix

LIMITRANGES = resource("limitranges")


async def apply_limit_ranges(reg: Registry, pod: dict) -> None:
    ns = pod["metadata"].get("namespace")
    if not await reg.storage.any(prefix(LIMITRANGES, ns), latest=True):
        return
    ranges, _, _ = await reg.list(LIMITRANGES, ns, latest=True)
    items = [lim for lr in ranges for lim in (lr.get("spec") or {}).get("limits") or [] if lim.get("type") == "Container"]
    if not items:
        return
    name = pod["metadata"].get("name", "")
    spec = pod.get("spec") or {}
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        res = c.get("resources") if isinstance(c.get("resources"), dict) else {}
        for lim in items:
            for key, src in (("limits", "default"), ("requests", "defaultRequest")):
                for rname, val in (lim.get(src) or {}).items():
                    res.setdefault(key, {}).setdefault(rname, val)
        for rname, val in (res.get("limits") or {}).items():
            res.setdefault("requests", {}).setdefault(rname, val)
        c["resources"] = res
        for lim in items:
            _check(lim, res, name, c.get("name", ""))
    pod.setdefault("status", {})["qosClass"] = qos_class(spec)


def _check(lim: dict, res: dict, pod_name: str, cname: str) -> None:
    for rname, mx in (lim.get("max") or {}).items():
        got = (res.get("limits") or {}).get(rname)
        if got is None or quantity.parse(got) > quantity.parse(mx):
            what = "no limit is specified" if got is None else f"limit is {got}"
            raise errors.forbidden(f'pods "{pod_name}" is forbidden: maximum {rname} usage per Container is {mx}, '
                                   f"but {what}", "pods", pod_name)
    for rname, mn in (lim.get("min") or {}).items():
        got = (res.get("requests") or {}).get(rname)
        if got is None or quantity.parse(got) < quantity.parse(mn):
            what = "no request is specified" if got is None else f"request is {got}"
            raise errors.forbidden(f'pods "{pod_name}" is forbidden: minimum {rname} usage per Container is {mn}, '
                                   f"but {what}", "pods", pod_name)
