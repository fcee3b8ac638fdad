"""Read an OCI archive (a tar of an OCI image layout): its tagged manifests and their blobs."""
from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass

REF_ANNOTATION = "org.opencontainers.image.ref.name"
MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json",
                  "application/vnd.docker.distribution.manifest.v2+json")


class ArchiveError(Exception):
    pass


@dataclass
class ArchivedImage:
    refs: list[str]            # raw ref.name annotations (may be bare tags like "latest")
    manifest_digest: str
    manifest: bytes


def _blob_name(digest: str) -> str:
    algo, _, hexd = digest.partition(":")
    return f"blobs/{algo}/{hexd}"


class OciArchive:
    """Random access to the blobs of an OCI archive file."""

    def __init__(self, path: str):
        self.path = path
        try:
            self._tar = tarfile.open(path, "r:*")
        except (OSError, tarfile.TarError) as e:
            raise ArchiveError(f"{path}: not a readable OCI archive: {e}") from e
        self._members = {m.name.lstrip("./"): m for m in self._tar.getmembers()}

    def close(self) -> None:
        self._tar.close()

    def __enter__(self) -> "OciArchive":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def read(self, name: str) -> bytes:
        m = self._members.get(name)
        if m is None:
            raise ArchiveError(f"{self.path}: {name} is missing")
        return self._tar.extractfile(m).read()

    def open_blob(self, digest: str):
        m = self._members.get(_blob_name(digest))
        if m is None:
            raise ArchiveError(f"{self.path}: blob {digest} is missing")
        return self._tar.extractfile(m)

    def blob(self, digest: str) -> bytes:
        return self.open_blob(digest).read()

    def images(self) -> list[ArchivedImage]:
        try:
            index = json.loads(self.read("index.json"))
        except ValueError as e:
            raise ArchiveError(f"{self.path}: index.json is not JSON") from e
        out = []
        for desc in index.get("manifests", []):
            if desc.get("mediaType") not in MANIFEST_TYPES:
                continue
            ref = (desc.get("annotations") or {}).get(REF_ANNOTATION)
            out.append(ArchivedImage([ref] if ref else [], desc["digest"], self.blob(desc["digest"])))
        return out
