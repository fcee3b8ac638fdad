"""pods/log proxied to a (fake) kubelet over mutual TLS, and client-certificate authentication."""
import asyncio
import ssl

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from apiserver_pki import make_pki

from labkube.apiserver.app import make_app
from labkube.apiserver.config import ApiserverConfig
from labkube.apiserver.tls import server_context


@pytest.fixture
async def cluster(tmp_path):
    make_pki(tmp_path, {"apiserver": ("kube-apiserver", [], True), "kubelet": ("w1", [], True),
                        "kubelet-client": ("kube-apiserver-kubelet-client", ["system:masters"], False),
                        "admin": ("kubernetes-admin", ["system:masters"], False)})
    seen = []

    async def logs(request):
        seen.append((request.match_info["rest"], dict(request.query), request.transport.get_extra_info("peercert")))
        resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
        await resp.prepare(request)
        for i in range(3):
            await resp.write(f"line {i}\n".encode())
            if request.query.get("follow") == "true":
                await asyncio.sleep(0)
        await resp.write_eof()
        return resp

    kubelet_app = web.Application()
    kubelet_app.router.add_get("/containerLogs/{rest:.+}", logs)
    kctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=str(tmp_path / "ca.crt"))
    kctx.load_cert_chain(tmp_path / "kubelet.crt", tmp_path / "kubelet.key")
    kctx.verify_mode = ssl.CERT_REQUIRED
    runner = web.AppRunner(kubelet_app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=kctx)
    await site.start()
    kport = site._server.sockets[0].getsockname()[1]

    cfg = ApiserverConfig(tls_cert_file=str(tmp_path / "apiserver.crt"), tls_private_key_file=str(tmp_path / "apiserver.key"),
                          client_ca_file=str(tmp_path / "ca.crt"), storage={"backend": "sqlite", "path": str(tmp_path / "r.db")},
                          kubelet_client_certificate=str(tmp_path / "kubelet-client.crt"),
                          kubelet_client_key=str(tmp_path / "kubelet-client.key"),
                          kubelet_certificate_authority=str(tmp_path / "ca.crt"))
    server = TestServer(make_app(cfg), scheme="https")
    await server.start_server(ssl=server_context(cfg.tls_cert_file, cfg.tls_private_key_file, cfg.client_ca_file))
    cctx = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    cctx.load_cert_chain(tmp_path / "admin.crt", tmp_path / "admin.key")
    base = f"https://127.0.0.1:{server.port}"
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=cctx)) as s:
        yield s, base, kport, seen, tmp_path
    await server.close()
    await runner.cleanup()


async def test_client_cert_identity_and_401_without(cluster):
    s, base, _, _, d = cluster
    async with s.post(base + "/apis/authentication.k8s.io/v1/selfsubjectreviews", json={}) as r:
        info = (await r.json())["status"]["userInfo"]
    assert info["username"] == "kubernetes-admin" and "system:masters" in info["groups"]
    anon = ssl.create_default_context(cafile=str(d / "ca.crt"))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=anon)) as a:
        async with a.get(base + "/api/v1/pods") as r:
            assert r.status == 401 and (await r.json())["reason"] == "Unauthorized"
        async with a.get(base + "/version") as r:
            assert r.status == 200


async def test_logs_are_proxied_with_parameters(cluster):
    s, base, kport, seen, _ = cluster
    node = {"metadata": {"name": "w1"}, "status": {"addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                                                  "daemonEndpoints": {"kubeletEndpoint": {"Port": kport}}}}
    async with s.post(base + "/api/v1/nodes", json=node) as r:
        assert r.status == 201
    async with s.post(base + "/api/v1/namespaces/default/serviceaccounts", json={"metadata": {"name": "default"}}) as r:
        assert r.status == 201
    pod = {"metadata": {"name": "web"}, "spec": {"nodeName": "w1", "containers": [{"name": "c", "image": "x"}]}}
    async with s.post(base + "/api/v1/namespaces/default/pods", json=pod) as r:
        assert r.status == 201
    async with s.get(base + "/api/v1/namespaces/default/pods/web/log?tailLines=5&timestamps=true") as r:
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
        assert await r.text() == "line 0\nline 1\nline 2\n"
    async with s.get(base + "/api/v1/namespaces/default/pods/web/log?follow=true&container=c") as r:
        got = [line async for line in r.content]
    assert got == [b"line 0\n", b"line 1\n", b"line 2\n"]
    path, query, peer = seen[0]
    assert path == "default/web/c" and query == {"tailLines": "5", "timestamps": "true"}
    assert dict(x[0] for x in peer["subject"])["commonName"] == "kube-apiserver-kubelet-client"
    async with s.get(base + "/api/v1/namespaces/default/pods/web/log?container=nope") as r:
        assert r.status == 400 and "not valid for pod web" in (await r.json())["message"]


async def test_cert_from_another_ca_is_refused(cluster, tmp_path_factory):
    _, base, _, _, d = cluster
    other = tmp_path_factory.mktemp("other")
    make_pki(other, {"mallory": ("kubernetes-admin", ["system:masters"], False)})
    ctx = ssl.create_default_context(cafile=str(d / "ca.crt"))
    ctx.load_cert_chain(other / "mallory.crt", other / "mallory.key")
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(ssl=ctx)) as s:
        try:
            async with s.get(base + "/api/v1/pods") as r:
                status = r.status
        except aiohttp.ClientError:
            status = "handshake refused"
    assert status in (401, "handshake refused")

