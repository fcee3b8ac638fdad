"""Where an image is pulled from: the lab has no internet, so Docker Hub, registry.k8s.io and
gcr.io references are served by the lab registry (roles/registry pushes the lab images there at
their references' paths: library/<name>, busybox for registry.k8s.io/busybox,
google-samples/kubernetes-bootcamp for gcr.io's).

    mirrors = {"docker.io": "10.200.0.10:5000", "registry.k8s.io": "10.200.0.10:5000", "gcr.io": ...}
    busybox                       -> docker.io/library/busybox:latest -> 10.200.0.10:5000/library/busybox:latest
    docker.io/team/app:1          -> 10.200.0.10:5000/team/app:1
    registry.k8s.io/busybox       -> 10.200.0.10:5000/busybox:latest
    10.200.0.10:5000/x:y          -> itself (a lab registry reference needs no mapping)

The image keeps its own (normalised) name on the node; only the source changes.
"""
from __future__ import annotations

from dataclasses import replace

from .reference import LEGACY_DOMAINS, Reference


def pull_source(ref: Reference, mirrors: dict | None) -> Reference:
    """The reference to fetch ``ref`` from, given a domain -> registry address map."""
    mirrors = mirrors or {}
    domain = "docker.io" if ref.domain in LEGACY_DOMAINS else ref.domain
    target = mirrors.get(domain)
    return replace(ref, domain=target) if target else ref


def reachable(ref: Reference, mirrors: dict | None) -> bool:
    """False for Docker Hub references without a mirror: nothing outside the lab answers."""
    return pull_source(ref, mirrors).domain not in ("docker.io", *LEGACY_DOMAINS)
