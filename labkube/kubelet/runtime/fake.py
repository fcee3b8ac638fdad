"""A runtime that pretends: sandboxes get addresses from the node's pod CIDR, containers
"run" until stopped. For hollow nodes (scale tests) and unit tests; state is in memory.

A container whose args are `["exit", "<code>"]` (after command/args merging) exits at once
with that code, so tests can exercise restart policies without real processes.
"""
from __future__ import annotations

import asyncio
import ipaddress
import os
import secrets
import time

from .base import ContainerConfig, ContainerStatus, Runtime, RuntimeError_, Sandbox, SandboxConfig


class FakeRuntime(Runtime):
    name = "fake"

    def __init__(self, cfg):
        self.cfg = cfg
        net = ipaddress.ip_network(cfg.pod_cidr)
        self._free = [str(ip) for ip in list(net.hosts())[1:]]
        self.sandboxes: dict[str, Sandbox] = {}
        self.containers: dict[str, ContainerStatus] = {}
        self.configs: dict[str, ContainerConfig] = {}
        self._exit: dict[str, asyncio.Event] = {}
        self.calls: list[tuple] = []

    async def version(self) -> str:
        return "1.8.1-fake"

    async def run_pod_sandbox(self, cfg: SandboxConfig) -> Sandbox:
        if not self._free:
            raise RuntimeError_("no free pod IP", "FailedCreatePodSandBox")
        sid = secrets.token_hex(32)
        ip = cfg.host_ip if cfg.host_network else self._free.pop(0)
        sb = Sandbox(id=sid, uid=cfg.uid, name=cfg.name, namespace=cfg.namespace, ips=[ip], host_network=cfg.host_network,
                     created_at=time.time(), pod_dir=cfg.pod_dir, hostname=cfg.hostname)
        self.sandboxes[sid] = sb
        self.calls.append(("run_pod_sandbox", cfg.name))
        return sb

    async def stop_pod_sandbox(self, sandbox_id: str) -> None:
        sb = self.sandboxes.get(sandbox_id)
        if sb is not None and sb.state == "ready":
            sb.state = "notready"
            if not sb.host_network:
                self._free.extend(sb.ips)
            self.calls.append(("stop_pod_sandbox", sb.name))

    async def remove_pod_sandbox(self, sandbox_id: str) -> None:
        await self.stop_pod_sandbox(sandbox_id)
        self.sandboxes.pop(sandbox_id, None)

    async def list_sandboxes(self) -> list[Sandbox]:
        return list(self.sandboxes.values())

    async def create_container(self, sandbox: Sandbox, cfg: ContainerConfig) -> str:
        cid = secrets.token_hex(32)
        self.containers[cid] = ContainerStatus(id=cid, name=cfg.name, pod_uid=cfg.pod_uid, state="created",
                                               restart_count=cfg.restart_count, image_ref=cfg.image_ref,
                                               image_id=cfg.image_id, created_at=time.time(),
                                               log_path=cfg.log_path, sandbox_id=sandbox.id)
        self.configs[cid] = cfg
        self._exit[cid] = asyncio.Event()
        return cid

    async def start_container(self, container_id: str) -> None:
        st = self.containers[container_id]
        st.state, st.started_at, st.pid = "running", time.time(), 1
        if st.log_path:                      # an empty log, so `kubectl logs` works on hollow nodes
            os.makedirs(os.path.dirname(st.log_path), exist_ok=True)
            open(st.log_path, "a").close()
        args = self.configs[container_id].args
        self.calls.append(("start_container", st.name))
        if len(args) == 2 and args[0] == "exit":
            self.finish(container_id, int(args[1]))

    def finish(self, container_id: str, code: int) -> None:
        """Make a container exit with ``code`` (tests call this too)."""
        st = self.containers.get(container_id)
        if st is None or st.state != "running":
            return
        st.state, st.finished_at, st.exit_code = "exited", time.time(), code
        st.reason = "Completed" if code == 0 else "Error"
        self._exit[container_id].set()

    async def stop_container(self, container_id: str, timeout: float, signal: str | None = None) -> None:
        st = self.containers.get(container_id)
        if st is not None and st.state == "running":
            self.calls.append(("stop_container", st.name))
        self.finish(container_id, 137 if signal in (None, "SIGKILL") and timeout <= 0 else 0)

    async def wait_container(self, container_id: str, timeout: float | None = None):
        ev = self._exit.get(container_id)
        if ev is None:
            return None
        try:
            await asyncio.wait_for(ev.wait(), timeout)
        except asyncio.TimeoutError:
            return None
        return self.containers.get(container_id)

    async def remove_container(self, container_id: str) -> None:
        self.finish(container_id, 137)
        self.containers.pop(container_id, None)
        self.configs.pop(container_id, None)
        self._exit.pop(container_id, None)

    async def container_status(self, container_id: str) -> ContainerStatus | None:
        return self.containers.get(container_id)

    async def list_containers(self, pod_uid: str | None = None) -> list[ContainerStatus]:
        return [c for c in self.containers.values() if pod_uid is None or c.pod_uid == pod_uid]

    async def exec_sync(self, container_id: str, cmd: list, timeout: float) -> tuple[int, bytes]:
        """Succeeds, except for `false` (so tests can make hooks and probes fail)."""
        st = self.containers.get(container_id)
        self.calls.append(("exec", st.name if st else container_id, list(cmd)))
        return (1, b"false") if cmd[:1] == ["false"] else (0, b"")


class FakeImages:
    """Image store for hollow nodes: every reference "exists" (the real store is asked first)."""

    def __init__(self, real=None):
        self.real = real
        self.refs = real.refs if real is not None else {}

    def import_preload(self) -> list:
        return self.real.import_preload() if self.real is not None else []

    def ensure(self, ref: str, policy: str | None = None):
        import hashlib

        from ..images.reference import normalize_ref
        from ..images.store import Image, ImageError
        if self.real is not None:
            img = self.real.resolve(ref)
            if img is not None:
                return img
        try:
            norm = normalize_ref(ref)
        except ValueError as e:
            raise ImageError("InvalidImageName", str(e)) from None
        digest = "sha256:" + hashlib.sha256(norm.encode()).hexdigest()
        return Image(norm, digest, "", {"Cmd": ["sleep", "infinity"]})

    def list_images(self) -> list:
        return self.real.list_images() if self.real is not None else []
