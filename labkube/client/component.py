"""Shared start-up for labkube components run as `python -m labkube.<component> --config FILE`.

Parses --config, loads the YAML, sets up logging on stderr, runs the component's coroutine,
stops cleanly on SIGTERM/SIGINT, and turns configuration errors into one line on stderr
with exit status 2.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Awaitable, Callable

import yaml

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class ConfigError(ValueError):
    """A bad component configuration (message names the file and field)."""


def load_config(path: str, required: tuple[str, ...] = ()) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            cfg = yaml.safe_load(f) or {}
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from e
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: expected a mapping of settings")
    for k in required:
        if not cfg.get(k):
            raise ConfigError(f"{path}: {k}: required setting missing")
    return cfg


def main(prog: str, argv: list[str] | None,
         build: Callable[[str, dict], Awaitable[None]], required: tuple[str, ...] = ("kubeconfig",)) -> int:
    """build(config_path, cfg) is the component's main coroutine; it is cancelled on SIGTERM."""
    ap = argparse.ArgumentParser(prog=prog)
    ap.add_argument("--config", required=True, help="component config YAML")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format=LOG_FORMAT,
                        stream=sys.stderr)
    try:
        cfg = load_config(args.config, required)
    except ConfigError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2

    async def runner() -> int:
        task = asyncio.create_task(build(args.config, cfg))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        try:
            await task
        except asyncio.CancelledError:
            logging.getLogger(prog).info("stopping")
            return 0
        except ConfigError as e:
            print(f"{prog}: {e}", file=sys.stderr)
            return 2
        except Exception as e:  # noqa: BLE001 - e.g. leadership lost: one line, non-zero, restart
            logging.getLogger(prog).error("exiting: %s", e)
            return 1
        return 0

    return asyncio.run(runner())
