"""A direct route to the resource handler for resource URLs (every API request but discovery).

aiohttp's router finds a route by walking a URL's path up one segment at a time and trying
the resources registered under each prefix; for `/api/v1/namespaces/ns/pods/name` that is
six lookups before `/api/{version}/{rest:.+}` matches, a noticeable share of a plain GET.
`fast_resolve` matches the two resource routes' patterns first, with aiohttp's own rules
(a segment is `[^{}/]+`, `rest` is non-empty, values are unquoted as aiohttp does), and
leaves every other path (discovery, OpenAPI, health) to the router unchanged.
"""
from __future__ import annotations

import re

from aiohttp import web
from aiohttp.web_urldispatcher import UrlMappingMatchInfo

from ..api.errors import ApiError
from .paths import Target, parse

_SEGMENT = r"[^{}/]+"
CORE = re.compile(rf"/api/(?P<version>{_SEGMENT})/(?P<rest>.+)")
GROUPS = re.compile(rf"/apis/(?P<group>{_SEGMENT})/(?P<version>{_SEGMENT})/(?P<rest>.+)")


def _unquote(value: str) -> str:
    """What aiohttp does to a matched value of the already decoded path."""
    if "%" not in value:
        return value
    return value.replace("%2F", "/").replace("%25", "%")


def plain_target(path: str) -> Target | None:
    """The Target of a resource URL read straight from the raw request path, for the direct
    paths (fastget, fastwrite): None for a path aiohttp would normalise or unquote first
    (`?`, `%`, `#`, `/.`, `//`), for a path that is no resource URL and for an unknown resource
    or malformed rest, all of which the aiohttp path answers itself."""
    if "?" in path or "%" in path or "#" in path or "/." in path or "//" in path:
        return None
    m = CORE.fullmatch(path) if path.startswith("/api/") else \
        GROUPS.fullmatch(path) if path.startswith("/apis/") else None
    if m is None:
        return None
    g = m.groupdict()
    try:
        return parse(g.get("group", ""), g["version"], g["rest"])
    except (web.HTTPException, ApiError):
        return None


def install(app: web.Application, core: web.AbstractRoute, groups: web.AbstractRoute) -> None:
    """Resolve the resource URLs of `core` (/api/{version}/{rest:.+}) and `groups`
    (/apis/{group}/{version}/{rest:.+}) directly; everything else as before."""
    router = app.router
    walk = router.resolve

    async def fast_resolve(request: web.Request):
        path = request.rel_url.path_safe
        m = CORE.fullmatch(path) if path.startswith("/api/") else \
            GROUPS.fullmatch(path) if path.startswith("/apis/") else None
        if m is None:
            return await walk(request)
        return UrlMappingMatchInfo({k: _unquote(v) for k, v in m.groupdict().items()},
                                   core if m.re is CORE else groups)

    router.resolve = fast_resolve
