"""The node's image store under `image_dir`.

    image_dir/preload/*.tar            OCI archives imported at start (and on demand)
    image_dir/blobs/sha256/<hex>       manifests, configs and layers
    image_dir/refs.json                {"docker.io/library/busybox:latest": "sha256:<manifest>"}
    image_dir/rootfs/<hex>/rootfs      one unpacked rootfs per image (manifest) digest
    image_dir/rootfs/<hex>/config.json the image config

Containers never write to an unpacked rootfs: each gets an overlay on top of it.
`ensure(ref, policy)` is what the pod worker calls; it raises ImageError with the
Kubernetes waiting reason (ErrImageNeverPull, ErrImagePull) and a message.
`pull(ref)` fetches from the image's registry (plain HTTP for lab registries), Docker Hub
references from the lab registry (mirrors.py).
"""
from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import threading
from dataclasses import dataclass

from .archive import ArchiveError, OciArchive
from . import registry
from .mirrors import pull_source, reachable
from .layers import apply_layer
from .reference import normalize_ref, parse_ref

log = logging.getLogger(__name__)


class ImageError(Exception):
    """An image that cannot be made available; `reason` is the container waiting reason."""

    def __init__(self, reason: str, message: str):
        super().__init__(f"{reason}: {message}")
        self.reason = reason
        self.message = message


@dataclass
class Image:
    ref: str                   # normalised reference asked for
    digest: str                # manifest digest
    rootfs: str                # unpacked root filesystem (read-only lowerdir)
    config: dict               # the OCI image config's "config" section (Env, Cmd, ...)
    pulled: bool = False       # ensure() fetched it from a registry just now

    @property
    def image_id(self) -> str:
        """What Kubernetes reports as imageID: repository@digest."""
        return f"{parse_ref(self.ref).repository}@{self.digest}"


def default_pull_policy(ref: str) -> str:
    r = parse_ref(ref)
    return "Always" if (r.tag == "latest" and not r.digest) else "IfNotPresent"


class ImageStore:
    def __init__(self, image_dir: str, mirrors: dict | None = None):
        self.dir = image_dir
        self.mirrors = dict(mirrors or {})
        self._lock = threading.Lock()
        self.refs: dict[str, str] = {}
        self._seen: dict[str, tuple[int, float]] = {}   # archive path -> (size, mtime) imported
        for d in ("preload", "blobs/sha256", "rootfs"):
            os.makedirs(os.path.join(self.dir, d), exist_ok=True)
        self._load_refs()

    # -- bookkeeping ----------------------------------------------------------------------
    def _refs_path(self) -> str:
        return os.path.join(self.dir, "refs.json")

    def _load_refs(self) -> None:
        try:
            with open(self._refs_path()) as f:
                self.refs = json.load(f)
        except (OSError, ValueError):
            self.refs = {}

    def _save_refs(self) -> None:
        tmp = self._refs_path() + ".tmp"
        with open(tmp, "w") as f:
            json.dump(self.refs, f, indent=1, sort_keys=True)
        os.replace(tmp, self._refs_path())

    def _blob_path(self, digest: str) -> str:
        return os.path.join(self.dir, "blobs", "sha256", digest.split(":", 1)[1])

    def _rootfs_dir(self, digest: str) -> str:
        return os.path.join(self.dir, "rootfs", digest.split(":", 1)[1])

    # -- import ---------------------------------------------------------------------------
    def import_preload(self) -> list[str]:
        """Import every archive in preload/; returns the references now known."""
        pre = os.path.join(self.dir, "preload")
        found: list[str] = []
        for name in sorted(os.listdir(pre)):
            path = os.path.join(pre, name)
            if name.endswith((".tar", ".oci", ".tar.gz")):
                st = os.stat(path)
                if self._seen.get(path) == (st.st_size, st.st_mtime):
                    continue
                try:
                    found += self.import_archive(path)
                    self._seen[path] = (st.st_size, st.st_mtime)
                except (ArchiveError, OSError, ValueError) as e:
                    log.error("image archive %s not imported: %s", name, e)
        return found

    def import_archive(self, path: str) -> list[str]:
        """Import the tagged images of an OCI archive: blobs, refs and unpacked rootfs."""
        stem = os.path.basename(path).split(".")[0]
        imported = []
        with self._lock, OciArchive(path) as arc:
            for img in arc.images():
                manifest = json.loads(img.manifest)
                for desc in [manifest["config"], *manifest.get("layers", [])]:
                    self._store_blob(desc["digest"], arc.open_blob(desc["digest"]))
                self._store_blob(img.manifest_digest, io.BytesIO(img.manifest))
                self._unpack(img.manifest_digest)
                for raw in img.refs or ["latest"]:
                    ref = archive_ref(raw, stem)
                    self.refs[ref] = img.manifest_digest
                    imported.append(ref)
            self._save_refs()
        if imported:
            log.info("imported %s from %s", ", ".join(imported), path)
        return imported

    def _store_blob(self, digest: str, src) -> None:
        dst = self._blob_path(digest)
        if os.path.exists(dst):
            return
        tmp = f"{dst}.tmp{os.getpid()}.{threading.get_ident()}"   # concurrent pulls of one blob
        h = hashlib.sha256()
        with open(tmp, "wb") as out:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                h.update(chunk)
                out.write(chunk)
        if "sha256:" + h.hexdigest() != digest:
            os.unlink(tmp)
            raise ArchiveError(f"blob {digest} does not match its content")
        os.replace(tmp, dst)

    def _unpack(self, digest: str) -> str:
        """Unpack an image once; the directory appears atomically when complete."""
        final = self._rootfs_dir(digest)
        if os.path.isdir(os.path.join(final, "rootfs")):
            return final
        tmp = f"{final}.tmp{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(os.path.join(tmp, "rootfs"))
        os.chmod(os.path.join(tmp, "rootfs"), 0o755)
        with open(self._blob_path(digest), "rb") as f:
            manifest = json.load(f)
        for layer in manifest.get("layers", []):
            with open(self._blob_path(layer["digest"]), "rb") as lf:
                apply_layer(os.path.join(tmp, "rootfs"), lf)
        with open(self._blob_path(manifest["config"]["digest"]), "rb") as f:
            config = json.load(f)
        with open(os.path.join(tmp, "config.json"), "w") as f:
            json.dump(config, f)
        os.replace(tmp, final)
        return final

    # -- lookup ---------------------------------------------------------------------------
    def resolve(self, ref: str) -> Image | None:
        """The local image for ``ref`` (by tag or by digest), or None."""
        r = parse_ref(ref)
        norm = str(r)
        digest = self.refs.get(norm)
        if digest is None and r.digest:
            if r.tag is None and os.path.exists(self._blob_path(r.digest)):
                digest = r.digest
            elif any(d == r.digest for d in self.refs.values()):
                digest = r.digest
        if digest is None:
            return None
        d = self._rootfs_dir(digest)
        try:
            with open(os.path.join(d, "config.json")) as f:
                cfg = json.load(f)
        except OSError:
            return None
        return Image(norm, digest, os.path.join(d, "rootfs"), cfg.get("config") or {})

    def list_images(self) -> list[dict]:
        """Node status `images` entries."""
        by_digest: dict[str, list[str]] = {}
        for ref, digest in sorted(self.refs.items()):
            by_digest.setdefault(digest, []).append(ref)
        out = []
        for digest, names in by_digest.items():
            size = sum(os.path.getsize(self._blob_path(l["digest"]))
                       for l in self._manifest(digest).get("layers", []))
            repo = parse_ref(names[0]).repository
            out.append({"names": [f"{repo}@{digest}", *names], "sizeBytes": size})
        return out

    def _manifest(self, digest: str) -> dict:
        try:
            with open(self._blob_path(digest)) as f:
                return json.load(f)
        except (OSError, ValueError):
            return {}

    def ensure(self, ref: str, policy: str | None = None) -> Image:
        """Make ``ref`` available according to the pull policy or raise ImageError."""
        try:
            norm = normalize_ref(ref)
        except ValueError as e:
            raise ImageError("InvalidImageName", str(e)) from None
        policy = policy or default_pull_policy(norm)
        img = self.resolve(norm)
        if img is not None and policy != "Always":
            return img
        if policy == "Never":
            raise ImageError("ErrImageNeverPull",
                             f'Container image "{ref}" is not present with pull policy of Never')
        try:
            fetched = self.pull(norm, force=policy == "Always")
        except ImageError:
            if img is not None:        # Always, but no registry reachable: use what we have
                return img
            raise
        img = self.resolve(norm)
        if img is None:
            raise ImageError("ErrImagePull", f'image "{ref}" not found after pull')
        img.pulled = fetched
        return img

    def pull(self, ref: str, force: bool = False) -> bool:
        """Make ``ref`` available (``force``: ask the registry even when we have it, for policy
        Always): archives newly dropped into preload/ first, then the image's
        registry (registry.py). docker.io cannot be reached from a lab: preload such images.
        True when a registry was asked (the image was pulled)."""
        self.import_preload()
        if not force and self.resolve(ref) is not None:
            return False
        r = parse_ref(ref)
        if not reachable(r, self.mirrors):
            raise ImageError("ErrImagePull",
                             f'failed to pull image "{ref}": not in the node\'s image store '
                             f"({os.path.join(self.dir, 'preload')}) and docker.io is not reachable from the lab; "
                             "push it to the lab registry (labctl image load|build)")
        src = pull_source(r, self.mirrors)
        try:
            digest, manifest = registry.pull(src, self._store_blob,
                                             lambda d: os.path.exists(self._blob_path(d)))
        except (registry.PullError, ArchiveError, ValueError, KeyError) as e:
            raise ImageError("ErrImagePull", f'failed to pull image "{ref}" from {src.domain}: {e}') from None
        with self._lock:
            self._store_blob(digest, io.BytesIO(manifest))
            self._unpack(digest)
            self.refs[str(r)] = digest
            self._save_refs()
        log.info("pulled %s from %s (%s)", ref, src.domain, digest)
        return True


def archive_ref(raw: str, stem: str) -> str:
    """The reference an archive's ref.name annotation stands for: a full reference as is,
    a bare tag ("latest", as skopeo and umoci write) prefixed by the archive's file stem."""
    if any(c in raw for c in "/:@"):
        return normalize_ref(raw)
    return normalize_ref(f"{stem}:{raw}")
