"""What goes into the Debian 12 box's root filesystem, beyond what debootstrap installs.

Pure data and command lists (no I/O apart from `configure`), so the box build can be
checked without root. Every item comes from trials on the build machines
(/work/shared/reference/vagrant-offline.md): an empty machine-id so each VM gets its own
DHCP identity, procps for Vagrant's systemd check, networkd with a DHCP file that sorts
after Vagrant's own, a host key made at first boot, a small initrd with virtio drivers.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

# The guest: boot and SSH, Python for the roles, and the node stack of the kubelet
# (crun, CNI plugins, iptables), because the VMs have no way to fetch packages later.
# No ca-certificates: the VMs reach nothing outside the lab and the lab has its own CA,
# and with the public bundle every ssl.create_default_context() parses its ~140
# certificates, which every labkube process does on import (aiohttp's connector):
# 1.7-1.9 s of emulated CPU each, 0.15 s with no bundle (measured on a VM master).
PACKAGES = [
    "systemd-sysv", "udev", "dbus", "linux-image-cloud-amd64", "initramfs-tools", "kmod",
    "openssh-server", "sudo", "python3", "python3-venv", "procps", "iproute2", "iputils-ping",
    "crun", "containernetworking-plugins", "iptables", "conntrack",
]

INITRD_MODULES = ["virtio_pci", "virtio_blk", "virtio_scsi", "sd_mod", "ahci", "virtio_net"]
# quiet: every console character is a trapped I/O write under emulation; no CPU
# vulnerability mitigations (each costs on every syscall, emulated); no fsck of the
# fresh root filesystem at boot, which is mounted read-write at once (no remount unit);
# no5lvl: libvirt's emulated EPYC has la57 and the kernel then pages with five levels
# (seen in a VM: mmap honours a hint at 1 << 50), one more level for every TLB refill
# QEMU's software MMU walks (no PCID there, so each context switch flushes its TLB)
KERNEL_CMDLINE = ("root=LABEL=root rw console=ttyS0 net.ifnames=0 biosdevname=0 quiet "
                  "mitigations=off fsck.mode=skip no5lvl")

HOSTKEY_DROPIN = """[Service]
ExecStartPre=
ExecStartPre=/bin/sh -c 'test -s /etc/ssh/ssh_host_ed25519_key || ssh-keygen -q -t ed25519 -N "" -f /etc/ssh/ssh_host_ed25519_key'
"""

# labkube's roles write units to /etc/labkube/units (the netns supervisor reads them
# there). On a VM systemd must see the same files: /usr/local/lib/systemd/system is in
# systemd's unit search path, so the box makes it a link to /etc/labkube/units. The
# `service` module runs `systemctl daemon-reload` when a unit's file is new or changed
# (no path unit reloading on every write: each reload reruns all generators, slow
# under emulation).
UNITS_LINK = ("usr/local/lib/systemd/system", "/etc/labkube/units")


# Under QEMU emulation on a busy host, early units (udevd above all) can need minutes:
# systemd's default 90 s start timeout would kill and restart them forever.
SYSTEM_CONF = "[Manager]\nDefaultTimeoutStartSec=15min\nDefaultTimeoutStopSec=30s\n"
# Units a lab VM does not need and that cost boot time under emulation (each unit
# started is seconds of emulated CPU). The system users exist from the packages'
# install, the root filesystem is checked by nobody and mounted read-write by the
# kernel, the VM has virtio-rng, and FUSE, loop, device-mapper, configfs, huge pages,
# POSIX message queues (containers mount their own) and network setup from the kernel
# command line are unused. Nobody logs in at a console (no getty on tty1 or the serial
# line, which only logs the boot) and nobody needs a login session: the box has no
# pam_systemd, so logind and user-sessions serve no one, yet under emulation they
# started between ssh.service and sshd's listen (logind 2 min at load ~10); utmp
# records and password agents go with them.
MASKED = ["getty.target", "systemd-logind.service", "systemd-user-sessions.service",
          "systemd-update-utmp.service", "systemd-update-utmp-runlevel.service",
          "systemd-ask-password-wall.path", "systemd-ask-password-console.path", "dpkg-db-backup.timer",
          "apt-daily.timer", "apt-daily-upgrade.timer", "e2scrub_all.timer", "e2scrub_reap.service",
          "fstrim.timer", "systemd-binfmt.service", "proc-sys-fs-binfmt_misc.automount",
          "proc-sys-fs-binfmt_misc.mount", "sys-kernel-debug.mount", "sys-kernel-tracing.mount",
          "systemd-pstore.service", "modprobe@drm.service", "modprobe@efi_pstore.service",
          "modprobe@dm_mod.service", "modprobe@fuse.service", "modprobe@loop.service",
          "modprobe@configfs.service", "sys-kernel-config.mount", "kmod-static-nodes.service",
          "dev-hugepages.mount", "dev-mqueue.mount", "systemd-network-generator.service",
          "systemd-sysusers.service", "systemd-random-seed.service", "systemd-fsck-root.service",
          "systemd-remount-fs.service"]

# Each libvirt VM learns who it is from its kernel command line, which the Vagrantfile
# gives every VM (direct kernel boot): labctl.node=NAME labctl.addr=ADDRESS/LEN
# labctl.route=CIDR,GATEWAY (one per other node's pod range) labctl.key=TYPE,BASE64 (the
# lab's SSH key). This unit applies it at every boot, before networkd and sshd start: no
# Vagrant provisioner, whose upload and SSH sessions cost tens of seconds per VM under
# emulation. The lab NIC is eth1 (net.ifnames=0: Vagrant's management NIC is eth0).
NODE_SETUP = "usr/local/sbin/labctl-node-setup"
NODE_SETUP_SCRIPT = r"""#!/bin/sh
# labctl: this VM's name, lab address, routes to the other nodes' pod ranges and root's
# SSH keys, from the kernel command line (labctl.node= labctl.addr= labctl.route=
# labctl.key=). Without labctl.node it changes nothing. LABCTL_CMDLINE and LABCTL_ROOT
# point it at another command line and root directory (tests).
set -eu
root=${LABCTL_ROOT:-}
name="" addr="" key="" routes=""
for w in $(cat "${LABCTL_CMDLINE:-/proc/cmdline}"); do
  case "$w" in
    labctl.node=*) name=${w#*=} ;;
    labctl.addr=*) addr=${w#*=} ;;
    labctl.route=*) routes="$routes ${w#*=}" ;;
    labctl.key=*) key=$(printf '%s' "${w#*=}" | tr , ' ') ;;
  esac
done
[ -n "$name" ] || exit 0
echo "$name" > "$root/etc/hostname"
[ -n "$root" ] || hostname "$name"
sed -i "s/^127\.0\.1\.1.*/127.0.1.1\t$name/" "$root/etc/hosts"
if [ -n "$addr" ]; then
  f="$root/etc/systemd/network/50-labctl-lab.network"
  {
    printf '[Match]\nName=eth1\n\n[Network]\nAddress=%s\n' "$addr"
    for r in $routes; do printf '\n[Route]\nDestination=%s\nGateway=%s\n' "${r%%,*}" "${r#*,}"; done
  } > "$f.tmp"
  mv "$f.tmp" "$f"
fi
install -d -m 700 "$root/root/.ssh"
cp "$root/home/vagrant/.ssh/authorized_keys" "$root/root/.ssh/authorized_keys"
if [ -n "$key" ]; then echo "$key" >> "$root/root/.ssh/authorized_keys"; fi
chmod 600 "$root/root/.ssh/authorized_keys"
"""
NODE_SETUP_UNIT = f"""[Unit]
Description=labctl: node name, lab address and SSH keys from the kernel command line
DefaultDependencies=no
After=local-fs.target
Before=sysinit.target systemd-networkd.service ssh.service shutdown.target
Conflicts=shutdown.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/{NODE_SETUP}

[Install]
WantedBy=sysinit.target
"""

# Vagrant's management NIC: DHCP for its address, nothing else from the lease. With
# UseHostname (the default) networkd handed the lease's host name to systemd-hostnamed,
# which D-Bus then started in the middle of the boot (7.4 s of emulated CPU on a master,
# beside sshd's start); no IPv6 on it either (no link-local address, no router wait).
MGMT_NETWORK = """[Match]
Name=eth0

[Network]
DHCP=ipv4
LinkLocalAddressing=no
IPv6AcceptRA=no

[DHCPv4]
UseHostname=no
UseDNS=no
UseNTP=no
UseDomains=no
"""

NOLOGIN_OVERRIDE = "# labctl: no /run/nologin at boot (systemd-user-sessions is masked)\n"


def files(vagrant_pubkey: str) -> dict[str, tuple[str, int]]:
    """Files to write into the tree: relative path -> (content, mode)."""
    return {
        "etc/hostname": ("debian12\n", 0o644),
        "etc/hosts": ("127.0.0.1\tlocalhost\n127.0.1.1\tdebian12\n", 0o644),
        "etc/fstab": ("LABEL=root\t/\text4\tdefaults\t0\t0\n", 0o644),
        "etc/resolv.conf": ("", 0o644),
        "etc/machine-id": ("", 0o444),
        "etc/systemd/network/99-dhcp.network": (MGMT_NETWORK, 0o644),
        "etc/systemd/system/ssh.service.d/hostkey.conf": (HOSTKEY_DROPIN, 0o644),
        "etc/ssh/sshd_config.d/vagrant.conf": ("UseDNS no\n", 0o644),
        "etc/sudoers.d/vagrant": ("vagrant ALL=(ALL) NOPASSWD:ALL\n", 0o440),
        "home/vagrant/.ssh/authorized_keys": (vagrant_pubkey, 0o600),
        "etc/systemd/system.conf.d/10-labctl-timeouts.conf": (SYSTEM_CONF, 0o644),
        "etc/sysctl.d/90-labkube.conf": ("net.ipv4.ip_forward = 1\n", 0o644),
        "etc/modules-load.d/labkube.conf": ("overlay\nbr_netfilter\n", 0o644),
        # systemd-user-sessions (masked) removes /run/nologin after boot; without it the
        # file tmpfiles creates would make pam_nologin refuse user vagrant: not made at all
        "etc/tmpfiles.d/systemd-nologin.conf": (NOLOGIN_OVERRIDE, 0o644),
        # udev would load KVM for the emulated CPU's flags: useless in a lab VM, slow to load
        "etc/modprobe.d/labctl-no-kvm.conf": ("blacklist kvm_amd\nblacklist kvm_intel\nblacklist kvm\n", 0o644),
        NODE_SETUP: (NODE_SETUP_SCRIPT, 0o755),
        "etc/systemd/system/labctl-node-setup.service": (NODE_SETUP_UNIT, 0o644),
        "etc/initramfs-tools/modules": ("\n".join(INITRD_MODULES) + "\n", 0o644),
    }


def chroot_commands() -> list[list[str]]:
    """Commands run inside the tree (chroot ROOTFS CMD...), in order."""
    return [
        ["systemctl", "enable", "systemd-networkd.service"],
        ["systemctl", "disable", "systemd-networkd-wait-online.service"],
        ["systemctl", "enable", "labctl-node-setup.service"],
        ["systemctl", "mask", *MASKED],
        ["useradd", "-m", "-s", "/bin/bash", "-U", "vagrant"],
        ["sh", "-c", "echo vagrant:vagrant | chpasswd"],
        ["chown", "-R", "vagrant:vagrant", "/home/vagrant"],
        ["sed", "-i", "s/^MODULES=.*/MODULES=list/", "/etc/initramfs-tools/initramfs.conf"],
        # -c: debootstrap made none (INITRD=No in its environment, see box.py)
        ["update-initramfs", "-c", "-k", "all"],
        ["apt-get", "clean"],
    ]


def chroot(rootfs: Path, cmd: list[str], env: dict, log=print) -> None:
    """Run cmd inside the tree; RuntimeError with the end of its output when it fails."""
    log("  chroot " + " ".join(cmd))
    res = subprocess.run(["chroot", str(rootfs), *cmd], env=env, capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(f"chroot {' '.join(cmd[:3])} failed: {(res.stderr or res.stdout).strip()[-300:]}")


def configure(rootfs: Path, vagrant_pubkey: str, log=print) -> None:
    """Turn a fresh debootstrap tree into the box's root filesystem (needs root)."""
    rootfs = Path(rootfs)
    for f in rootfs.glob("etc/ssh/ssh_host_*"):
        f.unlink()                      # each VM makes its own host key at first boot
    dbus_id = rootfs / "var/lib/dbus/machine-id"
    dbus_id.unlink(missing_ok=True)
    dbus_id.parent.mkdir(parents=True, exist_ok=True)
    dbus_id.symlink_to("/etc/machine-id")
    link, target = UNITS_LINK
    (rootfs / link).parent.mkdir(parents=True, exist_ok=True)
    if (rootfs / link).is_dir() and not (rootfs / link).is_symlink():
        (rootfs / link).rmdir()
    if not (rootfs / link).is_symlink():
        (rootfs / link).symlink_to(target)
    (rootfs / "home/vagrant").mkdir(parents=True, exist_ok=True)
    for rel, (content, mode) in files(vagrant_pubkey).items():
        path = rootfs / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)
        path.write_text(content)
        os.chmod(path, mode)
    os.chmod(rootfs / "home/vagrant/.ssh", 0o700)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LC_ALL="C")
    for cmd in chroot_commands():
        if cmd[0] == "useradd" and (rootfs / "etc/passwd").read_text().find("\nvagrant:") >= 0:
            continue
        chroot(rootfs, cmd, env, log)
    for junk in ("var/lib/apt/lists", "tmp"):
        for p in (rootfs / junk).glob("*"):
            if p.is_file() or p.is_symlink():
                p.unlink()
            elif p.is_dir():
                subprocess.run(["rm", "-rf", str(p)], check=True)


# What site.yml installs on every node, installed when the box is built instead (as kind's
# node image carries its binaries), natively on the host rather than under emulation in
# each VM: the wheelhouse, uv, the labkube virtualenv with every dependency compiled to
# bytecode, and the lab images (imported into the kubelet's image store too). The paths
# are the vagrant inventory's (kube_data_dir, kube_venv, wheelhouse_dir, the kubelet
# role's preload directory and image_dir): the roles find these files present and
# unchanged and skip the copies and the install. A labkube changed since the box was
# built is reinstalled by site.yml (only its own wheel: the dependencies are there), and
# an inventory with other paths gets everything from site.yml as on a bare box.
NODE_DATA_DIR = "/var/lib/labkube"
NODE_VENV = f"{NODE_DATA_DIR}/venv"
NODE_WHEELHOUSE = f"{NODE_DATA_DIR}/wheelhouse"
NODE_UV = f"{NODE_DATA_DIR}/bin/uv"
NODE_IMAGE_DIR = f"{NODE_DATA_DIR}/images"  # the kubelet's image_dir (roles/kubelet)
NODE_PRELOAD = f"{NODE_IMAGE_DIR}/preload"
UV_CACHE = "/tmp/labctl-uv-cache"          # removed again: the venv does not need it

# The kubelet imports every archive in preload/ into its image store (blobs, refs, one
# unpacked rootfs per image) before it registers the node. Done here, natively, the
# kubelet's first start in a VM finds the blobs and rootfs in place and only reads the
# archives' indexes, instead of hashing and unpacking the images under emulation on the
# node's Ready path. Exits non-zero when no image was imported.
IMPORT_IMAGES = ("import sys; from labkube.kubelet.images.store import ImageStore; "
                 "found = ImageStore(sys.argv[1]).import_preload(); print(*found); "
                 "sys.exit(0 if found else f'no image archive imported from {sys.argv[1]}/preload')")


def preinstall_commands() -> list[list[str]]:
    """Commands run inside the tree after the wheelhouse, uv and the images are in place, in order."""
    return [
        ["python3", "-m", "venv", "--without-pip", NODE_VENV],
        [NODE_UV, "pip", "install", "--quiet", "--offline", "--no-index", "--find-links", NODE_WHEELHOUSE,
         "--python", f"{NODE_VENV}/bin/python", "--compile-bytecode", "labctl"],
        [f"{NODE_VENV}/bin/python", "-c", IMPORT_IMAGES, NODE_IMAGE_DIR],
    ]


def preinstall(rootfs: Path, wheelhouse: Path, uv: Path, images: Path, log=print) -> None:
    """Put labkube, its virtualenv and the lab images into the tree (needs root)."""
    rootfs = Path(rootfs)
    for src, dest in ((wheelhouse, NODE_WHEELHOUSE), (images, NODE_PRELOAD)):
        target = rootfs / dest.lstrip("/")
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(src, target)     # every file, .digest too: the copy tasks compare them all
    (rootfs / NODE_UV.lstrip("/")).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(uv, rootfs / NODE_UV.lstrip("/"))
    os.chmod(rootfs / NODE_UV.lstrip("/"), 0o755)
    env = dict(os.environ, LC_ALL="C", UV_CACHE_DIR=UV_CACHE, UV_NO_CONFIG="1", HOME="/root")
    try:
        for cmd in preinstall_commands():
            chroot(rootfs, cmd, env, log)
    finally:
        shutil.rmtree(rootfs / UV_CACHE.lstrip("/"), ignore_errors=True)
