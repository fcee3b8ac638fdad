"""Print the path of the lab's admin kubeconfig (export KUBECONFIG=$(labctl kubeconfig))."""
from ..lab import Lab
from .main import add_inventory_argument


def add_arguments(p):
    add_inventory_argument(p)


def run(args) -> int:
    lab = Lab(args.inventory)
    lab.require_up()
    print(lab.kubeconfig_path())
    return 0
