"""The scheduler's backlog drain for bench/scale.py: a Deployment's pods created while the
scheduler is stopped (SIGSTOP), then bound once it continues, timed from the pods' bindings as
this process's watch sees them.

Two conditions, each its own backlog (`drain(..., paused=...)`):
- **the scheduler alone**: the hollow kubelets are stopped too while the backlog drains, so the
  apiserver's writes are the scheduler's bindings (and the few Events and status updates of the
  controllers). This is how Kubernetes measures its scheduler's throughput (scheduler_perf
  schedules pods onto Node objects that no kubelet runs). The kubelets' watches stay open and
  their events are fanned out to them as before; they resume after the last binding and mark
  the backlog Running.
- **with the kubelets**: every binding is followed by the kubelet's Running status write, so
  the apiserver writes two pods per pod bound; `running_at_last_bind` tells whether those
  writes kept pace with the bindings inside the drain.
"""
from __future__ import annotations

import asyncio
import gc
import os
import signal
import time
from contextlib import contextmanager

from apiserver_procs import cpu_s as proc_cpu
from podtracker import PodTracker, until


@contextmanager
def stopped(pids):
    """The processes `pids` stopped (SIGSTOP) inside the block and continued (SIGCONT) when it
    ends, however it ends."""
    pids = list(pids)
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def bind_stats(bound: dict[str, float], running: dict[str, float], t0: float) -> dict:
    """What the stamps of one drain say: `bound` and `running` map pod names to the times they
    were seen bound and Running, `t0` is when the scheduler was continued.

    pods_per_s is counted from the first binding to the last (the scheduler's reading of its
    backlog before its first binding is first_bind_s); bind_deciles_ms: when each tenth of the
    backlog had been bound, ms after the first binding (a slow first tenth is the scheduler
    reading its backlog's events instead of binding); running_at_last_bind: the share of the
    bound pods already Running when the last one was bound."""
    out: dict = {"bound": len(bound)}
    if not bound:
        return out
    stamps = sorted(bound.values())
    first, last = stamps[0], stamps[-1]
    out["pods_per_s"] = round(len(stamps) / (last - first), 1) if last > first else None
    out["first_bind_s"] = round(first - t0, 2)
    out["bind_deciles_ms"] = [round(1000 * (stamps[min(len(stamps) - 1, len(stamps) * i // 10)] - first))
                              for i in range(11)]
    out["running_at_last_bind"] = round(sum(1 for t in running.values() if t <= last) / len(stamps), 2)
    return out


async def current_rv(c) -> int | None:
    """The cluster's resourceVersion now (a List's), None if it is not a number."""
    rv = ((await c.list_raw("namespaces")).get("metadata") or {}).get("resourceVersion")
    return int(rv) if rv and str(rv).isdigit() else None


async def drain(c, cluster, namespace: str, backlog: dict, size: int, timeout: float,
                paused: tuple[str, ...] = ()) -> dict:
    """Create `backlog` (a Deployment of `size` pods) in `namespace` while the scheduler is
    stopped, then continue it, with the processes named in `paused` stopped until its last
    binding; wait for the backlog to be Running. Returns bind_stats and what each process spent
    (cpu_share: cores busy, 1.0 = one core; cpu_ms_per_pod: CPU per pod bound; "bench" is this
    process, its pod watches on the same cores), writes_per_pod (every write takes one
    cluster-wide resourceVersion, so their difference counts all writes: pods, Events, Leases,
    ReplicaSet status ...) and pod_updates_per_pod (the backlog's own pod writes)."""
    procs = cluster.procs
    await c.create("namespaces", {"metadata": {"name": namespace}})
    tracker = await PodTracker(c, namespace, clock=time.monotonic).start()
    try:
        with stopped([procs["scheduler"].pid]):
            await c.create("deployments", backlog, namespace=namespace)
            await until(lambda: len(tracker.created) >= size, timeout, 0.25)
            await asyncio.sleep(1)
            # this process's own full collection (its trackers hold every pod seen so far) must
            # not land inside the drain: it did once the ceiling's warm-up shifted its allocation
            # count (bench 0.07 ms per pod in the drain against 0.04-0.05)
            gc.collect()
            gc.freeze()
            # the paused processes stop before the scheduler continues (the end of this block)
            # and continue after its last binding
            for name in paused:
                os.kill(procs[name].pid, signal.SIGSTOP)
        try:
            rv0, updates0 = await current_rv(c), tracker.updates
            t0 = time.monotonic()
            cpu0 = {n: proc_cpu(p.pid) for n, p in procs.items()}
            cpu0["bench"] = time.process_time()
            await until(lambda: len(tracker.bound) >= size, timeout, 0.05)
            wall = time.monotonic() - t0
            used = {n: proc_cpu(p.pid) - cpu0[n] for n, p in procs.items()}
            used["bench"] = time.process_time() - cpu0["bench"]
            rv1, updates1 = await current_rv(c), tracker.updates
        finally:
            for name in paused:
                os.kill(procs[name].pid, signal.SIGCONT)
        await until(lambda: len(tracker.running) >= size, 60, 0.25)
        out = bind_stats(tracker.bound, tracker.running, t0)
        out["cpu_share"] = {n: round(u / wall, 2) for n, u in used.items()} if wall > 0 else None
        n = len(tracker.bound)
        if n:
            out["cpu_ms_per_pod"] = {k: round(1000 * u / n, 2) for k, u in used.items()}
            if rv0 is not None and rv1 is not None:
                out["writes_per_pod"] = round((rv1 - rv0) / n, 2)
            out["pod_updates_per_pod"] = round((updates1 - updates0) / n, 2)
        out["running"] = len(tracker.running)
        return out
    finally:
        await tracker.stop()
