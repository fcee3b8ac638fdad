"""HTTP handlers for resource URLs: get, list, create, update (PUT), patch, delete, deletecollection.

Subresources (status, scale, binding, eviction, log, finalize) are dispatched to
`subresources`; `?watch=true` lists go to `watchhttp`.
"""
from __future__ import annotations

from aiohttp import web

from ..api import errors
from ..api import managedfields
from ..api.patch import APPLY, PATCH_TYPES, apply_patch
from ..api.strategy import has_status_subresource
from ..api.strict import unknown_fields
from ..api.tables import to_table
from . import componentstatus, deletion, reviews, subresources, watchhttp
from .httputil import (dry_run, dumps, field_manager, include_object, media_type, qbool, qint, read_body, reply,
                       status_success, wants_table)
from .paths import Target, parse
from .registry import Registry
from .deletion import RETURNS_OBJECT
from . import keys


def _target(request: web.Request) -> Target:
    mi = request.match_info
    return parse(mi.get("group", ""), mi.get("version", "v1"), mi.get("rest", ""))


def _list_kind(t: Target) -> str:
    return t.res.kind + "List"


async def handle(request: web.Request) -> web.StreamResponse:
    reg: Registry = request.app[keys.REGISTRY]
    t = _target(request)
    m = request.method
    if t.res.name == "componentstatuses":
        return await componentstatus.handle(request, t)
    if t.res.name in reviews.VIRTUAL:
        return await reviews.handle(request, t)
    if t.sub:
        return await subresources.handle(request, reg, t)
    if t.name is None:
        if m == "GET":
            if qbool(request, "watch"):
                return await watchhttp.serve(request, reg, t)
            return await list_(request, reg, t)
        if m == "POST":
            return await create(request, reg, t)
        if m == "DELETE":
            return await delete_collection(request, reg, t)
    else:
        if m == "GET":
            if not t.res.custom and not t.res.converted and not wants_table(request):  # as fastget.py: keep in step
                text = await reg.get_raw(t.res, t.namespace, t.name)
                return web.Response(body=text.encode(), content_type="application/json")
            obj = await reg.get(t.res, t.namespace, t.name)
            return _one(request, t, obj)
        if m == "PUT":
            body = await read_body(request)
            warn = check_fields(request, t, body)
            obj = await reg.update(t.res, t.namespace, t.name, body, None, dry_run(request), field_manager(request))
            return reply(obj, headers=warn)
        if m == "PATCH":
            warn = check_fields(request, t, await read_body(request))
            obj, created = await patch(request, reg, t, None)
            return reply(obj, 201 if created else 200, headers=warn)
        if m == "DELETE":
            return await delete(request, reg, t)
    raise errors.method_not_allowed("the server does not allow this method on the requested resource")


def check_fields(request: web.Request, t: Target, body) -> dict:
    """Apply fieldValidation=Strict (400) or Warn (Warning headers) to a request body."""
    mode = request.query.get("fieldValidation", "")
    if mode not in ("Strict", "Warn") or media_type(request) == "application/json-patch+json" or t.res.custom:
        return {}
    unknown = unknown_fields(t.res.name, body)
    if not unknown:
        return {}
    text = ", ".join(f'unknown field "{p}"' for p in unknown)
    if mode == "Strict":
        raise errors.bad_request(f'{t.res.kind} in version "{t.res.version}" cannot be handled as a {t.res.kind}: '
                                 f"strict decoding error: {text}")
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return {"Warning": f'299 - "{escaped}"'}


def _one(request: web.Request, t: Target, obj: dict) -> web.Response:
    if wants_table(request):
        rv = (obj.get("metadata") or {}).get("resourceVersion", "")
        return reply(to_table(t.res, [obj], rv, include_object(request)))
    return reply(obj)


async def list_(request: web.Request, reg: Registry, t: Target) -> web.Response:
    q = request.query
    if not q.get("labelSelector") and not q.get("fieldSelector") and not wants_table(request) and not t.res.custom \
            and not t.res.converted:
        texts, rv, cont = await reg.list_raw(t.res, t.namespace, qint(request, "limit", 0) or 0, q.get("continue"))
        md = {"resourceVersion": rv, **({"continue": cont} if cont else {})}
        head = dumps({"kind": _list_kind(t), "apiVersion": t.res.api_version, "metadata": md})[:-1]
        body = head + b',"items":[' + ",".join(texts).encode() + b"]}"
        return web.Response(body=body, content_type="application/json")
    items, rv, cont = await reg.list(t.res, t.namespace, request.query.get("labelSelector"),
                                     request.query.get("fieldSelector"), qint(request, "limit", 0) or 0,
                                     request.query.get("continue"))
    if wants_table(request):
        return reply(to_table(t.res, items, rv, include_object(request), continue_token=cont))
    md = {"resourceVersion": rv}
    if cont:
        md["continue"] = cont
    for o in items:
        o["kind"], o["apiVersion"] = t.res.kind, t.res.api_version
    return reply({"kind": _list_kind(t), "apiVersion": t.res.api_version, "metadata": md, "items": items})


async def create(request: web.Request, reg: Registry, t: Target) -> web.Response:
    body = await read_body(request)
    warn = check_fields(request, t, body)
    obj = await reg.create(t.res, t.namespace, body, dry_run(request), field_manager(request))
    return reply(obj, 201, headers=warn)


async def patch(request: web.Request, reg: Registry, t: Target, sub: str | None):
    """(patched object, created) for the main resource or its status subresource.

    An apply patch (server-side apply) merges the applied configuration under its field
    manager's ownership (labkube.api.managedfields); an apply to a missing object creates it."""
    ct = media_type(request)
    if ct not in PATCH_TYPES:
        raise errors.unsupported_media(ct)
    body = await read_body(request)
    dry = dry_run(request)
    manager = field_manager(request, managedfields.APPLY if ct == APPLY else managedfields.UPDATE, sub)
    return await patch_object(reg, t, sub, ct, body, dry, manager)


async def patch_object(reg: Registry, t: Target, sub: str | None, ct: str, body, dry: bool,
                       manager: managedfields.Manager) -> tuple[dict, bool]:
    """patch's work once the request is read: the patch `body` of media type `ct` (one of
    PATCH_TYPES) by `manager`."""
    obj, created, _ = await patch_stored(reg, t, sub, ct, body, dry, manager)
    return obj, created


async def patch_stored(reg: Registry, t: Target, sub: str | None, ct: str, body, dry: bool,
                       manager: managedfields.Manager, decode=None) -> tuple[dict, bool, str | None]:
    """patch_object, with the JSON text the patch stored, when the registry hands it back
    (`Registry.guaranteed_update_stored`; None for an apply that creates): the direct path's
    reply (fastwrite.py). decode: a function that decodes the request's body anew (the direct
    path has its bytes); then `body` is the write's own, and each attempt at the write applies a
    body of its own (the first `body`, a retry a new one) without copying its values."""
    if ct == APPLY:
        _check_apply_config(t, body)
        if sub is None:
            try:
                await reg.get(t.res, t.namespace, t.name, latest=True)
            except errors.ApiError as e:
                if e.code != 404:
                    raise
                body.setdefault("metadata", {}).setdefault("name", t.name)
                return await reg.create(t.res, t.namespace, body, dry, manager), True, None
    pre = None
    if isinstance(body, dict) and isinstance(body.get("metadata"), dict) and body["metadata"].get("resourceVersion"):
        pre = str(body["metadata"]["resourceVersion"])
    if ct == APPLY:
        status_sub = has_status_subresource(t.res)

        def mutate(cur: dict) -> dict:
            return managedfields.apply(cur, body, manager, t.res.api_version, status_sub)[0]
    elif decode is None:
        def mutate(cur: dict) -> dict:
            return apply_patch(ct, cur, body)
    else:
        unused = [body]

        def mutate(cur: dict) -> dict:
            return apply_patch(ct, cur, unused.pop() if unused else decode(), owned=True)
    # apply_patch builds the patched object anew (what it leaves is the stored object's, unchanged);
    # managedfields.apply is not said to
    obj, text = await reg.guaranteed_update_stored(t.res, t.namespace, t.name, mutate, sub, dry, precondition=pre,
                                                   manager=manager, pure=ct != APPLY)
    return obj, False, text


def _check_apply_config(t: Target, body) -> None:
    """An applied configuration names its apiVersion and kind and carries no managedFields."""
    if not isinstance(body, dict):
        raise errors.bad_request("apply patch must be an object")
    if body.get("kind") != t.res.kind or body.get("apiVersion") != t.res.api_version:
        raise errors.bad_request(f'the apiVersion and kind of an applied configuration must be "{t.res.api_version}" '
                                 f'and "{t.res.kind}" (got "{body.get("apiVersion")}" and "{body.get("kind")}")')
    md = body.get("metadata")
    if md is not None and not isinstance(md, dict):
        raise errors.bad_request("metadata must be an object")
    if md and md.get("managedFields") is not None:
        raise errors.ApiError(422, "Invalid", f'{t.res.kind} "{md.get("name") or t.name}" is invalid: '
                              "metadata.managedFields: Invalid value: must be nil in an applied configuration")
    if md and md.get("name") not in (None, t.name):
        raise errors.bad_request(f'the name of the object ({md["name"]}) does not match the name on the URL ({t.name})')


async def _delete_options(request: web.Request) -> dict:
    body = await read_body(request, allow_empty=True)
    opts = body if isinstance(body, dict) else {}
    for q in ("gracePeriodSeconds",):
        v = qint(request, q)
        if v is not None:
            opts[q] = v
    if request.query.get("propagationPolicy"):
        opts["propagationPolicy"] = request.query["propagationPolicy"]
    return opts


async def delete(request: web.Request, reg: Registry, t: Target) -> web.Response:
    opts = await _delete_options(request)
    obj, gone = await deletion.delete(reg, t.res, t.namespace, t.name, opts, dry_run(request))
    if not gone or t.res.name in RETURNS_OBJECT:
        return reply(obj, 200 if gone else 200)
    uid = (obj.get("metadata") or {}).get("uid", "")
    return reply(status_success(t.name, t.res.name, uid, t.res.group))


async def delete_collection(request: web.Request, reg: Registry, t: Target) -> web.Response:
    opts = await _delete_options(request)
    items, rv, _ = await reg.list(t.res, t.namespace, request.query.get("labelSelector"),
                                  request.query.get("fieldSelector"))
    out = []
    for o in items:
        md = o.get("metadata") or {}
        try:
            obj, _gone = await deletion.delete(reg, t.res, md.get("namespace"), md["name"], opts, dry_run(request))
            out.append(obj)
        except errors.ApiError as e:
            if e.code != 404:
                raise
    return reply({"kind": _list_kind(t), "apiVersion": t.res.api_version, "metadata": {"resourceVersion": rv},
                  "items": out})
