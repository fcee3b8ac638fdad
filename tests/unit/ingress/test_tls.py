"""Certificates per host from the Ingresses' spec.tls Secrets, chosen by SNI."""
from __future__ import annotations

import base64

from labkube.ingress.tls import CertStore, self_signed, tls_hosts


def tls_ingress(name, ns, created, *entries):
    return {"metadata": {"name": name, "namespace": ns, "creationTimestamp": created},
            "spec": {"tls": [{"hosts": hosts, "secretName": secret} for hosts, secret in entries]}}


def tls_secret(cert, key, rv="1"):
    return {"metadata": {"resourceVersion": rv}, "type": "kubernetes.io/tls",
            "data": {"tls.crt": base64.b64encode(cert).decode(), "tls.key": base64.b64encode(key).decode()}}


def test_tls_hosts_the_oldest_ingress_wins_a_host():
    got = tls_hosts([
        tls_ingress("new", "b", "2026-02-01T00:00:00Z", (["foo.com"], "new-cert")),
        tls_ingress("old", "a", "2026-01-01T00:00:00Z", (["Foo.com", "*.bar.com"], "old-cert"), (["x.com"], "")),
    ])
    assert got == {"foo.com": "a/old-cert", "*.bar.com": "a/old-cert"}


def test_cert_store_picks_by_server_name_and_skips_broken_secrets():
    store = CertStore()
    cert, key = self_signed("foo.com")
    secrets = {"default/good": tls_secret(cert, key), "default/broken": tls_secret(b"not a cert", b"nor a key")}
    store.update([tls_ingress("i", "default", "2026-01-01T00:00:00Z",
                              (["foo.com", "*.foo.com"], "good"), (["bad.com"], "broken"), (["gone.com"], "missing"))],
                 secrets.get)
    assert store.context_for("foo.com") is store.context_for("a.foo.com") is not None
    assert store.context_for("FOO.COM") is not None
    assert store.context_for("b.a.foo.com") is None
    assert store.context_for("bad.com") is None and store.context_for("gone.com") is None
    assert store.context_for(None) is None
    ctx = store.context_for("foo.com")
    store.update([tls_ingress("i", "default", "2026-01-01T00:00:00Z", (["foo.com"], "good"))], secrets.get)
    assert store.context_for("foo.com") is ctx                  # same Secret version: not loaded again
    store.update([], secrets.get)
    assert store.context_for("foo.com") is None
