"""Subresources: status (GET/PUT/PATCH), scale (autoscaling/v1 Scale), pods/binding,
pods/eviction, pods/log (proxied to the kubelet), pods/ephemeralcontainers (ephemeral.py),
namespaces/finalize, serviceaccounts/token (satokens.py)."""
from __future__ import annotations

import copy

from aiohttp import web

from ..api import errors
from ..api import crschema
from ..api.meta import now
from ..api.patch import PATCH_TYPES, apply_patch
from ..api.selectors import selector_string
from . import deletion, logs
from .httputil import dry_run, field_manager, media_type, read_body, read_object, reply, status_success, sub_dict
from .paths import Target
from .registry import Registry


async def handle(request: web.Request, reg: Registry, t: Target) -> web.StreamResponse:
    m, sub = request.method, t.sub
    if sub == "status":
        if m == "GET":
            return reply(await reg.get(t.res, t.namespace, t.name))
        if m == "PUT":
            return reply(await reg.update(t.res, t.namespace, t.name, await read_body(request), "status",
                                          dry_run(request), field_manager(request, sub="status")))
        if m == "PATCH":
            from .rest import patch
            obj, _ = await patch(request, reg, t, "status")
            return reply(obj)
    elif sub == "scale" and m in ("GET", "PUT", "PATCH"):
        return await scale(request, reg, t)
    elif sub == "binding" and m == "POST":
        return await bind(request, reg, t)
    elif sub == "eviction" and m == "POST":
        ev = await read_object(request, "Eviction", allow_empty=True)
        opts = sub_dict(ev, "deleteOptions")
        await deletion.delete(reg, t.res, t.namespace, t.name, opts, dry_run(request))
        return reply(status_success(t.name, "pods", code=201), 201)
    elif sub == "log" and m == "GET":
        return await logs.serve(request, reg, t)
    elif sub == "ephemeralcontainers" and m in ("GET", "PUT", "PATCH"):
        from . import ephemeral                       # kubectl debug (ephemeral.py)
        return await ephemeral.serve(request, reg, t)
    elif sub in ("exec", "attach", "portforward") and m in ("GET", "POST"):
        from . import streaming                       # exec/attach/port-forward proxy (streaming.py)
        return await streaming.serve(request, reg, t)
    elif sub == "token" and m == "POST":
        from .access import ISSUER
        from .satokens import token_request
        if ISSUER not in request.app:
            raise errors.ApiError(503, "ServiceUnavailable", "this apiserver issues no ServiceAccount tokens")
        return await token_request(request, request.app[ISSUER], reg, t)
    elif sub == "finalize" and m == "PUT":
        body = await read_object(request, "Namespace")
        fins = sub_dict(body, "spec").get("finalizers") or []
        if not isinstance(fins, list) or not all(isinstance(f, str) for f in fins):
            raise errors.bad_request("spec.finalizers must be a list of strings")

        def mutate(cur: dict) -> dict:
            cur.setdefault("spec", {})["finalizers"] = fins
            return cur
        return reply(await reg.guaranteed_update(t.res, t.namespace, t.name, mutate, "finalize", dry_run(request)))
    raise errors.method_not_allowed(f"{t.res.name}/{sub} does not support {m}")


def _paths(res) -> tuple[str, str, str]:
    """(spec replicas, status replicas, label selector) paths; custom resources take them from the CRD."""
    if getattr(res, "custom", False):
        sc = crschema.scale_for(res.group, res.version, res.name) or {}
        return (sc.get("specReplicasPath", ".spec.replicas"), sc.get("statusReplicasPath", ".status.replicas"),
                sc.get("labelSelectorPath", ""))
    return ".spec.replicas", ".status.replicas", ""


def _at(obj: dict, path: str):
    cur = obj
    for part in [p for p in path.split(".") if p]:
        cur = cur.get(part) if isinstance(cur, dict) else None
    return cur


def _set_at(obj: dict, path: str, value) -> None:
    parts = [p for p in path.split(".") if p]
    cur = obj
    for part in parts[:-1]:
        if not isinstance(cur.get(part), dict):
            cur[part] = {}
        cur = cur[part]
    cur[parts[-1]] = value


def to_scale(obj: dict, res=None) -> dict:
    md = obj.get("metadata") or {}
    spec_path, status_path, selector_path = _paths(res)
    selector = _at(obj, selector_path) if selector_path else _selector((obj.get("spec") or {}).get("selector"))
    return {"kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {k: md[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in md},
            "spec": {"replicas": _at(obj, spec_path) or 0},
            "status": {"replicas": _at(obj, status_path) or 0, "selector": selector if isinstance(selector, str) else ""}}


def _selector(sel) -> str:
    s = selector_string(sel)
    return "" if s == "<none>" else s


async def scale(request: web.Request, reg: Registry, t: Target) -> web.Response:
    if request.method == "GET":
        return reply(to_scale(await reg.get(t.res, t.namespace, t.name), t.res))
    body = await read_body(request)
    if request.method == "PUT" and not isinstance(body, dict):
        raise errors.bad_request("json: cannot unmarshal into Go value of type Scale")
    ct = media_type(request)
    if request.method == "PATCH" and ct not in PATCH_TYPES:
        raise errors.unsupported_media(ct)
    pre = None
    if request.method == "PUT":
        pre = sub_dict(body, "metadata").get("resourceVersion") or None

    def mutate(cur: dict) -> dict:
        sc = to_scale(cur, t.res)
        new = apply_patch(ct, sc, body) if request.method == "PATCH" else copy.deepcopy(body)
        if not isinstance(new, dict):
            raise errors.bad_request("json: cannot unmarshal into Go value of type Scale")
        reps = sub_dict(new, "spec").get("replicas")
        if reps is None:
            reps = 0
        if not isinstance(reps, int) or isinstance(reps, bool) or reps < 0:
            raise errors.ApiError(422, "Invalid", f'Scale.autoscaling "{t.name}" is invalid: spec.replicas: '
                                  f"Invalid value: {reps}: must be greater than or equal to 0")
        _set_at(cur, _paths(t.res)[0], reps)
        return cur
    obj = await reg.guaranteed_update(t.res, t.namespace, t.name, mutate, None, dry_run(request),
                                      precondition=str(pre) if pre else None,
                                      manager=field_manager(request, sub="scale"))
    return reply(to_scale(obj, t.res))


async def bind(request: web.Request, reg: Registry, t: Target) -> web.Response:
    await bind_pod(reg, t, await read_object(request, "Binding"), dry_run(request))
    return reply(bound(t.name), 201)


def bound(name: str) -> dict:
    """The Status a successful binding answers (201), here and in fastwrite.py."""
    return status_success(name, "pods", code=201)


async def bind_pod(reg: Registry, t: Target, body: dict, dry: bool) -> None:
    """Assign the pod `t` to the node a Binding object names (422 or 409 Status errors as upstream);
    bind's work once the request is read (also the direct path's, fastwrite.py)."""
    target = sub_dict(body, "target")
    node = target.get("name")
    if node is not None and not isinstance(node, str):
        raise errors.bad_request("json: cannot unmarshal into Go struct field target.name of type string")
    if not node:
        raise errors.ApiError(422, "Invalid", f'Binding.core "{t.name}" is invalid: target.name: Required value')
    if target.get("kind", "Node") not in ("Node", ""):
        raise errors.ApiError(422, "Invalid", f'Binding.core "{t.name}" is invalid: target.kind: '
                              f'Unsupported value: "{target.get("kind")}": supported values: "Node"')
    want_uid = sub_dict(body, "metadata").get("uid")

    def mutate(cur: dict) -> dict:
        md = cur.get("metadata") or {}
        if want_uid and md.get("uid") != want_uid:
            raise errors.conflict("pods/binding", t.name, f"Precondition failed: UID in precondition: {want_uid}, "
                                  f"UID in object meta: {md.get('uid')}")
        if md.get("deletionTimestamp"):
            raise errors.conflict("pods/binding", t.name, f"pod {t.name} is being deleted, cannot be assigned to a host")
        spec = cur.setdefault("spec", {})
        if spec.get("nodeName"):
            raise errors.conflict("pods/binding", t.name,
                                  f'pod {t.name} is already assigned to node "{spec["nodeName"]}"')
        spec["nodeName"] = node
        conds = [c for c in (cur.setdefault("status", {}).get("conditions") or []) if c.get("type") != "PodScheduled"]
        conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": now()})
        cur["status"]["conditions"] = conds
        return cur

    # the mutation sets the unset nodeName or fails: every binding it returns from changes the pod
    await reg.guaranteed_update(t.res, t.namespace, t.name, mutate, "binding", dry, changes=True)
