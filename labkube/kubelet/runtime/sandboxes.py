"""Pod sandboxes for the real runtime: a network namespace wired by CNI plus the pod files."""
from __future__ import annotations

import logging
import os
import secrets
import time

from .. import netns
from ..cni import Cni, CniError, result_ips
from .base import RuntimeError_, Sandbox, SandboxConfig
from .podfiles import write_pod_files
from .state import StateDir

log = logging.getLogger(__name__)


class Sandboxes:
    def __init__(self, state: StateDir, cni: Cni):
        self.state = state
        self.cni = cni
        self.items: dict[str, Sandbox] = state.load_sandboxes()
        for sb in self.items.values():        # after a node restart the namespaces are gone
            if sb.state == "ready" and not sb.host_network and not os.path.exists(sb.netns):
                sb.state = "notready"

    async def run(self, cfg: SandboxConfig) -> Sandbox:
        sid = secrets.token_hex(32)
        name = netns.netns_name(sid)
        sb = Sandbox(id=sid, uid=cfg.uid, name=cfg.name, namespace=cfg.namespace,
                     netns=netns.netns_path(name), created_at=time.time(), state="notready",
                     pod_dir=cfg.pod_dir, hostname=cfg.hostname, port_mappings=list(cfg.port_mappings),
                     cgroup_parent=cfg.cgroup_parent, host_network=cfg.host_network)
        if cfg.host_network:
            sb.netns, sb.ips, sb.port_mappings = "", [cfg.host_ip], []
        self.items[sid] = sb
        self.state.save_sandbox(sb)
        try:
            if not cfg.host_network:
                await netns.add(name)
                result = await self.cni.add(sid, sb.netns, cfg.port_mappings)
                sb.ips = result_ips(result)
            write_pod_files(cfg.pod_dir, cfg.hostname, sb.ips, cfg.nameservers, cfg.searches,
                            cfg.dns_options, cfg.host_aliases)
        except (netns.NetnsError, CniError, OSError, ValueError) as e:
            try:
                await self.stop(sid)
            except Exception as e2:  # noqa: BLE001 - report the first error
                log.warning("cleaning up failed sandbox %s: %s", sid[:12], e2)
            raise RuntimeError_(f"failed to set up sandbox of pod {cfg.namespace}/{cfg.name}: {e}",
                                "FailedCreatePodSandBox") from None
        sb.state = "ready"
        self.state.save_sandbox(sb)
        return sb

    async def stop(self, sandbox_id: str) -> None:
        sb = self.items.get(sandbox_id)
        if sb is None:
            return
        if sb.host_network:
            sb.state = "notready"
            self.state.save_sandbox(sb)
            return
        try:
            await self.cni.delete(sandbox_id, sb.netns)
        except CniError as e:
            raise RuntimeError_(str(e), "FailedKillPod") from None
        try:
            await netns.delete(netns.netns_name(sandbox_id))
        except netns.NetnsError as e:
            raise RuntimeError_(str(e), "FailedKillPod") from None
        sb.state = "notready"
        self.state.save_sandbox(sb)

    async def remove(self, sandbox_id: str) -> None:
        if sandbox_id in self.items:
            await self.stop(sandbox_id)
            self.items.pop(sandbox_id, None)
        self.state.delete_sandbox(sandbox_id)
