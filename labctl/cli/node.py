"""Stop or start one lab node: labctl node stop|start NAME (for the self-healing exercise)."""
from ..errors import LabError
from ..lab import Lab
from ..providers.base import ProviderError
from .main import add_inventory_argument


def add_arguments(p):
    add_inventory_argument(p)
    p.add_argument("action", choices=["stop", "start"])
    p.add_argument("node")


def run(args) -> int:
    lab = Lab(args.inventory)
    if args.node not in lab.hosts():
        raise LabError(f"no host named {args.node} in {lab.inventory_path}")
    try:
        getattr(lab.provider(), f"{args.action}_node")(args.node)
    except ProviderError as exc:
        raise LabError(str(exc))
    print(f"node {args.node} {'stopped' if args.action == 'stop' else 'started'}")
    return 0
