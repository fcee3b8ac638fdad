"""`python -m labkube.kubelet.hollow --kubeconfig F --nodes 1000 --prefix hollow-`

Runs N hollow nodes in this one process until SIGTERM/SIGINT (the Nodes stay registered,
like a stopped kubelet's). Exit 2 with one line on stderr for a bad kubeconfig or option.
"""
from __future__ import annotations

import argparse
import sys

from labkube.client.component import run, setup_logging

PROG = "labkube.kubelet.hollow"


def _label(s: str) -> tuple[str, str]:
    k, _, v = s.partition("=")
    if not k:
        raise argparse.ArgumentTypeError(f"bad label {s!r}: want KEY=VALUE")
    return k, v


async def _run(args, kc) -> None:
    from labkube.client import Client

    from .fleet import HollowFleet
    async with Client(kc, user_agent="hollow-kubelet", max_in_flight=args.concurrency) as client:
        await HollowFleet(client, args.nodes, prefix=args.prefix, start_index=args.start_index,
                          lease_interval=args.lease_interval, status_interval=args.status_interval,
                          concurrency=args.concurrency, labels=dict(args.node_label or [])).run()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m labkube.kubelet.hollow", description="many hollow nodes in one process")
    p.add_argument("--kubeconfig", required=True)
    p.add_argument("--nodes", type=int, default=10, help="how many nodes (default 10)")
    p.add_argument("--prefix", default="hollow-", help="node name prefix (default hollow-)")
    p.add_argument("--start-index", type=int, default=0, help="first node number (default 0)")
    p.add_argument("--lease-interval", type=float, default=10.0, help="seconds between Lease renewals (10)")
    p.add_argument("--status-interval", type=float, default=300.0, help="seconds between node status posts (300)")
    p.add_argument("--concurrency", type=int, default=128,
                   help="node requests (register, Lease, status) in flight at most, and as many pod workers (128)")
    p.add_argument("--node-label", type=_label, action="append", metavar="KEY=VALUE")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    if args.nodes < 1 or args.concurrency < 2 or args.lease_interval <= 0:
        print("hollow: --nodes must be >= 1, --concurrency >= 2, --lease-interval > 0", file=sys.stderr)
        return 2
    from labkube.client import KubeConfig, KubeConfigError
    try:
        kc = KubeConfig.load(args.kubeconfig)
    except KubeConfigError as e:
        print(f"hollow: kubeconfig: {e}", file=sys.stderr)
        return 2
    setup_logging(args.verbose)
    return run(PROG, lambda: _run(args, kc), tune_gc=True)


if __name__ == "__main__":
    sys.exit(main())
