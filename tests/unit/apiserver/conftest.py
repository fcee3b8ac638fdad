"""An in-process apiserver (plain HTTP, authentication off) over a temporary SQLite file, with
the `default` ServiceAccount of namespace default that the lab's ServiceAccount controller would
create (pod admission refuses a pod whose ServiceAccount does not exist)."""
import pytest
from aiohttp.test_utils import TestClient, TestServer

from labkube.apiserver import keys
from labkube.apiserver.app import make_app
from labkube.apiserver.config import ApiserverConfig


@pytest.fixture
async def api(tmp_path):
    cfg = ApiserverConfig(tls_cert_file="unused", tls_private_key_file="unused", client_ca_file="unused",
                          storage={"backend": "sqlite", "path": str(tmp_path / "registry.db"), "fsync": False}, watch_history=20)
    app = make_app(cfg, authenticate=False)
    app[keys.BOOKMARK_INTERVAL] = 0.05
    async with TestClient(TestServer(app)) as client:
        r = await client.post("/api/v1/namespaces/default/serviceaccounts", json={"metadata": {"name": "default"}})
        assert r.status == 201, await r.text()
        yield client
