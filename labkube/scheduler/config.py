"""The scheduler's config file (/etc/labkube/scheduler.yaml): kubeconfig, scheduler_name,
optional leader election (leader_elect, lease name kube-scheduler in kube-system), and
percentage_of_nodes_to_score (kube-scheduler's percentageOfNodesToScore: with 100 nodes or
more, filtering stops once this share of the nodes is found feasible; 0, the default, is
the adaptive share, 50 % minus 1 % per 125 nodes, at least 5 %; 100 checks every node)."""
from __future__ import annotations

from dataclasses import dataclass

from labkube.client.component import ConfigError


@dataclass
class SchedulerConfig:
    kubeconfig: str
    scheduler_name: str = "default-scheduler"
    leader_elect: bool = False
    identity: str = ""
    percentage_of_nodes_to_score: int = 0

    @classmethod
    def from_dict(cls, path: str, d: dict) -> "SchedulerConfig":
        known = {"kubeconfig", "scheduler_name", "leader_elect", "identity", "percentage_of_nodes_to_score"}
        extra = sorted(set(d) - known)
        if extra:
            raise ConfigError(f"{path}: {extra[0]}: unknown setting (known: {', '.join(sorted(known))})")
        if not isinstance(d.get("scheduler_name", "default-scheduler"), str):
            raise ConfigError(f"{path}: scheduler_name: must be a string")
        pct = d.get("percentage_of_nodes_to_score", 0)
        if isinstance(pct, bool) or not isinstance(pct, int) or not 0 <= pct <= 100:
            raise ConfigError(f"{path}: percentage_of_nodes_to_score: must be a whole number from 0 to 100, "
                              f"got {pct!r}")
        return cls(kubeconfig=d["kubeconfig"], scheduler_name=d.get("scheduler_name") or "default-scheduler",
                   leader_elect=bool(d.get("leader_elect", False)), identity=str(d.get("identity") or ""),
                   percentage_of_nodes_to_score=pct)
