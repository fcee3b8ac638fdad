"""Pull an image from a registry over the Docker Registry HTTP API v2 (stdlib only).

Used by `ImageStore.pull`. Lab registries are plain HTTP (`10.200.0.1:5000`): a host that
is an IP address, has a port or is `localhost` is spoken to over http, others over https.
The Accept header lists the OCI types first (registry 2.8 answers 404 for an OCI manifest
without them, node-stack.md section 4). Image indexes / manifest lists are resolved to
linux/<this architecture>. Every blob is checked against its digest while it is stored.
"""
from __future__ import annotations

import hashlib
import ipaddress
import json
import platform
import urllib.error
import urllib.request

from .reference import Reference

MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v2+json")
INDEX_TYPES = ("application/vnd.oci.image.index.v1+json",
               "application/vnd.docker.distribution.manifest.list.v2+json")
ARCH = {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


class PullError(Exception):
    pass


def registry_url(domain: str) -> str:
    host = domain.rsplit(":", 1)[0] if domain.count(":") == 1 else domain
    try:
        ipaddress.ip_address(host.strip("[]"))
        plain = True
    except ValueError:
        plain = host == "localhost" or ":" in domain
    return f"{'http' if plain else 'https'}://{domain}"


def error_reason(err: urllib.error.HTTPError) -> str:
    """The registry's own words from an error body (`{"errors": [{"code", "message"}]}`),
    e.g. "manifest unknown"; empty when the body says nothing useful."""
    try:
        doc = json.loads(err.read(65536) or b"{}")
    except (ValueError, OSError):
        return ""
    msgs = [e.get("message") or e.get("code", "") for e in doc.get("errors") or [] if isinstance(e, dict)]
    return "; ".join(m.lower() if m.isupper() else m for m in msgs if m)


class RegistryClient:
    def __init__(self, ref: Reference, timeout: float = 10.0):
        self.ref = ref
        self.base = f"{registry_url(ref.domain)}/v2/{ref.path}"
        self.timeout = timeout

    def _open(self, url: str, accept: str | None = None):
        req = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
        try:
            return urllib.request.urlopen(req, timeout=self.timeout)   # noqa: S310 - lab registry URL
        except urllib.error.HTTPError as e:
            reason = error_reason(e)
            if e.code == 401:
                raise PullError(f"{self.ref.domain} requires authentication, which is not supported") from None
            if e.code == 404:
                raise PullError(f"{self.ref}: {reason or 'not found'}") from None
            raise PullError(f"{url}: HTTP {e.code}{': ' + reason if reason else ''}") from None
        except (urllib.error.URLError, OSError) as e:
            raise PullError(f"cannot reach {self.ref.domain}: {getattr(e, 'reason', e)}") from None

    def manifest(self, reference: str) -> tuple[str, bytes, dict]:
        """(digest, raw bytes, parsed) of an image manifest, resolving indexes."""
        with self._open(f"{self.base}/manifests/{reference}", ", ".join(MANIFEST_TYPES + INDEX_TYPES)) as r:
            raw = r.read()
            ctype = r.headers.get("Content-Type", "").split(";")[0]
        digest = "sha256:" + hashlib.sha256(raw).hexdigest()
        if reference.startswith("sha256:") and reference != digest:
            raise PullError(f"manifest {reference} does not match its content")
        doc = json.loads(raw)
        if ctype in INDEX_TYPES or doc.get("mediaType") in INDEX_TYPES or "manifests" in doc:
            for m in doc.get("manifests", []):
                p = m.get("platform") or {}
                if p.get("os", "linux") == "linux" and p.get("architecture", ARCH) == ARCH:
                    return self.manifest(m["digest"])
            raise PullError(f"{self.ref} has no linux/{ARCH} image")
        return digest, raw, doc

    def blob(self, digest: str):
        return self._open(f"{self.base}/blobs/{digest}")


def pull(ref: Reference, store_blob, have_blob) -> tuple[str, bytes]:
    """Fetch the manifest and the blobs ``have_blob(digest)`` says are missing, handing each
    stream to ``store_blob(digest, fileobj)``; returns (manifest digest, manifest bytes)."""
    client = RegistryClient(ref)
    digest, raw, manifest = client.manifest(ref.digest or ref.tag or "latest")
    for desc in [manifest["config"], *manifest.get("layers", [])]:
        if not have_blob(desc["digest"]):
            with client.blob(desc["digest"]) as f:
                store_blob(desc["digest"], f)
    return digest, raw
