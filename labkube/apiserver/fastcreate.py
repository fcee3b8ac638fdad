"""The direct path for pod creates: a POST of a JSON pod by a cluster admin, run by the
connection's protocol instead of aiohttp's request machinery.

Pod creates are the apiserver's most frequent write (controllers, the scheduler benchmark,
bench/apiserver.py). The object work (defaults, validation, admission, storage) is the same
`Registry.create` call the aiohttp path makes; what this saves is aiohttp's Request, Task,
middleware chain, body stream and Response objects (~0.1 ms of CPU per request, as for the
direct GETs of fastget.py).

A request is taken here only when all of this holds, else aiohttp handles it as before:
  - the connection is idle, keep-alive, not paused for writing, access logging off (fastget.py);
  - HTTP/1.1 POST, no `Connection: close`, upgrade or Expect header, a path without query
    string (so no dryRun, fieldManager, fieldValidation) that is exactly the pods collection of
    a namespace, `Content-Type: application/json`, a Content-Length body within the app's
    client_max_size that has arrived completely with the request's headers;
  - the TLS peer is a member of system:masters acting as itself (access.allowed_everything).

From then on this path answers, also with errors: the body is decoded by the aiohttp path's
`parse_body`, the field manager derived from the User-Agent by `manager_of`, every exception
turned into its Status reply by the middleware's `error_reply`, and the reply framed with the
status line and headers aiohttp writes for those replies (Content-Type, Content-Length, Date,
Server). Requests that arrive on the connection while the create runs are held and then handed
to aiohttp in order, so responses never overtake each other; a graceful shutdown waits for a
create in flight as aiohttp waits for its handlers.
"""
from __future__ import annotations

from aiohttp import web

from ..api.errors import ApiError
from ..api.resources import Resource
from ..api.managedfields import Manager
from .httputil import JSON_CT, dumps, framed, manager_of, parse_body
from .middleware import error_reply
from .paths import parse
from .routing import CORE, GROUPS

# (User-Agent, subresource) -> the field manager a direct write without ?fieldManager= gets: the same
# few clients (kubelets, controllers, schedulers) write again and again, and manager_of is a pure
# function of them whose result (a frozen Manager) can be shared; bounded: emptied when full
_AGENT_MANAGERS: dict[tuple[str | None, str | None], Manager] = {}
_AGENT_MANAGERS_MAX = 256


def agent_manager(user_agent: str | None, sub: str | None = None) -> Manager:
    """manager_of("", False, user_agent, sub=sub), kept per (user_agent, sub) (a refused name raises
    each time, as there)."""
    k = (user_agent, sub)
    m = _AGENT_MANAGERS.get(k)
    if m is None:
        m = manager_of("", False, user_agent, sub=sub)
        if len(_AGENT_MANAGERS) >= _AGENT_MANAGERS_MAX:
            _AGENT_MANAGERS.clear()
        _AGENT_MANAGERS[k] = m
    return m


# path -> (pods, namespace) of the collection paths answered here; bounded: emptied when full
_TARGETS: dict[str, tuple[Resource, str]] = {}
_TARGETS_MAX = 2000


def pods_collection(path: str) -> tuple[Resource, str] | None:
    """(pods, namespace) when `path` is exactly /api/v1/namespaces/NS/pods."""
    hit = _TARGETS.get(path)
    if hit is not None:
        return hit
    if not path.startswith("/api/v1/namespaces/") or not path.endswith("/pods"):
        return None
    if "?" in path or "%" in path or "#" in path or "/." in path or "//" in path:  # aiohttp normalises these
        return None
    m = CORE.fullmatch(path)
    if m is None:
        return None
    g = m.groupdict()
    try:
        t = parse(g.get("group", ""), g["version"], g["rest"])
    except (web.HTTPException, ApiError):
        return None
    if t.res.name != "pods" or t.res.custom or t.name is not None or t.sub is not None or not t.namespace:
        return None
    if len(_TARGETS) >= _TARGETS_MAX:
        _TARGETS.clear()
    hit = _TARGETS[path] = (t.res, t.namespace)
    return hit


def takes(method: str, path: str, headers, max_body: int) -> tuple[Resource, str] | None:
    """The create's (pods, namespace) when the request's own form lets this path take it (the
    caller has its whole body; the connection's state and the client's identity are its to check)."""
    if method != "POST":
        return None
    target = pods_collection(path)
    if target is None:
        return None
    ct = headers.get("Content-Type")
    if ct is None or ct.split(";")[0].strip().lower() != JSON_CT or "Expect" in headers \
            or "Transfer-Encoding" in headers:
        return None
    try:
        length = int(headers.get("Content-Length", ""))
    except ValueError:
        return None
    if length > max_body:
        return None
    return target


async def create(reg, res: Resource, ns: str, raw: bytes, user_agent: str | None) -> bytes:
    """The complete HTTP response to the create: 201 and the stored pod, or the Status error."""
    try:
        body = parse_body(raw, JSON_CT)
        manager = agent_manager(user_agent)
        obj = await reg.create(res, ns, body, False, manager)
        return framed(201, dumps(obj))
    except Exception as e:  # noqa: BLE001 - every error is a Status reply, as on the aiohttp path
        resp = error_reply(e, "POST", f"/api/v1/namespaces/{ns}/pods")
        return framed(resp.status, resp.body)
