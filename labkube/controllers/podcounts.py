"""Owned-pod counts: each controller's pods (by the controller's uid), counted by class and kept
up to date from the pod informer's events, so a sync can read a few classes instead of walking
every pod it owns.

A pod's class is everything a ReplicaSet's sync reads of it to decide ownership, the pods to
create and its status: its namespace, labels, whether it is being deleted, whether it is
terminal, whether it is Ready and since when (the Ready condition's lastTransitionTime, for
minReadySeconds). The pods of one template at one moment share a class, so a ReplicaSet of
3,000 pods has a handful of them. `classes(uid)` is the same whether it is kept from events or
computed from the pods in one pass (`count_classes`); the owner's status is a function of the
classes (`ReplicaSetController.status_from_classes`).

The counts follow the informer's cache: the controller calls `observe(key, pod)` from its
add/update handlers and `observe(key, None)` from its delete handler, and seeds them from the
cache when it starts (a shared informer may have listed before the handlers were added).
`observe` forgets whatever it had for the key first, so an update need not say what it replaced.
"""
from __future__ import annotations

from typing import Iterable, NamedTuple

from .util import controller_ref


class PodClass(NamedTuple):
    namespace: str
    labels: frozenset             # the labels' (key, value) pairs
    deleting: bool                # has a deletionTimestamp
    terminal: bool                # phase Succeeded or Failed
    ready: bool                   # Ready condition True
    ready_since: str | None       # its lastTransitionTime when ready (None when not ready)


def pod_class(pod: dict) -> PodClass:
    md, st = pod["metadata"], pod.get("status") or {}
    ready, since = False, None
    for c in st.get("conditions") or ():
        if c.get("type") == "Ready":             # the first Ready condition, as util.ready_condition
            if c.get("status") == "True":
                ready, since = True, c.get("lastTransitionTime")
            break
    return PodClass(md.get("namespace") or "", frozenset((md.get("labels") or {}).items()),
                    bool(md.get("deletionTimestamp")), st.get("phase") in ("Succeeded", "Failed"), ready, since)


def controller_uid(pod: dict) -> str | None:
    ref = controller_ref(pod)
    return ref.get("uid") if ref else None


def count_classes(pods: Iterable[dict]) -> dict[PodClass, int]:
    """The pods' classes and how many of each, in one pass."""
    out: dict[PodClass, int] = {}
    for p in pods:
        c = pod_class(p)
        out[c] = out.get(c, 0) + 1
    return out


class OwnedPodCounts:
    def __init__(self):
        self._of: dict[str, tuple[str, PodClass]] = {}          # pod key -> (controller uid, class)
        self._classes: dict[str, dict[PodClass, int]] = {}      # controller uid -> class -> pods
        self._held: dict[PodClass, list] = {}                   # class -> [the one object kept, pods]

    def observe(self, key: str, pod: dict | None) -> None:
        """The pod under `key` is now `pod` (None: gone)."""
        was = self._of.pop(key, None)
        if was is not None:
            uid, cls = was
            counts = self._classes[uid]
            n = counts[cls] - 1
            if n:
                counts[cls] = n
            else:
                del counts[cls]
                if not counts:
                    del self._classes[uid]
            held = self._held[cls]
            held[1] -= 1
            if not held[1]:
                del self._held[cls]
        if pod is None:
            return
        uid = controller_uid(pod)
        if not uid:
            return
        cls = pod_class(pod)
        held = self._held.get(cls)              # pods of one class share one PodClass object
        if held is None:
            held = self._held[cls] = [cls, 0]
        held[1] += 1
        cls = held[0]
        self._of[key] = (uid, cls)
        counts = self._classes.setdefault(uid, {})
        counts[cls] = counts.get(cls, 0) + 1

    def classes(self, uid: str) -> dict[PodClass, int]:
        """The classes of the pods whose controller has this uid (read-only)."""
        return self._classes.get(uid) or {}

    def __len__(self) -> int:
        return len(self._of)
