"""KubeConfig.ssl_context: with a certificate-authority the kubeconfig's CA is the only one trusted
(as client-go does), not the system bundle besides; with insecure-skip-tls-verify no CA is loaded
(nothing is verified); every other setting is the earlier context's (create_default_context, then
the CA added to the system's), and the same servers are accepted."""
import ssl

import pytest

from labkube.client import KubeConfig
from labkube.client.kubeconfig import load_pem_chain
from labkube.testing import MemoryTLS, make_pki


@pytest.fixture(scope="module")
def pkis(tmp_path_factory):
    lab = make_pki(str(tmp_path_factory.mktemp("lab")))
    other = make_pki(str(tmp_path_factory.mktemp("other")))
    return lab, other


def read(p):
    with open(p, "rb") as f:
        return f.read()


def config(lab, *, ca=True, cert=True, insecure=False, server="https://127.0.0.1:6443"):
    return KubeConfig(server=server, ca_data=read(lab["ca.crt"]) if ca else None,
                      cert_data=read(lab["client.crt"]) if cert else None,
                      key_data=read(lab["client.key"]) if cert else None, insecure_skip_tls_verify=insecure)


def earlier(cfg: KubeConfig) -> ssl.SSLContext:
    """ssl_context as it was: the system's CAs, the kubeconfig's CA added to them."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if cfg.insecure_skip_tls_verify:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    elif cfg.ca_data:
        ctx.load_verify_locations(cadata=cfg.ca_data.decode("ascii"))
    if cfg.cert_data and cfg.key_data:
        load_pem_chain(ctx, cfg.cert_data, cfg.key_data)
    return ctx


def serve(pki) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki["server.crt"], pki["server.key"])
    ctx.load_verify_locations(cafile=pki["ca.crt"])
    ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def handshake(sctx: ssl.SSLContext, cctx: ssl.SSLContext) -> tuple:
    """(outcome, the client certificate the server saw) of one handshake over memory BIOs."""
    try:
        t = MemoryTLS(sctx, cctx).handshake()
        t.client.write(b"x")
        t.pump()
        t.server.read(1)
    except ssl.SSLCertVerificationError as e:
        return "refused", e.verify_message
    return "ok", t.server.getpeercert()


SETTINGS = ("verify_mode", "check_hostname", "minimum_version", "maximum_version", "options", "verify_flags",
            "protocol", "post_handshake_auth")

CASES = [  # (kubeconfig settings, the CAs the context holds: the kubeconfig's, none, the system's)
    ({}, "lab"),
    ({"cert": False}, "lab"),
    ({"insecure": True}, "none"),
    ({"insecure": True, "cert": False}, "none"),
    ({"insecure": True, "ca": False}, "none"),
    ({"ca": False}, "system"),
    ({"ca": False, "cert": False}, "system"),
]


@pytest.mark.parametrize("kw,cas", CASES)
def test_context_as_before_but_trusting_only_the_kubeconfigs_ca(pkis, tmp_path, kw, cas):
    lab, _ = pkis
    cfg = config(lab, **kw)
    now, before = cfg.ssl_context(), earlier(cfg)
    for s in SETTINGS:
        assert getattr(now, s) == getattr(before, s), s
    lab_ca = ssl.PEM_cert_to_DER_cert(read(lab["ca.crt"]).decode())
    if cas == "lab":
        assert [c for c in now.get_ca_certs(binary_form=True)] == [lab_ca]
        assert lab_ca in before.get_ca_certs(binary_form=True)
    elif cas == "none":
        assert now.get_ca_certs() == [] and now.cert_store_stats() == {"crl": 0, "x509_ca": 0, "x509": 0}
    else:
        assert now.get_ca_certs(binary_form=True) == before.get_ca_certs(binary_form=True)


@pytest.mark.parametrize("server,kw,outcome", [
    ("lab", {}, "ok"),
    ("lab", {"cert": False}, "ok"),
    ("other", {}, "refused"),             # a server whose certificate another CA signed
    ("other", {"insecure": True, "cert": False}, "ok"),   # (its server would refuse our lab client cert)
    ("lab", {"insecure": True}, "ok"),
])
def test_same_servers_accepted(pkis, server, kw, outcome):
    lab, other = pkis
    cfg = config(lab, **kw)
    sctx = serve(lab if server == "lab" else other)
    now, before = handshake(sctx, cfg.ssl_context()), handshake(sctx, earlier(cfg))
    assert now[0] == before[0] == outcome
    if server == "lab":
        assert now == before
        assert bool(now[1]) == kw.get("cert", True)     # the client certificate reached the server


def test_plain_http_has_no_context(pkis):
    lab, _ = pkis
    assert config(lab, server="http://127.0.0.1:8080").ssl_context() is None
