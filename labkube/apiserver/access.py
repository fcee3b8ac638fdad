"""The request path's access check, called by `middleware.auth_middleware` for every
non-public request: who is asking (client certificate, else a ServiceAccount bearer token),
whom it acts as (impersonation headers) and whether RBAC allows it.

A client certificate in system:masters that impersonates nobody is allowed here after one
tuple lookup and two header lookups: the hot path of the admin, the benchmark and kubectl as
admin reads no rule. Everyone else is authorized by `authz.RbacIndex` from the watch-fed
`rbaccache.RbacCache` the application carries under `CACHE` (started by `start`).
"""
from __future__ import annotations

import logging

from aiohttp import web

from ..api import errors
from . import authz_escalation, impersonation, satokens
from .authz import MASTERS, attributes, forbidden
from .httputil import qbool
from .rbaccache import RbacCache
from .tls import UserInfo, peer_user

log = logging.getLogger(__name__)
CACHE = web.AppKey("rbac_cache", RbacCache)
ISSUER = web.AppKey("token_issuer", satokens.TokenIssuer)


def _unauthorized() -> errors.ApiError:
    return errors.ApiError(401, "Unauthorized", "Unauthorized")


def allowed_everything(user: UserInfo | None, headers) -> bool:
    """A member of system:masters acting as itself: allowed without reading a rule (here and on
    the direct GET path, fastget.py)."""
    return (user is not None and MASTERS in user.groups and "Impersonate-User" not in headers
            and "Impersonate-Group" not in headers)


def allowed_user(app: web.Application, user: UserInfo | None, headers, method: str, path: str) -> bool:
    """Whether a request of `user`'s client certificate is allowed as it stands, by the decision
    `request_user` makes for it: a member of system:masters, or a user acting as itself whom RBAC
    allows `method` on `path` (a path without query string). False also for everything this does
    not decide (no certificate: tokens; impersonation; no RBAC cache): the aiohttp path decides
    those, and answers 401/403. For the direct writes (fastwrite.py)."""
    if user is None:
        return False
    if allowed_everything(user, headers):
        return True
    cache = app.get(CACHE)
    if cache is None or impersonation.requested(headers):
        return False
    return cache.index.authorize(attributes(user.name, user.groups, method, path, False))[0]


def request_user(request: web.Request) -> UserInfo:
    """The user a request acts as, once RBAC has allowed it (ApiError 401/403 otherwise); it is
    also the request's `authz_escalation.ACTING` (whose RBAC writes are checked for escalation)."""
    user = _request_user(request)
    authz_escalation.ACTING.set(user)
    return user


def _request_user(request: web.Request) -> UserInfo:
    user = peer_user(request)
    headers = request.headers
    if allowed_everything(user, headers):
        return user
    app = request.app
    cache = app.get(CACHE)
    if user is None:
        token = satokens.bearer_token(request)
        issuer = app.get(ISSUER)
        if token is None or issuer is None or cache is None:
            raise _unauthorized()
        user = issuer.user(token, cache.service_accounts, cache.secret_tokens)
        if user is None:
            raise _unauthorized()
    if cache is None:  # authorization not started (an app without the lifecycle): authentication only
        return user
    index = cache.index
    if impersonation.requested(headers):
        user = impersonation.impersonate(headers, user, index)
        if MASTERS in user.groups:
            return user
    a = attributes(user.name, user.groups, request.method, request.path, qbool(request, "watch"))
    allowed, _ = index.authorize(a)
    if not allowed:
        # a lab component denied is a gap in authz_bootstrap's roles: say so where the operator looks
        level = logging.WARNING if user.name.startswith(("system:kube-", "system:node:")) else logging.INFO
        log.log(level, "forbidden: %s %s for %s %s", request.method, request.path, user.name, list(user.groups))
        raise forbidden(a)
    return user


async def start(app: web.Application, reg, tls_key_file: str | None, ca_file: str | None = None) -> None:
    """Bootstrap the default roles, load the RBAC cache and the token issuer (ca_file: the CA
    written into ServiceAccount token Secrets)."""
    from .authz_bootstrap import bootstrap_rbac
    await bootstrap_rbac(reg)
    issuer = None
    if tls_key_file:
        try:
            issuer = app[ISSUER] = satokens.TokenIssuer.from_key_file(tls_key_file)
        except OSError as e:
            log.warning("no ServiceAccount tokens: cannot read %s: %s", tls_key_file, e)
    cache = RbacCache(issuer, ca_file)
    await cache.start(reg)
    app[CACHE] = cache
    reg.write_check = lambda res, new, old: authz_escalation.check_write(
        cache.index, authz_escalation.ACTING.get(), res.name, new, old)


async def stop(app: web.Application) -> None:
    if CACHE in app:
        await app[CACHE].stop()
