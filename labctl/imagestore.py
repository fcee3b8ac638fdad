"""The lab registry from the control machine: push OCI/docker archives (idempotently), list
what it holds, and turn image names into registry references.

Naming: an image called `myapp:1` is `docker.io/library/myapp:1` (Docker's normalisation)
and lives in the lab registry as `<registry>/library/myapp:1`; the kubelets pull any
`docker.io/<path>` from `<registry>/<path>` (labkube.kubelet.images.mirrors), so pods can
say `image: myapp:1`. A name that already starts with the registry address is kept as is.
"""
from __future__ import annotations

import json
import subprocess
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass

from labkube.kubelet.images.mirrors import pull_source
from labkube.kubelet.images.reference import parse_ref

ACCEPT = ", ".join(("application/vnd.oci.image.manifest.v1+json",
                    "application/vnd.docker.distribution.manifest.v2+json",
                    "application/vnd.oci.image.index.v1+json",
                    "application/vnd.docker.distribution.manifest.list.v2+json"))
DEFAULT_PORT = 5000


class ImageStoreError(Exception):
    pass


def registry_address(lab) -> str:
    """host:port of the running lab's registry (the first master's lab address)."""
    master = lab.masters()[0]
    host = lab.inventory.host_vars(master)["ansible_host"]
    return f"{host}:{lab.settings().get('registry_port', DEFAULT_PORT)}"


def push_reference(name: str, registry: str) -> str:
    """Where ``name`` goes in the lab registry, e.g. busybox -> 10.200.0.10:5000/library/busybox:latest."""
    try:
        ref = parse_ref(name)
    except ValueError as e:
        raise ImageStoreError(str(e)) from None
    return str(pull_source(ref, {"docker.io": registry}))


def display_name(repo: str, tag: str) -> str:
    """What a pod spec says for a registry repository: library/x -> x, team/app -> team/app."""
    short = repo[len("library/"):] if repo.startswith("library/") else repo
    return f"{short}:{tag}"


# -- archives ---------------------------------------------------------------------------------
@dataclass
class ArchiveInfo:
    transport: str            # oci-archive | docker-archive
    names: list[str]          # references recorded in the archive (may be empty)
    digest: str | None        # manifest digest, when the archive states it (OCI)


def inspect_archive(path: str) -> ArchiveInfo:
    """Tell an OCI archive from a docker archive (`docker save`) and read its names."""
    try:
        with tarfile.open(path) as tar:
            members = {m.name.lstrip("./") for m in tar.getmembers()}
            if "index.json" in members and "oci-layout" in members:
                index = json.load(tar.extractfile(tar.getmember(_member(tar, "index.json"))))
                descs = index.get("manifests") or []
                names = [(d.get("annotations") or {}).get("org.opencontainers.image.ref.name") for d in descs]
                return ArchiveInfo("oci-archive", [n for n in names if n],
                                   descs[0]["digest"] if len(descs) == 1 else None)
            if "manifest.json" in members:
                manifest = json.load(tar.extractfile(tar.getmember(_member(tar, "manifest.json"))))
                tags = [t for entry in manifest for t in (entry.get("RepoTags") or [])]
                return ArchiveInfo("docker-archive", tags, None)
    except (OSError, tarfile.TarError, ValueError, KeyError) as e:
        raise ImageStoreError(f"{path}: not a readable image archive: {e}") from None
    raise ImageStoreError(f"{path}: neither an OCI archive (index.json, oci-layout) nor a docker archive "
                          "(manifest.json)")


def _member(tar: tarfile.TarFile, name: str) -> str:
    for m in tar.getmembers():
        if m.name.lstrip("./") == name:
            return m.name
    raise KeyError(name)


# -- registry -------------------------------------------------------------------------------
def _get(url: str, method: str = "GET", accept: str | None = None):
    req = urllib.request.Request(url, method=method, headers={"Accept": accept} if accept else {})
    return urllib.request.urlopen(req, timeout=10)   # noqa: S310 - the lab registry only


def manifest_digest(push_ref: str) -> str | None:
    """The digest the registry serves for a reference, None when it has no such tag."""
    r = parse_ref(push_ref)
    try:
        with _get(f"http://{r.domain}/v2/{r.path}/manifests/{r.tag or 'latest'}", "HEAD", ACCEPT) as resp:
            return resp.headers.get("Docker-Content-Digest")
    except urllib.error.HTTPError:
        return None
    except (urllib.error.URLError, OSError) as e:
        raise ImageStoreError(f"cannot reach the lab registry at {r.domain}: {getattr(e, 'reason', e)} "
                              "(is the lab up?)") from None


def push(source: str, push_ref: str, want_digest: str | None = None) -> tuple[bool, str]:
    """`skopeo copy SOURCE docker://PUSH_REF` unless the registry already has ``want_digest``
    there; returns (pushed?, digest now served)."""
    if want_digest and manifest_digest(push_ref) == want_digest:
        return False, want_digest
    p = subprocess.run(["skopeo", "copy", "-q", "--dest-tls-verify=false", source, f"docker://{push_ref}"],
                       capture_output=True, text=True)
    if p.returncode != 0:
        raise ImageStoreError(f"skopeo copy {source} -> {push_ref} failed: {p.stderr.strip()}")
    return True, manifest_digest(push_ref) or want_digest or ""


def list_images(registry: str) -> list[tuple[str, str, str]]:
    """(repository, tag, digest) of everything in the registry, sorted."""
    try:
        with _get(f"http://{registry}/v2/_catalog?n=1000") as r:
            repos = json.load(r).get("repositories") or []
        out = []
        for repo in repos:
            with _get(f"http://{registry}/v2/{repo}/tags/list") as r:
                tags = json.load(r).get("tags") or []
            for tag in sorted(tags):
                out.append((repo, tag, manifest_digest(f"{registry}/{repo}:{tag}") or ""))
        return sorted(out)
    except (urllib.error.URLError, OSError, ValueError) as e:
        raise ImageStoreError(f"cannot list the lab registry at {registry}: {getattr(e, 'reason', e)} "
                              "(is the lab up?)") from None
