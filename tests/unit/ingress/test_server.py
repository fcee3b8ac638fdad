"""The reverse proxy on loopback: forwarding with the X-Forwarded-* headers, bodies both ways,
the error pages, and TLS certificates chosen by SNI."""
from __future__ import annotations

import asyncio
import socket
import ssl

import aiohttp
import pytest
from aiohttp import web
from yarl import URL

from labkube.ingress.server import ReverseProxy, listen
from labkube.ingress.tls import CertStore, self_signed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def echo(request: web.Request) -> web.StreamResponse:
    body = await request.read()
    resp = web.StreamResponse(headers={"X-Seen-Host": request.headers.get("Host", ""),
                                       "X-Seen-For": request.headers.get("X-Forwarded-For", ""),
                                       "X-Seen-Fwd-Host": request.headers.get("X-Forwarded-Host", ""),
                                       "X-Seen-Proto": request.headers.get("X-Forwarded-Proto", ""),
                                       "X-Seen-Path": request.raw_path, "X-Seen-Method": request.method})
    await resp.prepare(request)
    for i in range(3):                                   # a streamed answer, chunk by chunk
        await resp.write(b"part%d;" % i)
    await resp.write(body)
    await resp.write_eof()
    return resp


@pytest.fixture
async def backend():
    runner = web.AppRunner(web.Application(client_max_size=64 << 20))
    runner.app.router.add_route("*", "/{tail:.*}", echo)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield ("127.0.0.1", port)
    await runner.cleanup()


@pytest.fixture
async def proxied(backend):
    """(http port, https port, certs): hosts up.test -> the backend, down.test -> 503,
    dead.test -> a closed port, anything else 404."""
    dead = free_port()

    def choose(host, path):
        host = host.split(":")[0]
        if host == "up.test":
            return 200, backend, "default/echo:80"
        if host == "dead.test":
            return 200, ("127.0.0.1", dead), "default/dead:80"
        if host == "down.test":
            return 503, None, "default/down:80: no ready endpoints"
        return 404, None, "no rule"
    proxy, certs = ReverseProxy(choose), CertStore()
    await proxy.start()
    http, https = free_port(), free_port()
    runner = await listen(proxy, "127.0.0.1", http, https, certs.default)
    yield http, https, certs
    await runner.cleanup()
    await proxy.close()


async def test_forwards_method_path_query_and_body_with_forwarded_headers(proxied):
    http, _, _ = proxied
    async with aiohttp.ClientSession() as s:
        url = URL(f"http://127.0.0.1:{http}/a%20b/c?x=1&y=%2F", encoded=True)    # as sent, not requoted
        async with s.post(url, data=b"hello",
                          headers={"Host": "up.test", "X-Forwarded-For": "192.0.2.7"}) as r:
            assert r.status == 200
            assert await r.read() == b"part0;part1;part2;hello"
            assert r.headers["X-Seen-Method"] == "POST"
            assert r.headers["X-Seen-Path"] == "/a%20b/c?x=1&y=%2F"
            assert r.headers["X-Seen-Host"] == "up.test"
            assert r.headers["X-Seen-Fwd-Host"] == "up.test"
            assert r.headers["X-Seen-For"] == "192.0.2.7, 127.0.0.1"
            assert r.headers["X-Seen-Proto"] == "http"


async def test_a_large_body_streams_through(proxied):
    http, _, _ = proxied
    blob = bytes(range(256)) * 40000                      # ~10 MB

    async def chunks():
        for i in range(0, len(blob), 65536):
            yield blob[i:i + 65536]
    async with aiohttp.ClientSession() as s:
        async with s.put(f"http://127.0.0.1:{http}/up", data=chunks(), headers={"Host": "up.test"}) as r:
            assert r.status == 200
            assert (await r.read())[len(b"part0;part1;part2;"):] == blob


@pytest.mark.parametrize("host, status, text", [
    ("nowhere.test", 404, "default backend - 404"),
    ("down.test", 503, "503 Service Temporarily Unavailable"),
    ("dead.test", 502, "502 Bad Gateway"),
])
async def test_error_pages(proxied, host, status, text):
    http, _, _ = proxied
    async with aiohttp.ClientSession() as s:
        async with s.get(f"http://127.0.0.1:{http}/", headers={"Host": host}) as r:
            assert r.status == status and text in await r.text()


def peer_common_name(port: int, server_name: str | None) -> str:
    ctx = ssl.create_default_context()
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port)) as raw:
        with ctx.wrap_socket(raw, server_hostname=server_name) as tls:
            der = tls.getpeercert(binary_form=True)
    from cryptography import x509
    from cryptography.x509.oid import NameOID
    return x509.load_der_x509_certificate(der).subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value


async def test_https_serves_the_hosts_certificate_by_sni_and_the_default_otherwise(proxied):
    import base64
    _, https, certs = proxied
    cert, key = self_signed("up.test")
    secret = {"metadata": {"resourceVersion": "1"},
              "data": {"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()}}
    certs.update([{"metadata": {"name": "i", "namespace": "default"},
                   "spec": {"tls": [{"hosts": ["up.test"], "secretName": "s"}]}}], {"default/s": secret}.get)
    loop = asyncio.get_running_loop()
    assert await loop.run_in_executor(None, peer_common_name, https, "up.test") == "up.test"
    assert await loop.run_in_executor(None, peer_common_name, https, "other.test") == \
        "labkube ingress default certificate"
    ctx = ssl.create_default_context(cadata=cert.decode())
    ctx.check_hostname = False
    async with aiohttp.ClientSession() as s:
        async with s.get(f"https://127.0.0.1:{https}/p", ssl=ctx, server_hostname="up.test",
                         headers={"Host": "up.test"}) as r:
            assert r.status == 200 and r.headers["X-Seen-Proto"] == "https"
