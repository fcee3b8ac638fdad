"""Shared by the direct-path tests (test_fastget, test_fastcreate): two apiservers given the
same writes, one with the direct paths (FastAppRunner) and one with aiohttp's alone, raw
HTTP/1.1 requests over TLS, and replies normalised so that the two servers' bytes compare."""
import asyncio
import re
import ssl

from aiohttp import web
from apiserver_pki import make_pki

from labkube import jsonio
from labkube.apiserver.app import make_app
from labkube.apiserver.config import ApiserverConfig
from labkube.apiserver.fastget import FastAppRunner
from labkube.apiserver.tls import server_context


async def start(tmp_path, name, runner_class):
    """An apiserver over TLS on an ephemeral port; returns (runner, port, paths aiohttp handled)."""
    cfg = ApiserverConfig(tls_cert_file=str(tmp_path / "apiserver.crt"),
                          tls_private_key_file=str(tmp_path / "apiserver.key"), client_ca_file=str(tmp_path / "ca.crt"),
                          storage={"backend": "sqlite", "path": str(tmp_path / f"{name}.db"), "fsync": False})
    app = make_app(cfg)
    handled = []

    @web.middleware
    async def record(request, handler):
        handled.append(request.path_qs)
        return await handler(request)

    app.middlewares.insert(0, record)
    runner = runner_class(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_context(cfg.tls_cert_file, cfg.tls_private_key_file,
                                                                         cfg.client_ca_file))
    await site.start()
    return runner, site._server.sockets[0].getsockname()[1], handled


async def exchange(port, ctx, raw: bytes, responses: int) -> list[bytes]:
    """Send raw request bytes on one connection; read `responses` responses (Content-Length framed,
    each with any interim response before it)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=ctx)
    writer.write(raw)
    out = []
    for _ in range(responses):
        head = last = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        while last.startswith(b"HTTP/1.1 1"):  # an interim response (100 Continue) comes before the final one
            last = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            head += last
        length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
        out.append(head + await reader.readexactly(length))
    writer.close()
    return out


def normalised(resp: bytes) -> bytes:
    """Without what differs between two servers given the same writes: Date, uid, timestamps,
    the Age a Table shows (seconds since creation) and the random suffix of a pod's
    kube-api-access volume (ServiceAccount admission)."""
    resp = re.sub(rb"Date: [^\r]*", b"Date: -", resp)
    resp = re.sub(rb"kube-api-access-[a-z0-9]{5}", b"kube-api-access-x", resp)
    resp = re.sub(rb'"[0-9]s"', b'"-"', resp)
    resp = re.sub(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", b"uid", resp)  # also in messages
    return re.sub(rb'"(uid|creationTimestamp|time|lastTransitionTime|firstTimestamp|lastTimestamp)":"[^"]*"',
                  rb'"\1":"-"', resp)


def get(path, *headers):
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{''.join(h + chr(13) + chr(10) for h in headers)}\r\n".encode()


def post(path, body, *headers, content_type="application/json", method="POST"):
    raw = body if isinstance(body, bytes) else jsonio.dumps(body)
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\n" + (f"Content-Type: {content_type}\r\n" if content_type else "")
    return (head + "".join(h + "\r\n" for h in headers) + f"Content-Length: {len(raw)}\r\n\r\n").encode() + raw


async def paired_servers(tmp_path, setup, users=None):
    """Yield ([(runner, port, handled) direct, ... plain], admin ctx, anonymous ctx, {user: ctx})
    after posting each (path, object) of `setup` to both servers; clean both up after.
    users: {name: (CN, [O])} whose client certificates the last element holds."""
    users = users or {}
    make_pki(tmp_path, {"apiserver": ("kube-apiserver", [], True),
                        "admin": ("kubernetes-admin", ["system:masters"], False),
                        **{name: (cn, orgs, False) for name, (cn, orgs) in users.items()}})
    ctx = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    ctx.load_cert_chain(tmp_path / "admin.crt", tmp_path / "admin.key")
    anon = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
    contexts = {}
    for name in users:
        contexts[name] = ssl.create_default_context(cafile=str(tmp_path / "ca.crt"))
        contexts[name].load_cert_chain(tmp_path / f"{name}.crt", tmp_path / f"{name}.key")
    started = [await start(tmp_path, "fast", FastAppRunner), await start(tmp_path, "plain", web.AppRunner)]
    for _, port, _ in started:
        for path, obj in setup:
            (resp,) = await exchange(port, ctx, post(path, obj), 1)
            assert resp.startswith(b"HTTP/1.1 201 "), resp
    yield started, ctx, anon, contexts
    for runner, _, _ in started:
        await runner.cleanup()


async def exchange_with_both(servers, raw: bytes, count: int, cert):
    """Send `raw` to the direct-path server and to the aiohttp-only one (with the admin
    certificate (True), none (False) or the named user's); return both servers' replies and the
    paths each one's aiohttp handled."""
    (_, fast_port, fast_seen), (_, plain_port, plain_seen) = servers[0]
    ctx = servers[3][cert] if isinstance(cert, str) else servers[1] if cert else servers[2]
    fast_seen.clear()
    plain_seen.clear()
    fast = await exchange(fast_port, ctx, raw, count)
    plain = await exchange(plain_port, ctx, raw, count)
    return fast, plain, fast_seen, plain_seen
