#!/usr/bin/env python3
"""How long the storage's batch commits take, in process, per source tree: the write tail's floor.

Every client whose write is in a batch waits for that batch's commit, so one slow commit puts
up to 50 clients' writes into the tail at once. This stores N objects of about a pod's size
(3 KB) by 50 concurrent writers through `labkube.storage.SqliteStorage` on a durable store
(fsync on, in /var/tmp: a real disk, not tmpfs), times each commit of the writer thread and
prints the commits' p50/p90/p99/max and how many took over 20 ms. Each tree runs in its own
process (its `labkube` imported from the tree), alternating rounds:

  bench/apiserver_commits.py /tmp/base .          # baseline first, then the candidate
  bench/apiserver_commits.py --objects 5000 --rounds 2 .
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WRITERS = 50


async def _measure(n: int) -> dict:
    from labkube.storage import writer
    from labkube.storage.sqlite import SqliteStorage

    took: list[float] = []
    commit = writer.BatchWriter._commit

    def timed(self, batch):
        t = time.perf_counter()
        try:
            return commit(self, batch)
        finally:
            took.append((time.perf_counter() - t) * 1000)
    writer.BatchWriter._commit = timed
    with tempfile.TemporaryDirectory(prefix="bench-commits-", dir="/var/tmp") as d:
        st = await SqliteStorage.open(d + "/registry.db")
        pad = "x" * 3000
        slots = asyncio.Semaphore(WRITERS)

        async def one(i: int) -> None:
            async with slots:
                await st.create(f"/registry/pods/bench/p{i}", {"metadata": {"name": f"p{i}"}, "spec": {"pad": pad}})
        await asyncio.gather(*(one(i) for i in range(n)))
        await st.close()
    s = sorted(took)

    def q(p: float) -> float:
        return round(s[min(len(s) - 1, int(p * len(s)))], 1)
    return {"commits": len(s), "p50_ms": q(0.5), "p90_ms": q(0.9), "p99_ms": q(0.99), "max_ms": round(s[-1], 1),
            "over_20ms": sum(1 for x in s if x > 20)}


def _run_tree(tree: Path, n: int) -> dict:
    proc = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", "--objects", str(n)],
                          cwd=str(tree), capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(tree)))
    if proc.returncode != 0:
        raise RuntimeError(f"{tree}: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("trees", nargs="*", type=Path, default=[Path(".")], help="source trees holding labkube/")
    ap.add_argument("--objects", type=int, default=10000, help="objects stored per round")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per tree")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        sys.path.insert(0, os.getcwd())
        print(json.dumps(asyncio.run(_measure(args.objects))))
        return 0
    for t in args.trees:
        if not (t / "labkube" / "storage" / "writer.py").is_file():
            print(f"apiserver_commits: {t} holds no labkube/storage", file=sys.stderr)
            return 2
    for r in range(args.rounds):
        order = list(range(len(args.trees)))
        for i in (order if r % 2 == 0 else order[::-1]):
            print(json.dumps({"tree": str(args.trees[i]), "round": r, **_run_tree(args.trees[i].resolve(), args.objects)}),
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
