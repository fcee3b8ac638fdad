"""Build the OCI runtime spec (config.json) for one pod container, in process.

Follows node-stack.md section 8: Docker's 14 default capabilities, hostname = pod
name, the pod's network namespace by path (and another container's PID namespace for an
ephemeral container with a target; the node's PID/IPC namespaces for hostPID/hostIPC), /etc/hosts and /etc/resolv.conf bind mounted read-only
from the pod directory, volumes as bind mounts, no terminal.
"""
from __future__ import annotations

from .base import ContainerConfig, Sandbox
from .cgroups import resources

DEFAULT_CAPS = tuple("CAP_" + c for c in (
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
    "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE"))

BASE_MOUNTS = (
    {"destination": "/proc", "type": "proc", "source": "proc"},
    {"destination": "/dev", "type": "tmpfs", "source": "tmpfs",
     "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
    {"destination": "/dev/pts", "type": "devpts", "source": "devpts",
     "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"]},
    {"destination": "/dev/shm", "type": "tmpfs", "source": "shm",
     "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
    {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs",
     "options": ["nosuid", "noexec", "nodev", "ro"]},
)
ALL_CAPS = tuple("CAP_" + c for c in (      # in capability-number order (bit i = ALL_CAPS[i])
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID", "SETUID", "SETPCAP",
    "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "IPC_OWNER",
    "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE", "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE",
    "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ", "PERFMON", "BPF",
    "CHECKPOINT_RESTORE"))


def bounding_set() -> int:
    """Our own capability bounding set (a container cannot get capabilities outside it)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("CapBnd:"):
                    return int(line.split()[1], 16)
    except (OSError, ValueError):
        pass
    return (1 << len(ALL_CAPS)) - 1


MASKED = ("/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
          "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware")
READONLY = ("/proc/asound", "/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")


def build_spec(cfg: ContainerConfig, sandbox: Sandbox, cgroups_path: str | None = None,
               nofile: int = 1024, bounding: int | None = None) -> dict:
    """config.json as a dict. ``cgroups_path`` None means no cgroup (crun's manager disabled)."""
    caps = list(cfg.capabilities) if cfg.capabilities is not None else list(DEFAULT_CAPS)
    if cfg.privileged:
        caps = list(ALL_CAPS)
    bounding = (1 << len(ALL_CAPS)) - 1 if bounding is None else bounding
    caps = [c for c in caps if c not in ALL_CAPS or bounding >> ALL_CAPS.index(c) & 1]
    env = list(cfg.env)
    if not any(e.startswith("HOSTNAME=") for e in env):
        env.append(f"HOSTNAME={sandbox.hostname or sandbox.name}")
    if not any(e.startswith("HOME=") for e in env):
        env.append("HOME=/root" if cfg.user[0] == 0 else "HOME=/")
    mounts = [dict(m) for m in BASE_MOUNTS]
    if cgroups_path is not None:
        mounts.append({"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup",
                       "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]})
    if sandbox.pod_dir:
        for name in ("hosts", "resolv.conf", "hostname"):
            mounts.append({"destination": f"/etc/{name}", "type": "bind",
                           "source": f"{sandbox.pod_dir}/{name}", "options": ["rbind", "ro"]})
    for m in cfg.mounts:
        mounts.append({"destination": m["destination"], "type": "bind", "source": m["source"],
                       "options": ["rbind", "ro" if m.get("readonly") else "rw"]})
    namespaces: list = []
    if cfg.pid_namespace:
        namespaces.append({"type": "pid", "path": cfg.pid_namespace})
    elif not cfg.host_pid:              # hostPID: the node's PID namespace (kubectl debug node/...)
        namespaces.append({"type": "pid"})
    if not cfg.host_ipc:
        namespaces.append({"type": "ipc"})
    namespaces += [{"type": "uts"}, {"type": "mount"}]
    if not sandbox.host_network:        # hostNetwork: share the node's network namespace
        namespaces.append({"type": "network", "path": sandbox.netns} if sandbox.netns else {"type": "network"})
    linux: dict = {"namespaces": namespaces}
    if not cfg.privileged:
        linux.update(maskedPaths=list(MASKED), readonlyPaths=list(READONLY))
    if cgroups_path is not None:
        linux["cgroupsPath"] = cgroups_path
        linux["resources"] = resources(cfg.memory_limit, cfg.cpu_quota, cfg.cpu_shares)
    return {
        "ociVersion": "1.0.2",
        "process": {
            "terminal": bool(cfg.tty),
            "user": {"uid": int(cfg.user[0]), "gid": int(cfg.user[1])},
            "args": list(cfg.args),
            "env": env,
            "cwd": cfg.working_dir or "/",
            "capabilities": {k: list(caps) for k in ("bounding", "effective", "permitted")},
            "rlimits": [{"type": "RLIMIT_NOFILE", "hard": int(nofile), "soft": int(nofile)}],
            "noNewPrivileges": bool(cfg.no_new_privileges) and not cfg.privileged,
        },
        "root": {"path": "rootfs", "readonly": bool(cfg.readonly_rootfs)},
        "hostname": sandbox.hostname or sandbox.name,
        "mounts": mounts,
        "annotations": {"io.kubernetes.pod.uid": sandbox.uid, "io.kubernetes.pod.name": sandbox.name,
                        "io.kubernetes.pod.namespace": sandbox.namespace,
                        "io.kubernetes.container.name": cfg.name,
                        "org.opencontainers.image.stopSignal": cfg.stop_signal},
        "linux": linux,
    }
