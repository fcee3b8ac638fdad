"""The libvirt objects of one VM lab, found and removed by name (virsh).

Everything the lab makes in libvirt carries the prefix `labctl-<lab>-`: domains
(`labctl-<lab>-<node>`), the management and lab networks (`...mgmt`, `...net`) and the
lab's storage pool (`...pool`, base box volume + one overlay per VM). `vagrant destroy`
removes domains, overlays and networks; `remove_leftovers` removes whatever remains,
so that `labctl down` leaves nothing even after a failed or interrupted `up`.
"""
from __future__ import annotations

import subprocess
import time
from pathlib import Path

from .env import LIBVIRT_URI


def virsh(*args: str, check: bool = False) -> subprocess.CompletedProcess:
    res = subprocess.run(["virsh", "-q", "-c", LIBVIRT_URI, *args], capture_output=True, text=True)
    if check and res.returncode != 0:
        raise RuntimeError(f"virsh {' '.join(args)}: {res.stderr.strip()}")
    return res


def _names(*args: str) -> list[str]:
    res = virsh(*args)
    return [line.strip() for line in res.stdout.splitlines() if line.strip()] if res.returncode == 0 else []


def prefix(lab: str) -> str:
    return f"labctl-{lab}-"


def pool_name(lab: str) -> str:
    return prefix(lab) + "pool"


def domains(lab: str) -> list[str]:
    return [d for d in _names("list", "--all", "--name") if d.startswith(prefix(lab))]


def networks(lab: str) -> list[str]:
    return [n for n in _names("net-list", "--all", "--name") if n.startswith(prefix(lab))]


def pools(lab: str) -> list[str]:
    return [p for p in _names("pool-list", "--all", "--name") if p.startswith(prefix(lab))]


def volumes(pool: str) -> list[str]:
    """Volume names of a pool (`vol-list` prints `name path` rows)."""
    return [line.split()[0] for line in _names("vol-list", pool)]


def power_off(lab: str) -> list[str]:
    """Pull the plug on the lab's running VMs (throwaway machines: no graceful shutdown)."""
    running = [d for d in _names("list", "--name") if d.startswith(prefix(lab))]
    for dom in running:
        virsh("destroy", dom)
    return running


def state(domain: str) -> str:
    """libvirt's state of one domain (`running`, `shut off`, ...); empty when it is unknown."""
    res = virsh("domstate", domain)
    return res.stdout.strip() if res.returncode == 0 else ""


def shut_down(domain: str, request, timeout: float = 180, poll: float = 1.0,
              clock=time.monotonic, sleep=time.sleep) -> str:
    """Halt one VM: request() asks the guest to power off and returns at once (whether
    it could ask does not matter: the wait decides), then wait until libvirt reports the
    domain shut off; after `timeout` seconds pull the plug. "graceful" or "forced".

    Used instead of `vagrant halt`, whose graceful halt runs `shutdown` in an SSH session
    and waits for that session to end: when the VM powers off before the session's TCP
    connection is closed, Vagrant waits on the dead connection for good (seen in the VM
    test tier). libvirt's own `virsh shutdown` sends an ACPI power-button press, which
    nothing in the box handles (no logind)."""
    if state(domain) == "shut off":
        return "graceful"
    request()
    deadline = clock() + timeout
    while clock() < deadline:
        if state(domain) == "shut off":
            return "graceful"
        sleep(poll)
    virsh("destroy", domain)
    return "forced"


def traversable(path: Path) -> None:
    """o+x on path and every parent: QEMU (user libvirt-qemu) opens the images by path.
    Checked before every VM start, not only at creation: a parent's mode can change
    while the lab lives (pytest, for one, resets its /tmp/pytest-of-<user> to 0700)."""
    for d in [path, *path.parents]:
        if d == Path("/"):
            break
        mode = d.stat().st_mode
        if not mode & 0o001:
            d.chmod(mode | 0o001)


def ensure_pool(lab: str, path: Path) -> bool:
    """A directory pool for the lab's volumes, reachable by QEMU; True when it was created now."""
    name = pool_name(lab)
    path.mkdir(parents=True, exist_ok=True)
    traversable(path)
    if name in pools(lab):
        virsh("pool-start", name)          # no-op error when already active
        return False
    virsh("pool-define-as", name, "dir", "--target", str(path), check=True)
    virsh("pool-start", name, check=True)
    return True


def remove_leftovers(lab: str) -> list[str]:
    """Remove every libvirt object of the lab; one line per thing removed."""
    removed = []
    for dom in domains(lab):
        virsh("destroy", dom)
        virsh("undefine", dom, "--remove-all-storage", "--nvram")
        if dom not in domains(lab):
            removed.append(f"removed VM {dom}")
    for net in networks(lab):
        virsh("net-destroy", net)
        virsh("net-undefine", net)
        removed.append(f"removed network {net}")
    for pool in pools(lab):
        virsh("pool-start", pool)
        for vol in volumes(pool):
            virsh("vol-delete", "--pool", pool, vol)
            removed.append(f"removed volume {vol}")
        virsh("pool-destroy", pool)
        virsh("pool-delete", pool)
        virsh("pool-undefine", pool)
        removed.append(f"removed storage pool {pool}")
    return removed


def leftovers(lab: str) -> list[str]:
    """What of the lab is still in libvirt (empty after a clean `down`)."""
    found = [f"domain {d}" for d in domains(lab)] + [f"network {n}" for n in networks(lab)]
    found += [f"pool {p}" for p in pools(lab)]
    return found


GUARD_METRIC = "4000"


def guard_routes(cidrs: list[str], on: bool) -> None:
    """While the lab is down its ranges are `unreachable` on the host (never sent to the
    default gateway). libvirt refuses to start a network whose range has any route
    ("Network is already in use by interface *"), so the guards are lifted for `vagrant
    up` and put back once the lab's bridges (with their own, preferred routes) exist."""
    for cidr in cidrs:
        subprocess.run(["ip", "route", "replace" if on else "del", "unreachable", cidr,
                        "metric", GUARD_METRIC], capture_output=True)
