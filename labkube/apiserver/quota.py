"""ResourceQuota admission: object counts and pod cpu/memory requests/limits per namespace.

Usage is computed from the stored objects at admission time (pods that are not
terminal); a create that would exceed a quota's `hard` gets 403 Forbidden naming the
quota. The quota's status (hard, used) is refreshed on the way (best effort).
`quota_guard` serialises creates in a namespace that has quotas (admission and the
store of one create finish before the next is admitted), so concurrent creates cannot
together exceed a quota; namespaces without quotas are not serialised.
"""
from __future__ import annotations

import asyncio
import contextlib
import weakref
from fractions import Fraction

from ..api import errors, quantity
from ..api.resources import Resource, resource
from .registry import Registry, prefix

QUOTAS = resource("resourcequotas")
COMPUTE = {"requests.cpu": ("requests", "cpu"), "cpu": ("requests", "cpu"),
           "requests.memory": ("requests", "memory"), "memory": ("requests", "memory"),
           "limits.cpu": ("limits", "cpu"), "limits.memory": ("limits", "memory")}
COUNT_ALIASES = {"pods": "pods", "services": "services", "configmaps": "configmaps", "secrets": "secrets",
                 "persistentvolumeclaims": "persistentvolumeclaims", "resourcequotas": "resourcequotas"}


_locks: "weakref.WeakKeyDictionary[Registry, dict[str, asyncio.Lock]]" = weakref.WeakKeyDictionary()


async def quota_guard(reg: Registry, res: Resource, ns: str | None):
    """The namespace's admission lock when it has ResourceQuotas, else a no-op context."""
    if not res.namespaced or not ns:
        return contextlib.nullcontext()
    if not await reg.storage.any(prefix(QUOTAS, ns), latest=True):
        return contextlib.nullcontext()
    return _locks.setdefault(reg, {}).setdefault(ns, asyncio.Lock())


def _pod_usage(pod: dict, key: str) -> Fraction:
    kind, rname = COMPUTE[key]
    total = Fraction(0)
    for c in (pod.get("spec") or {}).get("containers") or []:
        v = (((c or {}).get("resources") or {}).get(kind) or {}).get(rname)
        if v is not None:
            total += quantity.parse(v)
    return total


def _counted(key: str) -> str | None:
    if key.startswith("count/"):
        return key[6:].split(".")[0]
    return COUNT_ALIASES.get(key)


def _live(res: Resource, obj: dict) -> bool:
    return res.name != "pods" or (obj.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


async def admit_quota(reg: Registry, res: Resource, obj: dict) -> None:
    ns = (obj.get("metadata") or {}).get("namespace")
    if not res.namespaced or not ns or not await reg.storage.any(prefix(QUOTAS, ns), latest=True):
        return
    quotas, _, _ = await reg.list(QUOTAS, ns, latest=True)
    if not quotas:
        return
    # Kubernetes' admission errors name an object created with generateName by that prefix (the
    # name is generated after admission there), so a controller's refused creates read alike
    name = obj["metadata"].get("generateName") or obj["metadata"].get("name", "")
    cache: dict[str, list] = {}

    async def existing(rname: str) -> list:
        if rname not in cache:
            items, _, _ = await reg.list(resource(rname), ns, latest=True)
            cache[rname] = [o for o in items if _live(resource(rname), o)]
        return cache[rname]

    for q in quotas:
        hard = (q.get("spec") or {}).get("hard") or {}
        used, requested = {}, {}
        for key, limit in hard.items():
            counted = _counted(key)
            if counted:
                try:
                    resource(counted)
                except KeyError:
                    continue
                used[key] = Fraction(len(await existing(counted)))
                requested[key] = Fraction(1 if counted == res.name else 0)
            elif key in COMPUTE and res.name == "pods":
                kind, rname = COMPUTE[key]
                missing = [c.get("name") for c in (obj.get("spec") or {}).get("containers") or []
                           if rname not in (((c or {}).get("resources") or {}).get(kind) or {})]
                if missing:
                    raise errors.forbidden(f'{res.name} "{name}" is forbidden: failed quota: {q["metadata"]["name"]}: '
                                           f"must specify {key} for: {','.join(missing)}", res.name, name)
                used[key] = sum((_pod_usage(p, key) for p in await existing("pods")), Fraction(0))
                requested[key] = _pod_usage(obj, key)
        over = [k for k in requested if requested[k] and used[k] + requested[k] > quantity.parse(hard[k])]
        if over:
            fmt = lambda d: ",".join(f"{k}={quantity.format_as(k, d[k])}" for k in sorted(over))  # noqa: E731
            raise errors.forbidden(f'{res.name} "{name}" is forbidden: exceeded quota: {q["metadata"]["name"]}, '
                                   f"requested: {fmt(requested)}, used: {fmt(used)}, limited: "
                                   + ",".join(f"{k}={hard[k]}" for k in sorted(over)), res.name, name)
        await _refresh(reg, q, hard, {k: used[k] + requested[k] for k in used})


async def _refresh(reg: Registry, q: dict, hard: dict, used: dict) -> None:
    status = {"hard": dict(hard), "used": {k: quantity.format_as(k, v) for k, v in used.items()}}
    if q.get("status") == status:
        return

    def mutate(cur: dict) -> dict:
        cur["status"] = status
        return cur
    try:
        await reg.guaranteed_update(QUOTAS, q["metadata"]["namespace"], q["metadata"]["name"], mutate, "status")
    except errors.ApiError:
        pass
