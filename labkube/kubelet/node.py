"""Node registration and status (docs/contracts.md: labels, taints, podCIDR, addresses,
capacity/allocatable, nodeInfo, daemonEndpoints, the Ready condition).

`node_object` and `node_status` are pure; `NodeAgent` registers the Node (creating it,
or merging labels and podCIDR into an existing one) and then patches its status every
`node_status_update_frequency` seconds.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time

from labkube import KUBE_VERSION

from .machine import MachineInfo
from .status import rfc3339

log = logging.getLogger(__name__)


def resources(cfg, info: MachineInfo, root_dir_bytes: int | None = None) -> dict:
    r = {"cpu": str(info.cpus), "memory": f"{info.memory_kib}Ki", "pods": str(cfg.max_pods),
         "hugepages-2Mi": "0", "hugepages-1Gi": "0"}
    if root_dir_bytes:
        r["ephemeral-storage"] = f"{root_dir_bytes // 1024}Ki"
    return r


def node_labels(cfg, info: MachineInfo) -> dict:
    labels = {"kubernetes.io/hostname": cfg.node_name, "kubernetes.io/os": "linux",
              "kubernetes.io/arch": info.architecture, "beta.kubernetes.io/os": "linux",
              "beta.kubernetes.io/arch": info.architecture}
    labels.update(cfg.node_labels)
    return labels


def node_object(cfg, info: MachineInfo) -> dict:
    taints = [{k: v for k, v in t.items() if k in ("key", "value", "effect")} for t in cfg.register_with_taints]
    spec = {"podCIDR": cfg.pod_cidr, "podCIDRs": [cfg.pod_cidr]}
    if taints:
        spec["taints"] = taints
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": cfg.node_name, "labels": node_labels(cfg, info),
                         "annotations": {"node.alpha.kubernetes.io/ttl": "0"}},
            "spec": spec}


def node_status(cfg, info: MachineInfo, runtime_version: str, *, ready: bool, ready_message: str = "",
                images: list | None = None, prev_conditions: list | None = None, now: float | None = None,
                storage_bytes: int | None = None) -> dict:
    now = time.time() if now is None else now
    prev = {c.get("type"): c for c in prev_conditions or []}

    def cond(ctype, status, reason, message):
        old = prev.get(ctype) or {}
        since = old.get("lastTransitionTime") if old.get("status") == status else rfc3339(now)
        return {"type": ctype, "status": status, "lastHeartbeatTime": rfc3339(now),
                "lastTransitionTime": since, "reason": reason, "message": message}

    res = resources(cfg, info, storage_bytes)
    conds = [cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
             cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
             cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
             cond("Ready", "True" if ready else "False", "KubeletReady" if ready else "KubeletNotReady",
                  ready_message or ("kubelet is posting ready status" if ready else "container runtime is not ready"))]
    return {
        "capacity": res, "allocatable": dict(res), "conditions": conds,
        "addresses": [{"type": "InternalIP", "address": cfg.node_ip}, {"type": "Hostname", "address": cfg.node_name}],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": cfg.port}},
        "nodeInfo": {"machineID": info.machine_id, "systemUUID": info.system_uuid, "bootID": info.boot_id,
                     "kernelVersion": info.kernel, "osImage": info.os_image,
                     "containerRuntimeVersion": f"crun://{runtime_version}", "kubeletVersion": KUBE_VERSION,
                     "kubeProxyVersion": KUBE_VERSION, "operatingSystem": "linux", "architecture": info.architecture},
        "images": images or [],
    }


class NodeAgent:
    def __init__(self, kl):
        self.kl = kl
        self.info = MachineInfo.probe()
        self.node: dict | None = None
        self.conditions: list = []

    def _storage(self) -> int | None:
        try:
            st = os.statvfs(self.kl.cfg.root_dir)
            return st.f_blocks * st.f_frsize
        except OSError:
            return None

    async def register(self) -> dict:
        """Create the Node, or update labels/podCIDR of an existing one. Retries until it works."""
        cfg, client = self.kl.cfg, self.kl.client
        want = node_object(cfg, self.info)
        delay = 0.5
        while True:
            try:
                try:
                    self.node = await client.create("nodes", want)
                    log.info("registered node %s", cfg.node_name)
                except Exception as e:  # noqa: BLE001
                    if getattr(e, "code", None) != 409:
                        raise
                    patch = {"metadata": {"labels": want["metadata"]["labels"]}}
                    existing = await client.get("nodes", cfg.node_name)
                    if not (existing.get("spec") or {}).get("podCIDR"):
                        patch["spec"] = {"podCIDR": cfg.pod_cidr, "podCIDRs": [cfg.pod_cidr]}
                    self.node = await client.patch("nodes", cfg.node_name, patch)
                    log.info("node %s already registered; updated it", cfg.node_name)
                self.conditions = (self.node.get("status") or {}).get("conditions") or []
                await self.update_status()
                return self.node
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - apiserver not up yet
                log.warning("node registration failed (%s); retrying in %.1fs", e, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 7)

    async def update_status(self) -> None:
        ready, msg = await self.kl.runtime_ready()
        images = await asyncio.to_thread(self.kl.images.list_images)
        status = node_status(self.kl.cfg, self.info, await self.kl.runtime.version(), ready=ready,
                             ready_message=msg, images=images, prev_conditions=self.conditions,
                             storage_bytes=self._storage())
        self.node = await self.kl.client.patch("nodes", self.kl.cfg.node_name, {"status": status},
                                               subresource="status")
        self.conditions = status["conditions"]

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.kl.cfg.node_status_update_frequency)
            try:
                await self.update_status()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001
                if getattr(e, "code", None) == 404:
                    log.warning("node %s was deleted; registering again", self.kl.cfg.node_name)
                    await self.register()
                else:
                    log.warning("node status update failed: %s", e)
