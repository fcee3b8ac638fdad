"""DELETE semantics: preconditions, finalizers from propagationPolicy, graceful pod deletion,
namespace termination (docs/contracts.md "Pod deletion")."""
from __future__ import annotations

import datetime as _dt

from ..api import errors
from ..api.meta import now
from ..api.resources import Resource
from ..storage import KeyNotFound, RevisionConflict
from .registry import Registry, key, with_rv

IMMORTAL_NAMESPACES = ("default", "kube-system", "kube-public")
# kinds whose DELETE answers the object (others answer a Status)
RETURNS_OBJECT = {"pods", "services", "namespaces"}


def _policy_finalizer(options: dict) -> str | None:
    policy = options.get("propagationPolicy")
    if policy is None and options.get("orphanDependents") is True:
        policy = "Orphan"
    if policy not in (None, "Foreground", "Background", "Orphan"):
        raise errors.bad_request(f"propagationPolicy: Unsupported value: {policy!r}: supported values: "
                                 '"Foreground", "Background", "Orphan"')
    return {"Foreground": "foregroundDeletion", "Orphan": "orphan"}.get(policy)


def _grace(options: dict, obj: dict) -> int:
    g = options.get("gracePeriodSeconds")
    if g is None:
        g = (obj.get("spec") or {}).get("terminationGracePeriodSeconds")
    try:
        return max(0, int(30 if g is None else g))
    except (TypeError, ValueError):
        raise errors.bad_request("gracePeriodSeconds must be an integer") from None


def _graceful_pod(obj: dict) -> bool:
    return bool((obj.get("spec") or {}).get("nodeName")) and \
        (obj.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


async def delete(reg: Registry, res: Resource, ns: str | None, name: str, options: dict | None,
                 dry_run: bool = False) -> tuple[dict, bool]:
    """(object or its last state, True when it is gone now)."""
    options = options or {}
    if res.name == "namespaces" and name in IMMORTAL_NAMESPACES:
        raise errors.forbidden(f'namespaces "{name}" is forbidden: this namespace may not be deleted', "namespaces", name)
    fin = _policy_finalizer(options)
    k = key(res, ns, name)
    for _ in range(20):
        try:
            cur, rev = await reg.storage.get(k, True)
        except KeyNotFound:
            raise errors.not_found(res.name, name, res.group) from None
        md = cur.setdefault("metadata", {})
        pre = options.get("preconditions") or {}
        if not isinstance(pre, dict):
            raise errors.bad_request("preconditions must be an object with uid and/or resourceVersion")
        if pre.get("uid") and pre["uid"] != md.get("uid"):
            raise errors.conflict(res.name, name, f"Precondition failed: UID in precondition: {pre['uid']}, "
                                  f"UID in object meta: {md.get('uid')}", res.group)
        if pre.get("resourceVersion") and str(pre["resourceVersion"]) != str(rev):
            raise errors.conflict(res.name, name, "Precondition failed: ResourceVersion in precondition: "
                                  f"{pre['resourceVersion']}, ResourceVersion in object meta: {rev}", res.group)
        fins = list(md.get("finalizers") or [])
        if fin and fin not in fins and not md.get("deletionTimestamp"):
            fins.append(fin)
        grace = 0
        if res.name == "pods" and _graceful_pod(cur):
            grace = _grace(options, cur)
            if md.get("deletionTimestamp") and grace > 0:
                return with_rv(cur, rev), False
        new = None
        if res.name == "namespaces":
            spec_fins = (cur.get("spec") or {}).get("finalizers") or []
            if md.get("deletionTimestamp") and (spec_fins or fins):
                return with_rv(cur, rev), False
            if not md.get("deletionTimestamp") and (spec_fins or fins):
                new = _terminate_namespace(cur, fins)
        elif fins or grace > 0:
            if md.get("deletionTimestamp") and not (res.name == "pods" and grace == 0):
                return with_rv(cur, rev), False
            new = _mark_deleted(cur, fins, grace)
        if new is not None:
            if dry_run:
                return with_rv(new, rev), False
            try:
                nrev = await reg.storage.update(k, new, expected_rev=rev)
            except RevisionConflict:
                continue
            return with_rv(new, nrev), False
        if dry_run:
            return with_rv(cur, rev), True
        try:
            last, drev = await reg.storage.delete(k, expected_rev=rev)
        except RevisionConflict:
            continue
        except KeyNotFound:
            raise errors.not_found(res.name, name, res.group) from None
        if res.name == "services":
            reg.alloc.release(last)
        await reg.written(res, last, True)
        return with_rv(last, drev), True
    raise errors.conflict(res.name, name, "too many concurrent updates", res.group)


def _mark_deleted(obj: dict, fins: list, grace: int) -> dict:
    md = obj["metadata"]
    if not md.get("deletionTimestamp") or grace == 0:
        when = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=grace)
        md["deletionTimestamp"] = when.strftime("%Y-%m-%dT%H:%M:%SZ")
        md["deletionGracePeriodSeconds"] = grace
    if fins:
        md["finalizers"] = fins
    return obj


def _terminate_namespace(obj: dict, fins: list) -> dict:
    md = obj["metadata"]
    md["deletionTimestamp"] = now()
    md["deletionGracePeriodSeconds"] = 0
    if fins:
        md["finalizers"] = fins
    obj.setdefault("status", {})["phase"] = "Terminating"
    return obj
