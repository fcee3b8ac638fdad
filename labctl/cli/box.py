"""Build the offline Debian 12 Vagrant box: labctl box build [--force] [--name NAME].

The box is made from debootstrap with the host's Debian mirror (no download of a
ready-made box) and registered with `vagrant box add`. `labctl up` with the vagrant
inventory builds it by itself when it is missing or of an older box format.
"""
import json

from ..box import BoxConfig, box_current, box_installed, build_box
from ..providers.vagrant.env import DEFAULT_BOX


def add_arguments(p):
    p.add_argument("action", choices=["build", "status"])
    p.add_argument("--name", default=DEFAULT_BOX, help=f"box name (default: {DEFAULT_BOX})")
    p.add_argument("--mirror", default="", help="Debian mirror (default: the host's apt mirror)")
    p.add_argument("--force", action="store_true", help="rebuild even when the box is installed")
    p.add_argument("--json", action="store_true", help="print the stage timings as JSON")
    p.add_argument("--bare", action="store_true",
                   help="without labkube's virtualenv and the lab images (site.yml installs them)")


def run(args) -> int:
    installed = box_installed(args.name)
    current = installed and box_current(args.name)
    if args.action == "status":
        state = "installed" if current else "installed, older format (rebuilt by build or up)" if installed else "missing"
        print(f"box {args.name}: {state}")
        return 0
    if current and not args.force:
        print(f"box {args.name} is already installed (use --force to rebuild)")
        return 0
    times = build_box(BoxConfig(name=args.name, mirror=args.mirror, preinstall=not args.bare))
    times["total_s"] = sum(times.values())
    if args.json:
        print(json.dumps({k: round(v, 1) for k, v in times.items()}))
    else:
        print(f"box {args.name} built and added in {times['total_s']:.0f} s")
    return 0
