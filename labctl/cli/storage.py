"""Read the lab's store on the master, like `etcdctl get --prefix`: storage ls|get|rev [KEY].

  labctl storage ls /registry/pods/default     keys under a prefix, with their revisions
  labctl storage get /registry/pods/default/x  one stored object as JSON
  labctl storage rev                           the store's current revision
"""
import shlex
import subprocess

from ..errors import LabError
from ..lab import Lab
from .main import add_inventory_argument

STORE = "/var/lib/labkube/apiserver/registry.db"
PYTHON = "/var/lib/labkube/venv/bin/python"


def add_arguments(p):
    add_inventory_argument(p)
    p.add_argument("action", choices=["ls", "get", "rev"])
    p.add_argument("key", nargs="?", default=None, help="a key or key prefix, e.g. /registry/pods")


def run(args) -> int:
    lab = Lab(args.inventory)
    if args.action == "get" and not args.key:
        raise LabError("storage get needs a KEY, e.g. /registry/namespaces/default")
    words = [PYTHON, "-m", "labkube.storage", args.action, STORE]
    if args.key and args.action != "rev":
        words.append(args.key)
    argv = lab.ssh_command(lab.masters()[0], [" ".join(shlex.quote(w) for w in words)])
    rc = subprocess.call(argv)
    return 3 if rc == 255 else rc
