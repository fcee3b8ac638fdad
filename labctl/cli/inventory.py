"""Show an inventory as ansible-inventory does: --list (JSON) or --graph."""
import json

from ..errors import ConfigError
from ..lab import Lab
from .main import add_inventory_argument


def add_arguments(p):
    add_inventory_argument(p)
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--list", action="store_true")
    g.add_argument("--graph", action="store_true")
    g.add_argument("--host", metavar="HOST")


def run(args) -> int:
    inv = Lab(args.inventory).inventory
    if args.list:
        print(json.dumps(inv.to_ansible_list_json(), indent=4, sort_keys=True))
    elif args.graph:
        print(inv.graph())
    else:
        if args.host not in inv.match("all"):
            raise ConfigError(f"no host named {args.host} in {args.inventory}")
        hv = {k: v for k, v in inv.inventory_vars(args.host).items()}
        print(json.dumps(hv, indent=4, sort_keys=True))
    return 0
