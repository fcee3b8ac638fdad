"""The environment labctl runs Vagrant in, shared by the box builder and the provider.

VAGRANT_HOME must be traversable by the libvirt-qemu user, because QEMU opens the box's
kernel and initrd from there (direct kernel boot); root's ~/.vagrant.d (mode 0700) is
not. So labctl keeps its own under /var/lib/labctl unless VAGRANT_HOME is set.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

DEFAULT_VAGRANT_HOME = Path("/var/lib/labctl/vagrant.d")
DEFAULT_BOX = "labctl-debian12"
LIBVIRT_URI = "qemu:///system"


def vagrant_home() -> Path:
    return Path(os.environ.get("VAGRANT_HOME") or DEFAULT_VAGRANT_HOME)


def ensure_vagrant_home() -> Path:
    """Create VAGRANT_HOME with o+x on it and every parent (for libvirt-qemu)."""
    home = vagrant_home()
    home.mkdir(parents=True, exist_ok=True)
    for d in [home, *home.parents]:
        if d == Path("/"):
            break
        mode = d.stat().st_mode
        if not mode & 0o001:
            os.chmod(d, mode | 0o001)
    return home


def vagrant_env(extra: dict | None = None) -> dict:
    """os.environ plus what every Vagrant call of labctl needs."""
    env = dict(os.environ)
    env.update(VAGRANT_HOME=str(vagrant_home()), VAGRANT_DEFAULT_PROVIDER="libvirt",
               VAGRANT_CHECKPOINT_DISABLE="1", LIBVIRT_DEFAULT_URI=LIBVIRT_URI)
    env.update(extra or {})
    return env


def missing_tools(libvirt: bool = True) -> list[str]:
    """Host tools the vagrant provider needs that are not installed."""
    tools = ("vagrant", "virsh", "qemu-system-x86_64", "qemu-img") if libvirt else ("vagrant", "VBoxManage")
    return [t for t in tools if not shutil.which(t)]


def host_problem(libvirt: bool = True) -> str | None:
    """One line saying why this host cannot run the lab's VMs, or None."""
    missing = missing_tools(libvirt)
    if missing and not libvirt:
        return f"{', '.join(missing)} not installed: install Vagrant and VirtualBox"
    if missing:
        return (f"{', '.join(missing)} not installed: run `make up PROVIDER=vagrant` "
                f"(or scripts/host-setup-vagrant.sh) as root")
    if not libvirt:
        return None
    import subprocess
    res = subprocess.run(["virsh", "-q", "-c", LIBVIRT_URI, "version"], capture_output=True, text=True)
    if res.returncode != 0:
        return "libvirtd does not answer on qemu:///system: run scripts/host-setup-vagrant.sh as root"
    return None
