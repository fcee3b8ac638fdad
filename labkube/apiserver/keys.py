"""Typed keys for what the aiohttp application carries (config, registry, TLS, tunables)."""
from __future__ import annotations

import ssl

from aiohttp import web

from .config import ApiserverConfig
from .registry import Registry
from .tls import UserInfo

CONFIG = web.AppKey("config", ApiserverConfig)
REGISTRY = web.AppKey("registry", Registry)
KUBELET_SSL = web.AppKey("kubelet_ssl", ssl.SSLContext)
STATE = web.AppKey("state", dict)            # {"ready": bool}
BOOKMARK_INTERVAL = web.AppKey("bookmark_interval", float)
USER = web.RequestKey("user", UserInfo)     # the authenticated client of a request
STREAM_FAILURES = web.AppKey("stream_failures", object)  # streaming.RecentFailures
