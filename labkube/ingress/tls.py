"""TLS for the HTTPS listener: a certificate per host from the Ingresses' `spec.tls` Secrets (SNI).

`tls_hosts(ingresses)` is pure: host (or `*.foo.com`) -> `namespace/secretName`, the oldest Ingress
first. `CertStore` turns those `kubernetes.io/tls` Secrets (`tls.crt`, `tls.key`) into SSL
contexts and picks one per handshake from the client's server name (exact host, then its
wildcard); a handshake without a known name gets a self-signed default certificate made at start,
as ingress controllers serve their "fake" certificate. A Secret that is missing or does not load
is logged once per version and its hosts get the default certificate.
"""
from __future__ import annotations

import base64
import datetime
import logging
import ssl

from labkube.client.kubeconfig import load_pem_chain

from .routes import age_key, wildcard_of

log = logging.getLogger("labkube.ingress")


def tls_hosts(ingresses: list[dict]) -> dict[str, str]:
    out: dict[str, str] = {}
    for ing in sorted(ingresses, key=age_key):
        ns = (ing.get("metadata") or {}).get("namespace") or "default"
        for t in (ing.get("spec") or {}).get("tls") or []:
            if not t.get("secretName"):
                continue
            for host in t.get("hosts") or []:
                out.setdefault(host.lower(), f"{ns}/{t['secretName']}")
    return out


def server_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    """A server SSLContext from PEM bytes."""
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    load_pem_chain(ctx, cert_pem, key_pem)
    return ctx


def self_signed(common_name: str = "labkube ingress default certificate") -> tuple[bytes, bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=3650))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("ingress.local")]), critical=False)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


class CertStore:
    def __init__(self):
        self.default = server_context(*self_signed())
        self.default.sni_callback = self._pick
        self.by_host: dict[str, ssl.SSLContext] = {}
        self._loaded: dict[str, tuple[str, ssl.SSLContext | None]] = {}   # secret key -> (rv, ctx)

    def _context_of(self, key: str, secret: dict | None) -> ssl.SSLContext | None:
        if secret is None:
            return None
        rv = (secret.get("metadata") or {}).get("resourceVersion") or ""
        seen = self._loaded.get(key)
        if seen is not None and seen[0] == rv:
            return seen[1]
        data = secret.get("data") or {}
        ctx = None
        try:
            ctx = server_context(base64.b64decode(data.get("tls.crt") or ""), base64.b64decode(data.get("tls.key") or ""))
        except (ssl.SSLError, ValueError, OSError) as e:
            log.warning("secret %s: cannot use it for TLS: %s", key, e)
        self._loaded[key] = (rv, ctx)
        return ctx

    def update(self, ingresses: list[dict], secret_of) -> None:
        """Rebuild host -> context; secret_of(key) gives the cached Secret or None."""
        hosts = tls_hosts(ingresses)
        by_host = {}
        for host, key in hosts.items():
            ctx = self._context_of(key, secret_of(key))
            if ctx is not None:
                by_host[host] = ctx
        self.by_host = by_host
        used = set(hosts.values())
        self._loaded = {k: v for k, v in self._loaded.items() if k in used}

    def context_for(self, server_name: str | None) -> ssl.SSLContext | None:
        name = (server_name or "").lower()
        return self.by_host.get(name) or self.by_host.get(wildcard_of(name) or "")

    def _pick(self, sslobj: ssl.SSLObject, server_name: str | None, _ctx) -> None:
        ctx = self.context_for(server_name)
        if ctx is not None:
            sslobj.context = ctx
