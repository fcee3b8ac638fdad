#!/usr/bin/env python3
"""Compare two apiserver source trees under the same load, side by side in one run.

On a shared machine, rates, tails and even CPU per request drift with what else runs; a
change is judged fairly only against its baseline measured at the same moment. This starts
one apiserver from each tree (`python -m labkube.apiserver` with the tree as working
directory, so its labkube is imported) and alternates rounds between them: ROUNDS rounds of
CHUNK pod creates each, then as many rounds of 2 x CHUNK GETs, each round by bench/apiserver.py's
50 closed-loop HTTPS clients, the round order flipped every round. It prints one JSON object
per tree (creates/s, write p50/p99, GET/s, GET p50/p99, server CPU ms per create and per GET)
and a summary line.

  git worktree add /tmp/base <commit>          # or: git archive <commit> labkube | tar -x -C /tmp/base
  bench/apiserver_ab.py /tmp/base .            # baseline first, then the candidate
  bench/apiserver_ab.py --chunk 1000 --rounds 2 /tmp/base .   # quicker
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from apiserver import closed_loop, summarise  # noqa: E402
from apiserver_procs import Apiserver  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[1])
    ap.add_argument("trees", nargs="+", type=Path, help="source trees holding labkube/ (e.g. a baseline and .)")
    ap.add_argument("--chunk", type=int, default=2000, help="pod creates per round (GETs: twice as many)")
    ap.add_argument("--rounds", type=int, default=4, help="rounds per tree and kind")
    args = ap.parse_args(argv)
    for t in args.trees:
        if not (t / "labkube" / "apiserver" / "__main__.py").is_file():
            print(f"apiserver_ab: {t} holds no labkube/apiserver", file=sys.stderr)
            return 2
    names = [f"bench-{i}" for i in range(args.chunk * args.rounds)]
    with tempfile.TemporaryDirectory(prefix="bench-apiserver-ab-") as tmp:
        apis = []
        try:
            for i, t in enumerate(args.trees):
                (Path(tmp) / str(i)).mkdir()
                apis.append(Apiserver(Path(tmp) / str(i), t.resolve()))
            runs: list[dict] = [{"create": [], "get": []} for _ in apis]
            for kind in ("create", "get"):
                for r in range(args.rounds):
                    order = list(range(len(apis)))
                    for i in (order if r % 2 == 0 else order[::-1]):
                        base = {"url": apis[i].url, "pki": str(apis[i].pki)}
                        if kind == "create":
                            ids = range(r * args.chunk, (r + 1) * args.chunk)
                            runs[i]["create"].append(closed_loop("create", base, ids, apis[i]))
                        else:
                            runs[i]["get"].append(closed_loop("get", base, range(2 * args.chunk), apis[i], names=names))
        finally:
            for a in apis:
                a.stop()
    out = []
    for t, r in zip(args.trees, runs):
        c, g = summarise(r["create"]), summarise(r["get"])
        out.append({"tree": str(t), "creates_per_s": c["per_s"], "write_p50_ms": c["p50_ms"], "write_p99_ms": c["p99_ms"],
                    "create_cpu_ms": c["cpu_ms"], "create_errors": c["errors"], "gets_per_s": g["per_s"],
                    "get_p50_ms": g["p50_ms"], "get_p99_ms": g["p99_ms"], "get_cpu_ms": g["cpu_ms"],
                    "get_errors": g["errors"]})
    for o in out:
        print(json.dumps(o))
    print("apiserver_ab: " + "; ".join(f"{o['tree']}: {o['creates_per_s']:.0f} creates/s at {o['create_cpu_ms']} ms CPU, "
                                       f"GET {o['get_cpu_ms']} ms CPU, write/GET p99 {o['write_p99_ms']}/{o['get_p99_ms']} ms"
                                       for o in out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
