"""TLS for the apiserver: the serving context (client certs optional, verified by the lab CA)
and the identity (CN = user, O = groups) of an authenticated peer."""
from __future__ import annotations

import ssl
import tempfile
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
    chain = served_chain(cert, client_ca)
    if chain is None:
        ctx.load_cert_chain(cert, key)
    else:  # ssl loads chains from files only (certificates: nothing secret in a temporary file)
        with tempfile.NamedTemporaryFile(prefix="labkube-chain-", suffix=".pem") as f:
            f.write(chain)
            f.flush()
            ctx.load_cert_chain(f.name, key)
    ctx.load_verify_locations(cafile=client_ca)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    # no TLS 1.3 session tickets (OpenSSL sends two after every handshake by default): no client
    # resumes a session here (client-go keeps no session cache, Python's asyncio passes none, a
    # kubectl or busybox wget is a new process each time), and making a ticket is the dearest step
    # of the server's handshake after the client certificate's own checks: OpenSSL 3.0 encodes
    # the session, client certificate included, and decodes it again for each ticket. Measured
    # (bench/tls_connect.py): ~0.3 ms of the apiserver's ~1.4 ms CPU per new connection.
    ctx.num_tickets = 0
    return ctx


def served_chain(cert: str, client_ca: str) -> bytes | None:
    """The certificates (PEM) the apiserver serves when `cert` holds its certificate alone: that
    one, then its issuers from `client_ca` up to a self-signed one, the chain OpenSSL otherwise
    builds from the verify store (the client CA file) in every handshake (a whole certificate
    verification, ~10 % of the apiserver's CPU per new connection in py-spy); loaded as the
    certificate's own chain, it is sent as it is, with the same certificates. None (OpenSSL
    builds it, as before) when `cert` holds a chain already, or an issuer is not the one
    certificate of its name in `client_ca` with certificate-signing use and a signature that
    checks, or anything does not parse."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives.serialization import Encoding

        with open(cert, "rb") as f:
            certs = x509.load_pem_x509_certificates(f.read())
        with open(client_ca, "rb") as f:
            store = x509.load_pem_x509_certificates(f.read())
        if len(certs) != 1:
            return None
        chain = certs
        while chain[-1].issuer != chain[-1].subject:
            issuers = [c for c in store if c.subject == chain[-1].issuer]
            if len(issuers) != 1 or issuers[0] in chain or len(chain) > 8:
                return None  # several of that name: OpenSSL's choice among them is its own
            if not (_signs_certs(issuers[0]) and _issued(chain[-1], issuers[0])):
                return None
            chain.append(issuers[0])
        if len(chain) == 1:
            return None
        return b"".join(c.public_bytes(Encoding.PEM) for c in chain)
    except Exception:  # noqa: BLE001 - whatever does not parse is left to OpenSSL, as before
        return None


def _signs_certs(ca) -> bool:
    from cryptography import x509
    try:
        return ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
    except x509.ExtensionNotFound:
        return True


def _issued(cert, ca) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except Exception:  # noqa: BLE001 - InvalidSignature, or a key or algorithm it cannot check
        return False
    return True


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
