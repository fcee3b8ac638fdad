"""The direct path for the frequent writes of a busy cluster's components: pod bindings (the
scheduler), pod status patches (the kubelets), Lease renewals (every node, every 10 s) and
Event creates, run by the connection's protocol (fastget.py) instead of aiohttp's request
machinery, for any client whose certificate RBAC allows the write.

Each such write does little of its own beside the store's read-modify-write, yet through aiohttp
it also builds a Request, a Task, a middleware chain, a body stream and a Response with its
writer. The object work here is the very call the aiohttp handler makes (`bind_pod`,
`patch_object`, `Registry.update`, `Registry.create`; patch and update through their forms that
also hand back the JSON text they stored, which the reply then is), after the same body decoding, field
manager (from the User-Agent) and authorization (`access.allowed_user`: the decision the
middleware's `request_user` makes); errors become the same Status replies (`error_reply`) and
every reply is framed with the bytes aiohttp writes (`httputil.framed`).

A request is taken here only when all of this holds, else aiohttp handles it as before (and
produces every 401, 403 and routing error itself):
  - the connection is idle, keep-alive, not paused for writing, access logging off (fastget.py);
  - HTTP/1.1, no `Connection: close`, upgrade, Expect or Transfer-Encoding header, a
    Content-Length body within the app's client_max_size that has arrived with the headers;
  - a path without query string (so no dryRun, fieldManager, fieldValidation, force), %-escapes,
    dot or empty segments, that is one of
      POST  /api/v1/namespaces/NS/pods/NAME/binding                       application/json
      PATCH /api/v1/namespaces/NS/pods/NAME/status     merge, strategic merge or JSON patch
      PUT   /apis/coordination.k8s.io/v1/namespaces/NS/leases/NAME       application/json
      POST  /api/v1/namespaces/NS/events                                  application/json
    (the media type's parameters, such as charset, are ignored as on the aiohttp path);
  - no APIService sends the Lease group to another server, and the aggregator's view of the
    APIServices is fresh (else its middleware would refresh it first);
  - the TLS peer presented a client certificate the lab CA signed, impersonates nobody, and is
    in system:masters or allowed the write by RBAC.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from aiohttp import web

from ..api.patch import JSON, MERGE, STRATEGIC
from ..api.resources import Resource
from . import aggregator, authz_escalation
from .access import allowed_user
from .fastcreate import agent_manager
from .httputil import JSON_CT, as_object, dumps, framed, parse_body
from .middleware import error_reply
from .paths import Target
from .rest import patch_stored
from .routing import plain_target
from .subresources import bind_pod, bound
from .tls import UserInfo

PATCHES = (MERGE, STRATEGIC, JSON)


@dataclass(slots=True)
class Write:
    """One direct write: what it does (`binding`, `status`, `replace`, `create`), to what, and
    the request's method, path and body media type (for errors, authorization and decoding).
    Not frozen (a frozen dataclass's __init__ sets each field through object.__setattr__: 0.36
    against 0.1 us per request); nothing changes it once made."""
    kind: str
    target: Target
    method: str
    path: str
    media_type: str


# (method, path) -> (kind, target) of the paths written here, None for paths that are not, for
# the paths whose shape (_SHAPES) does not answer them (an Event create, a path that is no direct
# write, a name _shaped reads in full): a binding's or status write's path comes once and is not
# kept; bounded: emptied when full
_UNSEEN = object()
_FORMS: dict[tuple[str, str], tuple[str, Target] | None] = {}
_FORMS_MAX = 20000
# (method, the path before the object's name, the segment after it or None) -> (kind, resource,
# namespace, subresource) of the write found at such a path with a plain name (_shaped): most of a
# busy cluster's write paths come once (a pod's binding, its status), and _FORMS misses on them;
# bounded: emptied when full
_SHAPES: dict[tuple[str, str, str | None], tuple[str, Resource, str | None, str | None]] = {}
_SHAPES_MAX = 4096
# a name that cannot change how plain_target and parse read the path around it: one non-empty
# segment, not a dot segment, without "?", "%", "#" or a line break
_PLAIN_NAME = re.compile(r"[0-9A-Za-z][-0-9A-Za-z_.]*")


def _form(method: str, path: str) -> tuple[str, Target] | None:
    """(kind, target) when `method` on `path` is one of the writes above (media type aside)."""
    t = plain_target(path)
    if t is None:
        return None
    res: Resource = t.res
    if res.custom or res.converted or not t.namespace:
        return None
    if res.group == "" and res.version == "v1":
        if res.name == "pods" and t.name is not None:
            if method == "POST" and t.sub == "binding":
                return "binding", t
            if method == "PATCH" and t.sub == "status":
                return "status", t
        elif res.name == "events" and method == "POST" and t.name is None:
            return "create", t
    elif res.group == "coordination.k8s.io" and res.version == "v1" and res.name == "leases":
        if method == "PUT" and t.name is not None and t.sub is None:
            return "replace", t
    return None


def _split(path: str) -> tuple[str, str, str | None]:
    """(the path before the name, the name, the segment after it or None) where a write's Target
    has its name: the last segment, or the one before a last `binding` or `status`."""
    head, _, last = path.rpartition("/")
    if last in ("binding", "status"):
        head, _, name = head.rpartition("/")
        return head, name, last
    return head, last, None


def _shape_hit(method: str, path: str) -> tuple[str, Target] | None:
    """_shaped's answer when a path of the same shape was read before and the name is plain
    (the very form _form reads); None: no such shape kept, or a name _shaped reads in full."""
    head, name, after = _split(path)
    hit = _SHAPES.get((method, head, after))
    if hit is None or _PLAIN_NAME.fullmatch(name) is None:
        return None
    return hit[0], Target(hit[1], hit[2], name, hit[3])


def _shaped(method: str, path: str) -> tuple[str, Target] | None:
    """_form(method, path) without reading the path again where one of the same shape was read:
    the same path but for a plain name where the write's Target has its name (the last segment, or
    the one before a last `binding` or `status`). plain_target and parse look at such a name only
    for what _PLAIN_NAME rules out and keep it as the Target's name, so the kind, resource,
    namespace and subresource found with one plain name hold for every other. A path whose form
    is None, or whose name is elsewhere, is read as before."""
    head, name, after = _split(path)
    if _PLAIN_NAME.fullmatch(name) is None:
        return _form(method, path)
    shape = (method, head, after)
    hit = _SHAPES.get(shape)
    if hit is not None:
        return hit[0], Target(hit[1], hit[2], name, hit[3])
    form = _form(method, path)
    if form is not None and form[1].name == name and form[1].sub == after:
        if len(_SHAPES) >= _SHAPES_MAX:
            _SHAPES.clear()
        _SHAPES[shape] = (form[0], form[1].res, form[1].namespace, form[1].sub)
    return form


def takes(method: str, path: str, headers, max_body: int) -> Write | None:
    """The write when the request's own form lets this path take it (the caller has its whole
    body; the connection's state and the client's identity are its to check: `allowed`)."""
    form = _shape_hit(method, path)
    if form is None:
        k = (method, path)
        form = _FORMS.get(k, _UNSEEN)
        if form is _UNSEEN:
            form = _shaped(method, path)
            if _shape_hit(method, path) is None:  # only paths their shape will not answer are kept
                if len(_FORMS) >= _FORMS_MAX:
                    _FORMS.clear()
                _FORMS[k] = form
    if form is None:
        return None
    ct = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ct not in PATCHES if form[0] == "status" else ct != JSON_CT:
        return None
    if "Expect" in headers or "Transfer-Encoding" in headers:
        return None
    length = headers.get("Content-Length", "")
    if not length.isdigit() or int(length) > max_body:
        return None
    return Write(form[0], form[1], method, path, ct)


def allowed(app: web.Application, w: Write, user: UserInfo | None, headers) -> bool:
    """Whether `user` may make the write as it stands, with nothing for the aiohttp path's
    middlewares to do first (no aggregator refresh or proxying)."""
    group = w.target.res.group
    if group:
        agg = app.get(aggregator.AGGREGATOR)
        if agg is not None and (agg.stale() or agg.find(group, w.target.res.version) is not None):
            return False
    return allowed_user(app, user, headers, w.method, w.path)


def _json(obj: dict, text: str | None) -> bytes:
    """The reply body for a written object: the JSON text the registry stored for it (the very
    bytes `dumps(obj)` would give, without encoding it again), or `dumps(obj)` when there is none."""
    return text.encode() if text is not None else dumps(obj)


async def write(reg, w: Write, raw: bytes, user_agent: str | None, user: UserInfo) -> bytes:
    """The complete HTTP response to the write: the aiohttp handler's reply, or its Status error."""
    authz_escalation.ACTING.set(user)  # as request_user does (this runs in the write's own task)
    t = w.target
    try:
        body = parse_body(raw, w.media_type)
        if w.kind == "binding":
            await bind_pod(reg, t, as_object(body, "Binding"), False)
            return framed(201, dumps(bound(t.name)))
        if w.kind == "status":
            obj, _, text = await patch_stored(reg, t, "status", w.media_type, body, False,
                                              agent_manager(user_agent, "status"),
                                              lambda: parse_body(raw, w.media_type))
            return framed(200, _json(obj, text))
        manager = agent_manager(user_agent)
        if w.kind == "replace":
            return framed(200, _json(*await reg.update_stored(t.res, t.namespace, t.name, body, None, False, manager)))
        return framed(201, dumps(await reg.create(t.res, t.namespace, body, False, manager)))
    except Exception as e:  # noqa: BLE001 - every error is a Status reply, as on the aiohttp path
        resp = error_reply(e, w.method, w.path)
        return framed(resp.status, resp.body)
