"""`labctl box build`: a Debian 12 Vagrant box for libvirt, built offline from debootstrap.

No box can be downloaded on the build machines, so labctl makes its own: debootstrap
from the host's Debian mirror, the guest configured for Vagrant (providers/vagrant/rootfs.py),
labkube's virtualenv and the lab images pre-installed (site.yml then finds them in place:
nothing to pip-install under emulation), one ext4 filesystem as the whole disk
(mkfs.ext4 -d: no loop device, no mount), a compressed qcow2, and the kernel + initrd beside it for direct kernel boot under QEMU.
The box is registered with `vagrant box add`; `labctl up` builds it when it is missing.
"""
from __future__ import annotations

import glob
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import LabError
from .providers.vagrant import rootfs as guest
from .providers.vagrant.env import DEFAULT_BOX, ensure_vagrant_home, vagrant_env, vagrant_home

FALLBACK_MIRROR = "http://deb.debian.org/debian"
INSECURE_KEY_GLOB = "/usr/share/rubygems-integration/all/gems/vagrant-*/keys/vagrant.pub"

# What the project's Vagrantfile may rely on in the box; raised when that changes, so
# `labctl up` rebuilds a box built before (format 2: the VMs read their name, lab address,
# routes and lab key from the kernel command line, labctl-node-setup.service).
BOX_FORMAT = 2
BOX_FORMAT_LINE = f"# labctl box format {BOX_FORMAT}"

BOX_VAGRANTFILE = BOX_FORMAT_LINE + """
# The labctl Debian 12 box: direct kernel boot under QEMU (no KVM needed).
Vagrant.configure("2") do |config|
  config.vm.synced_folder ".", "/vagrant", disabled: true
  config.vm.provider :libvirt do |lv|
    lv.driver = "qemu"
    lv.kernel = File.join(__dir__, "vmlinuz")
    lv.initrd = File.join(__dir__, "initrd.img")
    lv.cmd_line = "%s"
  end
end
"""


@dataclass
class BoxConfig:
    name: str = DEFAULT_BOX
    suite: str = "bookworm"
    mirror: str = ""                      # empty: the host's Debian mirror
    work_dir: Path | None = None          # None: <labctl cache>/box
    disk_gib: int = 8
    packages: list[str] = field(default_factory=lambda: list(guest.PACKAGES))
    preinstall: bool = True               # labkube's virtualenv and the lab images in the box

    def __post_init__(self):
        if self.work_dir is None:
            from .artifacts import cache_dir
            self.work_dir = cache_dir() / "box"
        self.work_dir = Path(self.work_dir).resolve()

    @property
    def box_file(self) -> Path:
        return self.work_dir / f"{self.name}.box"

    @property
    def deb_cache(self) -> Path:
        """Downloaded .debs, kept between builds (debootstrap --cache-dir)."""
        return self.work_dir.parent / "debootstrap-debs"


TREE_MIN_FREE = 3 << 30                  # bytes a tmpfs needs free to hold the tree


def tree_parent(work_dir: Path, candidates=("/dev/shm",), statvfs=os.statvfs) -> Path:
    """Where debootstrap builds the root filesystem: a tmpfs with room when there is one
    (dpkg syncs every file it unpacks, which on a busy disk is most of the build), else
    the work directory."""
    for c in candidates:
        try:
            st = statvfs(c)
        except OSError:
            continue
        if st.f_bavail * st.f_frsize >= TREE_MIN_FREE:
            return Path(c)
    return work_dir


def host_mirror(sources: list[str] | None = None) -> str:
    """The Debian mirror the host's apt uses (deb822 or one-line sources), else the fallback."""
    if sources is None:
        paths = ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*"))]
        sources = [Path(p).read_text(errors="replace") for p in paths if Path(p).is_file()]
    for text in sources:
        for m in re.finditer(r"^(?:URIs:\s*|deb\s+(?:\[[^\]]*\]\s+)?)(\S+)", text, re.M):
            uri = m.group(1).rstrip("/")
            if uri.endswith("/debian"):
                return uri
    return FALLBACK_MIRROR


def insecure_public_key() -> str:
    found = sorted(glob.glob(INSECURE_KEY_GLOB))
    if not found:
        raise LabError("the Vagrant insecure key was not found (is the vagrant package installed? "
                       "run scripts/host-setup-vagrant.sh)")
    return Path(found[-1]).read_text()


def debootstrap_command(cfg: BoxConfig, target: Path) -> list[str]:
    return ["debootstrap", "--variant=minbase", f"--cache-dir={cfg.deb_cache}",
            "--include=" + ",".join(cfg.packages),
            cfg.suite, str(target), cfg.mirror or host_mirror()]


def disk_commands(cfg: BoxConfig, tree: Path, out: Path) -> list[list[str]]:
    """Make out/box.img from the tree with no loop device: ext4 as the whole disk."""
    raw = out / "root.raw"
    return [["truncate", "-s", f"{cfg.disk_gib}G", str(raw)],
            ["mkfs.ext4", "-q", "-F", "-L", "root", "-d", str(tree), str(raw)],
            # zstd: the same size as qcow2's default zlib, about 5x faster to compress
            ["qemu-img", "convert", "-O", "qcow2", "-c", "-o", "compression_type=zstd",
             str(raw), str(out / "box.img")],
            ["rm", "-f", str(raw)]]


def box_metadata(cfg: BoxConfig) -> dict:
    return {"provider": "libvirt", "format": "qcow2", "virtual_size": cfg.disk_gib}


def box_add_command(cfg: BoxConfig) -> list[str]:
    return ["vagrant", "box", "add", "--force", "--name", cfg.name, str(cfg.box_file.resolve())]


def box_installed(name: str = DEFAULT_BOX) -> bool:
    res = subprocess.run(["vagrant", "box", "list", "--machine-readable"], env=vagrant_env(),
                         capture_output=True, text=True, cwd=ensure_vagrant_home())
    return any(line.split(",")[2:4] == ["box-name", name] for line in res.stdout.splitlines()
               if line.count(",") >= 3)


def box_current(name: str = DEFAULT_BOX, home: Path | None = None) -> bool:
    """True when the installed box (libvirt) was built in the current box format."""
    for vf in (home or vagrant_home()).glob(f"boxes/{name}/*/libvirt/Vagrantfile"):
        if BOX_FORMAT_LINE in vf.read_text(errors="replace").splitlines():
            return True
    return False


# debootstrap's environment reaches the packages' scripts in the tree: INITRD=No stops the
# kernel package's hook from making an initrd with every module (MODULES=most), which
# configure() replaces at once by the small one (MODULES=list): one mkinitramfs, not two
DEBOOTSTRAP_ENV = {"INITRD": "No"}


def _run(cmd: list[str], log, env: dict | None = None) -> None:
    log("  $ " + " ".join(cmd))
    # cwd outside the project: Vagrant would make a .vagrant/ beside the Vagrantfile
    res = subprocess.run(cmd, capture_output=True, text=True, env=vagrant_env(env), cwd=ensure_vagrant_home())
    if res.returncode != 0:
        tail = (res.stderr.strip() or res.stdout.strip()).splitlines()[-1:] or ["no output"]
        raise LabError(f"box build: {cmd[0]} failed: {tail[0]}")


def build_box(cfg: BoxConfig | None = None, log=print) -> dict:
    """Build and register the box; returns timings in seconds per stage."""
    cfg = cfg or BoxConfig()
    for tool in ("debootstrap", "mkfs.ext4", "qemu-img", "vagrant", "chroot"):
        if not shutil.which(tool):
            raise LabError(f"box build: {tool} is missing; run scripts/host-setup-vagrant.sh as root")
    pubkey = insecure_public_key()
    ensure_vagrant_home()
    work = cfg.work_dir
    shutil.rmtree(work, ignore_errors=True)
    out = work / "box"
    tree = Path(tempfile.mkdtemp(prefix=f"labctl-{cfg.name}-", dir=tree_parent(work))) / "rootfs"
    try:
        return _build(cfg, pubkey, tree, out, log)
    finally:
        shutil.rmtree(tree.parent, ignore_errors=True)   # on a tmpfs: memory


def _build(cfg: BoxConfig, pubkey: str, tree: Path, out: Path, log) -> dict:
    out.mkdir(parents=True)
    cfg.deb_cache.mkdir(parents=True, exist_ok=True)
    times, t = {}, time.monotonic()
    _run(debootstrap_command(cfg, tree), log, DEBOOTSTRAP_ENV)
    times["debootstrap_s"], t = time.monotonic() - t, time.monotonic()
    try:
        guest.configure(tree, pubkey, log=log)
    except RuntimeError as exc:
        raise LabError(f"box build: {exc}")
    times["configure_s"], t = time.monotonic() - t, time.monotonic()
    if cfg.preinstall:
        from . import artifacts
        try:
            guest.preinstall(tree, artifacts.wheelhouse(), artifacts.uv_binary(), artifacts.images(), log=log)
        except RuntimeError as exc:
            raise LabError(f"box build: {exc}")
        times["preinstall_s"], t = time.monotonic() - t, time.monotonic()
    for cmd in disk_commands(cfg, tree, out):
        _run(cmd, log)
    shutil.copy(max(tree.glob("boot/vmlinuz-*")), out / "vmlinuz")
    shutil.copy(max(tree.glob("boot/initrd.img-*")), out / "initrd.img")
    (out / "metadata.json").write_text(json.dumps(box_metadata(cfg)))
    (out / "Vagrantfile").write_text(BOX_VAGRANTFILE % guest.KERNEL_CMDLINE)
    _run(["tar", "-C", str(out), "-cf", str(cfg.box_file), "metadata.json", "Vagrantfile",
          "box.img", "vmlinuz", "initrd.img"], log)
    times["disk_s"], t = time.monotonic() - t, time.monotonic()
    _run(box_add_command(cfg), log)
    times["box_add_s"] = time.monotonic() - t
    shutil.rmtree(out)
    return times


def ensure_box(name: str = DEFAULT_BOX, work_dir: Path | None = None, log=print) -> dict | None:
    """Build the box when Vagrant does not know it yet or it is of an older format (its
    VMs would not get their lab settings); None when it was already there."""
    if box_installed(name) and box_current(name):
        return None
    cfg = BoxConfig(name=name, work_dir=work_dir)
    return build_box(cfg, log=log)
