"""TLS for the apiserver: the serving context (client certs optional, verified by the lab CA)
and the identity (CN = user, O = groups) of an authenticated peer."""
from __future__ import annotations

import ssl
from dataclasses import dataclass, field

from aiohttp import web


@dataclass(frozen=True)
class UserInfo:
    name: str
    groups: tuple[str, ...] = field(default_factory=tuple)


def server_context(cert: str, key: str, client_ca: str) -> ssl.SSLContext:
    # only the lab CA may vouch for clients (create_default_context would add the system CAs)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    # Python's cipher list at security level 0: busybox's own TLS (wget in a busybox pod) sends no
    # signature_algorithms extension, which in TLS 1.2 means SHA-1 handshake signatures; OpenSSL
    # refuses those from level 1 up, Go's TLS (kube-apiserver) accepts them. Clients that list
    # their algorithms still get SHA-256 or better, and the ciphers are Python's usual ones.
    ctx.set_ciphers("@SECLEVEL=0:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM")
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(cafile=client_ca)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    return ctx


def client_context(ca: str, cert: str | None, key: str | None) -> ssl.SSLContext:
    """For calls the apiserver makes (the kubelet API)."""
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    if cert and key:
        ctx.load_cert_chain(cert, key)
    return ctx


def peer_user(request: web.Request) -> UserInfo | None:
    """The verified client certificate's identity, or None when the client sent none.
    Decoding the certificate costs tens of microseconds, so it is done once per connection
    (remembered on the connection's SSL object)."""
    transport = request.transport
    return None if transport is None else transport_user(transport)


def transport_user(transport) -> UserInfo | None:
    """peer_user for a connection's transport."""
    sslobj = transport.get_extra_info("ssl_object")
    user = getattr(sslobj, "_labkube_user", _UNKNOWN)
    if user is _UNKNOWN:
        user = _identity(transport.get_extra_info("peercert"))
        try:
            sslobj._labkube_user = user
        except AttributeError:  # no SSL object (or one without attributes): decode every time
            pass
    return user


_UNKNOWN = object()


def _identity(cert) -> UserInfo | None:
    if not cert:
        return None
    cn, groups = "", []
    for rdn in cert.get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                cn = v
            elif k == "organizationName":
                groups.append(v)
    if not cn:
        return None
    return UserInfo(cn, tuple(groups) + ("system:authenticated",))
