"""The apiserver's serving context issues no TLS 1.3 session tickets (nobody resumes, and each cost
the server an encode and decode of the session) and otherwise shakes hands exactly as before: the
same outcome, protocol, cipher, peer certificate and identity for every kind of client, compared
with the earlier context (the same one with OpenSSL's default of two tickets)."""
import ssl

import pytest
from apiserver_pki import make_pki

from labkube.apiserver.tls import UserInfo, _identity, server_context
from labkube.testing import MemoryTLS

CLIENTS = {  # name: (cn, orgs, server?)
    "server": ("kube-apiserver", [], True),
    "admin": ("kubernetes-admin", ["system:masters"], False),
    "node": ("system:node:w1", ["system:nodes"], False),
    "nogroup": ("alice", [], False),
}


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    make_pki(d, CLIENTS)
    other = tmp_path_factory.mktemp("other")
    make_pki(other, {"admin": ("kubernetes-admin", ["system:masters"], False)})
    return d, other


def earlier_context(d) -> ssl.SSLContext:
    """The serving context as it was: OpenSSL's default number of TLS 1.3 tickets."""
    ctx = server_context(str(d / "server.crt"), str(d / "server.key"), str(d / "ca.crt"))
    ctx.num_tickets = 2
    return ctx


def handshake(sctx: ssl.SSLContext, cctx: ssl.SSLContext) -> dict:
    """One handshake over memory BIOs, then one request and reply (which carries any tickets)."""
    try:
        t = MemoryTLS(sctx, cctx).handshake()
        srv, cli = t.server, t.client
        cli.write(b"ping")
        t.pump()
        got = srv.read(4)
        srv.write(b"pong")
        t.pump()
        got += cli.read(4)
    except ssl.SSLError as e:
        return {"ok": False, "error": type(e).__name__}
    peer = srv.getpeercert()
    return {"ok": got == b"pingpong", "version": srv.version(), "cipher": srv.cipher(),
            "client_version": cli.version(), "peercert": peer, "user": _identity(peer),
            "server_cert": cli.getpeercert(binary_form=True), "ticket": cli.session.has_ticket}


def client_context(d, other, cert: str | None, tls: str) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(d / "ca.crt"))
    if cert == "foreign":
        ctx.load_cert_chain(str(other / "admin.crt"), str(other / "admin.key"))
    elif cert is not None:
        ctx.load_cert_chain(str(d / f"{cert}.crt"), str(d / f"{cert}.key"))
    if tls == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    return ctx


CASES = [  # (client certificate, TLS version the client allows up to, expected identity)
    ("admin", "1.3", UserInfo("kubernetes-admin", ("system:masters", "system:authenticated"))),
    ("admin", "1.2", UserInfo("kubernetes-admin", ("system:masters", "system:authenticated"))),
    ("node", "1.3", UserInfo("system:node:w1", ("system:nodes", "system:authenticated"))),
    ("nogroup", "1.3", UserInfo("alice", ("system:authenticated",))),
    (None, "1.3", None),
    (None, "1.2", None),
    ("foreign", "1.3", "refused"),   # signed by another CA: the handshake fails
    ("foreign", "1.2", "refused"),
]


@pytest.mark.parametrize("cert,tls,user", CASES)
def test_same_handshake_as_before_without_tickets(pki, cert, tls, user):
    d, other = pki
    now = handshake(server_context(str(d / "server.crt"), str(d / "server.key"), str(d / "ca.crt")),
                    client_context(d, other, cert, tls))
    before = handshake(earlier_context(d), client_context(d, other, cert, tls))
    if user == "refused":
        assert not now["ok"] and now == before
        return
    assert now["ok"] and before["ok"]
    assert now["user"] == before["user"] == user
    assert now["version"] == before["version"] == ("TLSv1.3" if tls == "1.3" else "TLSv1.2")
    for k in ("cipher", "client_version", "peercert", "server_cert"):
        assert now[k] == before[k], k
    if tls == "1.3":
        assert before["ticket"] and not now["ticket"]   # the earlier context sent tickets, this one none


def test_context_settings(pki):
    d, _ = pki
    ctx = server_context(str(d / "server.crt"), str(d / "server.key"), str(d / "ca.crt"))
    assert ctx.num_tickets == 0
    assert ctx.verify_mode == ssl.CERT_OPTIONAL
    assert ctx.minimum_version == ssl.TLSVersion.TLSv1_2
    assert [c["name"] for c in ctx.get_ciphers()] == [c["name"] for c in earlier_context(d).get_ciphers()]
