"""One asyncio task per pod: sandbox -> init containers -> containers -> restarts -> status,
and graceful termination followed by the final DELETE (docs/contracts.md, pod deletion).
Ephemeral containers (`kubectl debug`, added to a running pod) are started once each, never
restarted, in the PID namespace of their targetContainerName when they name one.

The worker wakes on pod updates, container exits and back-off expiry (and every
`RESYNC` seconds), decides what to do from the runtime's records, and hands the
computed status to the StatusManager (sent only when changed).
"""
from __future__ import annotations

import asyncio
import logging
import os
import time

from .containers import ContainerConfigError, build_container_config
from . import termination_message
from .hooks import POST_START_TIMEOUT, run_hook
from .images.store import ImageError
from .logs import log_files
from .podsandbox import pod_dir, sandbox_config
from .podprobes import WorkerProbes
from .termination import grace_period, terminate_pod
from .runtime.base import ContainerStatus, RuntimeError_, Sandbox
from .startup import StartupTimings
from .status import ContainerView, container_status, pod_status
from .volumes import (VolumeError, VolumeNotReady, container_mounts, has_file_volumes, prepare_volumes,
                      read_only_volumes, refresh_volumes)

log = logging.getLogger(__name__)
RESYNC = 10.0
VOLUME_REFRESH = 10.0       # configMap/secret/downwardAPI volumes follow their objects this often
TERMINAL = ("Succeeded", "Failed")


class PodWorker:
    def __init__(self, kl, pod: dict, sandbox: Sandbox | None = None, containers: list | None = None):
        self.kl = kl
        self.pod = pod
        meta = pod["metadata"]
        self.uid, self.name, self.namespace = meta["uid"], meta["name"], meta["namespace"]
        self.sandbox = sandbox
        self.records: dict[str, list[ContainerStatus]] = {}
        for c in sorted(containers or [], key=lambda c: (c.restart_count, c.created_at)):
            self.records.setdefault(c.name, []).append(c)
            if c.state == "running":
                self._watch(c.id)
        self.waiting: dict[str, tuple] = {}
        self.probe_set = WorkerProbes(self)
        self.volumes: dict | None = None
        self.volumes_at = 0.0
        self.wake = asyncio.Event()
        self.removed = False
        self.done = False
        self.start_time = time.time()
        self.phase = (pod.get("status") or {}).get("phase") or "Pending"
        self.task: asyncio.Task | None = None
        self.timings = kl.startup.new(pod) if hasattr(kl, "startup") else StartupTimings(pod)
        self.timings.first_start_done = sandbox is not None or bool(containers)   # adopted: not measured

    # -- events ---------------------------------------------------------------------------
    def start(self) -> None:
        for c in self._all_specs():
            cur = self.current(c["name"])
            if cur is not None and cur.state == "running":
                self.probe_set.start(c, cur.id)
        self.task = asyncio.create_task(self.run(), name=f"pod {self.namespace}/{self.name}")

    def update(self, pod: dict) -> None:
        self.pod = pod
        self.wake.set()

    def remove(self) -> None:
        """The pod is gone from the API: stop everything, no final DELETE."""
        self.removed = True
        self.wake.set()

    def _watch(self, cid: str) -> None:
        async def waiter():
            await self.kl.runtime.wait_container(cid)
            self.wake.set()
        self.kl.background(waiter())

    def _all_specs(self) -> list:
        spec = self.pod.get("spec") or {}
        return (spec.get("initContainers") or []) + (spec.get("containers") or [])

    @property
    def terminating(self) -> bool:
        return self.removed or bool(self.pod["metadata"].get("deletionTimestamp"))

    # -- loop -----------------------------------------------------------------------------
    async def run(self) -> None:
        while True:
            self.wake.clear()
            if self.terminating:
                try:
                    await self.terminate()
                    return
                except Exception:  # noqa: BLE001
                    log.exception("terminating pod %s/%s failed; retrying", self.namespace, self.name)
                    await asyncio.sleep(2)
                    continue
            delay = RESYNC
            self.probe_set.stop_stale()
            try:
                delay = min(delay, await self.sync() or RESYNC)
            except Exception:  # noqa: BLE001 - keep the worker alive
                log.exception("sync of pod %s/%s failed", self.namespace, self.name)
            await self.publish()
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=max(delay, 0.05))
            except asyncio.TimeoutError:
                pass

    def current(self, name: str) -> ContainerStatus | None:
        recs = self.records.get(name)
        return recs[-1] if recs else None

    async def sync(self) -> float | None:
        spec = self.pod.get("spec") or {}
        if self.phase in TERMINAL:
            if self.sandbox is not None and self.sandbox.state == "ready":
                await self.kl.runtime.stop_pod_sandbox(self.sandbox.id)   # free the IP
            return None
        if self.sandbox is not None and self.sandbox.state != "ready":
            await self.replace_sandbox()
        if self.sandbox is None:
            try:
                with self.timings.step("sandbox"):
                    self.sandbox = await self.kl.runtime.run_pod_sandbox(
                        sandbox_config(self.pod, self.kl.cfg.root_dir, self.kl.cfg.cluster_dns,
                                       self.kl.cfg.cluster_domain, self.kl.cfg.node_name, self.kl.cfg.node_ip))
            except RuntimeError_ as e:
                self.kl.event(self.pod, "Warning", e.reason, e.message)
                for c in spec.get("containers") or []:
                    self.waiting[c["name"]] = ("ContainerCreating", e.message)
                return 5.0
        if self.volumes is None:
            try:
                with self.timings.step("volumes"):
                    await self.kl.prefetch(self.pod)
                    self.volumes = await asyncio.to_thread(prepare_volumes, self.pod, self.sandbox.pod_dir or
                                                           pod_dir(self.kl.cfg.root_dir, self.uid),
                                                           self.kl.fetch_object)
            except (VolumeError, OSError) as e:
                waiting = "ContainerCreating" if isinstance(e, VolumeNotReady) else "CreateContainerConfigError"
                for c in spec.get("containers") or []:
                    self.waiting[c["name"]] = (waiting, str(e))
                self.kl.event(self.pod, "Warning", "FailedMount", str(e))
                return 3.0 if isinstance(e, VolumeNotReady) else 10.0   # a claim binds within seconds
            self.volumes_at = time.monotonic()
        elif has_file_volumes(self.pod) and time.monotonic() - self.volumes_at >= VOLUME_REFRESH - 0.5:
            await self.refresh_volumes()
        policy = spec.get("restartPolicy") or "Always"
        for c in spec.get("initContainers") or []:
            cur = self.current(c["name"])
            if cur is not None and cur.state == "exited" and cur.exit_code == 0:
                continue
            if cur is not None and cur.state in ("running", "created"):
                return None
            if cur is not None and policy == "Never":
                return None
            return await self.start_or_backoff(c, cur)
        wake = None
        for c in spec.get("containers") or []:
            cur = self.current(c["name"])
            if cur is not None and cur.state == "running":
                continue
            if cur is not None and cur.state == "exited":
                if policy == "Never" or (policy == "OnFailure" and cur.exit_code == 0):
                    continue
            d = await self.start_or_backoff(c, cur)
            if d is not None:
                wake = d if wake is None else min(wake, d)
        for c in spec.get("ephemeralContainers") or []:
            if self.current(c["name"]) is None:       # started once, never restarted
                d = await self.start_container(c, 0, target=c.get("targetContainerName") or "")
                if d is not None:
                    wake = d if wake is None else min(wake, d)
        return wake

    def pid_namespace_of(self, target: str) -> str:
        """The PID namespace of the running container ``target`` (an ephemeral container's target)."""
        cur = self.current(target)
        if cur is None or cur.state != "running" or not cur.pid:
            raise ContainerConfigError(f"target container {target} is not running")
        return f"/proc/{cur.pid}/ns/pid"

    async def refresh_volumes(self) -> None:
        """Bring configMap/secret/downwardAPI/projected volume files up to date."""
        self.volumes_at = time.monotonic()
        await self.kl.prefetch(self.pod)
        try:
            await asyncio.to_thread(refresh_volumes, self.pod, self.sandbox.pod_dir or
                                    pod_dir(self.kl.cfg.root_dir, self.uid), self.kl.fetch_object)
        except OSError as e:
            log.warning("refreshing volumes of pod %s/%s: %s", self.namespace, self.name, e)

    async def replace_sandbox(self) -> None:
        """The pod's sandbox is gone (e.g. the node restarted): stop what is left of its
        containers and drop it; the next steps create a new one and restart the containers."""
        rt = self.kl.runtime
        log.info("sandbox of pod %s/%s is not ready; creating a new one", self.namespace, self.name)
        for recs in self.records.values():
            for r in recs:
                if r.state == "running":
                    await rt.stop_container(r.id, 0)
        await rt.stop_pod_sandbox(self.sandbox.id)
        await rt.remove_pod_sandbox(self.sandbox.id)
        self.sandbox, self.volumes = None, None

    async def start_or_backoff(self, c: dict, cur: ContainerStatus | None) -> float | None:
        name = c["name"]
        key = (self.uid, name)
        if cur is not None:
            remaining = self.kl.backoff.remaining(key)
            if remaining > 0:
                delay = self.kl.backoff.delay(key)
                if self.waiting.get(name, ("",))[0] != "CrashLoopBackOff":
                    self.kl.event(self.pod, "Warning", "BackOff", f"Back-off restarting failed container {name}")
                self.waiting[name] = ("CrashLoopBackOff", f"back-off {int(delay)}s restarting failed "
                                      f"container={name} pod={self.name}_{self.namespace}({self.uid})")
                return remaining
            self.kl.backoff.failed(key)
        return await self.start_container(c, 0 if cur is None else cur.restart_count + 1)

    async def start_container(self, c: dict, restart_count: int, target: str = "") -> float | None:
        name = c["name"]
        pull_key = (self.uid, name, "pull")
        if self.kl.backoff.remaining(pull_key) > 0:
            if self.waiting.get(name, ("",))[0] != "ImagePullBackOff":
                self.kl.event(self.pod, "Normal", "BackOff", f'Back-off pulling image "{c.get("image")}"')
            self.waiting[name] = ("ImagePullBackOff", f'Back-off pulling image "{c.get("image")}"')
            return self.kl.backoff.remaining(pull_key)
        try:
            with self.timings.step("image"):
                image = await asyncio.to_thread(self.kl.images.ensure, c.get("image", ""), c.get("imagePullPolicy"))
        except ImageError as e:
            self.waiting[name] = (e.reason, e.message)
            self.kl.event(self.pod, "Warning", "Failed", e.message)
            return self.kl.backoff.failed(pull_key) if e.reason == "ErrImagePull" else None
        if getattr(image, "pulled", False):
            self.kl.event(self.pod, "Normal", "Pulled", f'Successfully pulled image "{c.get("image")}"')
        elif self.kl.backoff.delay(pull_key) or restart_count == 0:
            self.kl.event(self.pod, "Normal", "Pulled", f'Container image "{c.get("image")}" already present on machine')
        self.kl.backoff.reset(pull_key)
        try:
            with self.timings.step("create"):
                await self.kl.prefetch(self.pod)          # ConfigMaps/Secrets may have changed
                cfg = build_container_config(
                    self.pod, c, image, host_ip=self.kl.cfg.node_ip, pod_ip=self.sandbox.ip,
                    mounts=container_mounts(c, self.volumes or {}, read_only_volumes(self.pod)) + [
                        termination_message.prepare(self.sandbox.pod_dir, c, restart_count)],
                    log_path=os.path.join(self.sandbox.pod_dir, "logs", name, f"{restart_count}.log"),
                    restart_count=restart_count, lookup=self.kl.lookup_key,
                    lookup_all=self.kl.lookup_all, services=self.kl.service_env(self.pod))
                if target:
                    cfg.pid_namespace = self.pid_namespace_of(target)
                cid = await self.kl.runtime.create_container(self.sandbox, cfg)
        except (ContainerConfigError, VolumeError, ValueError, KeyError) as e:
            self.waiting[name] = ("CreateContainerConfigError", str(e))
            self.kl.event(self.pod, "Warning", "Failed", f"Error: {e}")
            return 10.0
        except RuntimeError_ as e:
            self.waiting[name] = (e.reason, e.message)
            return 10.0
        self.waiting.pop(name, None)
        self.kl.event(self.pod, "Normal", "Created", f"Created container {name}")
        self.records.setdefault(name, []).append(await self.kl.runtime.container_status(cid))
        try:
            with self.timings.step("start"):
                await self.kl.runtime.start_container(cid)
            self._watch(cid)
            ok, msg = await run_hook("postStart", c, cid, self.sandbox.ip, self.kl.runtime.exec_sync,
                                     POST_START_TIMEOUT)
            if not ok:
                self.kl.event(self.pod, "Warning", "FailedPostStartHook", f"PostStartHook failed: {msg}")
                await self.kl.runtime.stop_container(cid, 0)
            else:
                self.probe_set.start(c, cid)
            self.kl.event(self.pod, "Normal", "Started", f"Started container {name}")
        except RuntimeError_ as e:
            self.kl.event(self.pod, "Warning", "Failed", e.message)
        await self.prune(name)
        return None

    async def prune(self, name: str) -> None:
        """Keep the current container and the one before it (for lastState and --previous)."""
        recs = self.records.get(name, [])
        while len(recs) > 2:
            old = recs.pop(0)
            await self.kl.runtime.remove_container(old.id)
        keep = {r.log_path for r in recs}
        for path in log_files(self.sandbox.pod_dir, name)[:-2]:
            if path not in keep:
                for p in (path, path + ".ts"):
                    try:
                        os.unlink(p)
                    except OSError:
                        pass

    # -- status ---------------------------------------------------------------------------
    def views(self, containers: list) -> list[ContainerView]:
        out = []
        for c in containers:
            recs = self.records.get(c["name"], [])
            cur = recs[-1] if recs else None
            last = recs[-2] if len(recs) > 1 and recs[-2].state == "exited" else None
            waiting = self.waiting.get(c["name"])
            if waiting and cur is not None and cur.state == "running":
                waiting = None
            for r in recs:
                if r.state == "exited" and not r.message and not getattr(r, "_msg_read", False):
                    r.message = termination_message.read_message(
                        pod_dir(self.kl.cfg.root_dir, self.uid), c, r.restart_count, r.exit_code, r.log_path)
                    r._msg_read = True
            probes = self.probe_set.get(c["name"])
            out.append(ContainerView(name=c["name"], image=_display_image(c.get("image", "")), current=cur,
                                     last=last, waiting=waiting, ready=probes.ready if probes else True,
                                     started=probes.started if probes else None,
                                     restart_count=cur.restart_count if cur else 0))
        return out

    def compute_status(self) -> dict:
        spec = self.pod.get("spec") or {}
        ips = list(self.sandbox.ips) if self.sandbox else []
        status = pod_status(self.pod, self.views(spec.get("initContainers") or []),
                            self.views(spec.get("containers") or []), host_ip=self.kl.cfg.node_ip,
                            pod_ips=ips, start_time=self.start_time)
        if spec.get("ephemeralContainers"):
            status["ephemeralContainerStatuses"] = [container_status(v)
                                                    for v in self.views(spec["ephemeralContainers"])]
        return status

    async def publish(self) -> None:
        status = self.compute_status()
        if self.phase in TERMINAL and status["phase"] not in TERMINAL:
            return                          # a terminal phase is final (e.g. after a node restart)
        self.phase = status["phase"]
        sent_at = time.time()
        if await self.kl.statuses.set(self.pod, status):
            self.timings.status_sent(status, sent_at)

    # -- termination ----------------------------------------------------------------------
    def grace_period(self) -> float:
        return grace_period(self.pod)

    async def terminate(self) -> None:
        await terminate_pod(self)


def _display_image(image: str) -> str:
    from .images.reference import normalize_ref
    try:
        return normalize_ref(image)
    except ValueError:
        return image
