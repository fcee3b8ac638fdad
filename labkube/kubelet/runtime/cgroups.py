"""cgroup v1 handling for crun (node-stack.md section 7).

The node's /sys/fs/cgroup is a private tmpfs; when the v1 hierarchies are mounted
there, crun's cgroupfs manager enforces limits and containers live under
`/labkube-<node>/pod<uid>/<container id>` in every hierarchy (no cgroup namespace, so
the node name keeps nodes apart). Otherwise the kubelet runs crun with
`--cgroup-manager=disabled` and no limits are applied.
"""
from __future__ import annotations

import os

CGROUP_ROOT = "/sys/fs/cgroup"
CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids")


def cgroupfs_usable(root: str = CGROUP_ROOT) -> bool:
    """v1 hierarchies mounted and no cgroup2 'unified' dir (crun calls that hybrid and refuses)."""
    if os.path.exists(os.path.join(root, "unified")):
        return False
    return all(os.path.ismount(os.path.join(root, c)) for c in ("memory", "cpu", "pids"))


def pod_parent(node_name: str, pod_uid: str) -> str:
    return f"/labkube-{node_name}/pod{pod_uid}"


def container_path(parent: str, container_id: str) -> str:
    return f"{parent}/{container_id}"


def resources(memory_limit: int | None, cpu_quota: int | None, cpu_shares: int | None) -> dict:
    """The OCI linux.resources block for the given limits."""
    res: dict = {"devices": [{"allow": False, "access": "rwm"}]}
    if memory_limit:
        res["memory"] = {"limit": int(memory_limit)}
    cpu: dict = {}
    if cpu_quota:
        cpu.update(quota=int(cpu_quota), period=100000)
    if cpu_shares:
        cpu["shares"] = int(cpu_shares)
    if cpu:
        res["cpu"] = cpu
    return res


def oom_killed(path: str, root: str = CGROUP_ROOT) -> bool:
    """True when the memory cgroup at ``path`` has OOM-killed a process."""
    try:
        with open(os.path.join(root, "memory", path.strip("/"), "memory.oom_control")) as f:
            for line in f:
                k, _, v = line.partition(" ")
                if k == "oom_kill" and int(v) > 0:
                    return True
    except (OSError, ValueError):
        pass
    return False


def remove_parent(parent: str, root: str = CGROUP_ROOT) -> None:
    """rmdir the pod's (now empty) cgroup directories, then the node's if empty."""
    rel = parent.strip("/")
    for c in os.listdir(root) if os.path.isdir(root) else ():
        for path in (os.path.join(root, c, rel), os.path.dirname(os.path.join(root, c, rel))):
            try:
                os.rmdir(path)
            except OSError:
                pass
