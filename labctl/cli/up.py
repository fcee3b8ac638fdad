"""Create the lab's nodes and deploy the cluster onto them (idempotent)."""
import sys

from ..lab import Lab
from ..progress import Progress
from .main import add_inventory_argument


def add_arguments(p):
    add_inventory_argument(p)
    p.add_argument("--no-smoke", action="store_true", help="skip the smoke tests at the end")
    p.add_argument("--json", action="store_true", help="print the engine's events as JSON lines")


def run(args) -> int:
    lab = Lab(args.inventory)
    progress = Progress()
    lab.up(progress, smoke=not args.no_smoke, json_events=sys.stdout if args.json else None)
    progress.say(f"Lab {lab.name!r} is up. Use it with:\n"
                 f"  export KUBECONFIG=$(labctl kubeconfig -i {args.inventory})\n"
                 f"  kubectl get nodes", "bold green")
    return 0
