"""Remove the lab: nodes, processes, network, mounts and state files."""
from ..lab import Lab
from ..progress import Progress
from .main import add_inventory_argument


def add_arguments(p):
    add_inventory_argument(p)


def run(args) -> int:
    lab = Lab(args.inventory)
    progress = Progress()
    with progress.step(f"Removing lab {lab.name!r}"):
        removed = lab.down()
    for line in removed:
        progress.say(f"  {line}")
    if not removed:
        progress.say("  nothing to remove")
    return 0
