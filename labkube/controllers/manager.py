"""The controller-manager: build the configured controllers over shared informers and run them.

Config (/etc/labkube/controllers.yaml): kubeconfig, controllers (module names),
node_monitor_grace_period, pod_eviction_timeout, concurrent_syncs, and optionally
node_monitor_period, leader_elect (Lease kube-system/kube-controller-manager),
replicaset_status_batch (replicaset.py's status batching, seconds),
loadbalancer_pool (addresses for LoadBalancer Services, loadbalancer.py).
"""
from __future__ import annotations

import asyncio
import importlib
import logging
from dataclasses import dataclass, field

from labkube.client.clock import Clock
from labkube.client.component import ConfigError
from labkube.client.factory import InformerFactory
from .podlines import install as install_pod_lines
from .views import pod_view

log = logging.getLogger("labkube.controllers")
MANAGER_TRANSFORMS = {"pods": pod_view}     # what the shared informers keep (labkube.controllers.views)

# name -> (module, class); imported only when configured, so one controller's optional
# dependency (croniter for cronjob) cannot stop the others.
CONTROLLERS = {
    "replicaset": ("replicaset", "ReplicaSetController"),
    "deployment": ("deployment", "DeploymentController"),
    "garbagecollector": ("garbagecollector", "GarbageCollector"),
    "namespace": ("namespace", "NamespaceController"),
    "nodelifecycle": ("nodelifecycle", "NodeLifecycleController"),
    "endpoints": ("endpoints", "EndpointsController"),
    "endpointslice": ("endpointslice", "EndpointSliceController"),
    "serviceaccount": ("serviceaccount", "ServiceAccountController"),
    "job": ("job", "JobController"),
    "cronjob": ("cronjob", "CronJobController"),
    "daemonset": ("daemonset", "DaemonSetController"),
    "statefulset": ("statefulset", "StatefulSetController"),
    "resourcequota": ("resourcequota", "ResourceQuotaController"),
    "disruption": ("disruption", "DisruptionController"),
    "loadbalancer": ("loadbalancer", "LoadBalancerController"),
    "horizontalpodautoscaler": ("horizontalpodautoscaler", "HorizontalPodAutoscalerController"),
    "persistentvolume": ("persistentvolume", "PersistentVolumeController"),
    "pvcprotection": ("pvcprotection", "PVCProtectionController"),
    "root-ca-cert-publisher": ("rootcacertpublisher", "RootCACertPublisher"),
}


def controller_class(name: str):
    module, cls = CONTROLLERS[name]
    return getattr(importlib.import_module(f"labkube.controllers.{module}"), cls)


NUMBERS = ("node_monitor_grace_period", "pod_eviction_timeout", "concurrent_syncs", "node_monitor_period",
           "horizontal_pod_autoscaler_downscale_stabilization", "replicaset_status_batch")


@dataclass
class ManagerConfig:
    kubeconfig: str
    controllers: list[str] = field(default_factory=lambda: list(CONTROLLERS))
    settings: dict = field(default_factory=dict)
    concurrent_syncs: int = 5
    leader_elect: bool = False

    @classmethod
    def from_dict(cls, path: str, d: dict) -> "ManagerConfig":
        known = {"kubeconfig", "controllers", "leader_elect", "identity", "loadbalancer_pool", *NUMBERS}
        extra = sorted(set(d) - known)
        if extra:
            raise ConfigError(f"{path}: {extra[0]}: unknown setting (known: {', '.join(sorted(known))})")
        names = d.get("controllers") or list(CONTROLLERS)
        if not isinstance(names, list):
            raise ConfigError(f"{path}: controllers: must be a list of names")
        for n in names:
            if n not in CONTROLLERS:
                raise ConfigError(f"{path}: controllers: unknown controller {n!r} "
                                  f"(known: {', '.join(CONTROLLERS)})")
        settings = {}
        for k in NUMBERS:
            if k in d:
                v = d[k]
                if isinstance(v, bool) or not isinstance(v, (int, float)) or v <= 0:
                    raise ConfigError(f"{path}: {k}: must be a positive number, got {v!r}")
                settings[k] = v
        if d.get("loadbalancer_pool"):
            from .loadbalancer import PoolError, parse_pool
            try:
                parse_pool(d["loadbalancer_pool"])
            except PoolError as e:
                raise ConfigError(f"{path}: {e}") from None
            settings["loadbalancer_pool"] = d["loadbalancer_pool"]
        return cls(kubeconfig=d["kubeconfig"], controllers=names, settings=settings,
                   concurrent_syncs=int(d.get("concurrent_syncs", 5)), leader_elect=bool(d.get("leader_elect")))


class Manager:
    def __init__(self, client, cfg: ManagerConfig, clock: Clock | None = None):
        self.client = client
        self.cfg = cfg
        self.clock = clock or Clock()
        self.factory = InformerFactory(client, transforms=MANAGER_TRANSFORMS)
        self.controllers = [controller_class(n)(client, self.factory, self.clock, cfg.settings) for n in cfg.controllers]
        # pod watch lines that repeat a cached view's metadata applied without a whole decode
        self.pod_lines = install_pod_lines(self.factory)

    async def run(self) -> None:
        self.factory.start()
        log.info("starting controllers %s", ", ".join(self.cfg.controllers))
        try:
            await asyncio.gather(*(c.run(self.cfg.concurrent_syncs) for c in self.controllers))
        finally:
            await self.factory.stop()
