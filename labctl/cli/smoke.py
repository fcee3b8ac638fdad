"""Run the cluster smoke tests: nodes Ready, a pod runs and logs, a deployment converges."""
from ..lab import Lab
from .main import add_inventory_argument


def add_arguments(p):
    add_inventory_argument(p)
    p.add_argument("--timeout", type=float, default=120, help="seconds for all checks")


def run(args) -> int:
    results = Lab(args.inventory).smoke(timeout=args.timeout)
    for r in results:
        print(f"{'ok  ' if r.ok else 'FAIL'} {r.name} ({r.seconds:.1f} s){': ' + r.detail if r.detail else ''}")
    return 0 if results and all(r.ok for r in results) else 1
