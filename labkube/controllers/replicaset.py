"""ReplicaSet controller: keep `spec.replicas` pods matching the selector, and publish status.

Pods are created from the template with a controller ownerReference and the generateName
`<rs>-`, so the server names them `<rs>-<5 random chars>` (and an admission refusal names the
prefix, the same in every FailedCreate event, as in Kubernetes); orphans matching the selector are adopted, owned pods whose labels no
longer match are released. Surplus pods are deleted unscheduled, pending, not-ready and
newest first. Pods being deleted or terminal do not count.

A sync reads the ReplicaSet's pods as counts by class kept from the pod events
(podcounts.py), not by walking them: a 3,000-pod ReplicaSet is woken by each of its pods'
Running status. It walks them only to claim (an orphan to adopt, a pod to release) and to pick
the pods a scale-down deletes.

Status batching (statusbatch.py): status-only pod updates and the controller's own status writes
wake a ReplicaSet's sync at most every `replicaset_status_batch` seconds.
"""
from __future__ import annotations

import asyncio
import copy
import datetime

from labkube.api.memo import exact_copy
from labkube.client.clock import parse_time
from labkube.client.errors import ApiError
from labkube.client.informer import object_key
from labkube.client.selectors import selector_matches

from .base import Controller
from .expectations import Expectations
from .podcounts import OwnedPodCounts, PodClass, count_classes
from .statusbatch import StatusBatch
from .util import (BY_CONTROLLER, CONTROLLER_UID_READS, ORPHAN_NAMESPACE_READS, ORPHANS, controller_ref,
                   controller_uid_index, is_active, is_ready, is_terminal, orphan_namespace_index, owner_ref)


def pod_from_template(rs: dict) -> dict:
    tmpl = copy.deepcopy((rs.get("spec") or {}).get("template") or {})
    md = tmpl.get("metadata") or {}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"generateName": f"{rs['metadata']['name']}-", "namespace": rs["metadata"]["namespace"],
                         "labels": dict(md.get("labels") or {}),
                         "annotations": dict(md.get("annotations") or {}),
                         "ownerReferences": [owner_ref(rs)]},
            "spec": tmpl.get("spec") or {}}


def deletion_rank(pod: dict) -> tuple:
    """Lower sorts first = deleted first."""
    phase_rank = {"Pending": 0, "Unknown": 1, "Running": 2}.get((pod.get("status") or {}).get("phase"), 1)
    return (1 if (pod.get("spec") or {}).get("nodeName") else 0, phase_rank, 1 if is_ready(pod) else 0,
            _neg_time(pod["metadata"].get("creationTimestamp") or ""), pod["metadata"]["name"])


def ownership_same(o: dict, n: dict) -> bool:
    """Whether two pods' metadata (o, n) hold the same labels, ownerReferences and
    deletionTimestamp: what decides the pod's owner and whether it is being deleted."""
    return (o.get("labels") == n.get("labels") and o.get("ownerReferences") == n.get("ownerReferences")
            and o.get("deletionTimestamp") == n.get("deletionTimestamp"))


def counted_status_same(old: dict, new: dict) -> bool:
    """Whether the phase and conditions a ReplicaSet's status counts are the same."""
    os_, ns_ = old.get("status") or {}, new.get("status") or {}
    # no conditions and an empty list are the same: a binding adds PodScheduled, which the view drops
    return os_.get("phase") == ns_.get("phase") and (os_.get("conditions") or None) == (ns_.get("conditions") or None)


def both_active(old: dict, new: dict) -> bool:
    """Whether neither the old nor the new pod is terminal or being deleted."""
    return (not old["metadata"].get("deletionTimestamp") and not new["metadata"].get("deletionTimestamp")
            and not is_terminal(old) and not is_terminal(new))


def status_write(old: dict, new: dict) -> bool:
    """Whether an update of an object changed nothing but its status (and the resourceVersion and
    managedFields every write changes): the same spec and the same other metadata."""
    if old.get("spec") != new.get("spec"):
        return False
    om, nm = old["metadata"], new["metadata"]
    return all(om.get(k) == nm.get(k) for k in (om.keys() | nm.keys()) - WRITE_FIELDS)


WRITE_FIELDS = {"resourceVersion", "managedFields"}
STATUS_BATCH = 0.25     # s: a ReplicaSet's status-only pod updates wake its sync at most this often


def _neg_time(ts: str) -> tuple:
    return tuple(-ord(c) for c in ts)


class ReplicaSetController(Controller):
    name = "replicaset"
    kind = "ReplicaSet"
    resource = "replicasets"

    def setup(self) -> None:
        self.expectations = Expectations(self.clock)
        self.burst = int(self.settings.get("replicaset_burst", 100))
        self.status_batch = float(self.settings.get("replicaset_status_batch", STATUS_BATCH))
        self.batch = StatusBatch(self.status_batch)
        self.rs_inf = self.informer(self.resource)
        self.pods = self.informer("pods")
        self.pods.add_index(BY_CONTROLLER, controller_uid_index, CONTROLLER_UID_READS)
        self.pods.add_index(ORPHANS, orphan_namespace_index, ORPHAN_NAMESPACE_READS)
        self.rs_inf.add_handlers(self.enqueue, self._rs_updated, self._rs_deleted)
        self.counts = OwnedPodCounts()          # the cache's pods by controller uid and class (podcounts.py)
        self.pods.add_handlers(self._pod_added, self._pod_updated, self._pod_deleted)
        for pod in self.pods.items():           # a shared informer may have listed already
            self.counts.observe(object_key(pod), pod)

    def _rs_deleted(self, rs: dict) -> None:
        self.expectations.forget(f"{rs['metadata']['namespace']}/{rs['metadata']['name']}")
        self.enqueue(rs)

    def _rs_updated(self, old: dict, new: dict) -> None:
        """A ReplicaSet written: its own status writes (a status_write, its sync's) go through the
        status batching like the pod updates they count; any other change queues it at once."""
        if self.status_batch > 0 and status_write(old, new):
            self._status_changed(object_key(new))
        else:
            self.enqueue(new)

    def _status_changed(self, key: str) -> None:
        """Queue `key` for a pod update that changed only what its status counts (the same owner,
        labels and deletion state, neither pod terminal): at once when its last sync started at
        least `status_batch` ago, else when that is so (once: later updates before it are counted
        by that sync)."""
        delay = self.batch.changed(key, self.clock.monotonic())
        if delay == 0:
            self.queue.add(key)
        elif delay is not None:
            self.queue.add_after(key, delay)

    def status_due(self) -> float | None:
        """The earliest time (clock.monotonic) a batched status-only sync is due, None if none."""
        return self.batch.next_due()

    def _owner_key(self, pod: dict) -> str | None:
        ref = controller_ref(pod)
        if not ref or ref.get("kind") != self.kind:
            return None
        key = f"{pod['metadata']['namespace']}/{ref['name']}"
        rs = self.rs_inf.get(key)
        return key if rs is not None and rs["metadata"].get("uid") == ref.get("uid") else None

    def _enqueue_for_pod(self, pod: dict) -> None:
        key = self._owner_key(pod)
        if key:
            self.queue.add(key)
        elif controller_ref(pod) is None and is_active(pod):
            ns = pod["metadata"]["namespace"]
            for rs in self.rs_inf.items():
                if rs["metadata"]["namespace"] == ns and selector_matches(
                        (rs.get("spec") or {}).get("selector"), pod["metadata"].get("labels")):
                    self.enqueue(rs)

    def _pod_added(self, pod: dict) -> None:
        self.counts.observe(object_key(pod), pod)
        key = self._owner_key(pod)
        if key:
            self.expectations.creation_observed(key)
        self._enqueue_for_pod(pod)

    def _pod_updated(self, old: dict, new: dict) -> None:
        if ownership_same(old["metadata"], new["metadata"]):
            # labels, ownerReferences and deletionTimestamp unchanged (a binding, a status write):
            # the controller ref is the same and no deletion started now; an unchanged phase and
            # conditions leave nothing to count or create (a binding: the controller-manager's pod
            # view keeps no PodScheduled condition; deletion_rank reads nodeName, but only when a
            # scale-down is due, which a change of the ReplicaSet or of these fields starts)
            if counted_status_same(old, new):
                return
            self.counts.observe(object_key(new), new)
            if self.status_batch > 0 and both_active(old, new):
                key = self._owner_key(new)
                if key:
                    self._status_changed(key)
                    return
            self._enqueue_for_pod(new)
            return
        # the metadata differs: the owner, the selection or the deletion state may have changed
        self.counts.observe(object_key(new), new)
        if new["metadata"].get("deletionTimestamp") and not old["metadata"].get("deletionTimestamp"):
            key = self._owner_key(new)
            if key:
                self.expectations.deleted(key, new["metadata"]["name"])
        if controller_ref(old) != controller_ref(new):
            self._enqueue_for_pod(old)
        self._enqueue_for_pod(new)

    def _pod_deleted(self, pod: dict) -> None:
        self.counts.observe(object_key(pod), None)
        key = self._owner_key(pod)
        if key:
            self.expectations.deleted(key, pod["metadata"]["name"])
            self.queue.add(key)

    # -- sync -------------------------------------------------------------------------------

    async def claim_pods(self, rs: dict) -> list[dict]:
        """Pods this RS owns after adopting matching orphans and releasing non-matching ones."""
        ns, uid = rs["metadata"]["namespace"], rs["metadata"]["uid"]
        sel = (rs.get("spec") or {}).get("selector")
        adoptable = bool((sel or {}).get("matchLabels") or (sel or {}).get("matchExpressions"))  # never "everything"
        owned = []
        # its own pods and the namespace's orphans (from the informer's indexes, not every pod); this
        # runs over every pod of the ReplicaSet on each sync, so the common case (its own pods, a
        # matchLabels selector) is checked inline
        ml = list(((sel or {}).get("matchLabels") or {}).items())
        plain = not (sel or {}).get("matchExpressions")
        candidates = self.pods.by_index(BY_CONTROLLER, uid) + (self.pods.by_index(ORPHANS, ns) if adoptable else [])
        # pods of one template share their labels and ownerReferences objects (the controller-manager's
        # pod view), so each distinct object is judged once per sync: memos by id(), holding the object
        # (so its id cannot be reused by another while the memo lives)
        refs_seen: dict[int, tuple] = {}
        labels_seen: dict[int, tuple] = {}
        for pod in candidates:
            md = pod["metadata"]
            if md.get("namespace") != ns:
                continue
            refs = md.get("ownerReferences")
            got = refs_seen.get(id(refs))
            if got is None or got[0] is not refs:
                got = refs_seen[id(refs)] = (refs, controller_ref(pod))
            ref = got[1]
            labels = md.get("labels") or {}
            got = labels_seen.get(id(labels))
            if got is None or got[0] is not labels:
                got = labels_seen[id(labels)] = (labels, all(labels.get(k) == v for k, v in ml) if plain
                                                 else selector_matches(sel, labels))
            matches = got[1]
            if ref is not None and ref.get("uid") == uid:
                if matches:
                    owned.append(pod)
                elif not md.get("deletionTimestamp"):
                    await self._set_owner_refs(pod, [r for r in md["ownerReferences"] if r.get("uid") != uid])
            elif ref is None and matches and adoptable and is_active(pod) and not rs["metadata"].get("deletionTimestamp"):
                refs = list(md.get("ownerReferences") or []) + [owner_ref(rs)]
                adopted = await self._set_owner_refs(pod, refs)
                if adopted is not None:
                    owned.append(adopted)
        return owned

    async def _set_owner_refs(self, pod: dict, refs: list[dict]) -> dict | None:
        try:
            return await self.client.patch("pods", pod["metadata"]["name"],
                                           {"metadata": {"ownerReferences": refs,
                                                         "resourceVersion": pod["metadata"]["resourceVersion"]}},
                                           namespace=pod["metadata"]["namespace"])
        except ApiError as e:
            if e.code in (404, 409):
                return None
            raise

    def counted_claim(self, rs: dict) -> dict[PodClass, int] | None:
        """The classes of the pods this RS owns, from the counts kept per pod event (no walk over
        its pods), when claiming them would change nothing: no owned pod to release (its labels no
        longer match and it is not being deleted) and no orphan to adopt. None otherwise: the sync
        then claims by walking (claim_pods), as before."""
        md, spec = rs["metadata"], rs.get("spec") or {}
        ns, sel = md["namespace"], spec.get("selector")
        owned: dict[PodClass, int] = {}
        for cls, n in self.counts.classes(md["uid"]).items():
            if cls.namespace != ns:
                continue
            if selector_matches(sel, dict(cls.labels)):
                owned[cls] = n
            elif not cls.deleting:
                return None                     # to release
        if (sel or {}).get("matchLabels") or (sel or {}).get("matchExpressions"):    # adoptable
            if not md.get("deletionTimestamp"):
                for pod in self.pods.by_index(ORPHANS, ns):
                    if is_active(pod) and selector_matches(sel, pod["metadata"].get("labels")):
                        return None             # to adopt
        return owned

    async def sync(self, key: str) -> None:
        self.batch.syncing(key, self.clock.monotonic())
        rs = self.rs_inf.get(key)
        if rs is None:
            self.expectations.forget(key)
            self.batch.forget(key)
            return
        classes = self.counted_claim(rs)
        active = None                           # the active pods, when the walk found them
        if classes is None:
            pods = await self.claim_pods(rs)
            active = [p for p in pods if is_active(p)]
            classes = count_classes(pods)
        n_active = sum(n for c, n in classes.items() if not c.deleting and not c.terminal)
        err = None
        managed = False
        if self.expectations.satisfied(key) and not rs["metadata"].get("deletionTimestamp"):
            try:
                await self.manage_replicas(key, rs, n_active, active)
                managed = True
            except ApiError as e:
                err = e
        await self.update_status(rs, classes, failure=err if err is not None and err.code != 409 else None,
                                 clear_failure=managed)
        if err is not None:
            raise err

    def active_pods(self, rs: dict) -> list[dict]:
        """The RS's active pods in the cache (its own, matching its selector, not terminal nor being
        deleted): what a scale-down chooses from when nothing was to be claimed."""
        md = rs["metadata"]
        sel = (rs.get("spec") or {}).get("selector")
        return [p for p in self.pods.by_index(BY_CONTROLLER, md["uid"])
                if p["metadata"].get("namespace") == md["namespace"] and is_active(p)
                and selector_matches(sel, p["metadata"].get("labels"))]

    async def manage_replicas(self, key: str, rs: dict, n_active: int, active: list[dict] | None = None) -> None:
        """Create or delete pods so that `n_active` becomes spec.replicas; `active` (the active pods)
        is read from the cache (active_pods) when not given and some must be deleted."""
        want = (rs.get("spec") or {}).get("replicas")
        want = 1 if want is None else int(want)
        diff = n_active - want
        if diff < 0:
            # slow start, as upstream: batches of 1, 2, 4 ... so a refusal (quota, admission)
            # stops after one request instead of a hundred
            left, batch = min(-diff, self.burst), 1
            while left > 0:
                count = min(batch, left)
                self.expectations.expect_creations(key, count)
                results = await asyncio.gather(*(self._create(key, rs) for _ in range(count)), return_exceptions=True)
                errors = [r for r in results if isinstance(r, Exception)]
                if errors:
                    raise errors[0]
                left -= count
                batch *= 2
        elif diff > 0:
            victims = sorted(self.active_pods(rs) if active is None else active, key=deletion_rank)[:diff]
            for p in victims:
                self.expectations.expect_delete(key, p["metadata"]["name"])
            results = await asyncio.gather(*(self._delete(key, rs, p) for p in victims), return_exceptions=True)
            errors = [r for r in results if isinstance(r, Exception)]
            if errors:
                raise errors[0]

    async def _create(self, key: str, rs: dict) -> None:
        try:
            pod = await self.client.create("pods", pod_from_template(rs), namespace=rs["metadata"]["namespace"])
        except Exception as e:
            self.expectations.creation_observed(key)
            if isinstance(e, ApiError) and e.code == 409:   # generated name taken: next sync retries
                raise
            await self.recorder.warning(rs, "FailedCreate", f"Error creating: {getattr(e, 'message', e)}")
            raise
        await self.recorder.normal(rs, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}")

    async def _delete(self, key: str, rs: dict, pod: dict) -> None:
        name = pod["metadata"]["name"]
        try:
            await self.client.delete("pods", name, namespace=pod["metadata"]["namespace"])
        except ApiError as e:
            self.expectations.deleted(key, name)
            if e.code == 404:
                return
            await self.recorder.warning(rs, "FailedDelete", f"Error deleting: {e.message}")
            raise
        await self.recorder.normal(rs, "SuccessfulDelete", f"Deleted pod: {name}")

    def compute_status(self, rs: dict, pods: list[dict]) -> dict:
        """The RS's status from its owned pods (one pass; status_from_classes)."""
        return self.status_from_classes(rs, count_classes(pods))

    def status_from_classes(self, rs: dict, classes: dict[PodClass, int]) -> dict:
        """replicas, fullyLabeledReplicas, readyReplicas, availableReplicas and observedGeneration
        from the classes of the pods the RS owns (podcounts.py): pods being deleted or terminal do
        not count; fully labeled = carries every label of the template; available = ready for at
        least minReadySeconds (or since an unknown time)."""
        spec = rs.get("spec") or {}
        tmpl_labels = list((((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}).items())
        now = self.clock.now()
        min_ready = int(spec.get("minReadySeconds") or 0)
        replicas = labeled = ready = available = 0
        for c, n in classes.items():
            if c.deleting or c.terminal:
                continue
            replicas += n
            labels = dict(c.labels)
            if all(labels.get(k) == v for k, v in tmpl_labels):
                labeled += n
            if c.ready:
                ready += n
                since = parse_time(c.ready_since) if min_ready else None
                if since is None or since + datetime.timedelta(seconds=min_ready) <= now:
                    available += n
        status = exact_copy(rs.get("status") or {})
        status.update({"replicas": replicas, "fullyLabeledReplicas": labeled, "readyReplicas": ready,
                       "availableReplicas": available, "observedGeneration": rs["metadata"].get("generation", 1)})
        return status

    async def update_status(self, rs: dict, classes: dict[PodClass, int], failure: ApiError | None = None,
                            clear_failure: bool = False) -> None:
        status = self.status_from_classes(rs, classes)
        # ReplicaFailure: pods cannot be created or deleted (quota, admission ...), as upstream
        conds = [c for c in status.get("conditions") or [] if c.get("type") != "ReplicaFailure"]
        old = next((c for c in status.get("conditions") or [] if c.get("type") == "ReplicaFailure"), None)
        if failure is not None:
            reason = "FailedCreate" if "creat" in (failure.message or "").lower() or failure.code == 403 else "FailedDelete"
            if old is not None and old.get("reason") == reason:
                conds.append(old)       # unchanged: a fresh message each time would write status (and
            else:                       # wake this controller) on every failed retry, defeating backoff
                conds.append({"type": "ReplicaFailure", "status": "True", "reason": reason,
                              "message": failure.message, "lastTransitionTime": self.clock.now_str()})
        elif old is not None and not clear_failure:
            conds.append(old)
        if conds:
            status["conditions"] = conds
        else:
            status.pop("conditions", None)
        spec = rs.get("spec") or {}
        min_ready = int(spec.get("minReadySeconds") or 0)
        if min_ready and status["readyReplicas"] > status["availableReplicas"]:
            self.queue.add_after(f"{rs['metadata']['namespace']}/{rs['metadata']['name']}", min_ready)
        if status == (rs.get("status") or {}):
            return
        body = exact_copy(rs)
        body["status"] = status
        try:
            await self.client.replace(self.resource, rs["metadata"]["name"], body,
                                      namespace=rs["metadata"]["namespace"], subresource="status")
        except ApiError as e:
            if e.code == 404:
                return
            raise
