"""`python -m labkube.proxy --config /etc/labkube/proxy.yaml` (one per node)."""
from __future__ import annotations

import sys

from labkube.client import Client
from labkube.client.component import load_kubeconfig, main

from .config import ProxyConfig
from .proxier import Proxier


async def run(path: str, raw: dict) -> None:
    cfg = ProxyConfig.from_dict(path, raw)
    kc = load_kubeconfig(cfg.kubeconfig)
    async with Client(kc, user_agent="labkube-proxy") as client:
        await Proxier(client, cfg).run()


if __name__ == "__main__":
    sys.exit(main("labkube.proxy", None, run, required=()))
