"""Preemption: when a pod fits nowhere, find a node where evicting lower-priority pods makes room.

Only nodes that failed for reasons eviction can fix (insufficient resources, too many
pods) are candidates. On each, all lower-priority pods are removed, the pod must then pass
every filter, and victims are given back (highest priority first) while it still fits.
The node with the fewest victims (then the lowest highest-victim priority) wins. Pods with
preemptionPolicy: Never do not preempt, nor does a pod whose earlier victims are still
terminating on its nominated node.
"""
from __future__ import annotations

from .cycle import FitError, Profile
from .nodeinfo import NodeInfo

FIXABLE = ("Insufficient ", "Too many pods")


def priority(pod: dict) -> int:
    return int((pod.get("spec") or {}).get("priority") or 0)


def waiting_for_victims(pod: dict, node: str, nodes: list[NodeInfo]) -> bool:
    """True while `node` (where `pod` preempted) still has a terminating pod of lower priority:
    kube-scheduler's PodEligibleToPreemptOthers, so one preemptor does not take victims on
    node after node while the first ones shut down."""
    mine = priority(pod)
    ni = next((n for n in nodes if n.name == node), None)
    return ni is not None and any(p["metadata"].get("deletionTimestamp") and priority(p) < mine for p in ni.pods)


def fits(profile: Profile, pod: dict, ni: NodeInfo, nodes: list[NodeInfo]) -> bool:
    others = [n for n in nodes if n.name != ni.name] + [ni]
    for f in profile.filters:
        f.pre_filter(pod, others)
        if f.filter(pod, ni):
            return False
    return True


def find_victims(profile: Profile, pod: dict, nodes: list[NodeInfo], err: FitError):
    """(node name, [victim pods]) or None."""
    if (pod.get("spec") or {}).get("preemptionPolicy") == "Never":
        return None
    mine = priority(pod)
    best = None
    for ni in nodes:
        reasons = err.reasons.get(ni.name) or []
        if not reasons or not all(r.startswith(FIXABLE) for r in reasons):
            continue
        lower = [p for p in ni.pods if priority(p) < mine and not p["metadata"].get("deletionTimestamp")]
        if not lower:
            continue
        keep = [p for p in ni.pods if p not in lower]
        if not fits(profile, pod, NodeInfo(ni.node, keep), nodes):
            continue
        victims = []
        for p in sorted(lower, key=lambda p: -priority(p)):
            if fits(profile, pod, NodeInfo(ni.node, keep + [p]), nodes):
                keep.append(p)
            else:
                victims.append(p)
        rank = (len(victims), max(priority(v) for v in victims), ni.name)
        if best is None or rank < best[0]:
            best = (rank, ni.name, victims)
    return (best[1], best[2]) if best else None
