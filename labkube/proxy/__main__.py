"""`python -m labkube.proxy --config /etc/labkube/proxy.yaml` (one per node)."""
from __future__ import annotations

import asyncio
import sys

from labkube.client import Client
from labkube.client.component import load_kubeconfig, main
from labkube.ingress.controller import IngressController
from labkube.netpol.agent import NetworkPolicyAgent, remove_chains

from .config import ProxyConfig
from .proxier import Proxier


async def run(path: str, raw: dict) -> None:
    cfg = ProxyConfig.from_dict(path, raw)
    kc = load_kubeconfig(cfg.kubeconfig)
    async with Client(kc, user_agent="labkube-proxy") as client, asyncio.TaskGroup() as tasks:
        proxier = Proxier(client, cfg)
        tasks.create_task(proxier.run(), name="proxier")
        if cfg.ingress is not None:          # the ingress controller shares the process, client and caches
            shared = {"services": proxier.services, "endpoints": proxier.endpoints, "nodes": proxier.nodes}
            tasks.create_task(IngressController(client, cfg.ingress, shared).run(), name="ingress")
        if cfg.network_policy:               # so does the NetworkPolicy agent (labkube/netpol)
            tasks.create_task(NetworkPolicyAgent(client, cfg.node_name, iptables_save=cfg.iptables_save,
                                                 iptables_restore=cfg.iptables_restore,
                                                 sync_period=cfg.sync_period).run(), name="netpol")
        else:                                # chains an earlier agent left would go on dropping
            tasks.create_task(remove_chains(iptables_save=cfg.iptables_save, iptables_restore=cfg.iptables_restore),
                              name="netpol-off")


if __name__ == "__main__":
    sys.exit(main("labkube.proxy", None, run, required=()))
