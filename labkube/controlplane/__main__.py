"""`python -m labkube.controlplane --apiserver-config A --controllers-config C --scheduler-config S`

The apiserver, controller-manager and scheduler in one process (see the package docstring).
A bad config file: one line on stderr naming it, status 2, nothing started."""
from __future__ import annotations

import argparse
import sys

from labkube import eventloop
from labkube.client.component import setup_logging

from . import ConfigError, load, run

PROG = "labkube.controlplane"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=PROG, description="labkube apiserver, controller-manager and scheduler "
                                                        "in one process")
    ap.add_argument("--apiserver-config", required=True, help="the apiserver's YAML config")
    ap.add_argument("--controllers-config", required=True, help="the controller-manager's YAML config")
    ap.add_argument("--scheduler-config", required=True, help="the scheduler's YAML config")
    ap.add_argument("-v", "--verbose", action="store_true", help="debug logging and one line per request")
    args = ap.parse_args(argv)
    setup_logging(args.verbose)
    try:
        cfgs = load(args.apiserver_config, args.controllers_config, args.scheduler_config)
    except ConfigError as e:
        print(f"{PROG}: {e}".splitlines()[0], file=sys.stderr)
        return 2
    try:
        return eventloop.run(run(cfgs, access_log=args.verbose))
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
