"""The scheduler's config file (/etc/labkube/scheduler.yaml): kubeconfig, scheduler_name,
and optional leader election (leader_elect, lease name kube-scheduler in kube-system)."""
from __future__ import annotations

from dataclasses import dataclass

from labkube.client.component import ConfigError


@dataclass
class SchedulerConfig:
    kubeconfig: str
    scheduler_name: str = "default-scheduler"
    leader_elect: bool = False
    identity: str = ""

    @classmethod
    def from_dict(cls, path: str, d: dict) -> "SchedulerConfig":
        known = {"kubeconfig", "scheduler_name", "leader_elect", "identity"}
        extra = sorted(set(d) - known)
        if extra:
            raise ConfigError(f"{path}: {extra[0]}: unknown setting (known: {', '.join(sorted(known))})")
        if not isinstance(d.get("scheduler_name", "default-scheduler"), str):
            raise ConfigError(f"{path}: scheduler_name: must be a string")
        return cls(kubeconfig=d["kubeconfig"], scheduler_name=d.get("scheduler_name") or "default-scheduler",
                   leader_elect=bool(d.get("leader_elect", False)), identity=str(d.get("identity") or ""))
