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
        how = getattr(lab.provider(), f"{args.action}_node")(args.node)
    except ProviderError as exc:
        raise LabError(str(exc))
    # a provider's stop_node may say "forced": the node did not shut down in time
    forced = " (forced off: it did not shut down in time)" if how == "forced" else ""
    print(f"node {args.node} {'stopped' if args.action == 'stop' else 'started'}{forced}")
    return 0
