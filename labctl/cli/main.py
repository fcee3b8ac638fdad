"""labctl's command line: parse the subcommand and hand over to labctl.cli.<subcommand>.

Every subcommand module has `add_arguments(parser)` and `run(args) -> int`. Errors a
user can cause end in one line on stderr and a distinct exit status (see labctl.errors).
"""
from __future__ import annotations

import argparse
import importlib
import sys

from ..errors import LabError

SUBCOMMANDS = ["up", "down", "status", "ssh", "kubeconfig", "smoke", "node", "play", "inventory", "box", "image", "storage"]


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser with every subcommand, or with just `only` (the one being run: each
    subcommand module imports what it needs, and a run should not pay for the others)."""
    parser = argparse.ArgumentParser(prog="labctl", description="Stand up a Kubernetes-style lab cluster.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in ([only] if only in SUBCOMMANDS else SUBCOMMANDS):
        module = importlib.import_module(f"labctl.cli.{name}")
        p = sub.add_parser(name, help=module.__doc__.strip().splitlines()[0],
                           description=module.__doc__.strip())
        p.set_defaults(handler=module.run)
        module.add_arguments(p)
    return parser


def add_inventory_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-i", "--inventory", default="inventories/local",
                        help="inventory directory or file (default: inventories/local)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(only=argv[0] if argv else None).parse_args(argv)
    try:
        return args.handler(args)
    except LabError as exc:
        print(f"labctl {args.command}: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"labctl {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
