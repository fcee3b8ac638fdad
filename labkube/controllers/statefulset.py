"""StatefulSet controller: pods with stable names `<sts>-<ordinal>`, hostnames and claims.

Each pod gets hostname `<sts>-<i>`, subdomain serviceName, labels
statefulset.kubernetes.io/pod-name, apps.kubernetes.io/pod-index and
controller-revision-hash, and one PersistentVolumeClaim `<claim>-<sts>-<i>` per
volumeClaimTemplate (created once, kept). OrderedReady (default) creates pods in ordinal
order, each only after its predecessors are Running and Ready, and removes surplus pods
from the highest ordinal, one at a time; Parallel does both at once. RollingUpdate
replaces pods of an old revision from the highest ordinal down to `partition`, one at a
time; OnDelete replaces them only when the user deletes them. Failed pods are recreated.
"""
from __future__ import annotations

import copy

from labkube.client.errors import ApiError

from .base import Controller
from .podcontrol import create_pod, delete_pod, enqueue_owner, owned_pods, pod_from_template
from .revisions import HASH_LABEL, sync_revisions
from .util import is_available, is_ready, owner_ref

POD_NAME = "statefulset.kubernetes.io/pod-name"
POD_INDEX = "apps.kubernetes.io/pod-index"


def ordinal(sts: dict, pod: dict) -> int | None:
    prefix = sts["metadata"]["name"] + "-"
    name = pod["metadata"]["name"]
    if name.startswith(prefix) and name[len(prefix):].isdigit():
        return int(name[len(prefix):])
    return None


def healthy(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") == "Running" and is_ready(pod) \
        and not pod["metadata"].get("deletionTimestamp")


def revision_of(pod: dict) -> str | None:
    return (pod["metadata"].get("labels") or {}).get(HASH_LABEL)


class StatefulSetController(Controller):
    name = "statefulset"

    def setup(self) -> None:
        self.sets = self.informer("statefulsets")
        self.pods = self.informer("pods")
        self.revs = self.informer("controllerrevisions")
        self.sets.add_handlers(self.enqueue, lambda o, n: self.enqueue(n), None)
        self.pods.add_handlers(*(lambda *a: enqueue_owner(self, self.sets, "StatefulSet", a[-1]),) * 3)

    def event_component(self) -> str:
        return "statefulset-controller"

    def new_pod(self, sts: dict, i: int, h: str) -> dict:
        spec = sts.get("spec") or {}
        name = f"{sts['metadata']['name']}-{i}"
        pod = pod_from_template(sts, spec.get("template"), name, {HASH_LABEL: h, POD_NAME: name, POD_INDEX: str(i)})
        pod["spec"]["hostname"] = name
        if spec.get("serviceName"):
            pod["spec"]["subdomain"] = spec["serviceName"]
        vols = [v for v in pod["spec"].get("volumes") or []
                if v.get("name") not in {t["metadata"]["name"] for t in spec.get("volumeClaimTemplates") or []}]
        for t in spec.get("volumeClaimTemplates") or []:
            vols.append({"name": t["metadata"]["name"],
                         "persistentVolumeClaim": {"claimName": f"{t['metadata']['name']}-{name}"}})
        if vols:
            pod["spec"]["volumes"] = vols
        return pod

    async def ensure_claims(self, sts: dict, pod_name: str) -> None:
        spec, ns = sts.get("spec") or {}, sts["metadata"]["namespace"]
        for t in spec.get("volumeClaimTemplates") or []:
            claim = copy.deepcopy(t)
            claim["apiVersion"], claim["kind"] = "v1", "PersistentVolumeClaim"
            md = claim.setdefault("metadata", {})
            md["name"] = f"{t['metadata']['name']}-{pod_name}"
            md["namespace"] = ns
            md["labels"] = {**(md.get("labels") or {}), **((spec.get("selector") or {}).get("matchLabels") or {})}
            if ((spec.get("persistentVolumeClaimRetentionPolicy") or {}).get("whenDeleted") == "Delete"):
                md["ownerReferences"] = [owner_ref(sts)]
            try:
                await self.client.create("persistentvolumeclaims", claim, namespace=ns)
            except ApiError as e:
                if e.code != 409:
                    raise

    async def sync(self, key: str) -> None:
        sts = self.sets.get(key)
        if sts is None or sts["metadata"].get("deletionTimestamp"):
            return
        sts = copy.deepcopy(sts)
        spec = sts.get("spec") or {}
        h, _ = await sync_revisions(self, self.revs, sts)
        replicas = 1 if spec.get("replicas") is None else int(spec["replicas"])
        pods = {ordinal(sts, p): p for p in owned_pods(self.pods, sts) if ordinal(sts, p) is not None}
        parallel = spec.get("podManagementPolicy") == "Parallel"
        await self.scale(sts, h, replicas, pods, parallel)
        await self.update(sts, h, replicas, pods)
        await self.update_status(sts, h, replicas, pods)

    async def scale(self, sts, h, replicas, pods, parallel) -> None:
        for i in range(replicas):
            pod = pods.get(i)
            if pod is not None and (pod.get("status") or {}).get("phase") == "Failed" \
                    and not pod["metadata"].get("deletionTimestamp"):
                await delete_pod(self, sts, pod)
                if not parallel:
                    return
                continue
            if pod is None:
                await self.ensure_claims(sts, f"{sts['metadata']['name']}-{i}")
                try:
                    await create_pod(self, sts, self.new_pod(sts, i, h))
                except ApiError as e:
                    if e.code != 409:       # 409: the old pod of that name is still going away
                        raise
                if not parallel:
                    return
            elif not parallel and not healthy(pod):
                return                      # OrderedReady: wait for this one first
        surplus = sorted((i for i in pods if i >= replicas), reverse=True)
        for i in surplus:
            pod = pods[i]
            if pod["metadata"].get("deletionTimestamp"):
                if not parallel:
                    return
                continue
            if not parallel and not all(healthy(pods[j]) for j in range(replicas) if j in pods):
                return
            await delete_pod(self, sts, pod)
            if not parallel:
                return

    async def update(self, sts, h, replicas, pods) -> None:
        strategy = (sts.get("spec") or {}).get("updateStrategy") or {}
        if (strategy.get("type") or "RollingUpdate") != "RollingUpdate":
            return
        partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
        live = [pods.get(i) for i in range(replicas)]
        if any(p is None or not healthy(p) for p in live):
            return                          # one at a time: wait until everything is up
        for i in range(replicas - 1, partition - 1, -1):
            if revision_of(live[i]) != h:
                await delete_pod(self, sts, live[i])
                return

    async def update_status(self, sts, h, replicas, pods) -> None:
        old = sts.get("status") or {}
        min_ready = int((sts.get("spec") or {}).get("minReadySeconds") or 0)
        now = self.clock.now()
        live = [p for p in pods.values() if not p["metadata"].get("deletionTimestamp")]
        prefix = sts["metadata"]["name"] + "-"
        was = old.get("currentRevision") or ""
        current = was[len(prefix):] if was.startswith(prefix) else h
        updated = sum(1 for p in live if revision_of(p) == h)
        if updated >= replicas and all(revision_of(p) == h for p in live):
            current = h                     # the rollout is done
        status = dict(old)
        status.update({
            "observedGeneration": sts["metadata"].get("generation", 1),
            "replicas": len(live),
            "readyReplicas": sum(1 for p in live if is_ready(p)),
            "availableReplicas": sum(1 for p in live if is_available(p, min_ready, now)),
            "currentReplicas": sum(1 for p in live if revision_of(p) == current),
            "updatedReplicas": updated,
            "currentRevision": prefix + current,
            "updateRevision": prefix + h,
        })
        if status == old:
            return
        sts["status"] = status
        await self.client.replace("statefulsets", sts["metadata"]["name"], sts, namespace=sts["metadata"]["namespace"],
                                  subresource="status")
