"""labkube.apiserver.routing: the direct resolve agrees with aiohttp's router on every kind of path."""
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from labkube.apiserver.app import make_app
from labkube.apiserver.config import ApiserverConfig

PATHS = [
    "/api/v1/namespaces/default/pods/bench-1",
    "/api/v1/namespaces/default/pods",
    "/api/v1/nodes",
    "/api/v1/namespaces/default/pods/p/log",
    "/apis/apps/v1/namespaces/default/deployments/d/scale",
    "/apis/apps/v1/deployments",
    "/api/v1/namespaces/a%2Fb/pods",
    "/api/v1/namespaces/a%25b/pods",
    "/api/v1", "/api/v1/", "/api", "/apis", "/apis/apps", "/apis/apps/v1", "/apis/apps/v1/",
    "/version", "/healthz/etcd", "/openapi/v3/api/v1", "/nothing/here",
]


@pytest.fixture(scope="module")
def app():
    a = make_app(ApiserverConfig("cert", "key", "ca", {}))
    a.freeze()
    return a


@pytest.mark.parametrize("path", PATHS)
async def test_direct_resolve_matches_the_router(app, path):
    req = make_mocked_request("GET", path, app=app)
    fast = await app.router.resolve(req)
    walked = await web.UrlDispatcher.resolve(app.router, req)
    assert dict(fast) == dict(walked)
    assert fast.http_exception is None and walked.http_exception is None or \
        type(fast.http_exception) is type(walked.http_exception)
    if walked.http_exception is None:
        assert fast.handler is walked.handler
