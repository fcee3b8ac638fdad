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


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def _stat_value(text: str | None, key: str) -> int | None:
    """The value of `key` in a memory.stat / cpu.stat style file ("key value" lines)."""
    for line in (text or "").splitlines():
        k, _, v = line.partition(" ")
        if k == key:
            try:
                return int(v)
            except ValueError:
                return None
    return None


def usage(path: str, root: str = CGROUP_ROOT) -> tuple[float, int] | None:
    """(cumulative CPU seconds, memory working set bytes) of the cgroup at ``path`` (its whole
    subtree, as both hierarchies count), or None when it does not exist (any more).

    The working set is what the kubelet reports upstream: memory usage minus the inactive file
    cache (v1: memory.usage_in_bytes - total_inactive_file; v2: memory.current - inactive_file),
    never below zero. cgroup v1 reads the cpuacct and memory hierarchies; v2 (a unified mount at
    ``root``) reads cpu.stat's usage_usec and memory.current."""
    rel = path.strip("/")
    if os.path.exists(os.path.join(root, "cgroup.controllers")):          # cgroup v2
        cpu = _stat_value(_read(os.path.join(root, rel, "cpu.stat")), "usage_usec")
        mem = _read(os.path.join(root, rel, "memory.current"))
        inactive = _stat_value(_read(os.path.join(root, rel, "memory.stat")), "inactive_file")
        if cpu is None or mem is None:
            return None
        return cpu / 1e6, max(int(mem) - (inactive or 0), 0)
    cpu_text = _read(os.path.join(root, "cpuacct", rel, "cpuacct.usage"))
    mem_text = _read(os.path.join(root, "memory", rel, "memory.usage_in_bytes"))
    if cpu_text is None or mem_text is None:
        return None
    inactive = _stat_value(_read(os.path.join(root, "memory", rel, "memory.stat")), "total_inactive_file")
    try:
        return int(cpu_text) / 1e9, max(int(mem_text) - (inactive or 0), 0)
    except ValueError:
        return None
