"""Request/response helpers: Go-style query booleans, body decoding, JSON replies, Accept checks."""
from __future__ import annotations

import yaml
from aiohttp import web
from aiohttp.helpers import rfc822_formatted_time
from aiohttp.http import SERVER_SOFTWARE
from aiohttp.web_response import REASON_PHRASES

from .. import jsonio
from ..api import errors
from ..api.managedfields import APPLY, UPDATE, Manager
from .protobuf import ProtobufError, decode_body

_TRUE = {"1", "t", "T", "true", "True", "TRUE"}
_FALSE = {"0", "f", "F", "false", "False", "FALSE"}
JSON_CT = "application/json"


def qbool(request: web.Request, name: str, default: bool = False) -> bool:
    """A boolean query parameter parsed like Go's strconv.ParseBool (`True` from old clients)."""
    v = request.query.get(name)
    if v is None:
        return default
    if v in _TRUE or v == "":
        return True if v != "" else default
    if v in _FALSE:
        return False
    raise errors.bad_request(f"invalid boolean value {v!r} for query parameter {name}")


def qint(request: web.Request, name: str, default: int | None = None) -> int | None:
    v = request.query.get(name)
    if v in (None, ""):
        return default
    try:
        return int(v)
    except ValueError:
        raise errors.bad_request(f"invalid integer value {v!r} for query parameter {name}") from None


def dry_run(request: web.Request) -> bool:
    vals = request.query.getall("dryRun", [])
    for v in vals:
        if v != "All":
            raise errors.bad_request(f'dryRun: Unsupported value: "{v}": supported values: "All"')
    return bool(vals)


def field_manager(request: web.Request, operation: str = UPDATE, sub: str | None = None) -> Manager:
    """The request's field manager: ?fieldManager=, else (Update only) the User-Agent's product
    name as upstream derives it (`kubectl/v1.31.0 (...)` -> `kubectl`); ?force= for apply."""
    return manager_of(request.query.get("fieldManager", ""), qbool(request, "force"),
                      request.headers.get("User-Agent"), operation, sub)


def manager_of(name: str, force: bool, user_agent: str | None, operation: str = UPDATE,
               sub: str | None = None) -> Manager:
    """field_manager's rules on the query's fieldManager/force and the User-Agent header."""
    if operation == APPLY and not name:
        raise errors.ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: '
                              "is required for apply patch")
    if operation != APPLY and force:
        raise errors.ApiError(422, "Invalid", 'PatchOptions.meta.k8s.io "" is invalid: force: Forbidden: '
                              "may not be specified for non-apply patch")
    if not name:
        name = (user_agent or "").split("/")[0].strip()[:128] or "unknown"
    if len(name) > 128 or not name.isprintable():
        raise errors.ApiError(422, "Invalid", f'fieldManager: Invalid value: "{name[:40]}": must consist of at most '
                              "128 printable characters")
    return Manager(name, operation, sub, force)


def media_type(request: web.Request) -> str:
    return (request.headers.get("Content-Type") or "").split(";")[0].strip().lower()


async def read_body(request: web.Request, allow_empty: bool = False):
    """The request body decoded: JSON (also when Content-Type is missing) or YAML."""
    return parse_body(await request.read(), media_type(request), allow_empty)


def parse_body(raw: bytes, ct: str, allow_empty: bool = False):
    """A request body of media type `ct` decoded (read_body's rules; 400/415 on bad input)."""
    if not raw.strip():
        if allow_empty:
            return None
        raise errors.bad_request("the request body is empty; expected a JSON object")
    if ct == "application/vnd.kubernetes.protobuf":
        try:
            return decode_body(raw)
        except (ProtobufError, IndexError, UnicodeDecodeError):
            raise errors.unsupported_media(ct) from None
    if ct in ("application/yaml", "application/apply-patch+yaml", "text/yaml"):
        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError as e:
            raise errors.bad_request(f"error decoding YAML: {str(e).splitlines()[0]}") from None
    try:
        return jsonio.loads(raw)
    except ValueError as e:
        if ct in ("", JSON_CT) or ct.endswith("+json"):
            raise errors.bad_request(f"couldn't get version/kind; json parse error: {e}") from None
        raise errors.unsupported_media(ct) from None


async def read_object(request: web.Request, kind: str = "object", allow_empty: bool = False) -> dict:
    """The body, which must be a JSON object (400 otherwise)."""
    body = await read_body(request, allow_empty)
    if body is None and allow_empty:
        return {}
    return as_object(body, kind)


def as_object(body, kind: str = "object") -> dict:
    """A decoded body that must be a JSON object (400 otherwise), as read_object checks it."""
    if not isinstance(body, dict):
        raise errors.bad_request(f"json: cannot unmarshal {type(body).__name__} into Go value of type {kind}")
    return body


def sub_dict(obj: dict, key: str) -> dict:
    """obj[key] when it is an object, {} when absent or null; 400 for anything else."""
    v = obj.get(key)
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise errors.bad_request(f"json: cannot unmarshal {type(v).__name__} into Go struct field {key} of type object")
    return v


def dumps(obj) -> bytes:
    return jsonio.dumps(obj)


def reply(obj, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(body=dumps(obj), status=status, content_type=JSON_CT, headers=headers)


_HEAD = "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nDate: {}\r\nServer: {}\r\n\r\n"


def framed(status: int, body: bytes) -> bytes:
    """The whole HTTP/1.1 keep-alive response aiohttp writes for `reply` without extra headers
    (status line, Content-Type, Content-Length, Date, Server, body): the direct paths' replies."""
    return _HEAD.format(status, REASON_PHRASES.get(status, ""), len(body), rfc822_formatted_time(),
                        SERVER_SOFTWARE).encode() + body


def status_success(name: str, kind: str, uid: str = "", group: str = "", code: int = 200) -> dict:
    details = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    if uid:
        details["uid"] = uid
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": details, "code": code}


def wants_table(request: web.Request) -> bool:
    return "as=Table" in request.headers.get("Accept", "").replace(" ", "")


def include_object(request: web.Request) -> str:
    v = request.query.get("includeObject") or "Metadata"
    if v not in ("None", "Metadata", "Object"):
        raise errors.bad_request(f"includeObject: Unsupported value: {v!r}")
    return v
