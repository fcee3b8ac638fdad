"""Mounts the kubelet makes in the node (mount(2) through ctypes): per-container overlays
over an image's unpacked rootfs, and tmpfs for memory-backed emptyDir volumes."""
from __future__ import annotations

import ctypes
import os

MNT_DETACH = 2
_libc = ctypes.CDLL(None, use_errno=True)


class MountError(OSError):
    pass


def overlay_options(lower: str, upper: str, work: str) -> str:
    for p in (lower, upper, work):
        if any(c in p for c in ",:"):
            raise MountError(f"overlay path {p!r} must not contain ',' or ':'")
    return f"lowerdir={lower},upperdir={upper},workdir={work}"


def mount_overlay(lower: str, bundle: str) -> str:
    """Mount ``bundle``/rootfs = lower + bundle/upper (writes) and return the rootfs path."""
    upper, work, target = (os.path.join(bundle, d) for d in ("upper", "work", "rootfs"))
    for d in (upper, work, target):
        os.makedirs(d, exist_ok=True)
    if os.path.ismount(target):
        return target
    opts = overlay_options(lower, upper, work).encode()
    if _libc.mount(b"overlay", target.encode(), b"overlay", 0, opts) != 0:
        err = ctypes.get_errno()
        raise MountError(err, f"mount overlay on {target}: {os.strerror(err)}")
    return target


def mount_tmpfs(target: str, options: str) -> None:
    """A tmpfs on ``target`` (emptyDir with medium Memory)."""
    if _libc.mount(b"tmpfs", target.encode(), b"tmpfs", 0, options.encode()) != 0:
        err = ctypes.get_errno()
        raise MountError(err, f"mount tmpfs on {target}: {os.strerror(err)}")


def unmount(target: str) -> None:
    """Lazily unmount ``target`` if it is a mount point."""
    if os.path.ismount(target):
        if _libc.umount2(target.encode(), MNT_DETACH) != 0:
            err = ctypes.get_errno()
            raise MountError(err, f"umount {target}: {os.strerror(err)}")
