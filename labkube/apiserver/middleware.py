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
    except ApiError as e:
        return reply(e.status(), e.code)
    except web.HTTPException as e:
        if e.status < 400:
            raise
        reason = {404: "NotFound", 405: "MethodNotAllowed", 413: "RequestEntityTooLarge"}.get(e.status, "BadRequest")
        msg = "the server could not find the requested resource" if e.status == 404 else (e.text or e.reason)
        return reply(ApiError(e.status, reason, msg, {}).status(), e.status)
    except (KeyNotFound, KeyExists, RevisionConflict, Expired) as e:
        code, reason = {KeyNotFound: (404, "NotFound"), KeyExists: (409, "AlreadyExists"),
                        RevisionConflict: (409, "Conflict"), Expired: (410, "Expired")}[type(e)]
        return reply(ApiError(code, reason, str(e)).status(), code)
    except ConnectionResetError:
        raise
    except Exception as e:  # noqa: BLE001 - the catch-all the design asks for
        log.exception("internal error serving %s %s", request.method, request.path)
        line = f"{type(e).__name__}: {e}".splitlines()[0][:300]
        return reply(ApiError(500, "InternalError", f"an error on the server has prevented the request "
                              f"from succeeding: {line}").status(), 500)


@web.middleware
async def auth_middleware(request: web.Request, handler):
    if _public(request.path):
        return await handler(request)
    request[keys.USER] = request_user(request)  # access.py: authentication, impersonation, RBAC (401/403)
    return await handler(request)
