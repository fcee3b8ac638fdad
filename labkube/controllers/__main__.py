"""`python -m labkube.controllers --config /etc/labkube/controllers.yaml` (the controller-manager)."""
from __future__ import annotations

import socket
import sys
import uuid

from labkube.client import Client
from labkube.client.component import load_kubeconfig, main
from labkube.client.leaderelection import LeaderElector

from .manager import Manager, ManagerConfig


async def run(path: str, raw: dict) -> None:
    cfg = ManagerConfig.from_dict(path, raw)
    kc = load_kubeconfig(cfg.kubeconfig)
    async with Client(kc, user_agent="labkube-controller-manager") as client:
        mgr = Manager(client, cfg)
        if cfg.leader_elect:
            ident = raw.get("identity") or f"{socket.gethostname()}_{uuid.uuid4()}"
            await LeaderElector(client, "kube-controller-manager", ident).run(mgr.run)
        else:
            await mgr.run()


if __name__ == "__main__":
    sys.exit(main("labkube.controllers", None, run, tune_gc=True))
