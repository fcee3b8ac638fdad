"""`python -m labkube.proxy --config /etc/labkube/proxy.yaml` (one per node)."""
from __future__ import annotations

import sys

from labkube.client import Client, KubeConfig, KubeConfigError
from labkube.client.component import ConfigError, main

from .config import ProxyConfig
from .proxier import Proxier


async def run(path: str, raw: dict) -> None:
    cfg = ProxyConfig.from_dict(path, raw)
    try:
        kc = KubeConfig.load(cfg.kubeconfig)
    except KubeConfigError as e:
        raise ConfigError(str(e)) from e
    async with Client(kc, user_agent="labkube-proxy") as client:
        await Proxier(client, cfg).run()


if __name__ == "__main__":
    sys.exit(main("labkube.proxy", None, run, required=()))
