"""A root filesystem described in memory and rendered as a deterministic layer tar.

Entries are directories, regular files (bytes, or a host path read when rendering) and
symlinks. Rendering sorts by path, uses PAX format, uid/gid 0, mtime 0 and no user or
group names, so identical input gives an identical tar (and layer digest).
"""
from __future__ import annotations

import io
import os
import tarfile
from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    kind: str                 # "dir" | "file" | "symlink"
    mode: int = 0o755
    data: bytes | None = None  # file content, or None with `source`
    source: str | None = None  # host path to read file content from
    target: str | None = None  # symlink target


def _clean(path: str) -> str:
    p = os.path.normpath("/" + path).lstrip("/")
    if not p or p == ".":
        raise ValueError(f"invalid rootfs path {path!r}")
    return p


class Rootfs:
    """Build up a tree; parents of every entry are created as 0755 directories."""

    def __init__(self) -> None:
        self.entries: dict[str, Entry] = {}

    def _parents(self, path: str) -> None:
        parts = path.split("/")[:-1]
        for i in range(1, len(parts) + 1):
            parent = "/".join(parts[:i])
            if parent not in self.entries:
                self.entries[parent] = Entry("dir", 0o755)

    def mkdir(self, path: str, mode: int = 0o755) -> "Rootfs":
        p = _clean(path)
        self._parents(p)
        self.entries[p] = Entry("dir", mode)
        return self

    def add_bytes(self, path: str, data: bytes | str, mode: int = 0o644) -> "Rootfs":
        p = _clean(path)
        self._parents(p)
        self.entries[p] = Entry("file", mode, data=data.encode() if isinstance(data, str) else data)
        return self

    def add_file(self, path: str, source: str, mode: int | None = None) -> "Rootfs":
        """Copy a host file (symlinks followed); mode defaults to the host file's mode."""
        p = _clean(path)
        if not os.path.isfile(source):
            raise FileNotFoundError(f"image input {source} is missing")
        self._parents(p)
        self.entries[p] = Entry("file", mode if mode is not None else os.stat(source).st_mode & 0o7777,
                                source=source)
        return self

    def symlink(self, path: str, target: str) -> "Rootfs":
        p = _clean(path)
        self._parents(p)
        self.entries[p] = Entry("symlink", 0o777, target=target)
        return self

    def render(self) -> bytes:
        """The layer as an uncompressed, deterministic tar."""
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
            for path in sorted(self.entries):
                e = self.entries[path]
                info = tarfile.TarInfo(path)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mtime = 0
                info.mode = e.mode
                if e.kind == "dir":
                    info.type = tarfile.DIRTYPE
                    tar.addfile(info)
                elif e.kind == "symlink":
                    info.type = tarfile.SYMTYPE
                    info.linkname = e.target or ""
                    tar.addfile(info)
                else:
                    data = e.data
                    if data is None:
                        with open(e.source, "rb") as f:
                            data = f.read()
                    info.size = len(data)
                    tar.addfile(info, io.BytesIO(data))
        return buf.getvalue()
