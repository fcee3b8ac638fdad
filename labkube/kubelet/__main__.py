"""`python -m labkube.kubelet --config /etc/labkube/kubelet.yaml`"""
from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from .config import ConfigError, load_config

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


async def _main(cfg) -> int:
    from .kubelet import Kubelet
    kl = Kubelet(cfg)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    starting = asyncio.create_task(kl.start())
    waiter = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait({starting, waiter}, return_when=asyncio.FIRST_COMPLETED)
    if starting in done and starting.exception() is not None:
        logging.getLogger("labkube.kubelet").error("kubelet failed to start: %s", starting.exception())
        await kl.stop()
        return 1
    await waiter
    starting.cancel()
    logging.getLogger("labkube.kubelet").info("stopping (containers keep running)")
    await kl.stop()
    return 0


def check_files(cfg, path: str) -> None:
    """The files the config names must be readable (one-line ConfigError naming the key)."""
    from labkube.client import KubeConfig, KubeConfigError
    for key in ("tls_cert_file", "tls_private_key_file", "client_ca_file"):
        f = getattr(cfg, key)
        if f and not os.access(f, os.R_OK):
            raise ConfigError(f"{path}: {key}: cannot read {f}")
    try:
        KubeConfig.load(cfg.kubeconfig)
    except KubeConfigError as e:
        raise ConfigError(f"{path}: kubeconfig: {e}") from None
    if cfg.runtime == "crun" and not os.access(cfg.crun, os.X_OK):
        raise ConfigError(f"{path}: crun: {cfg.crun} is not an executable (install the crun package)")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m labkube.kubelet", description="labkube node agent")
    p.add_argument("--config", required=True, help="kubelet config YAML (/etc/labkube/kubelet.yaml)")
    p.add_argument("-v", "--verbose", action="store_true")
    args = p.parse_args(argv)
    try:
        cfg = load_config(args.config)
        check_files(cfg, args.config)
    except ConfigError as e:
        print(f"kubelet: {e}", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format=LOG_FORMAT,
                        stream=sys.stderr)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    return asyncio.run(_main(cfg))


if __name__ == "__main__":
    sys.exit(main())
