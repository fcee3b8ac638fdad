"""Scheduler: watch pending pods and nodes, pick a node for each pod, bind it, record Events.

Only pods with our schedulerName, no spec.nodeName, no deletionTimestamp and not terminal
are scheduled. A pod that fits nowhere gets a FailedScheduling Event plus a PodScheduled=False
condition and waits in the queue until nodes or pods change; a bound pod is remembered as
"assumed" on its node until the informer sees the binding, so back-to-back pods see it.
A pod that preempted is "nominated" to its node: the room its victims leave is held for it
(pods of lower or equal priority see it as taken), and it does not preempt again while
victims there are still terminating.
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque
from time import perf_counter

from labkube.client.clock import Clock
from labkube.client.errors import ApiError
from labkube.client.events import EventQueue, EventRecorder
from labkube.client.informer import Informer, object_key

from .cache import SchedulerCache
from .cycle import FitError, Profile
from .nodeinfo import NodeInfo
from .plugins import default_profile
from .preemption import find_victims, priority, waiting_for_victims
from .queue import SchedulingQueue
from .statuslines import StatusLines
from .views import node_view, pod_view

log = logging.getLogger(__name__)
TERMINAL = ("Succeeded", "Failed")
CYCLE_SLICE = 0.001         # scheduling cycles run back to back for up to this long (s) between other tasks
BIND_CONCURRENCY = 64       # bindings in flight: each waits for the apiserver's batched commit, so the
                            # drain rate is about BIND_CONCURRENCY / bind latency until a core saturates.
                            # Deeper pipelines drain a burst faster only by taking the apiserver from the
                            # kubelets' status writes: 192 (pool kept warm) bound bench/scale.py's backlog
                            # at ~2,000 pods/s while ~1.4 of each pod's 2 writes landed inside the drain;
                            # with kubelets writing as fast (hollow --concurrency 512) it bound 1,390-1,450
                            # pods/s, as 64 does (1,340-1,360), for ~70 MB more of kept-alive TLS
                            # connections in the control plane (full runs, 2026-12-03)
CLIENT_IN_FLIGHT = BIND_CONCURRENCY + 32    # the scheduler's Client: binds plus events and status
# Bindings pending (in flight or waiting for a slot) at which the binder's connections are opened
# in the background (keep_warm: up to BIND_CONNECTIONS, the bindings being pipelined on them): a
# pool grown one TLS handshake at a time in the middle of a burst costs both sides ~2 ms of CPU
# each time (kube-scheduler's bindings share one HTTP/2 connection). Not at start-up (the pool
# stays lazy for a scheduler that binds little) and not per binding (cheap check, but only needed
# when bindings pile up).
WARM_AT = BIND_CONCURRENCY // 4
BIND_CONNECTIONS = 8        # connections the bindings are pipelined on (Client.pipelined)


def _node_shape(node: dict) -> tuple:
    st = node.get("status") or {}
    ready = [c.get("status") for c in st.get("conditions") or [] if c.get("type") == "Ready"]
    return (node.get("spec"), (node.get("metadata") or {}).get("labels"), st.get("allocatable"), ready)


class Scheduler:
    def __init__(self, client, scheduler_name: str = "default-scheduler", clock: Clock | None = None,
                 profile: Profile | None = None, queue: SchedulingQueue | None = None):
        self.client = client
        self.name = scheduler_name
        self.clock = clock or Clock()
        self.profile = profile or default_profile()
        self.queue = queue or SchedulingQueue(self.clock)
        # Scheduled, FailedScheduling, Preempted: written in the background at a bounded rate
        # (kube-scheduler's event broadcaster), never holding up a cycle or a binding
        self.events = EventQueue(EventRecorder(client, scheduler_name, clock=self.clock))
        self.pods = Informer(client, "pods", transform=self._pod_view)
        # bound pods' status writes that change nothing the scheduler reads are applied to their
        # cached views from the watch line, undecoded (statuslines.py): its predicate is the
        # informer's line filter
        self.status_lines = StatusLines(self.pods, lambda key: not self.queue.holds(key) and key not in self.nominated)
        self.pods.decode_line = self.status_lines.wanted
        self.nodes = Informer(client, "nodes", transform=node_view)
        self.cache = SchedulerCache()
        self.nominated: dict[str, tuple[str, dict]] = {}   # key -> (node, pod) of preemptors waiting for room
        # bindings run on at most BIND_CONCURRENCY binder tasks, each taking the next pending
        # binding in order until none is left (one task and no semaphore wait per binding)
        self._binding: set[asyncio.Task] = set()            # the binder tasks running
        self._bind_queue: deque[tuple[str, dict, str, int]] = deque()
        self._pending_binds = 0                             # bindings queued or in flight
        # bindings go pipelined on a few connections (Client.pipelined; fakes have none): a burst of
        # them shares the reads, TLS records, writes and loop passes of both sides
        pipelined = getattr(client, "pipelined", None)
        self.binder = pipelined(BIND_CONNECTIONS) if pipelined is not None else client
        self._keep_warm = getattr(self.binder, "keep_warm", None)     # its pool's warm-up (not in fakes)
        self.pods.add_handlers(self._pod_added, self._pod_updated, self._pod_deleted)
        self.nodes.add_handlers(self._node_added, self._node_updated, self._node_deleted)
        # filter plugins with informers of their own (VolumeBinding: claims, volumes, classes);
        # their changes retry the waiting pods
        self.plugin_informers = [inf for p in self.profile.filters if hasattr(p, "informers")
                                 for inf in p.informers(client, self.queue.move_all_to_active)]
        self.pre_binders = [p for p in self.profile.filters if hasattr(p, "pre_bind")]

    @property
    def assumed(self) -> dict[str, dict]:
        """Pods assumed on a node whose binding the informer has not shown yet (key -> copy)."""
        return self.cache.assumed

    # -- eligibility and informer handlers ---------------------------------------------------

    def is_pending_for_us(self, pod: dict) -> bool:
        spec, md = pod.get("spec") or {}, pod.get("metadata") or {}
        return ((spec.get("schedulerName") or "default-scheduler") == self.name
                and not spec.get("nodeName") and not md.get("deletionTimestamp")
                and (pod.get("status") or {}).get("phase") not in TERMINAL)

    def _enqueue(self, pod: dict) -> None:
        self.queue.add(object_key(pod), int((pod.get("spec") or {}).get("priority") or 0))

    def _nominate(self, pod: dict, key: str, pending: bool) -> None:
        """Follow status.nominatedNodeName of pending pods (ours, or another scheduler instance's)."""
        node = (pod.get("status") or {}).get("nominatedNodeName")
        if node and pending:
            self.nominated[key] = (node, pod)
        elif key in self.nominated and (not pending or node == ""):
            del self.nominated[key]         # bound, gone, or its nomination cleared

    def _pod_view(self, pod: dict) -> dict:
        view = pod_view(pod)
        self.status_lines.decoded(view, pod)
        return view

    def _pod_added(self, pod: dict) -> None:
        key = object_key(pod)
        self.cache.set_pod(pod, key)
        pending = self.is_pending_for_us(pod)
        self._nominate(pod, key, pending)
        if pending:
            self._enqueue(pod)

    def _pod_updated(self, old: dict, new: dict) -> None:
        key = object_key(new)
        self.cache.set_pod(new, key)
        pending = self.is_pending_for_us(new)
        self._nominate(new, key, pending)
        if pending:
            changed = (old.get("spec") != new.get("spec")
                       or old["metadata"].get("labels") != new["metadata"].get("labels"))
            if changed:                 # a relevant change: try again now
                self.queue.delete(key)
                self._enqueue(new)
            elif key not in self.queue:
                self._enqueue(new)
        else:
            self.queue.delete(key)
            if (new.get("status") or {}).get("phase") in TERMINAL or new["metadata"].get("deletionTimestamp"):
                self.queue.move_all_to_active()

    def _node_added(self, node: dict) -> None:
        self.cache.set_node(node)
        self.queue.move_all_to_active()

    def _node_updated(self, old: dict, new: dict) -> None:
        """Retry unschedulable pods only for changes that can matter (not heartbeats)."""
        self.cache.set_node(new)
        if _node_shape(old) != _node_shape(new):
            self.queue.move_all_to_active()

    def _node_deleted(self, node: dict) -> None:
        self.cache.remove_node(node["metadata"]["name"])

    def _pod_deleted(self, pod: dict) -> None:
        self.cache.remove_pod(pod)
        key = object_key(pod)
        self.status_lines.forget(key)
        self.queue.delete(key)
        self.nominated.pop(key, None)
        if (pod.get("spec") or {}).get("nodeName"):
            self.queue.move_all_to_active()

    # -- one cycle --------------------------------------------------------------------------

    def node_infos(self) -> list[NodeInfo]:
        """Every node with the pods on it (bound or assumed), in name order: the cache's
        snapshot, kept up to date by the informer handlers, so a cycle does no per-node work
        before the plugins run."""
        return self.cache.snapshot()

    def with_nominated(self, pod: dict, nodes: list[NodeInfo]) -> list[NodeInfo]:
        """The nodes as `pod` must see them: with the pods nominated there (after preempting) whose
        priority is at least its own, as kube-scheduler does, so a lower or equal pod cannot take
        the room a preemptor's victims leave."""
        if not self.nominated:
            return nodes
        key, mine = object_key(pod), priority(pod)
        held: dict[str, list[dict]] = {}
        for other, (node, p) in self.nominated.items():
            if other != key and priority(p) >= mine:
                held.setdefault(node, []).append(dict(p, spec=dict(p.get("spec") or {}, nodeName=node)))
        if not held:
            return nodes
        return [NodeInfo(ni.node, ni.pods + held[ni.name]) if ni.name in held else ni for ni in nodes]

    async def schedule_one(self, key: str) -> str | None:
        """Try to place one pod; returns the chosen node (binding continues in the background) or None."""
        pod = self.pods.get(key)
        if pod is None or not self.is_pending_for_us(pod) or key in self.assumed:
            self.queue.done(key)
            return None
        prio = int((pod.get("spec") or {}).get("priority") or 0)
        nodes = self.with_nominated(pod, self.node_infos())
        try:
            host = self.profile.select_host(pod, nodes)
        except FitError as e:
            msg = e.message()
            log.info("pod %s unschedulable: %s", key, msg)
            self.queue.done(key)
            self.queue.add_unschedulable(key, prio)
            self.events.warning(pod, "FailedScheduling", msg)
            await self._mark_unschedulable(pod, msg)
            if prio > 0:
                await self._preempt(pod, e, nodes)
            return None
        # assume the pod on its node at once, so the next cycle sees it; bind in the background
        # (as kube-scheduler's binding cycle does) so API latency does not serialise scheduling
        self.cache.assume(pod, host)
        self.nominated.pop(key, None)
        self.queue.done(key)
        self._bind_queue.append((key, pod, host, prio))
        self._pending_binds += 1
        if len(self._binding) < BIND_CONCURRENCY:
            task = asyncio.create_task(self._binder())
            self._binding.add(task)
            task.add_done_callback(self._binding.discard)
        if self._pending_binds == WARM_AT and self._keep_warm is not None:
            self._keep_warm(CLIENT_IN_FLIGHT)   # bindings pile up: have their connections ready
        return host

    async def _binder(self) -> None:
        """One of the binder tasks: bind the pending pods in order until none is left (at most
        BIND_CONCURRENCY of them run, so as many bindings are in flight, as a semaphore around
        one task per binding gave, in the same order)."""
        while self._bind_queue:
            item = self._bind_queue.popleft()
            try:
                await self._bind(*item)
            except Exception:  # noqa: BLE001 - as a failed task of its own did: the others go on
                log.exception("binding %s failed", item[0])
            finally:
                self._pending_binds -= 1

    async def _bind(self, key: str, pod: dict, host: str, prio: int) -> bool:
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        try:
            for plugin in self.pre_binders:          # PreBind (VolumeBinding: claims get their node)
                await plugin.pre_bind(self.client, pod, self.nodes.get(host) or {"metadata": {"name": host}})
            await self.binder.post_subresource("pods", name, "binding", {
                "apiVersion": "v1", "kind": "Binding", "metadata": {"name": name, "namespace": ns},
                "target": {"apiVersion": "v1", "kind": "Node", "name": host}}, namespace=ns)
        except Exception as e:  # noqa: BLE001 - API or connection trouble
            self.cache.forget(key)
            if isinstance(e, ApiError) and e.code in (404, 409):   # gone, or someone else bound it
                return False
            log.warning("binding %s to %s failed: %s", key, host, e)
            self.queue.add_backoff(key, prio)
            self.queue.move_all_to_active()      # the space it held is free again
            return False
        self.queue.done(key, scheduled=True)
        log.debug("bound %s to %s", key, host)     # as kube-scheduler (V(2)): the Scheduled event says it
        self.events.normal(pod, "Scheduled", f"Successfully assigned {ns}/{name} to {host}")
        return True

    async def wait_bindings(self, events: bool = True) -> None:
        """Wait for the bindings in flight (tests, shutdown) and, with `events`, for the queued Events."""
        while self._binding:
            await asyncio.gather(*list(self._binding), return_exceptions=True)
        if events:
            await self.events.flush()

    async def _preempt(self, pod: dict, err: FitError, nodes: list[NodeInfo]) -> None:
        key = object_key(pod)
        earlier = self.nominated.get(key)
        if earlier and waiting_for_victims(pod, earlier[0], nodes):
            return                  # it preempted already: wait for those victims, take no more
        found = find_victims(self.profile, pod, nodes, err)
        if found is None:
            return
        node, victims = found
        ns, name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        self.nominated[key] = (node, pod)
        for v in victims:
            vmd = v["metadata"]
            log.info("preempting %s/%s on %s for %s/%s", vmd["namespace"], vmd["name"], node, ns, name)
            self.events.normal(v, "Preempted", f"Preempted by pod {pod['metadata'].get('uid')} on node {node}")
            try:
                await self.client.delete("pods", vmd["name"], namespace=vmd["namespace"])
            except ApiError as e:
                if e.code != 404:
                    raise
        try:
            await self.client.patch("pods", name, {"status": {"nominatedNodeName": node}}, namespace=ns,
                                    subresource="status")
        except ApiError as e:
            log.debug("cannot set nominatedNodeName of %s/%s: %s", ns, name, e)

    async def _mark_unschedulable(self, pod: dict, msg: str) -> None:
        conds = [c for c in (pod.get("status") or {}).get("conditions") or [] if c.get("type") != "PodScheduled"]
        old = next((c for c in (pod.get("status") or {}).get("conditions") or []
                    if c.get("type") == "PodScheduled"), None)
        if old and old.get("status") == "False" and old.get("message") == msg:
            return
        conds.append({"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                      "message": msg, "lastProbeTime": None, "lastTransitionTime": self.clock.now_str()})
        try:
            await self.client.patch("pods", pod["metadata"]["name"], {"status": {"conditions": conds}},
                                    namespace=pod["metadata"]["namespace"], subresource="status")
        except Exception as e:  # noqa: BLE001 - informational only
            log.debug("cannot update PodScheduled condition of %s: %s", object_key(pod), e)

    # -- the loop ---------------------------------------------------------------------------

    async def start(self) -> None:
        self.nodes.start()
        self.pods.start()
        for inf in self.plugin_informers:
            inf.start()
        await self.nodes.wait_synced()
        await self.pods.wait_synced()
        for inf in self.plugin_informers:
            await inf.wait_synced()

    async def run(self) -> None:
        await self.start()
        log.info("scheduler %s running", self.name)
        try:
            while True:
                key = await self.queue.pop()
                if key is None:
                    return
                # a cycle is pure computation: run cycles for up to CYCLE_SLICE, then let bindings,
                # informers and signals run, or a long queue starves them (nothing bound until it
                # is empty); one cycle a turn was too little against a watch reading a backlog in
                # 1 ms slices of its own (Client.watch's WATCH_SLICE)
                due = perf_counter() + CYCLE_SLICE
                while key is not None:
                    try:
                        await self.schedule_one(key)
                    except Exception:  # noqa: BLE001 - never let one pod stop the scheduler
                        log.exception("scheduling %s failed", key)
                        self.queue.done(key)
                        self.queue.add_backoff(key)
                    key = self.queue.pop_nowait() if perf_counter() < due and not self.queue.closed else None
                await asyncio.sleep(0)
        finally:
            await self.wait_bindings(events=False)
            self.events.close()             # queued Events are dropped, as a stopping kube-scheduler's
            await self.pods.stop()
            await self.nodes.stop()
            for inf in self.plugin_informers:
                await inf.stop()

    def stop(self) -> None:
        self.queue.close()
