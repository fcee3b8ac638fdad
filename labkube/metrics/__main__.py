"""`python -m labkube.metrics --config /etc/labkube/metrics.yaml` (the metrics-server, on the masters)."""
from __future__ import annotations

import sys

from labkube.client import Client
from labkube.client.component import ConfigError, load_kubeconfig, main

from .app import MetricsServer
from .config import MetricsConfig


async def run(path: str, raw: dict) -> None:
    cfg = MetricsConfig.from_dict(path, raw)
    kc = load_kubeconfig(cfg.kubeconfig)
    async with Client(kc, user_agent="labkube-metrics-server") as client:
        try:
            await MetricsServer(client, cfg).run()
        except OSError as e:
            raise ConfigError(f"{path}: bind_address: cannot listen on {cfg.bind_address}:{cfg.secure_port}: "
                              f"{e.strerror or e}") from e


if __name__ == "__main__":
    sys.exit(main("labkube.metrics", None, run, required=()))
