"""`python -m labkube.dns --config /etc/labkube/dns.yaml` (on the masters)."""
from __future__ import annotations

import sys

from labkube.client import Client
from labkube.client.component import ConfigError, load_kubeconfig, main

from .app import ClusterDns
from .config import DnsConfig


async def run(path: str, raw: dict) -> None:
    cfg = DnsConfig.from_dict(path, raw)
    kc = load_kubeconfig(cfg.kubeconfig)
    async with Client(kc, user_agent="labkube-dns") as client:
        try:
            await ClusterDns(client, cfg).run()
        except OSError as e:
            raise ConfigError(f"{path}: bind_address: cannot listen on {cfg.bind_address}:{cfg.port}: {e.strerror}") from e


if __name__ == "__main__":
    sys.exit(main("labkube.dns", None, run, required=()))
