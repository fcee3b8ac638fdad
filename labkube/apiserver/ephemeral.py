"""pods/ephemeralcontainers: add ephemeral containers to an existing pod (`kubectl debug`).

GET answers the pod. PATCH (any patch type, applied to the whole pod as kubectl computes it)
and PUT (a Pod) change nothing but `spec.ephemeralContainers`; the rest of the body is
ignored, as upstream. New ephemeral containers are defaulted and validated as containers
(a name unique among all of the pod's containers, an image) and may not set ports, probes,
lifecycle or resources; `targetContainerName` must name one of the pod's containers.
Ephemeral containers already there may be neither changed nor removed.
"""
from __future__ import annotations

import copy

from aiohttp import web

from ..api import errors
from ..api.defaults.pod import default_container
from ..api.patch import PATCH_TYPES, apply_patch
from ..api.validation.field import Path, forbidden, invalid, not_found
from ..api.validation.pod import validate_container
from .httputil import dry_run, media_type, read_body, reply
from .paths import Target
from .registry import Registry

SUB = "ephemeralcontainers"
NOT_ALLOWED = ("ports", "livenessProbe", "readinessProbe", "startupProbe", "lifecycle", "resources")


def check(pod: dict, wanted) -> list:
    """Field errors of the pod's new ephemeralContainers list ``wanted`` (defaulted in place)."""
    p = Path("spec").child("ephemeralContainers")
    if not isinstance(wanted, list):
        return [invalid(p, wanted, "must be a list")]
    spec = pod.get("spec") or {}
    regular = [c.get("name") for c in (spec.get("containers") or []) + (spec.get("initContainers") or [])]
    before = {c.get("name"): c for c in spec.get("ephemeralContainers") or []}
    errs = []
    gone = sorted(set(before) - {c.get("name") for c in wanted if isinstance(c, dict)})
    if gone:
        errs.append(forbidden(p, f"existing ephemeral containers {', '.join(map(repr, gone))} may not be removed"))
    names = set(regular)
    volumes = {v.get("name") for v in spec.get("volumes") or []}
    for i, c in enumerate(wanted):
        cp = p.index(i)
        if isinstance(c, dict) and c.get("name") in before:
            names.add(c["name"])
            if c != before[c["name"]]:
                errs.append(forbidden(cp, f"existing ephemeral container \"{c['name']}\" may not be changed"))
            continue
        default_container(c)
        errs += validate_container(c, cp, names, volumes)
        if not isinstance(c, dict):
            continue
        for field in NOT_ALLOWED:
            if c.get(field) not in (None, {}, []):
                errs.append(forbidden(cp.child(field), "cannot be set for an Ephemeral Container"))
        target = c.get("targetContainerName")
        if target and target not in regular:
            errs.append(not_found(cp.child("targetContainerName"), target))
    return errs


async def serve(request: web.Request, reg: Registry, t: Target) -> web.Response:
    if request.method == "GET":
        return reply(await reg.get(t.res, t.namespace, t.name))
    ct = None
    if request.method == "PATCH":
        ct = media_type(request)
        if ct not in PATCH_TYPES:
            raise errors.unsupported_media(ct)
    body = await read_body(request)
    if request.method == "PUT" and not isinstance(body, dict):
        raise errors.bad_request("the body of the request must be a Pod")

    def mutate(cur: dict) -> dict:
        changed = apply_patch(ct, copy.deepcopy(cur), body) if request.method == "PATCH" else body
        wanted = copy.deepcopy(((changed or {}).get("spec") or {}).get("ephemeralContainers") or [])
        errs = check(cur, wanted)
        if errs:
            raise errors.invalid("Pod", t.name, errs)
        new = copy.deepcopy(cur)
        new.setdefault("spec", {})["ephemeralContainers"] = wanted
        return new

    return reply(await reg.guaranteed_update(t.res, t.namespace, t.name, mutate, SUB, dry_run(request)))
