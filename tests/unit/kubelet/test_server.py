"""The kubelet's HTTPS API: client certificates required, /healthz, /containerLogs."""
from __future__ import annotations

import datetime
import os
import ssl

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from labkube.client.fake import FakeApi
from labkube.kubelet.kubelet import Kubelet
from labkube.kubelet.runtime.fake import FakeImages, FakeRuntime

from .conftest import eventually, pod


def _cert(name, issuer=None, ca=False, san_ip=None):
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    b = (x509.CertificateBuilder().subject_name(subject)
         .issuer_name(issuer[0].subject if issuer else subject).public_key(key.public_key())
         .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
         .not_valid_after(now + datetime.timedelta(days=1))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san_ip:
        import ipaddress
        b = b.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(san_ip))]), False)
    cert = b.sign(issuer[1] if issuer else key, hashes.SHA256())
    return cert, key


def _write(d, name, cert, key):
    cp, kp = os.path.join(d, f"{name}.crt"), os.path.join(d, f"{name}.key")
    with open(cp, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(kp, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()))
    return cp, kp


@pytest.fixture
def pki(tmp_path):
    ca = _cert("lab-ca", ca=True)
    d = str(tmp_path)
    ca_crt, _ = _write(d, "ca", *ca)
    srv = _write(d, "kubelet-serving", *_cert("w1", issuer=ca, san_ip="127.0.0.1"))
    cli = _write(d, "apiserver-kubelet-client", *_cert("kube-apiserver-kubelet-client", issuer=ca))
    other_ca = _cert("other", ca=True)
    rogue = _write(d, "rogue", *_cert("rogue", issuer=other_ca))
    return {"ca": ca_crt, "server": srv, "client": cli, "rogue": rogue}


def _ctx(pki, client):
    ctx = ssl.create_default_context(cafile=pki["ca"])
    if client:
        ctx.load_cert_chain(*pki[client])
    return ctx


async def test_logs_over_mutual_tls(kcfg, pki):
    kcfg.tls_cert_file, kcfg.tls_private_key_file = pki["server"]
    kcfg.client_ca_file = pki["ca"]
    api = FakeApi()
    kl = Kubelet(kcfg, client=api, runtime=FakeRuntime(kcfg), images=FakeImages())
    await kl.start()
    try:
        await api.create("pods", pod("web"), namespace="default")
        w = await eventually(lambda: kl.pods.find("default", "web"))
        cur = await eventually(lambda: w.current("main"))
        os.makedirs(os.path.dirname(cur.log_path), exist_ok=True)
        with open(cur.log_path, "w") as f:
            f.write("line 1\nline 2\nline 3\n")
        base = f"https://127.0.0.1:{kcfg.port}"
        async with aiohttp.ClientSession() as s:
            async with s.get(f"{base}/healthz", ssl=_ctx(pki, "client")) as r:
                assert r.status == 200 and await r.text() == "ok"
            async with s.get(f"{base}/containerLogs/default/web/main?tailLines=2", ssl=_ctx(pki, "client")) as r:
                assert r.status == 200 and await r.text() == "line 2\nline 3\n"
                assert r.headers["Content-Type"].startswith("text/plain")
            async with s.post(f"{base}/run/default/web/main?cmd=true", ssl=_ctx(pki, "client")) as r:
                assert r.status == 200 and r.headers["X-Exit-Code"] == "0"
            async with s.get(f"{base}/containerLogs/default/web/nope", ssl=_ctx(pki, "client")) as r:
                assert r.status == 400
            async with s.get(f"{base}/containerLogs/default/ghost/main", ssl=_ctx(pki, "client")) as r:
                assert r.status == 404
            async with s.get(f"{base}/containerLogs/default/web/main?previous=true", ssl=_ctx(pki, "client")) as r:
                assert r.status == 400
            async with s.get(f"{base}/containerLogs/default/web/main?follow=true&timestamps=true",
                             ssl=_ctx(pki, "client")) as r:
                first = await r.content.readline()
                assert first.endswith(b" line 1\n") and first[:4].isdigit()
                with open(cur.log_path, "a") as f:
                    f.write("line 4\n")
                kl.runtime.finish(cur.id, 0)        # the container exits: following ends
                rest = (await r.content.read()).decode()
                assert rest.splitlines()[-1].endswith(" line 4")
            for who in (None, "rogue"):
                with pytest.raises(aiohttp.ClientError):
                    async with s.get(f"{base}/healthz", ssl=_ctx(pki, who)) as r:
                        await r.text()
    finally:
        await kl.stop()
