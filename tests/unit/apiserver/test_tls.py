"""The apiserver's TLS serves the clients a lab's pods bring, busybox's own TLS among them: it
offers TLS 1.2 without the signature_algorithms extension (so SHA-1 handshake signatures, which
Go's TLS in Kubernetes accepts), the path `wget https://kubernetes.default` takes in a busybox pod."""
import asyncio
import shutil
import ssl

import pytest
from aiohttp.test_utils import TestServer
from apiserver_pki import make_pki

from labkube.apiserver.app import make_app
from labkube.apiserver.config import ApiserverConfig
from labkube.apiserver.tls import server_context

BUSYBOX = shutil.which("busybox")


@pytest.fixture
async def apiserver(tmp_path):
    make_pki(tmp_path, {"apiserver": ("kube-apiserver", [], True)})
    cfg = ApiserverConfig(tls_cert_file=str(tmp_path / "apiserver.crt"), tls_private_key_file=str(tmp_path / "apiserver.key"),
                          client_ca_file=str(tmp_path / "ca.crt"), storage={"backend": "sqlite", "path": str(tmp_path / "r.db")})
    ctx = server_context(cfg.tls_cert_file, cfg.tls_private_key_file, cfg.client_ca_file)
    server = TestServer(make_app(cfg), scheme="https")
    await server.start_server(ssl=ctx)
    yield f"https://127.0.0.1:{server.port}", ctx
    await server.close()


@pytest.mark.skipif(BUSYBOX is None, reason="busybox (Debian's busybox-static) is not installed")
async def test_busybox_wget_talks_to_the_apiserver_with_its_own_tls(apiserver, tmp_path):
    base, _ = apiserver
    wget = tmp_path / "bin" / "wget"         # busybox runs the applet its name says, and without an
    wget.parent.mkdir()                       # `openssl` on PATH uses its built-in TLS, as in a pod
    wget.symlink_to(BUSYBOX)
    proc = await asyncio.create_subprocess_exec(
        str(wget), "-q", "--no-check-certificate", "-O-", f"{base}/version",
        env={"PATH": str(wget.parent)}, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert b'"gitVersion"' in out


def test_modern_clients_still_negotiate_tls13_with_sha256_or_better(apiserver):
    _, ctx = apiserver
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    names = {c["name"] for c in ctx.get_ciphers()}
    assert "TLS_AES_256_GCM_SHA384" in names and "ECDHE-ECDSA-AES128-GCM-SHA256" in names
    assert not any("NULL" in n or "RC4" in n or "DES" in n or "MD5" in n for n in names)
