#!/usr/bin/env python3
"""Scale benchmark on hollow nodes: the real apiserver (own SQLite in a temp dir),
scheduler and controller-manager on 127.0.0.1, plus one hollow-node process
(`python -m labkube.kubelet.hollow`). Prints one JSON object (with --json) and a one-line summary.

  bench/scale.py --json            1,000 nodes, 10,000 pods in 100 Deployments
  bench/scale.py --quick --json    100 nodes, 500 pods (under a minute)

Phases, one run: (1) write ceiling: ConfigMap creates/s at high concurrency on the idle
apiserver; (2) N hollow nodes Ready; (3) M pods in Deployments Running (end to end);
(4) scheduler throughput: a backlog of pending pods is created while the scheduler is
paused (SIGSTOP), then drained (SIGCONT) -> pods bound/s, with the hollow kubelets running
(their Running status posts and Lease renewals share the apiserver and the cores); the CPU
share of each process during the drain (`drain_cpu_share`, 1.0 = one core) shows which one
bounds it; (5) control-plane RSS (apiserver + scheduler + controller-manager, VmRSS now and
VmHWM peak) and CPU seconds per process, also per pod handled (comparable between runs on a
shared machine, unlike wall-clock rates).

Goals (issue 6): nodes Ready <= 60 s, pods Running <= 120 s, scheduler >= 300 pods/s and
>= 50 % of the write ceiling, control plane <= 500 MB.

Measured 2026-12-01 (2 shared cores, fsync on), before the scheduler/controller/informer work:
full: 1,000 nodes Ready 2.2 s, 10,000 pods Running 372 s, scheduler 15-27 pods/s vs write ceiling
1,017/s, control plane 687 MB; --quick: 0.9 s, 6.1 s, 114 pods/s vs 357/s, 242 MB.
After it (17:34 UTC, load average 17.5 on the 2 cores at the start): full: 4.4 s, 517 s,
scheduler 29.9 pods/s vs write ceiling 236.7/s (0.13), 578 MB (apiserver 169, scheduler 207,
controllers 202); CPU per pod handled: apiserver 10.8 ms, scheduler 5.3, controllers 2.7,
hollow 4.1. --quick at load 11: 8.2 s, 27.9 s, 26.8 pods/s vs 47.3/s (0.57), 243 MB.
Same-load comparison (1,000 nodes, 3,000 pods + 1,000 backlog, py-spy attached): scheduler CPU
per pod 23 -> 6.5 ms, controllers 12.3 -> 3.3 ms, hollow 7.5 -> 5.4 ms; the apiserver (~15 ms
per pod, Lease renewals included) now bounds every rate.
Later quiet run (as reported in issue 6): 1.94 s, 86.6 s, 143.7 pods/s vs 1,288/s (0.11), 580 MB;
CPU per pod: apiserver 6.9 ms, scheduler 4.7, controllers 2.2, hollow 2.4.

Then (scheduler per-node fit/score memos, slim informer views in scheduler and controllers,
gctuning, 32 requests in flight per client), same size `--nodes 1000 --pods 3000 --deployments 30
--backlog 2000`: before (load 0.7 -> 13.6): scheduler CPU per pod 4.9 ms, controllers 3.1,
control plane 403 MB (apiserver 132, scheduler 124, controllers 148); memos + views + gctuning
(load 6.4): 2.7 ms, 2.0, 378 MB; plus the in-flight cap (load 6.2 -> 7.6, the unit suite running
alongside): 3.2 ms, 2.9, 318 MB (117, 95, 107). In-process, a 1,000-node cycle (420 nodes
filtered and scored, kube-scheduler's adaptive share) takes 1.2 ms CPU instead of 3.1 ms.
`bench/scale.py --json` at 20:34 UTC (load average 4.3 at the start, 6.2 at the end): 1,000 nodes
Ready 6.9 s, 10,000 pods Running 340 s (pods created at only 30/s), scheduler 58.7 pods/s vs
write ceiling 310/s (0.19), control plane 456 MB (apiserver 154, scheduler 154, controllers 148);
CPU per pod: apiserver 7.9 ms, scheduler 3.3, controllers 2.4, hollow 3.4. While the backlog
drained, the processes used 0.30 (apiserver), 0.18 (scheduler), 0.11, 0.13 of a core: the
machine's other load, not a saturated scheduler or apiserver, set that rate. An earlier run
(20:26, an integration test module alongside, load 5.7 -> 11): 8.7 s, 255 s, 53.3 vs 185/s
(0.29), 455 MB. `--quick` at load 5.3: 2.7 s, 12.4 s, 63.5 pods/s vs 128/s (0.50), 193 MB.
Goals met: nodes Ready and control-plane memory; pods Running and scheduler throughput are not
(at ~3 ms of scheduler CPU per pod one free core would allow ~300 pods/s; the shared cores and
the apiserver's ~8 ms per pod set the rates here).
On the quiet machine at 20:54 UTC (load 0.2): 1.97 s, 101.3 s, 117.2 pods/s vs 1,266/s (0.09),
455 MB, drain CPU share 0.40/0.28/0.17/0.16: no process saturated, the drain was bound by the
24 bindings in flight / bind latency. With 64 bindings in flight on the scheduler's own client
(21:01, load 3.1 from a VM benchmark finishing): 1.92 s, 82.9 s, 220.0 pods/s vs 1,144/s (0.19),
473 MB (apiserver 157, scheduler 167, controllers 149), drain CPU share 0.74/0.49/0.22/0.28; CPU
per pod: apiserver 4.6 ms, scheduler 2.6, controllers 1.6, hollow 1.7. Goals met: 3 of 5 (nodes
Ready, pods Running, memory); scheduler >= 300 pods/s and >= 50 % of the ceiling are not.

Then (22:20-23:30 UTC, the 2 cores shared with 3 VMs, other benchmarks and unit suites: load 3-15)
cheaper per-pod work in the components: the scheduler's cache no longer re-accounts a bound pod on
a status write (its node's score memos stay valid); SelectorSpread reads sibling counts once per
cycle with map() (a third of a cycle's CPU in the drain profile; 295 -> 148 us per cycle
in-process); the ReplicaSet controller computes status in one pass (3,000-pod sync 46 -> 33 ms);
the client parses and writes JSON with orjson through labkube.jsonio, whose check for long digit
runs was a regex costing four times orjson's parse on every loads (now bytes.translate, 86 -> 3 us
per pod event, the apiserver's request bodies too); the informer's compact handles leaves
inline; the pod trackers keep a stamp view. `drain_cpu_ms_per_pod` is new: CPU per pod bound while
the backlog drains, per process, this benchmark's own process included ("bench").
Same-period pairs, the code before these changes then after, mid-size
`bench/scale.py --nodes 1000 --pods 1000 --deployments 10 --backlog 3000 --ceiling-writes 2000 --json`,
drain ms per pod apiserver/scheduler/controllers/hollow/bench:
  load 3-6 (without the compact and digit-run changes): 4.27/2.79/1.39/1.79/0.40 -> 3.80/2.64/1.05/1.36/0.32
  load 11-15 (without the compact change): 5.54/4.01/1.51/2.22/0.51 -> 4.61/2.60/1.20/1.70/0.31
  load 15 -> 9 (all of them): 5.89/3.83/1.66/2.38/0.59 -> 4.58/3.29/1.20/1.67/0.31 (14.4 -> 11.1 ms, -23 %)
Full `bench/scale.py --json`, after at 23:10 (load 5.4 -> 11): nodes Ready 6.2 s, 10,000 pods
Running 366 s (pods created at only 27/s), scheduler 50.1 pods/s vs write ceiling 291/s (0.17),
473 MB (apiserver 157, scheduler 167, controllers 149); drain ms per pod 4.18/3.28/1.06/1.46/0.23,
whole-run CPU per pod handled 8.5/3.8/2.3/3.3. Before, right after it (load 10.5): 5.1 s, 530 s
(19 pods created/s), 58.6 pods/s vs 414/s (0.14), 471 MB; drain 4.27/2.61/1.22/1.68/0.45, whole
run 9.8/3.9/2.7/4.1. The apiserver, controllers, hollow kubelets and the benchmark spend 11-50 %
less per pod; the scheduler's gain is not clear in the full runs (its drain figure varied from 2.6
to 4.0 ms with the load in these runs). At this load no process was near a core (drain CPU share
0.2 apiserver, 0.16 scheduler): the rates of these runs say how busy the machine was, not what
the control plane can do. Goals met under that load: 2 of 5 (nodes Ready, memory); the quiet
21:01 run above (3 of 5) was not repeated. Still missing: scheduler >= 300 pods/s and >= 50 % of
the ceiling. 300 pods/s on 2 cores needs all processes together at most ~6.5 ms per pod; the
drain costs ~10 ms, of which the apiserver ~4.2 (100 Lease PUTs/s, a binding, a status patch and
an Event per pod, TLS, each watch event written to every pod watcher) and the scheduler ~2.6-3.3
(a cycle filters and scores ~420 of the 1,000 nodes in Python, plus three watch events per pod).
The quiet rerun (2026-12-02 00:06 UTC, load 0.8 -> 2.6, nothing else running), `bench/scale.py
--json`: nodes Ready 1.74 s, 10,000 pods Running 61.3 s, scheduler 239.7 pods/s vs write ceiling
1,476/s (0.16), 474 MB (apiserver 157, scheduler 168, controllers 150); drain CPU share
0.72/0.59/0.23/0.26/0.06, drain ms per pod 3.01/2.50/0.95/1.09/0.26 (7.8 in all); whole-run CPU
per pod 4.9/2.9/1.6/1.7. Goals met 3 of 5; scheduler >= 300 pods/s and >= 50 % of the ceiling
are not (the faster JSON raised the ceiling from 1,144/s, so the ratio fell as the rate rose).

Then (2026-12-02 01:30-02:40 UTC, 2 cores shared with VMs, benchmarks and unit suites: load 4-17)
cheaper components: the scheduler, controller-manager and hollow nodes run on uvloop as the
apiserver does (the component runner uses labkube.eventloop); node-local filters give a
node_local_key, and when every active filter has one each node keeps its verdict per pod class
and node generation, checked in one loop (kube-scheduler's former equivalence cache, per node; a
backlog-pod cycle over 1,000 nodes in-process 1.36 -> 0.73 ms CPU, best of 5 alternating runs at
load ~6); TaintPreference reads the cache's index of PreferNoSchedule taints instead of scanning
the ~420 feasible nodes; 'bound' is logged at debug; the hollow kubelet's pod informer keeps a
view instead of a compact copy of every pod. Same-period runs alternating HEAD without these
changes and HEAD with them (same apiserver code in both), mid-size
`bench/scale.py --nodes 1000 --pods 1000 --deployments 10 --backlog 3000 --ceiling-writes 2000 --json`,
drain ms per pod apiserver/scheduler/controllers/hollow/bench:
  before (02:22, load 8.3 -> 8.4): 3.41/3.11/1.11/1.70/0.20 (9.53); (02:31, 12.6 -> 10.1): 3.13/2.87/1.04/1.60/0.21 (8.85)
  after  (02:25, load 8.2 -> 9.1): 2.84/2.08/1.01/1.21/0.16 (7.30); (02:28, 9.1 -> 13.0): 2.96/2.16/0.97/1.27/0.19 (7.55)
  means: scheduler -29 %, hollow -25 %, controllers -8 %, bench -15 %, apiserver -11 % (its code
  unchanged: fewer, fuller reads and writes from uvloop clients is the likely cause), -19 % in all;
  control plane 341 -> 316 MB.
Full `bench/scale.py --json` at 02:37 UTC (HEAD 971882b, which also holds the apiserver engineer's
evening work; load 4.3 at the start, 6.2 at the end): nodes Ready 6.08 s, 10,000 pods Running
113.0 s (pods created at 89/s), scheduler 265.8 pods/s vs write ceiling 400.6/s (0.66), 475 MB
(apiserver 187, scheduler 151, controllers 137); drain CPU share 0.47/0.33/0.17/0.19/0.03 (1.19 of
the 2 cores: the machine's other load had the rest), drain ms per pod 1.82/1.27/0.66/0.73/0.12
(4.6 in all, 7.8 in the quiet 00:06 run); whole-run CPU per pod 4.4/2.4/1.5/1.6. Goals met 4 of 5:
scheduler >= 300 pods/s is not. The ratio goal was met here only because the ceiling, measured
first under load 4.3, came out at 400/s instead of the quiet ~1,250-1,476/s: at a quiet ceiling,
0.5 needs 625-740 pods/s, i.e. three apiserver writes per pod (binding, Scheduled event, Running
status) at 1.3-1.5 times the rate the idle apiserver takes single ConfigMap creates, plus 100
Lease renewals/s. A second full run right after (02:40, HEAD 29a00d2, load 4.9 -> 4.6): nodes Ready
2.76 s, pods Running 149.3 s (67 created/s), scheduler 148.3 pods/s vs 590.2/s (0.25), 479 MB;
drain share 0.39/0.27/0.13/0.16/0.02 (0.97 of a core in all), drain ms per pod
2.64/1.81/0.87/1.08/0.17 (6.6): goals met 2 of 5. Two runs 3 minutes apart at the same load
average differ by 1.8x in rate and 1.4x in CPU per pod: on this shared machine one full run says
little; the A/B above is the comparison. At 4.6-6.6 ms per pod, 2 free cores would allow 300-430
pods/s; a quiet rerun is owed.

The quiet rerun (2026-12-02 02:57-03:04 UTC, nothing else running, load 0.7-2.8), `bench/scale.py
--json` on HEAD f7b6134 and, right after, on three trees side by side (each run alone):
  HEAD: nodes Ready 1.94 s, 10,000 pods Running 53.7 s, scheduler 282.8 pods/s vs write ceiling
  1,275/s (0.22), 537 MB (apiserver 215.5, scheduler 153.1, controllers 168.7); drain ms per pod
  2.46/1.73/0.83/0.92/0.16 (6.1). Goals met 2 of 5: the memory goal is now missed too.
  d8ceb0d (the session's start): 224.4 pods/s vs 1,353/s, 476 MB (apiserver 157), drain 7.7 ms/pod.
  6ba0f96 (this session's component and apiserver work, before the ServiceAccount admission):
  308.2 pods/s vs 1,353/s (0.23), 478 MB (apiserver 188), drain 5.9 ms/pod: 300 pods/s met.
  6e7cd1b (the ServiceAccount admission: every pod gets the projected kube-api-access volume and
  a read-only mount in each container, as in Kubernetes): 229.7 pods/s vs 1,330/s, 535 MB
  (apiserver 214, controllers 168), drain 7.3 ms/pod.
The token volume makes every pod's JSON ~0.6 KB larger and its spec text unique (a random volume
name): in process (`bench/apiserver_ops.py --ops 2000 --rounds 2 <6ba0f96> <6e7cd1b>`, load 0.7) a
create costs 0.24 -> 0.33 ms, a binding 0.32 -> 0.43, a status patch 0.67 -> 0.88; the
controllers and the apiserver each hold ~30 MB more for 10,000 pods. Keying the spec memos
without the generated name was tried and dropped: binding and status-patch specs differ per node
anyway (1,000 nodes), so the extra regex work cost more than the hits saved (binding 0.42 -> 0.60
ms). Next: a status or binding update need not re-check the spec it keeps (Kubernetes validates
only metadata and status there; here the type check and managedFields walk the whole pod on every
update), and a more compact in-memory pod in the controllers' informer.
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
from podtracker import PodTracker, until  # noqa: E402

CONTROL_PLANE = ("apiserver", "scheduler", "controllers")
GOALS = {"nodes_ready_s": 60, "pods_running_s": 120, "scheduler_pods_per_s": 300, "rss_mb": 500}


def proc_mem(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB."""
    vals = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(("VmRSS:", "VmHWM:")):
                k, v = line.split(":", 1)
                vals[k] = int(v.split()[0]) / 1024
    return vals.get("VmRSS", 0.0), vals.get("VmHWM", 0.0)


def proc_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


async def write_ceiling(c: Client, count: int, concurrency: int) -> float:
    await c.create("namespaces", {"metadata": {"name": "bench-ceiling"}})
    t0 = time.monotonic()
    await bounded((c.create("configmaps", {"metadata": {"name": f"cm-{i}"}, "data": {"k": "v"}},
                            namespace="bench-ceiling") for i in range(count)), concurrency)
    return count / (time.monotonic() - t0)


async def bench(args, cluster: LocalCluster, out: dict) -> None:
    async with Client(KubeConfig.load(cluster.kubeconfig), user_agent="bench-scale") as c:
        out["write_ceiling_per_s"] = round(await write_ceiling(c, args.ceiling_writes, 64), 1)
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
        out["scheduler_method"] = "backlog"

        # scheduler alone: a backlog created while it is paused, then drained
        sched = cluster.procs["scheduler"]
        await c.create("namespaces", {"metadata": {"name": "bench-sched"}})
        backlog = await PodTracker(c, "bench-sched", clock=time.monotonic).start()
        os.kill(sched.pid, signal.SIGSTOP)
        try:
            await c.create("deployments", deployment("backlog", args.backlog), namespace="bench-sched")
            await until(lambda: len(backlog.created) >= args.backlog, args.timeout, 0.25)
            await asyncio.sleep(1)
        finally:
            os.kill(sched.pid, signal.SIGCONT)
        t0 = time.monotonic()
        cpu0 = {n: proc_cpu(p.pid) for n, p in cluster.procs.items()}
        cpu0["bench"] = time.process_time()
        ok = await until(lambda: len(backlog.bound) >= args.backlog, args.timeout, 0.05)
        wall = time.monotonic() - t0
        used = {n: proc_cpu(p.pid) - cpu0[n] for n, p in cluster.procs.items()}
        used["bench"] = time.process_time() - cpu0["bench"]
        if backlog.bound:
            first = min(backlog.bound.values())
            span = max(backlog.bound.values()) - first
            out["scheduler_pods_per_s"] = round(len(backlog.bound) / span, 1) if span > 0 else None
            out["scheduler_first_bind_s"] = round(first - t0, 2)
        out["scheduler_backlog_bound"] = len(backlog.bound)
        # how busy each process was while the backlog drained (1.0 = one core all the time): who
        # bounds the drain rate on this machine
        # (bench: this process, its pod trackers decoding every pod event, on the same cores)
        out["drain_cpu_share"] = {n: round(u / wall, 2) for n, u in used.items()} if wall > 0 else None
        # CPU per pod bound during the drain: what each process spends on a pod when scheduling
        # is the bottleneck, comparable between runs on a shared machine
        if backlog.bound:
            out["drain_cpu_ms_per_pod"] = {n: round(1000 * u / len(backlog.bound), 2) for n, u in used.items()}
        await until(lambda: len(backlog.running) >= args.backlog, 60, 0.25)
        await nodes.stop()
        for tr in (pods, backlog):
            await tr.stop()
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
    out["scheduler_vs_ceiling"] = round(s / w, 2) if w and s else None
    met = {k: out.get(k) is not None and (out[k] >= g if k == "scheduler_pods_per_s" else out[k] <= g)
           for k, g in GOALS.items()}
    met["scheduler_vs_ceiling"] = (out["scheduler_vs_ceiling"] or 0) >= 0.5
    out["goals_met"] = met
    if args.json:
        print(json.dumps(out))
    print(f"scale{' (quick)' if q else ''}: {args.nodes} nodes Ready {out.get('nodes_ready_s')} s, "
          f"{args.pods} pods Running {out.get('pods_running_s')} s, scheduler {s} pods/s "
          f"(write ceiling {w}/s, {out['scheduler_vs_ceiling']}), control plane {out.get('rss_mb')} MB; "
          f"goals met: {sum(met.values())}/{len(met)}", file=sys.stderr if args.json else sys.stdout)
    return 0 if all(met.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
