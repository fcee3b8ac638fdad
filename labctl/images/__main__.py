"""`python -m labctl.images OUT_DIR [IMAGE ...]`: build the lab's images (default: all of them) as OCI
archives (OUT_DIR/<name>.tar) and print each reference with its manifest digest."""
from __future__ import annotations

import argparse
import os
import sys

from . import BUILDERS


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m labctl.images", description=__doc__.split("\n")[0])
    p.add_argument("out_dir")
    p.add_argument("images", nargs="*", metavar="IMAGE", help=f"one of {', '.join(BUILDERS)} (default: all)")
    args = p.parse_args(argv)
    unknown = [n for n in args.images if n not in BUILDERS]
    if unknown:
        print(f"labctl.images: unknown image {unknown[0]!r} (known: {', '.join(BUILDERS)})", file=sys.stderr)
        return 2
    os.makedirs(args.out_dir, exist_ok=True)
    for name in args.images or list(BUILDERS):
        try:
            img = BUILDERS[name](os.path.join(args.out_dir, f"{name}.tar"))
        except FileNotFoundError as e:
            print(f"labctl.images: {name}: {e}", file=sys.stderr)
            return 2
        print(f"{img.ref} {img.manifest_digest} {os.path.join(args.out_dir, name + '.tar')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
