#!/bin/bash
# Prepare a Debian host to run the vagrant provider: Vagrant + vagrant-libvirt, the
# libvirt daemons, QEMU and debootstrap (for `labctl box build`). Starts virtlogd and
# libvirtd by hand when systemd is not PID 1. Idempotent; every failure is one line.
# See /work/shared/reference/vagrant-offline.md for why each step is here.
set -euo pipefail

die() { echo "host-setup-vagrant: $*" >&2; exit 2; }
NICE=${LABCTL_VM_NICE:-10}   # CPU priority of libvirtd and its VMs (nice value)

[ "$(id -u)" = 0 ] || die "run as root (apt-get, libvirt daemons)"
[ "$(uname -m)" = x86_64 ] || die "only x86_64 hosts are supported (found $(uname -m))"
command -v apt-get >/dev/null || die "not a Debian host (no apt-get); install vagrant, vagrant-libvirt, libvirt and qemu by hand"

PACKAGES="vagrant vagrant-libvirt libvirt-daemon-system libvirt-clients qemu-system-x86 qemu-utils
  debootstrap dnsmasq-base iptables ebtables openssh-client rsync e2fsprogs"
missing=""
for p in $PACKAGES; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "host-setup-vagrant: installing$missing"
  apt-get update -qq || die "apt-get update failed: no package mirror reachable"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null \
    || die "apt-get install failed for:$missing"
fi

# /dev/kvm: with 0600 root:root libvirt re-probes QEMU on every call (50 s per define).
if [ -e /dev/kvm ]; then
  mode=$(stat -c '%a %G' /dev/kvm)
  if [ "$mode" != "660 kvm" ] && getent group kvm >/dev/null; then
    chgrp kvm /dev/kvm && chmod 0660 /dev/kvm
  fi
fi

# The daemons: by systemd when it runs, else by hand (idempotent).
if [ "$(ps -o comm= -p 1)" = systemd ]; then
  systemctl start virtlogd libvirtd || die "systemctl could not start libvirtd"
else
  # at a lower CPU priority: the VMs (qemu, children of libvirtd) inherit it, so other
  # work on a shared host (netns labs, tests) keeps its share under emulation; with only
  # stdin/out/err open, so a daemon does not keep a lock its caller held (e.g. the lab lock of
  # `flock /run/lock/labctl-lab.lock make test-vagrant`) for as long as it runs
  daemon() {
    ( for fd in /proc/self/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-"; done
      exec nice -n "$NICE" "$@" )
  }
  pgrep -x virtlogd >/dev/null || daemon virtlogd -d || die "virtlogd did not start"
  pgrep -x libvirtd >/dev/null || daemon libvirtd -d || die "libvirtd did not start"
fi
# a libvirtd started earlier at normal priority: lower it and its running VMs
for pid in $(pgrep -x libvirtd) $(pgrep -f '^/usr/bin/qemu-system-x86_64 .*guest=labctl-'); do
  [ "$(ps -o ni= -p "$pid" | tr -d ' ')" -ge "$NICE" ] 2>/dev/null || renice -n "$NICE" -p "$pid" >/dev/null || true
done
for _ in $(seq 50); do virsh -q -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.2; done
virsh -q -c qemu:///system version >/dev/null 2>&1 || die "libvirtd does not answer on qemu:///system"

# QEMU with a smaller TCG translation cache (1 GiB -> 256 MiB of host RAM per VM).
WRAP=/usr/local/bin/qemu-system-x86_64-tcg
if [ ! -x "$WRAP" ]; then
  cat > "$WRAP" <<'WRAPPER'
#!/bin/sh
# Installed by labctl: libvirt's "-accel tcg" becomes "-accel tcg,tb-size=N" (MiB).
TB=${QEMU_TB_SIZE_MIB:-256}; prev=
for a in "$@"; do shift
  if [ "$prev" = "-accel" ] && [ "$a" = "tcg" ]; then a="tcg,tb-size=$TB"; fi
  set -- "$@" "$a"; prev=$a
done
exec /usr/bin/qemu-system-x86_64 "$@"
WRAPPER
  chmod 755 "$WRAP"
fi

vagrant plugin list 2>/dev/null | grep -q vagrant-libvirt || die "the vagrant-libvirt plugin is not registered with vagrant"
echo "host-setup-vagrant: ready (vagrant $(vagrant --version | awk '{print $2}'), libvirtd running)"
