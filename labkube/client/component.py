"""Shared start-up for labkube components run as `python -m labkube.<component> --config FILE`.

`main` parses --config, loads the YAML, sets up logging on stderr and hands the component's
coroutine to `run`, which runs it until it returns or SIGTERM/SIGINT cancels it, and turns
configuration errors into one line on stderr with exit status 2 (any other error: status 1).
Components with their own command line (the hollow-node fleet) call `setup_logging` and `run`
directly. `tune_gc` applies labkube.gctuning before the coroutine starts. The loop is
`labkube.eventloop`'s (uvloop when installed, as the apiserver's): its compiled TCP and TLS
transports make each request and watch event cheaper for the client too.
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from typing import Awaitable, Callable

import yaml

from labkube import eventloop, gctuning

from .kubeconfig import KubeConfig, KubeConfigError

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


def check_settings(path: str, raw: dict, known, required=()) -> None:
    """One line naming the file and key for a setting `known` does not list, or a `required`
    one that is missing or empty."""
    known = set(known)
    for k in raw:
        if k not in known:
            raise ConfigError(f"{path}: {k}: unknown setting (known: {', '.join(sorted(known))})")
    for k in required:
        if not raw.get(k):
            raise ConfigError(f"{path}: {k}: required setting missing")


def load_kubeconfig(path: str) -> KubeConfig:
    """The component's kubeconfig; a missing or broken one is a ConfigError (one line, status 2)."""
    try:
        return KubeConfig.load(path)
    except KubeConfigError as e:
        raise ConfigError(str(e)) from e


def setup_logging(verbose: bool = False) -> None:
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=LOG_FORMAT, stream=sys.stderr)


def main(prog: str, argv: list[str] | None,
         build: Callable[[str, dict], Awaitable[None]], required: tuple[str, ...] = ("kubeconfig",),
         tune_gc: bool = False) -> int:
    """build(config_path, cfg) is the component's main coroutine; it is cancelled on SIGTERM."""
    ap = argparse.ArgumentParser(prog=prog)
    ap.add_argument("--config", required=True, help="component config YAML")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    setup_logging(args.verbose)
    try:
        cfg = load_config(args.config, required)
    except ConfigError as e:
        print(f"{prog}: {e}", file=sys.stderr)
        return 2
    return run(prog, lambda: build(args.config, cfg), tune_gc=tune_gc)


def run(prog: str, start: Callable[[], Awaitable[None]], tune_gc: bool = False) -> int:
    """Run the coroutine start() returns until it ends or SIGTERM/SIGINT cancels it (status 0);
    ConfigError: one line on stderr, status 2; any other exception: logged, status 1."""
    if tune_gc:
        gctuning.tune(component=prog)

    async def runner() -> int:
        task = asyncio.create_task(start())
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

    return eventloop.run(runner())
