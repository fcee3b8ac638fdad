"""Image references: the Docker/Kubernetes normalisation rules, shared by the kubelet and
labctl's image builder (labctl imports it from here; labkube never imports labctl).

    busybox                     -> docker.io/library/busybox:latest
    busybox:1                   -> docker.io/library/busybox:1
    library/busybox             -> docker.io/library/busybox:latest
    10.200.0.1:5000/x:y         -> 10.200.0.1:5000/x:y
    busybox@sha256:<hex>        -> docker.io/library/busybox@sha256:<hex>
"""
from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_DOMAIN = "docker.io"
LEGACY_DOMAINS = ("index.docker.io", "registry-1.docker.io")
_NAME_RE = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}$")


@dataclass(frozen=True)
class Reference:
    domain: str
    path: str               # e.g. "library/busybox"
    tag: str | None = None
    digest: str | None = None

    @property
    def repository(self) -> str:
        """domain/path, e.g. docker.io/library/busybox."""
        return f"{self.domain}/{self.path}"

    def __str__(self) -> str:
        s = self.repository
        if self.tag:
            s += f":{self.tag}"
        if self.digest:
            s += f"@{self.digest}"
        return s


def parse_ref(ref: str) -> Reference:
    """Parse and normalise ``ref``; raise ValueError naming the reference when invalid."""
    if not isinstance(ref, str) or not ref.strip():
        raise ValueError(f"invalid image reference {ref!r}: empty")
    ref = ref.strip()
    digest = None
    if "@" in ref:
        ref, digest = ref.split("@", 1)
        if not _DIGEST_RE.match(digest):
            raise ValueError(f"invalid image reference {ref!r}: bad digest {digest!r}")
    tag = None
    slash = ref.rfind("/")
    colon = ref.rfind(":")
    if colon > slash:
        ref, tag = ref[:colon], ref[colon + 1:]
        if not _TAG_RE.match(tag):
            raise ValueError(f"invalid image reference {ref!r}: bad tag {tag!r}")
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        domain, path = first, rest
    else:
        domain, path = DEFAULT_DOMAIN, ref
    if domain in LEGACY_DOMAINS:
        domain = DEFAULT_DOMAIN
    if domain == DEFAULT_DOMAIN and "/" not in path:
        path = f"library/{path}"
    if not _NAME_RE.match(path):
        raise ValueError(f"invalid image reference {ref!r}: repository name must be lowercase")
    if tag is None and digest is None:
        tag = "latest"
    return Reference(domain, path, tag, digest)


def normalize_ref(ref: str) -> str:
    """The fully qualified form of ``ref`` (see the module docstring)."""
    return str(parse_ref(ref))
