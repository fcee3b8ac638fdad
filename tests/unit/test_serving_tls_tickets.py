"""Which serving TLS contexts issue TLS 1.3 session tickets, each after a real handshake.

The kubelet's and metrics-server's contexts issue none (their clients, the apiserver and
metrics-server's scraper on aiohttp, never resume a session, so tickets are CPU for nothing):
a client gets no ticket, and offering the session of its first handshake on a second one does
not resume it. The ingress's contexts keep OpenSSL's tickets (its clients are browsers and other
user agents, which do resume). Control: each context with OpenSSL's default of two tickets
issues them and resumes, so the checks can tell the two apart. Every handshake is also checked
to succeed with the same protocol and peer identity as with tickets."""
import ssl
import sys
import types
from pathlib import Path

import pytest

from labkube.ingress.tls import server_context as ingress_context
from labkube.kubelet.server import ssl_context as kubelet_context
from labkube.metrics.server import server_context as metrics_context
from labkube.testing import MemoryTLS

sys.path.insert(0, str(Path(__file__).parent / "apiserver"))
from apiserver_pki import make_pki  # noqa: E402


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    make_pki(d, {"server": ("server", [], True), "client": ("system:kube-apiserver", ["system:masters"], False)})
    return d


def kubelet(d):
    cfg = types.SimpleNamespace(tls_cert_file=str(d / "server.crt"), tls_private_key_file=str(d / "server.key"),
                                client_ca_file=str(d / "ca.crt"))
    return kubelet_context(cfg)


def metrics(d):
    return metrics_context(str(d / "server.crt"), str(d / "server.key"), str(d / "ca.crt"))


def ingress(d):
    return ingress_context((d / "server.crt").read_bytes(), (d / "server.key").read_bytes())


SERVERS = {"kubelet": (kubelet, 0), "metrics-server": (metrics, 0), "ingress": (ingress, 2)}


def connect(sctx, cctx, session=None) -> dict:
    """One handshake over memory BIOs offering `session`, then one request and reply (which
    carries any tickets the server sends)."""
    t = MemoryTLS(sctx, cctx)
    if session is not None:
        t.client.session = session
    t.handshake()
    t.client.write(b"ping")
    t.pump()
    got = t.server.read(4)
    t.server.write(b"pong")
    t.pump()
    got += t.client.read(4)
    assert got == b"pingpong"
    return {"version": t.client.version(), "peer": (t.server.getpeercert() or {}).get("subject"),
            "session": t.client.session, "ticket": t.client.session.has_ticket,
            "reused": t.client.session_reused}


def client(d, tls: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(d / "ca.crt"))
    ctx.load_cert_chain(str(d / "client.crt"), str(d / "client.key"))
    if tls == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_tickets_issued_and_resumption(pki, name):
    make, tickets = SERVERS[name]
    ctx = make(pki)
    assert ctx.num_tickets == tickets
    cctx = client(pki, "1.3")
    first = connect(ctx, cctx)
    second = connect(ctx, cctx, first["session"] if first["ticket"] else None)
    assert first["version"] == second["version"] == "TLSv1.3"
    assert first["ticket"] is (tickets > 0)
    assert second["reused"] is (tickets > 0)       # resumed only where a ticket was issued
    assert first["peer"] == second["peer"]


@pytest.mark.parametrize("name", sorted(SERVERS))
def test_control_with_openssl_default_tickets(pki, name):
    """The same context with OpenSSL's default: tickets issued and a resumed second handshake."""
    make, _ = SERVERS[name]
    ctx = make(pki)
    ctx.num_tickets = 2
    cctx = client(pki, "1.3")
    first = connect(ctx, cctx)
    second = connect(ctx, cctx, first["session"])
    assert first["ticket"] and second["reused"]


@pytest.mark.parametrize("name", ["kubelet", "metrics-server"])
def test_tls12_unchanged(pki, name):
    """num_tickets concerns TLS 1.3 only: a TLS 1.2 client shakes hands as with the default."""
    make, _ = SERVERS[name]
    ctx, before = make(pki), make(pki)
    before.num_tickets = 2
    now, then = connect(ctx, client(pki, "1.2")), connect(before, client(pki, "1.2"))
    assert now["version"] == then["version"] == "TLSv1.2"
    assert now["peer"] == then["peer"]
