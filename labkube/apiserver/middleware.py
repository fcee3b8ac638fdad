"""aiohttp middlewares: authentication and authorization (access.py), and errors as Status objects.

Any unexpected exception becomes a 500 Status with a one-line message; the traceback
goes to the log. Paths /version, /healthz, /readyz, /livez need no authentication.
"""
from __future__ import annotations

import logging

from aiohttp import web

from ..api.errors import ApiError
from ..storage import Expired, KeyExists, KeyNotFound, RevisionConflict
from . import keys
from .httputil import reply
from .access import request_user

log = logging.getLogger(__name__)
PUBLIC = ("/version", "/healthz", "/readyz", "/livez")


def _public(path: str) -> bool:
    if not path.startswith(PUBLIC):  # every API request: one C call
        return False
    return any(path == p or path.startswith(p + "/") for p in PUBLIC)


@web.middleware
async def errors_middleware(request: web.Request, handler):
    try:
        return await handler(request)
    except Exception as e:  # noqa: BLE001 - error_reply re-raises what it does not answer
        return error_reply(e, request.method, request.path)


def error_reply(e: Exception, method: str, path: str) -> web.Response:
    """The Status reply for an exception a handler raised (also the direct create path's,
    fastcreate.py); re-raises what is not an error reply (HTTP redirects, connection resets)."""
    if isinstance(e, ApiError):
        return reply(e.status(), e.code)
    if isinstance(e, web.HTTPException):
        if e.status < 400:
            raise e
        reason = {404: "NotFound", 405: "MethodNotAllowed", 413: "RequestEntityTooLarge"}.get(e.status, "BadRequest")
        msg = "the server could not find the requested resource" if e.status == 404 else (e.text or e.reason)
        return reply(ApiError(e.status, reason, msg, {}).status(), e.status)
    if isinstance(e, (KeyNotFound, KeyExists, RevisionConflict, Expired)):
        code, reason = {KeyNotFound: (404, "NotFound"), KeyExists: (409, "AlreadyExists"),
                        RevisionConflict: (409, "Conflict"), Expired: (410, "Expired")}[type(e)]
        return reply(ApiError(code, reason, str(e)).status(), code)
    if isinstance(e, ConnectionResetError):
        raise e
    # the catch-all the design asks for
    log.error("internal error serving %s %s", method, path, exc_info=e)
    line = f"{type(e).__name__}: {e}".splitlines()[0][:300]
    return reply(ApiError(500, "InternalError", f"an error on the server has prevented the request "
                          f"from succeeding: {line}").status(), 500)


@web.middleware
async def auth_middleware(request: web.Request, handler):
    if _public(request.path):
        return await handler(request)
    request[keys.USER] = request_user(request)  # access.py: authentication, impersonation, RBAC (401/403)
    return await handler(request)
