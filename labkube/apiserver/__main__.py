"""Entry point: `python -m labkube.apiserver --config /etc/labkube/apiserver.yaml`."""
from __future__ import annotations

import argparse
import logging
import sys

from .config import ConfigError, load_config


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="labkube.apiserver", description="labkube API server")
    ap.add_argument("--config", required=True, help="apiserver YAML config")
    ap.add_argument("-v", "--verbose", action="store_true", help="debug logging and one line per request")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = load_config(args.config)
    except ConfigError as e:
        print(f"labkube.apiserver: {e}", file=sys.stderr)
        return 2
    from .app import serve
    from ..eventloop import run
    try:
        run(serve(cfg, access_log=args.verbose))
    except KeyboardInterrupt:
        return 0
    except Exception as e:  # noqa: BLE001 - one line on stderr, as every component does
        logging.getLogger("labkube.apiserver").debug("start-up failed", exc_info=True)
        print(f"labkube.apiserver: cannot serve: {type(e).__name__}: {e}".splitlines()[0], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
