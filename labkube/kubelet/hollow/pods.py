"""The pods of all hollow nodes: one shared informer (the pods whose spec.nodeName is one of the
fleet's nodes; the watch lines of pods not bound yet are not even decoded), a work queue of
`namespace/name` keys and `workers` tasks syncing them.

A bound pod is reported Running and Ready at once (init containers Completed, containers
running; the status is computed by the real kubelet's `status.pod_status`). A pod with a
deletionTimestamp is finished with the kubelet's final `DELETE gracePeriodSeconds=0`
(uid precondition), as the fake runtime would after stopping its containers.

The informer keeps `pod_view`s: what this fake runtime reads of a pod, not the whole object
(it follows every pod of the cluster, and most of each pod is never read here).
"""
from __future__ import annotations

import asyncio
import logging
import time

from labkube.client.informer import Informer
from labkube.client.workqueue import WorkQueue
from labkube.tasks import run_all

from ..runtime.base import ContainerStatus
from ..status import ContainerView, pod_status, qos_class, rfc3339
from .lines import LineReader

log = logging.getLogger(__name__)


META_KEEP = ("name", "namespace", "uid", "resourceVersion", "deletionTimestamp")
SPEC_KEEP = ("nodeName", "restartPolicy", "hostNetwork")
CONTAINER_KEEP = ("name", "image", "resources")
STATUS_KEEP = ("phase", "conditions", "startTime", "qosClass")


def pod_view(pod: dict) -> dict:
    """The fields `HollowPods` and `running_status` read: names, uid, deletionTimestamp, node,
    restart policy, host network, containers' names, images and resources, and the status
    fields the kubelet's pod_status carries over (phase, conditions, startTime, qosClass)."""
    # plain loops: on Python 3.11 each comprehension is a function call (keep_keys: one per
    # container), 1.3 -> 0.9 us per view; the same dicts, keys in the same order
    md, spec, st = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    view_md = {}
    for k in META_KEEP:
        if k in md:
            view_md[k] = md[k]
    view_spec = {}
    for k in SPEC_KEEP:
        if k in spec:
            view_spec[k] = spec[k]
    for k in ("containers", "initContainers"):
        if k in spec:
            kept = []
            for c in spec[k] or ():
                view_c = {}
                for ck in CONTAINER_KEEP:
                    if ck in c:
                        view_c[ck] = c[ck]
                kept.append(view_c)
            view_spec[k] = kept
    view_st = {}
    for k in STATUS_KEEP:
        if k in st:
            view_st[k] = st[k]
    return {"metadata": view_md, "spec": view_spec, "status": view_st}


def running_status_general(pod: dict, host_ip: str, pod_ip: str, now: float | None = None) -> dict:
    """The status a fake runtime reaches once every container started: Running, Ready, through
    the kubelet's `pod_status` (its container views and rules). `running_status` builds the same
    object directly; this form is kept for a pod without containers and as its reference."""
    now = time.time() if now is None else now
    spec, uid = pod.get("spec") or {}, pod["metadata"]["uid"]

    def view(c: dict, i: int, init: bool) -> ContainerView:
        cid = f"{uid.replace('-', '')}{'i' if init else 'c'}{i:02d}"
        st = ContainerStatus(id=cid, name=c["name"], pod_uid=uid, state="exited" if init else "running",
                             image_ref=c.get("image", ""), image_id=f"fake://{c.get('image', '')}",
                             created_at=now, started_at=now, finished_at=now if init else None,
                             exit_code=0 if init else None, reason="Completed" if init else "")
        return ContainerView(name=c["name"], image=c.get("image", ""), current=st, ready=not init)

    inits = [view(c, i, True) for i, c in enumerate(spec.get("initContainers") or [])]
    apps = [view(c, i, False) for i, c in enumerate(spec.get("containers") or [])]
    ip = host_ip if spec.get("hostNetwork") else pod_ip
    return pod_status(pod, inits, apps, host_ip=host_ip, pod_ips=[ip], start_time=now, now=now)


_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")


def running_status(pod: dict, host_ip: str, pod_ip: str, now: float | None = None) -> dict:
    """The status a fake runtime reaches once every container started: Running, Ready.

    The object `running_status_general` builds through `pod_status`, with the same keys in the same
    order (the PATCH body's bytes are the same), written out for what a hollow pod always is: init
    containers terminated with exit code 0 ("Completed"), containers running and ready, one pod IP.
    Then pod_status's rules give phase Running, the five conditions True (their lastTransitionTime
    kept where the previous status had the condition True) and no messages. A pod without
    containers (phase Pending there) goes through `running_status_general`."""
    now = time.time() if now is None else now
    spec, uid = pod.get("spec") or {}, pod["metadata"]["uid"]
    apps = spec.get("containers") or []
    if not apps:
        return running_status_general(pod, host_ip, pod_ip, now)
    ts = rfc3339(now)
    hexuid = uid.replace("-", "")
    init_statuses = []
    for i, c in enumerate(spec.get("initContainers") or []):
        image = c.get("image", "")
        cid = f"crun://{hexuid}i{i:02d}"
        init_statuses.append({
            "name": c["name"], "image": image, "imageID": f"fake://{image}", "ready": False, "restartCount": 0,
            "started": False, "state": {"terminated": {"exitCode": 0, "reason": "Completed", "startedAt": ts,
                                                       "finishedAt": ts, "containerID": cid}},
            "lastState": {}, "containerID": cid})
    statuses = []
    for i, c in enumerate(apps):
        image = c.get("image", "")
        statuses.append({
            "name": c["name"], "image": image, "imageID": f"fake://{image}", "ready": True, "restartCount": 0,
            "started": True, "state": {"running": {"startedAt": ts}}, "lastState": {},
            "containerID": f"crun://{hexuid}c{i:02d}"})
    old = pod.get("status") or {}
    prev = {c.get("type"): c for c in old.get("conditions") or []}
    conds = []
    for ctype in _CONDITIONS:
        was = prev.get(ctype) or {}
        since = was.get("lastTransitionTime") if was.get("status") == "True" else ts
        conds.append({"type": ctype, "status": "True", "lastProbeTime": None, "lastTransitionTime": since})
    ip = host_ip if spec.get("hostNetwork") else pod_ip
    status: dict = {"phase": "Running", "conditions": conds, "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
                    "podIP": ip, "podIPs": [{"ip": ip}], "startTime": old.get("startTime") or ts}
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    status["containerStatuses"] = statuses
    status["qosClass"] = old.get("qosClass") or qos_class(pod)
    return status


class HollowPods:
    def __init__(self, client, nodes: dict, workers: int = 16, status_client=None):
        self.client = client
        self.status_client = client if status_client is None else status_client   # the Running status writes' (fleet.py)
        self.nodes = nodes                  # name -> HollowNode
        # only the pods bound to these nodes are cached; the watch skips the lines without
        # "nodeName" (a pod not bound yet: its creation, its status while pending) undecoded
        self.informer = Informer(client, "pods", transform=pod_view, select=self._ours, select_hint=b'"nodeName"')
        # the bound pods' lines are read without their managedFields, a status write from its tail
        self.lines = LineReader(self.informer)
        self.queue = WorkQueue()
        self.workers = workers
        self._reported: set[str] = set()    # uids whose Running status was sent
        self.running_sent = 0
        self.deleted = 0
        self.informer.add_handlers(self._on_pod, lambda old, new: self._on_pod(new), self._on_delete)

    def _ours(self, pod: dict) -> bool:
        """Bound to one of these nodes (sticky: a pod's nodeName never changes once set)."""
        return (pod.get("spec") or {}).get("nodeName") in self.nodes

    def _on_pod(self, pod: dict) -> None:
        """Queue a pod of these nodes, unless its Running status was sent and it is not being
        deleted (the echo of that status, or a later status write: nothing for a sync to do)."""
        if (pod.get("spec") or {}).get("nodeName") in self.nodes:
            md = pod["metadata"]
            if md.get("uid") in self._reported and not md.get("deletionTimestamp"):
                return
            self.queue.add(f"{md['namespace']}/{md['name']}")

    def _on_delete(self, pod: dict) -> None:
        self._reported.discard(pod["metadata"].get("uid"))

    async def run(self) -> None:
        tasks = [asyncio.create_task(self.informer.run()), asyncio.create_task(self._dispatch())]
        try:
            await asyncio.gather(*tasks)
        finally:
            for t in tasks:
                t.cancel()
            self.queue.shutdown()

    async def _dispatch(self) -> None:
        """Sync queued keys with `workers` worker tasks. A key added wakes one idle worker
        (WorkQueue), so 64 idle workers cost nothing per key."""
        tasks = [asyncio.create_task(self._worker()) for _ in range(self.workers)]
        await run_all(tasks)

    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            if key is None:
                return
            try:
                await self.sync(key)
                self.queue.forget(key)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - apiserver busy or restarting: retry with backoff
                log.warning("pod %s: %s", key, e)
                self.queue.add_rate_limited(key)
            finally:
                self.queue.done(key)

    async def sync(self, key: str) -> None:
        pod = self.informer.get(key)
        if pod is None:
            return
        md, spec = pod["metadata"], pod.get("spec") or {}
        node = self.nodes.get(spec.get("nodeName"))
        if node is None:
            return
        if md.get("deletionTimestamp"):
            try:
                await self.client.delete("pods", md["name"], namespace=md["namespace"], grace_period_seconds=0,
                                         preconditions={"uid": md["uid"]})
                self.deleted += 1
            except Exception as e:  # noqa: BLE001
                if getattr(e, "code", None) not in (404, 409):
                    raise
            return
        if md["uid"] in self._reported or (pod.get("status") or {}).get("phase") in ("Running", "Succeeded", "Failed"):
            return
        status = running_status(pod, node.cfg.node_ip, node.pod_ip())
        # its echo on the pod watch is matched against this status instead of decoded (the watch
        # line may come before the write's reply)
        self.lines.expect(key, status)
        try:
            await self.status_client.patch("pods", md["name"], {"status": status}, namespace=md["namespace"],
                                           subresource="status", reply=False)
        except BaseException as e:
            self.lines.forget(key)
            if isinstance(e, Exception) and getattr(e, "code", None) == 404:
                return
            raise
        self._reported.add(md["uid"])
        self.running_sent += 1
