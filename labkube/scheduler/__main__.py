"""`python -m labkube.scheduler --config /etc/labkube/scheduler.yaml`"""
from __future__ import annotations

import socket
import sys
import uuid

from labkube.client import Client
from labkube.client.component import load_kubeconfig, main
from labkube.client.leaderelection import LeaderElector

from .config import SchedulerConfig
from .plugins import default_profile
from .scheduler import CLIENT_IN_FLIGHT, Scheduler


async def run(path: str, raw: dict) -> None:
    cfg = SchedulerConfig.from_dict(path, raw)
    kc = load_kubeconfig(cfg.kubeconfig)
    async with Client(kc, user_agent="labkube-scheduler", max_in_flight=CLIENT_IN_FLIGHT) as client:
        profile = default_profile()
        profile.percentage_of_nodes_to_score = cfg.percentage_of_nodes_to_score
        sched = Scheduler(client, cfg.scheduler_name, profile=profile)
        if cfg.leader_elect:
            ident = cfg.identity or f"{socket.gethostname()}_{uuid.uuid4()}"
            await LeaderElector(client, "kube-scheduler", ident).run(sched.run)
        else:
            await sched.run()


if __name__ == "__main__":
    sys.exit(main("labkube.scheduler", None, run, tune_gc=True))
