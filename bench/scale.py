#!/usr/bin/env python3
"""Scale benchmark on hollow nodes: the real apiserver (own SQLite in a temp dir),
scheduler and controller-manager on 127.0.0.1, plus one hollow-node process
(`python -m labkube.kubelet.hollow`). Prints one JSON object (with --json) and a one-line summary.

  bench/scale.py --json            1,000 nodes, 10,000 pods in 100 Deployments
  bench/scale.py --quick --json    100 nodes, 500 pods (under a minute)

Phases, one run: (1) write ceiling: ConfigMap creates/s at high concurrency on the idle
apiserver; (2) N hollow nodes Ready; (3) M pods in Deployments Running (end to end);
(4) scheduler throughput: a backlog of pending pods is created while the scheduler is
stopped (SIGSTOP), then drained (SIGCONT) -> pods bound/s, twice (bench/drain.py):
`drain_with_kubelets`, with the hollow kubelets running (their Running status writes and Lease
renewals share the apiserver and the cores), then `drain_alone`, with the hollow process stopped
until the last binding, as Kubernetes' scheduler_perf measures a scheduler (fake nodes, no
kubelets); each reports the CPU share of every process during it (`cpu_share`, 1.0 = one core),
what each one (this benchmark's own included, "bench") spent per pod bound (`cpu_ms_per_pod`),
and the apiserver's CPU per pod in creates' worth (`apiserver_creates_per_pod`);
(5) control-plane RSS (apiserver + scheduler + controller-manager, VmRSS now and
VmHWM peak) and CPU seconds per process, also per pod handled (comparable between runs on a
shared machine, unlike wall-clock rates).

Goals (issue 6): nodes Ready <= 60 s, pods Running <= 120 s, scheduler >= 300 pods/s and
>= 50 % of the write ceiling, control plane <= 500 MB. The scheduler's figures
(`scheduler_pods_per_s`, `scheduler_vs_ceiling`) are the drain alone's. With the kubelets in
step, the apiserver writes every pod twice (the binding, then the Running status), and each
write costs it about one create of the ceiling: that drain could not reach half the ceiling
even if the scheduler, the controllers and the kubelets cost nothing, so it measures the
apiserver, not the scheduler. It is reported beside it (`drain_with_kubelets`: `vs_ceiling`, and
`drain_in_step`: >= 85 % of its backlog Running when its last pod was bound; a drain that ends
before the writes it caused is not a faster one).

The write ceiling and the drain are measured under different conditions, on purpose: the
ceiling is the apiserver's own (the issue's words), so it is taken first, on the idle apiserver,
before any hollow node exists (no Lease renewals, no pod watchers), with small creates from this
process, but warm, as the drain is: its clock starts after CEILING_WARMUP untimed creates on the
same 64 connections. A fresh apiserver's first writes pay its connections' TLS handshakes, first-use
caches and its database files growing; until 2026-12-04 the ceiling was taken cold, about 30 %
below the warm one, and the ratios of earlier runs in docs/benchmarks.md are against that
(`write_ceiling_cold_per_s`, the warm-up's own rate, shows the difference in each run). The drain
then runs with everything a cluster of that size does (100 Lease renewals/s,
every pod write fanned out to the scheduler's, the controllers', the hollow kubelets' and this
benchmark's watches). Measuring the ceiling with the Lease traffic running would lower it and
flatter the ratio, so it is not done. The ceiling phase lasts a few seconds, so the machine's
load at that moment moves it most: `write_ceiling_cpu_ms`
(apiserver and client CPU per create) and `write_ceiling_cpu_share` (the apiserver's share of a
core during it; near 1.0 when it had a core to itself) tell a starved ceiling from a real one,
and `loadavg_ceiling` is the load right after it.

The history of the measured figures (full runs, same-period A/B comparisons, what each change
cost or saved) is in docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from labkube.client import Client, KubeConfig  # noqa: E402
from labkube.client.informer import Informer  # noqa: E402
from labkube.testing import LocalCluster  # noqa: E402
from apiserver_procs import cpu_s as proc_cpu  # noqa: E402
from podtracker import PodTracker, until  # noqa: E402
from drain import drain  # noqa: E402

CONTROL_PLANE = ("apiserver", "scheduler", "controllers")
GOALS = {"nodes_ready_s": 60, "pods_running_s": 120, "scheduler_pods_per_s": 300, "rss_mb": 500}
# the least share of the backlog's pods already Running when the last one was bound, for the
# drain with the kubelets to be in step: below it, it ended before much of the kubelets' writes it caused
# (measured 0.92-0.96 with the scheduler's 64 bindings in flight and the hollow process's then
# 64 status writers, 0.99-1.0 with its 128 pipelined ones since 2026-12-04; the scheduler binding 192 at a time left only ~1.4 of each pod's 2 writes
# inside the drain and drew a ratio of 0.56-0.75 from it, 2026-12-03)
IN_STEP_RUNNING = 0.85
# untimed ConfigMap creates before the write ceiling's clock starts: on a fresh apiserver the first
# thousand run ~30 % slower than the rest (measured 2026-12-04: 4,450/s for the first 4,000 against
# 6,150-6,920/s for every later 4,000 at 32-512 in flight; after 1,000 untimed creates the first
# timed 4,000 ran at 6,360/s with 0.99 of a core)
CEILING_WARMUP = 1000


def proc_mem(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB."""
    vals = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":", 1)
                vals[k] = int(v.split()[0]) / 1024
    return vals.get("VmRSS", 0.0), vals.get("VmHWM", 0.0)


def deployment(name: str, replicas: int) -> dict:
    labels = {"app": name}
    return {"metadata": {"name": name}, "spec": {
        "replicas": replicas, "selector": {"matchLabels": labels},
        "template": {"metadata": {"labels": labels}, "spec": {"containers": [{
            "name": "c", "image": "nginx", "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}}}


async def bounded(coros, concurrency: int) -> None:
    sem = asyncio.Semaphore(concurrency)

    async def one(c):
        async with sem:
            await c
    await asyncio.gather(*(one(c) for c in coros))


async def write_ceiling(c: Client, count: int, warmup: int, concurrency: int, apiserver_pid: int,
                        out: dict) -> None:
    """`count` ConfigMap creates, `concurrency` in flight, on the apiserver before any node exists,
    after `warmup` untimed ones on the same connections: write_ceiling_per_s, and what the
    apiserver and this client spent per write (CPU ms; the wall-clock rate swings with the
    machine's load, the CPU per write much less). The warm-up's own rate is
    write_ceiling_cold_per_s (see the module docstring)."""
    def creates(prefix: str, n: int):
        return bounded((c.create("configmaps", {"metadata": {"name": f"{prefix}-{i}"}, "data": {"k": "v"}},
                                 namespace="bench-ceiling") for i in range(n)), concurrency)

    await c.create("namespaces", {"metadata": {"name": "bench-ceiling"}})
    t0 = time.monotonic()
    await creates("warm", warmup)
    if warmup:
        out["write_ceiling_cold_per_s"] = round(warmup / (time.monotonic() - t0), 1)
    cpu0, own0, t0 = proc_cpu(apiserver_pid), time.process_time(), time.monotonic()
    await creates("cm", count)
    wall = time.monotonic() - t0
    out["write_ceiling_per_s"] = round(count / wall, 1)
    out["write_ceiling_cpu_ms"] = {"apiserver": round(1000 * (proc_cpu(apiserver_pid) - cpu0) / count, 3),
                                   "bench": round(1000 * (time.process_time() - own0) / count, 3)}
    out["write_ceiling_cpu_share"] = round((proc_cpu(apiserver_pid) - cpu0) / wall, 2)
    out["loadavg_ceiling"] = os.getloadavg()[0]


async def bench(args, cluster: LocalCluster, out: dict) -> None:
    async with Client(KubeConfig.load(cluster.kubeconfig), user_agent="bench-scale") as c:
        await write_ceiling(c, args.ceiling_writes, args.ceiling_warmup, 64, cluster.procs["apiserver"].pid, out)
        print(f"write ceiling: {out['write_ceiling_per_s']} creates/s", file=sys.stderr)

        nodes = Informer(c, "nodes")
        nodes.start()
        t0 = time.monotonic()
        cluster.start_hollow(args.nodes, "--lease-interval", str(args.lease_interval))

        def ready() -> int:
            return sum(1 for n in nodes.items() if any(x.get("type") == "Ready" and x.get("status") == "True"
                                                       for x in (n.get("status") or {}).get("conditions") or []))
        ok = await until(lambda: ready() >= args.nodes, args.timeout)
        out["nodes_ready_s"] = round(time.monotonic() - t0, 2) if ok else None
        out["nodes_ready"] = ready()
        print(f"{out['nodes_ready']} nodes Ready in {out['nodes_ready_s']} s", file=sys.stderr)

        per = args.pods // args.deployments
        await c.create("namespaces", {"metadata": {"name": "bench"}})
        pods = await PodTracker(c, "bench", clock=time.monotonic).start()
        t0 = time.monotonic()
        await bounded((c.create("deployments", deployment(f"d{i}", per), namespace="bench")
                       for i in range(args.deployments)), 8)
        total = per * args.deployments
        ok = await until(lambda: len(pods.running) >= total, args.timeout, 0.25)
        out["pods_running_s"] = round(time.monotonic() - t0, 2) if ok else None
        out["pods_running"] = len(pods.running)
        if pods.bound:
            out["created_per_s"] = round(len(pods.created) / (max(pods.created.values()) - t0), 1)
            span = max(pods.bound.values()) - t0
            out["e2e_bound_per_s"] = round(len(pods.bound) / span, 1)
        print(f"{out['pods_running']} pods Running in {out['pods_running_s']} s", file=sys.stderr)
        if out["pods_running_s"] is None:
            # the scheduler is still behind: a backlog would queue after thousands of pods; report
            # the end-to-end bind rate instead
            out["scheduler_pods_per_s"] = out.get("e2e_bound_per_s")
            out["scheduler_method"] = "e2e (pods phase timed out)"
            return

        # the scheduler's throughput: a backlog created while it is stopped, then drained, first
        # with the kubelets marking its pods Running as they are bound, then alone (bench/drain.py)
        out["scheduler_method"] = "backlog, kubelets stopped"
        out["drain_with_kubelets"] = await drain(c, cluster, "bench-sched", deployment("backlog", args.backlog),
                                                 args.backlog, args.timeout)
        out["drain_alone"] = await drain(c, cluster, "bench-sched-alone", deployment("backlog", args.backlog),
                                         args.backlog, args.timeout, paused=("hollow",))
        out["scheduler_pods_per_s"] = out["drain_alone"].get("pods_per_s")
        out["scheduler_backlog_bound"] = sum(out[k]["bound"] for k in ("drain_with_kubelets", "drain_alone"))
        await nodes.stop()
        await pods.stop()
        out["nodes_ready_end"] = ready()      # below `nodes`: heartbeats fell behind under load


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100 nodes, 500 pods (under a minute)")
    ap.add_argument("--json", action="store_true", help="print the JSON object on stdout")
    ap.add_argument("--nodes", type=int)
    ap.add_argument("--pods", type=int)
    ap.add_argument("--deployments", type=int)
    ap.add_argument("--backlog", type=int, help="pods for the scheduler-alone phase")
    ap.add_argument("--ceiling-writes", type=int)
    ap.add_argument("--ceiling-warmup", type=int, help="untimed creates before the ceiling's clock")
    ap.add_argument("--lease-interval", type=float, default=10.0)
    ap.add_argument("--no-fsync", action="store_true", help="apiserver storage without fsync")
    ap.add_argument("--timeout", type=float, default=600.0, help="per phase (s)")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir (logs, registry.db)")
    args = ap.parse_args(argv)
    q = args.quick
    args.nodes = args.nodes or (100 if q else 1000)
    args.pods = args.pods or (500 if q else 10000)
    args.deployments = args.deployments or (5 if q else 100)
    args.backlog = args.backlog or (200 if q else 2000)
    args.ceiling_writes = args.ceiling_writes or (500 if q else 4000)
    if args.ceiling_warmup is None:
        args.ceiling_warmup = 250 if q else CEILING_WARMUP
    d = tempfile.mkdtemp(prefix="bench-scale-")
    signal.signal(signal.SIGTERM, signal.default_int_handler)     # SIGTERM: stop, report what we have
    cluster = LocalCluster(d, apiserver_cfg={"storage": {"fsync": not args.no_fsync}})
    out: dict = {"bench": "scale", "quick": q, "nodes": args.nodes, "pods": args.pods, "fsync": not args.no_fsync,
                 "loadavg_start": os.getloadavg()[0], "cpus": os.cpu_count()}
    t_start = time.monotonic()
    try:
        cluster.start()
        try:
            asyncio.run(bench(args, cluster, out))
        except KeyboardInterrupt:
            out["interrupted"] = True
        mem = [proc_mem(cluster.procs[n].pid) for n in CONTROL_PLANE]
        out["rss_mb"] = round(sum(m[0] for m in mem), 1)
        out["rss_peak_mb"] = round(sum(m[1] for m in mem), 1)
        out["rss_mb_by_component"] = {n: round(m[0], 1) for n, m in zip(CONTROL_PLANE, mem)}
        out["cpu_s_by_component"] = {n: round(proc_cpu(p.pid), 1) for n, p in cluster.procs.items()}
        # CPU per pod handled: comparable between runs on a shared machine, unlike wall-clock rates
        handled = out.get("pods_running", 0) + out.get("scheduler_backlog_bound", 0)
        if handled:
            out["cpu_ms_per_pod_by_component"] = {n: round(1000 * c / handled, 2)
                                                  for n, c in out["cpu_s_by_component"].items()}
        out["loadavg_end"] = os.getloadavg()[0]
    finally:
        rcs = cluster.stop()
        out["exit_codes"] = rcs
        out["total_s"] = round(time.monotonic() - t_start, 1)
        if args.keep:
            out["dir"] = d
        else:
            import shutil
            shutil.rmtree(d, ignore_errors=True)
    w, s = out.get("write_ceiling_per_s"), out.get("scheduler_pods_per_s")
    for d in (out.get(k) for k in ("drain_with_kubelets", "drain_alone")):
        if d:
            d["vs_ceiling"] = round(d["pods_per_s"] / w, 2) if w and d.get("pods_per_s") else None
            # the apiserver's CPU per pod bound in creates' worth (the ceiling's CPU per create):
            # with the kubelets it writes each pod twice, so at ~2 creates a pod the drain could
            # not pass half the ceiling even with the apiserver alone on its core
            api, per_create = (d.get("cpu_ms_per_pod") or {}).get("apiserver"), (out.get("write_ceiling_cpu_ms") or {}).get("apiserver")
            d["apiserver_creates_per_pod"] = round(api / per_create, 2) if api and per_create else None
    out["scheduler_vs_ceiling"] = round(s / w, 2) if w and s else None
    met = {k: out.get(k) is not None and (out[k] >= g if k == "scheduler_pods_per_s" else out[k] <= g)
           for k, g in GOALS.items()}
    met["scheduler_vs_ceiling"] = (out["scheduler_vs_ceiling"] or 0) >= 0.5
    # reported, not a goal: whether the kubelets' status writes kept pace with the bindings inside
    # the drain with them (see IN_STEP_RUNNING); not expected of a --quick run, where the status
    # writes that follow its last bindings by a round trip are a large part of a 200-pod drain
    out["drain_in_step"] = ((out.get("drain_with_kubelets") or {}).get("running_at_last_bind") or 0) >= IN_STEP_RUNNING
    out["goals_met"] = met
    kub = out.get("drain_with_kubelets") or {}
    if args.json:
        print(json.dumps(out))
    print(f"scale{' (quick)' if q else ''}: {args.nodes} nodes Ready {out.get('nodes_ready_s')} s, "
          f"{args.pods} pods Running {out.get('pods_running_s')} s, scheduler {s} pods/s alone "
          f"(write ceiling {w}/s, {out['scheduler_vs_ceiling']}), {kub.get('pods_per_s')} pods/s with the kubelets "
          f"({kub.get('vs_ceiling')}), control plane {out.get('rss_mb')} MB; "
          f"goals met: {sum(met.values())}/{len(met)}", file=sys.stderr if args.json else sys.stdout)
    return 0 if all(met.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
