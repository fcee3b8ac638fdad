#!/usr/bin/env python3
"""Benchmark the lab's life cycle: `labctl up` from nothing to smoke-tested, a no-change
re-run, and `labctl down`. Prints one JSON object (with --json) and a one-line summary.

  bench/up.py --json           the default lab (1 master + 2 workers)
  bench/up.py --quick --json   1 master + 1 worker, a fast check

Goals for the walking skeleton on a 2-core machine: up < 30 s, rerun < 5 s, down < 10 s.
The rerun is `labctl up` again: site.yml, which changes nothing, then smoke.yml, which
really starts a pod and a deployment. Holds the machine's lab lock while it runs.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def timed(args: list[str], env: dict) -> float:
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "labctl.cli.main", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"bench: labctl {' '.join(args)} failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}")
    return elapsed


def quick_inventory(tmp: Path) -> Path:
    inv = tmp / "quick"
    shutil.copytree(ROOT / "inventories" / "local", inv)
    hosts = (inv / "hosts.yml").read_text()
    start = hosts.index("        w2-k8s:")
    (inv / "hosts.yml").write_text(hosts[:start])
    return inv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from lablock import hold_lab_lock
    hold_lab_lock()
    tmp = Path(tempfile.mkdtemp(prefix="labctl-bench-"))
    inventory = quick_inventory(tmp) if args.quick else ROOT / "inventories" / "local"
    env = dict(os.environ, LABCTL_STATE_DIR=str(tmp / "state"), CI="true")
    try:
        timed(["down", "-i", str(inventory)], env)
        result = {"inventory": str(inventory.relative_to(ROOT)) if not args.quick else "quick (1 master + 1 worker)",
                  "nodes": 2 if args.quick else 3}
        result["up_s"] = round(timed(["up", "-i", str(inventory)], env), 2)
        result["rerun_s"] = round(timed(["up", "-i", str(inventory)], env), 2)
        result["down_s"] = round(timed(["down", "-i", str(inventory)], env), 2)
    finally:
        subprocess.run([sys.executable, "-m", "labctl.cli.main", "down", "-i", str(inventory)], cwd=ROOT,
                       env=env, capture_output=True)
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        print(json.dumps(result))
    print(f"labctl up {result['up_s']} s (goal 30), no-change rerun {result['rerun_s']} s (goal 5), "
          f"down {result['down_s']} s (goal 10) for {result['nodes']} nodes")


if __name__ == "__main__":
    main()
