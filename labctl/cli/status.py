"""Show the lab's nodes, their addresses and the health of their services."""
import json

from ..lab import Lab
from .main import add_inventory_argument


def add_arguments(p):
    add_inventory_argument(p)
    p.add_argument("--json", action="store_true", help="print JSON")


def run(args) -> int:
    status = Lab(args.inventory).status()
    if args.json:
        print(json.dumps(status, indent=2))
        return 0
    print(f"lab {status['lab']}  state: {status['state_dir']}")
    print(f"kubeconfig: {status['kubeconfig'] or '(lab not up)'}")
    print(f"{'NODE':<12} {'ADDRESS':<15} {'GROUPS':<16} {'STATE':<10} SERVICES")
    for n in status["nodes"]:
        services = ", ".join(f"{s['name']}={'active' if s['active'] else 'inactive'}" for s in n["services"])
        print(f"{n['name']:<12} {n['address']:<15} {','.join(n['groups']):<16} {n['state']:<10} {services}")
    return 0 if all(n["state"] == "running" for n in status["nodes"]) else 1
