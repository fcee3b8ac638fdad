"""Open a shell on a lab node, or run a command there: labctl ssh NODE [-- CMD...]."""
import os
import subprocess

from ..lab import Lab
from .main import add_inventory_argument


def add_arguments(p):
    add_inventory_argument(p)
    p.add_argument("node", help="inventory host name, e.g. w1-k8s")
    p.add_argument("cmd", nargs="*", help="command to run (after --)")


def run(args) -> int:
    argv = Lab(args.inventory).ssh_command(args.node, args.cmd)
    rc = subprocess.call(argv)
    return 3 if rc == 255 else rc
