"""The kubelet's resource metrics endpoint, `GET /metrics/resource` (what metrics-server scrapes,
as upstream's kubelet serves it): Prometheus text with, per running container,
`container_cpu_usage_seconds_total`, `container_memory_working_set_bytes` and
`container_start_time_seconds` (labels container, pod, namespace), per pod `pod_cpu_usage_seconds_total`
and `pod_memory_working_set_bytes` (pod, namespace), and `node_cpu_usage_seconds_total` and
`node_memory_working_set_bytes`, each with the millisecond timestamp of its reading.

Figures come from the cgroups crun puts containers in (runtime/cgroups.py: v1 cpuacct and memory,
or v2): a container's own cgroup, a pod's parent cgroup `/labkube-<node>/pod<uid>`. The node
(`node_metrics` in the kubelet config): netns nodes share the host's kernel, so /proc/stat and
/proc/meminfo count the whole machine (every node and everything else on it) and would show the
same on every node. The default, `processes`, counts what runs in the node's own PID namespace
(its /proc): the node's services (on a master the control plane) and its containers, CPU as the
processes' user+system time plus what their exited children used (cutime+cstime, kept by the
parent that reaped them, so the counter only grows), memory as the sum of their resident sets
(pages shared between processes count more than once). `pods` is the sum of the node's pods
(the cgroup `/labkube-<node>`, 0 on a node without pods); `host` reports /proc/stat
(user+nice+system+irq+softirq+steal) and /proc/meminfo (MemTotal - MemAvailable), right on a
machine of its own such as a Vagrant VM. Without cgroups (the fake runtime, or crun with its
cgroup manager disabled) containers and pods are not reported.
"""
from __future__ import annotations

import os
import time

from labkube.metrics.prometheus import Family, Sample, render

from .runtime import cgroups

USER_HZ = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def host_cpu_seconds(stat_text: str) -> float:
    """Busy CPU seconds of the whole kernel from /proc/stat's `cpu` line (idle and iowait left out)."""
    for line in stat_text.splitlines():
        f = line.split()
        if f and f[0] == "cpu":
            v = [int(x) for x in f[1:]]
            busy = v[0] + v[1] + v[2] + sum(v[5:8])         # user nice system | irq softirq steal
            return busy / USER_HZ
    raise ValueError("no cpu line in /proc/stat")


def host_memory_working_set(meminfo_text: str) -> int:
    """MemTotal - MemAvailable in bytes, from /proc/meminfo."""
    kb = {}
    for line in meminfo_text.splitlines():
        k, _, rest = line.partition(":")
        if rest.split():
            kb[k] = int(rest.split()[0])
    return (kb["MemTotal"] - kb.get("MemAvailable", kb.get("MemFree", 0))) * 1024


def process_times(stat_text: str) -> tuple[int, int]:
    """(utime + stime + cutime + cstime clock ticks, resident pages) from a /proc/<pid>/stat line."""
    fields = stat_text[stat_text.rindex(")") + 2:].split()       # after "pid (comm) ": field 3 is fields[0]
    return sum(int(f) for f in fields[11:15]), int(fields[21])


def processes_usage(proc: str = "/proc") -> tuple[float, int]:
    """(CPU seconds, resident bytes) of every process in this PID namespace's /proc."""
    ticks = pages = 0
    for name in os.listdir(proc):
        if not name.isdigit():
            continue
        try:
            with open(os.path.join(proc, name, "stat")) as f:
                t, rss = process_times(f.read())
        except (OSError, ValueError, IndexError):                  # gone meanwhile
            continue
        ticks, pages = ticks + t, pages + rss
    return ticks / USER_HZ, pages * PAGE_SIZE


def _host_usage() -> tuple[float, int] | None:
    try:
        with open("/proc/stat") as f:
            cpu = host_cpu_seconds(f.read())
        with open("/proc/meminfo") as f:
            mem = host_memory_working_set(f.read())
    except (OSError, ValueError, KeyError):
        return None
    return cpu, mem


def boot_time(stat_text: str) -> float:
    """When the kernel booted (seconds since the epoch), /proc/stat's btime."""
    for line in stat_text.splitlines():
        if line.startswith("btime "):
            return float(line.split()[1])
    raise ValueError("no btime in /proc/stat")


def _boot_time() -> float | None:
    try:
        with open("/proc/stat") as f:
            return boot_time(f.read())
    except (OSError, ValueError):
        return None


def start_time(kl, status, booted: float | None) -> float:
    """When a container's CPU counter began: its init process's start (crun records it in clock
    ticks since boot; the process runs in the cgroup from then, while `started_at` is taken after
    `crun run` returned, which on a loaded machine is late enough to inflate a first rate)."""
    ticks = (getattr(kl.runtime, "extra", {}).get(status.id) or {}).get("pid_start")
    if ticks and booted:
        return booted + ticks / USER_HZ
    return status.started_at or 0.0


def running_containers(kl) -> list[tuple[dict, str, str, float]]:
    """(pod, container name, cgroup path, start time) of every running container with a cgroup."""
    if not getattr(kl.runtime, "use_cgroups", False):
        return []
    booted = _boot_time()
    out = []
    for w in list(kl.pods.workers.values()):
        sb = w.sandbox
        if sb is None or not sb.cgroup_parent:
            continue
        for name in list(w.records):
            cur = w.current(name)
            if cur is not None and cur.state == "running":
                out.append((w, name, cgroups.container_path(sb.cgroup_parent, cur.id), start_time(kl, cur, booted)))
    return out


def collect(kl, read=None, host=None, processes=None, now=time.time) -> list[Family]:
    """The metric families of this node now (read(path) -> (cpu s, bytes) | None, default
    cgroups.usage; host() and processes() -> the same for the kernel and the PID namespace)."""
    read, host, processes = read or cgroups.usage, host or _host_usage, processes or processes_usage
    node_cpu = Family("node_cpu_usage_seconds_total", "Cumulative cpu time consumed by the node in core-seconds",
                      "counter")
    node_mem = Family("node_memory_working_set_bytes", "Current working set of the node in bytes", "gauge")
    c_cpu = Family("container_cpu_usage_seconds_total",
                   "Cumulative cpu time consumed by the container in core-seconds", "counter")
    c_mem = Family("container_memory_working_set_bytes", "Current working set of the container in bytes", "gauge")
    c_start = Family("container_start_time_seconds", "Start time of the container since unix epoch in seconds",
                     "gauge")
    p_cpu = Family("pod_cpu_usage_seconds_total", "Cumulative cpu time consumed by the pod in core-seconds",
                   "counter")
    p_mem = Family("pod_memory_working_set_bytes", "Current working set of the pod in bytes", "gauge")
    pods_seen: dict[str, object] = {}
    for w, name, path, started in running_containers(kl):
        u = read(path)
        ts = int(now() * 1000)
        if u is None:
            continue
        labels = {"container": name, "namespace": w.namespace, "pod": w.name}
        c_cpu.samples.append(Sample(c_cpu.name, labels, u[0], ts))
        c_mem.samples.append(Sample(c_mem.name, labels, u[1], ts))
        c_start.samples.append(Sample(c_start.name, labels, started, ts))
        pods_seen[w.uid] = w
    for w in pods_seen.values():
        u = read(w.sandbox.cgroup_parent)
        if u is not None:
            labels = {"namespace": w.namespace, "pod": w.name}
            ts = int(now() * 1000)
            p_cpu.samples.append(Sample(p_cpu.name, labels, u[0], ts))
            p_mem.samples.append(Sample(p_mem.name, labels, u[1], ts))
    if kl.cfg.node_metrics == "host":
        node = host()
    elif kl.cfg.node_metrics == "processes":
        node = processes()
    elif getattr(kl.runtime, "use_cgroups", False):
        node = read(f"/labkube-{kl.cfg.node_name}") or (0.0, 0)       # no pod yet: the node's cgroup is not made
    else:
        node = None
    if node is not None:
        ts = int(now() * 1000)
        node_cpu.samples.append(Sample(node_cpu.name, {}, node[0], ts))
        node_mem.samples.append(Sample(node_mem.name, {}, node[1], ts))
    return [c_cpu, c_mem, c_start, node_cpu, node_mem, p_cpu, p_mem]


def text(kl) -> str:
    return render(collect(kl))
