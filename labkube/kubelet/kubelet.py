"""The Kubelet: wires config, image store, runtime, pod manager, node agent, lease, logs
and the HTTPS server together and runs them until stopped.

Stopping (SIGTERM) ends the kubelet's own tasks only: containers keep running and
are adopted by the next kubelet (like the real one).
"""
from __future__ import annotations

import asyncio
import base64
import logging
import os
import shutil

from labkube.client import Client, KubeConfig
from labkube.client.events import EventRecorder
from labkube.client.informer import Informer

from . import volumes
from .backoff import Backoff
from .containers import ContainerConfigError
from .images.store import ImageStore
from .lease import LeaseRenewer
from .logs import LogStamper
from .node import NodeAgent
from .podmanager import PodManager
from .podsandbox import pod_dir
from .runtime import make_runtime
from .satoken import TOKENS, TokenManager
from .server import KubeletServer
from .serviceenv import MASTER_NAMESPACE, pod_service_env, service_view
from .startup import StartupLog
from .status_manager import StatusManager

log = logging.getLogger(__name__)
SERVICES_SYNC_WAIT = 10.0          # seconds a container start waits for the first list of Services


class Kubelet:
    def __init__(self, cfg, client=None, runtime=None, images=None):
        self.cfg = cfg
        os.makedirs(cfg.root_dir, exist_ok=True)
        self.client = client if client is not None else Client(KubeConfig.load(cfg.kubeconfig),
                                                               user_agent=f"kubelet/{cfg.node_name}")
        self.images = images if images is not None else ImageStore(cfg.image_dir, cfg.registry_mirrors)
        self.runtime = runtime if runtime is not None else make_runtime(cfg, self.images)
        if cfg.runtime == "fake" and images is None:
            from .runtime.fake import FakeImages
            self.images = FakeImages(self.images)
        self.backoff = Backoff()
        self.statuses = StatusManager(self.client)
        self.recorder = EventRecorder(self.client, "kubelet", cfg.node_name)
        self.startup = StartupLog()
        self.pods = PodManager(self)
        self.node_agent = NodeAgent(self)
        self.lease = LeaseRenewer(self)
        self.stamper = LogStamper(self._running_logs)
        self.server = KubeletServer(self)
        self._tasks: list[asyncio.Task] = []
        self._background: set[asyncio.Task] = set()
        self._cache: dict[tuple, dict | None] = {}
        self.tokens = TokenManager(self.client)
        # every Service (name, cluster IP, ports), for the containers' Service variables
        self.services = Informer(self.client, "services", transform=service_view)
        self.services.add_index("namespace", lambda s: [s["metadata"].get("namespace")])

    # -- helpers the workers use ----------------------------------------------------------
    def background(self, coro) -> asyncio.Task:
        """Run ``coro`` as a task the kubelet keeps a reference to until it ends."""
        t = asyncio.create_task(coro)
        self._background.add(t)
        t.add_done_callback(self._background.discard)
        return t

    def event(self, obj: dict, type_: str, reason: str, message: str) -> None:
        self.background(self.recorder.event({"kind": "Pod", "apiVersion": "v1", **obj}, type_, reason, message))

    async def delete_pod(self, pod: dict) -> None:
        meta = pod["metadata"]
        try:
            await self.client.delete("pods", meta["name"], namespace=meta["namespace"], grace_period_seconds=0,
                                     preconditions={"uid": meta["uid"]})
        except Exception as e:  # noqa: BLE001
            if getattr(e, "code", None) not in (404, 409):
                raise

    def fetch_object(self, kind: str, name: str) -> dict | None:
        """ConfigMap/Secret for volumes and env, PVC ("<ns>/<name>") and PV for claim volumes
        (called from worker threads), ServiceAccount tokens (satoken.TOKENS)."""
        if kind == TOKENS:
            return self.tokens.get(name)
        return self._cache.get((kind, name))

    def lookup_key(self, kind: str, name: str, key: str, optional: bool) -> str | None:
        obj = self.fetch_object(kind, name)
        data = (obj or {}).get("data") or {}
        if key in data:
            val = data[key]
            return base64.b64decode(val).decode(errors="replace") if kind == "secrets" else val
        if optional:
            return None
        if obj is None:
            raise ContainerConfigError(f'{kind[:-1]} "{name}" not found')
        raise ContainerConfigError(f'couldn\'t find key {key} in {kind[:-1].capitalize()} {name}')

    def lookup_all(self, kind: str, name: str, optional: bool) -> dict | None:
        """The decoded data of a ConfigMap (data + binaryData) or Secret, for envFrom."""
        obj = self.fetch_object(kind, name)
        if obj is None:
            if optional:
                return None
            raise ContainerConfigError(f'{kind[:-1]} "{name}" not found')
        data = obj.get("data") or {}
        if kind == "secrets":
            return {k: base64.b64decode(v).decode(errors="replace") for k, v in data.items()}
        return dict(data)

    def service_env(self, pod: dict) -> dict:
        """The Service variables for the containers of ``pod`` (serviceenv.py): default/kubernetes
        and, unless enableServiceLinks is false, the Services of the pod's namespace. Like the
        kubelet, refuses to guess before the Services have been listed once."""
        if not self.services.has_synced:
            raise ContainerConfigError("services have not yet been read at least once, cannot construct envvars")
        ns = pod["metadata"].get("namespace")
        found = self.services.by_index("namespace", MASTER_NAMESPACE)
        if ns != MASTER_NAMESPACE:
            found = found + self.services.by_index("namespace", ns)
        return pod_service_env(pod, found)

    async def prefetch(self, pod: dict) -> None:
        """Load the ConfigMaps/Secrets a pod refers to into the cache."""
        ns = pod["metadata"]["namespace"]
        spec = pod.get("spec") or {}
        wanted = set()
        for v in spec.get("volumes") or []:
            for src in [v, *((v.get("projected") or {}).get("sources") or [])]:
                if "configMap" in src:
                    wanted.add(("configmaps", src["configMap"].get("name")))
                if "secret" in src:
                    wanted.add(("secrets", src["secret"].get("secretName") or src["secret"].get("name")))
        for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
            for e in c.get("env") or []:
                vf = e.get("valueFrom") or {}
                if "configMapKeyRef" in vf:
                    wanted.add(("configmaps", vf["configMapKeyRef"].get("name")))
                if "secretKeyRef" in vf:
                    wanted.add(("secrets", vf["secretKeyRef"].get("name")))
            for src in c.get("envFrom") or []:
                if "configMapRef" in src:
                    wanted.add(("configmaps", src["configMapRef"].get("name")))
                if "secretRef" in src:
                    wanted.add(("secrets", src["secretRef"].get("name")))
        await self.tokens.ensure(pod)
        if not self.services.has_synced:
            await self.services.wait_synced(SERVICES_SYNC_WAIT)
        for kind, name in wanted:
            try:
                self._cache[(kind, name)] = await self.client.get(kind, name, namespace=ns)
            except Exception:  # noqa: BLE001 - missing: the worker reports it
                self._cache[(kind, name)] = None
        for v in spec.get("volumes") or []:
            if "persistentVolumeClaim" in v:
                await self.prefetch_claim(ns, (v["persistentVolumeClaim"] or {}).get("claimName", ""))

    async def prefetch_claim(self, ns: str, name: str) -> None:
        """Cache a claim (as "<ns>/<name>") and, once it is bound, its PersistentVolume."""
        try:
            claim = await self.client.get("persistentvolumeclaims", name, namespace=ns)
        except Exception:  # noqa: BLE001 - missing: the worker reports it
            claim = None
        self._cache[("persistentvolumeclaims", f"{ns}/{name}")] = claim
        pv_name = ((claim or {}).get("spec") or {}).get("volumeName")
        if pv_name:
            try:
                self._cache[("persistentvolumes", pv_name)] = await self.client.get("persistentvolumes", pv_name)
            except Exception:  # noqa: BLE001
                self._cache[("persistentvolumes", pv_name)] = None

    async def runtime_ready(self) -> tuple[bool, str]:
        if self.cfg.runtime == "fake":
            return True, ""
        if not os.path.exists(os.path.join(self.cfg.cni_bin_dir, "bridge")):
            return False, f"network plugin not ready: no CNI plugins in {self.cfg.cni_bin_dir}"
        if shutil.which(self.cfg.crun) is None and not os.access(self.cfg.crun, os.X_OK):
            return False, f"container runtime not ready: {self.cfg.crun} missing"
        return True, ""

    def log_is_live(self, worker, container: str, path: str) -> bool:
        cur = worker.current(container)
        return cur is not None and cur.state in ("running", "created") and cur.log_path == path and not worker.done

    def _running_logs(self):
        for w in self.pods.workers.values():
            for recs in w.records.values():
                if recs and recs[-1].state == "running" and recs[-1].log_path:
                    yield recs[-1].log_path

    def forget(self, uid: str) -> None:
        self.pods.forget(uid)
        self.statuses.forget(uid)
        self.tokens.forget(uid)

    async def cleanup_orphan(self, uid: str) -> None:
        rt = self.runtime
        try:
            for c in await rt.list_containers(uid):
                await rt.stop_container(c.id, 2)
                await rt.remove_container(c.id)
            for sb in await rt.list_sandboxes():
                if sb.uid == uid:
                    await rt.stop_pod_sandbox(sb.id)
                    await rt.remove_pod_sandbox(sb.id)
            volumes.cleanup(pod_dir(self.cfg.root_dir, uid))
            log.info("removed leftovers of deleted pod %s", uid)
        except Exception:  # noqa: BLE001
            log.exception("cleaning up leftovers of pod %s", uid)

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> None:
        found = await asyncio.to_thread(self.images.import_preload)
        log.info("image store %s: %d references (%s)", self.cfg.image_dir, len(self.images.refs),
                 ", ".join(sorted(found)) or "nothing new")
        await self.runtime.start()
        await self.server.start(self.cfg.address, self.cfg.port)
        await self.node_agent.register()
        self.services.start()
        for coro in (self.node_agent.run(), self.lease.run(), self.pods.run(), self.stamper.run()):
            self._tasks.append(asyncio.create_task(coro))

    async def stop(self) -> None:
        for t in self._tasks + list(self._background):
            t.cancel()
        for w in list(self.pods.workers.values()):
            if w.task is not None:
                w.task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.services.stop()
        await self.server.stop()
        await self.runtime.close()
        close = getattr(self.client, "close", None)
        if close is not None:
            await close()
