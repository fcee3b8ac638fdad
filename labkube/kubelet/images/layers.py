"""Apply OCI layer tars onto a directory: safe paths, whiteouts, ownership and modes.

Used once per image to build its unpacked rootfs (the lowerdir of every container's
overlay). Paths never escape the root: `..`, absolute names and writes through
symlinks that point outside are refused.
"""
from __future__ import annotations

import os
import shutil
import stat
import tarfile

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"


class LayerError(Exception):
    pass


def _target(root: str, name: str) -> str:
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if any(p == ".." for p in parts):
        raise LayerError(f"layer entry {name!r} escapes the root")
    return os.path.join(root, *parts) if parts else root


def _check_parent(root: str, path: str) -> None:
    parent = os.path.realpath(os.path.dirname(path))
    if parent != root and not parent.startswith(root + os.sep):
        raise LayerError(f"layer entry {path!r} would be written outside the rootfs")


def _remove(path: str) -> None:
    if os.path.islink(path) or not os.path.isdir(path):
        if os.path.lexists(path):
            os.unlink(path)
    else:
        shutil.rmtree(path)


def apply_layer(root: str, fileobj, chown: bool | None = None) -> int:
    """Apply one (optionally compressed) layer tar to ``root``; returns the entry count."""
    root = os.path.realpath(root)
    chown = (os.geteuid() == 0) if chown is None else chown
    dirs: list[tuple[str, tarfile.TarInfo]] = []
    n = 0
    with tarfile.open(fileobj=fileobj, mode="r:*") as tar:
        for m in tar:
            n += 1
            path = _target(root, m.name)
            if path == root:
                continue
            base = os.path.basename(path)
            _check_parent(root, path)
            if base == OPAQUE:
                d = os.path.dirname(path)
                for child in os.listdir(d) if os.path.isdir(d) else ():
                    _remove(os.path.join(d, child))
                continue
            if base.startswith(WHITEOUT):
                _remove(os.path.join(os.path.dirname(path), base[len(WHITEOUT):]))
                continue
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if os.path.lexists(path) and not (m.isdir() and os.path.isdir(path) and not os.path.islink(path)):
                _remove(path)
            if m.isdir():
                os.makedirs(path, exist_ok=True)
                dirs.append((path, m))
                continue
            if m.issym():
                os.symlink(m.linkname, path)
            elif m.islnk():
                src = _target(root, m.linkname)
                _check_parent(root, src)
                os.link(src, path)
                continue
            elif m.isreg():
                f = tar.extractfile(m)
                with open(path, "wb") as out:
                    shutil.copyfileobj(f, out)
            elif m.isfifo():
                os.mkfifo(path)
            elif m.ischr() or m.isblk():
                if not chown:
                    continue
                kind = stat.S_IFCHR if m.ischr() else stat.S_IFBLK
                os.mknod(path, kind | 0o600, os.makedev(m.devmajor, m.devminor))
            else:
                continue
            _finish(path, m, chown)
    for path, m in reversed(dirs):     # after children, so mtimes and modes stick
        _finish(path, m, chown)
    return n


def _finish(path: str, m: tarfile.TarInfo, chown: bool) -> None:
    if chown:
        os.lchown(path, m.uid, m.gid)
    if not m.issym():
        os.chmod(path, m.mode & 0o7777)
        os.utime(path, (m.mtime, m.mtime))
    else:
        os.utime(path, (m.mtime, m.mtime), follow_symlinks=False)
