#!/usr/bin/env python3
"""CPU per write operation of the apiserver's registry, in process (no HTTP, no TLS), per source tree.

The write path that a scheduler drain drives (issue 6): per pod a create, a binding, a status
patch from the (hollow) kubelet, an Event, and Lease creates/renewals from the nodes. This
runs each operation N times through `labkube.apiserver.registry.Registry` over a throwaway
SQLite store (fsync off), 50 at a time as concurrent clients would, and prints the process
CPU ms per operation. The garbage collector is tuned as the apiserver tunes it after start-up
(labkube/gctuning.py); with CPython's defaults its full collections over the thousands of stored
pods would be a large part of what is measured (and of a profile). The status bodies are computed before the clock starts.

Each tree runs in its own process (its `labkube` imported from the tree), alternating rounds
so both see the same machine load; the median of the rounds is reported:

  bench/apiserver_ops.py /tmp/base .             # baseline first, then the candidate
  bench/apiserver_ops.py --ops 1000 --rounds 2 .
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
OPS = ("create", "binding", "status_patch", "event_create", "lease_create", "lease_put")
CONCURRENCY = 50


async def _measure(n: int) -> dict:
    sys.path.insert(0, str(HERE))
    import apiserver_load as load
    from labkube.api.managedfields import Manager
    from labkube.api.patch import apply_patch
    from labkube.api.resources import resource
    from labkube.apiserver.admission import admit_create
    from labkube.apiserver.allocator import ServiceAllocator
    from labkube.apiserver.bootstrap import bootstrap
    from labkube.apiserver.quota import quota_guard
    from labkube.apiserver.registry import Registry
    from labkube.kubelet.hollow.pods import running_status
    from labkube.storage import open_storage

    pods, events, leases = resource("pods"), resource("events"), resource("leases")
    ns, lease_ns = load.NS, "kube-node-lease"
    with tempfile.TemporaryDirectory(prefix="bench-apiserver-ops-") as d:
        st = await open_storage({"backend": "sqlite", "path": d + "/registry.db", "fsync": False}, history=10000)
        reg = Registry(st, ServiceAllocator("10.96.0.0/12"))
        reg.admit, reg.create_guard = admit_create, quota_guard
        await bootstrap(reg, "127.0.0.1", 6443)
        for name in (ns, lease_ns):
            try:
                await reg.create(resource("namespaces"), None, {"metadata": {"name": name}})
            except Exception:  # noqa: BLE001 - bootstrap made it already
                pass
        # the ServiceAccount controller's `default`, without which pod admission refuses the pods
        await reg.create(resource("serviceaccounts"), ns, {"metadata": {"name": "default"}})
        status_bodies: dict[int, dict] = {}
        from labkube import gctuning
        gctuning.tune()  # the collector settings the apiserver runs with after its start-up (app.py)

        async def create(i):
            await reg.create(pods, ns, load.pod(i), manager=Manager("kube-controller-manager", "Update"))

        async def bind(i):
            def mutate(cur):
                cur["spec"]["nodeName"] = f"hollow-{i % 1000:04d}"
                cur.setdefault("status", {}).setdefault("conditions", []).append(
                    {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                     "lastTransitionTime": "2026-12-02T01:00:00Z"})
                return cur
            await reg.guaranteed_update(pods, ns, f"bench-{i}", mutate, "binding")

        async def status(i):
            body = status_bodies[i]
            await reg.guaranteed_update(
                pods, ns, f"bench-{i}", lambda cur: apply_patch("application/strategic-merge-patch+json", cur, body),
                "status", manager=Manager("hollow", "Update", "status"))

        async def event(i):
            await reg.create(events, ns, {
                "metadata": {"name": f"bench-{i}.scheduled"}, "reason": "Scheduled", "type": "Normal",
                "message": f"Successfully assigned {ns}/bench-{i} to hollow-{i % 1000:04d}",
                "involvedObject": {"kind": "Pod", "name": f"bench-{i}", "namespace": ns},
                "source": {"component": "default-scheduler"}}, manager=Manager("kube-scheduler", "Update"))

        lease_bodies: dict[int, dict] = {}

        async def lease_create(i):
            await reg.create(leases, lease_ns, {"metadata": {"name": f"hollow-{i}"}, "spec": {
                "holderIdentity": f"hollow-{i}", "leaseDurationSeconds": 40,
                "renewTime": "2026-12-02T01:00:00.000000Z"}}, manager=Manager("hollow", "Update"))

        async def lease_put(i):
            await reg.update(leases, lease_ns, f"hollow-{i}", lease_bodies[i], manager=Manager("hollow", "Update"))

        out = {}
        for op, fn in zip(OPS, (create, bind, status, event, lease_create, lease_put)):
            if op == "status_patch":
                for i in range(n):
                    pod, _ = await st.get(f"/registry/pods/{ns}/bench-{i}")
                    status_bodies[i] = {"status": running_status(pod, "10.200.0.10", "10.244.1.5", now=1764637200.0)}
            if op == "lease_put":
                for i in range(n):
                    cur, _ = await st.get(f"/registry/leases/{lease_ns}/hollow-{i}")
                    cur["spec"]["renewTime"] = "2026-12-02T01:00:10.000000Z"
                    lease_bodies[i] = cur
            t0 = time.process_time()
            for j in range(0, n, CONCURRENCY):
                await asyncio.gather(*(fn(i) for i in range(j, min(n, j + CONCURRENCY))))
            out[op] = round((time.process_time() - t0) / n * 1e3, 4)
        await st.close()
        return out


def _run_tree(tree: Path, n: int) -> dict:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", "--ops", str(n)],
                          cwd=str(tree), capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(tree)))
    if proc.returncode != 0:
        raise RuntimeError(f"{tree}: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trees", nargs="*", type=Path, default=[Path(".")], help="source trees holding labkube/")
    ap.add_argument("--ops", type=int, default=2000, help="operations of each kind per round")
    ap.add_argument("--rounds", type=int, default=2, help="rounds per tree")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        sys.path.insert(0, os.getcwd())
        print(json.dumps(asyncio.run(_measure(args.ops))))
        return 0
    for t in args.trees:
        if not (t / "labkube" / "apiserver" / "registry.py").is_file():
            print(f"apiserver_ops: {t} holds no labkube/apiserver", file=sys.stderr)
            return 2
    runs: list[list[dict]] = [[] for _ in args.trees]
    for r in range(args.rounds):
        order = list(range(len(args.trees)))
        for i in (order if r % 2 == 0 else order[::-1]):
            runs[i].append(_run_tree(args.trees[i].resolve(), args.ops))
    out = [{"tree": str(t), **{op: round(statistics.median(x[op] for x in rs), 4) for op in OPS}}
           for t, rs in zip(args.trees, runs)]
    for o in out:
        print(json.dumps(o))
    print("apiserver_ops (CPU ms per op): " + "; ".join(
        f"{o['tree']}: " + ", ".join(f"{op} {o[op]}" for op in OPS) for o in out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
