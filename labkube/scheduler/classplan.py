"""What a cycle's set-up takes over from an earlier cycle of a pod of the same class.

Before filtering and scoring, a cycle asks every filter plugin's pre_filter and every score
plugin's pre_score whether it has anything to do for the pod (most answer SKIP: no node is
cordoned or tainted, the pod has no ports, volumes, affinities or spread constraints), and
works out the pod's filter class and node-local score key from each plugin's node_local_key. For
the pods of one template (a Deployment's backlog: thousands back to back) those answers are the
same every time, and asking was ~15 us of a ~60 us cycle at 1,000 nodes.

A `ClassPlan` keeps them per pod class: the plugins that must still be asked each cycle (every
plugin but those that answered SKIP and say, through `filter_skips_by_pod`/`score_skips_by_pod`,
that they answer SKIP for this pod on any node list without cordoned, tainted or anti-affinity
nodes), the active filters, the filter key and the node-local score prefix. A plan is used only
for a pod `PodClass.same_class` as the one it was made for, on the same tracking NodeList,
while its cluster-wide indexes are empty and the profile's plugin lists are the ones it was made with.
The plugins still asked may answer otherwise than before: then the keys are worked out again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from operator import is_

# metadata every pod has to itself; a plugin reads none of it (pod_requests keys its cache by
# uid and version, for the same answer)
OWN_METADATA = frozenset(("name", "uid", "resourceVersion", "creationTimestamp"))
MAX_PLANS = 512                 # pod classes with a plan kept (then they restart)


class PodClass:
    """What `same_class` compares a pod with: the spec and metadata of the pod a plan was made
    for, as (keys, the values of the keys compared) taken when the plan was made (a pod changed
    in place since is then no match)."""

    __slots__ = ("spec_keys", "spec_values", "spec_key_set", "meta_key_set", "shared_keys", "shared_values")

    def __init__(self, pod: dict):
        spec, md = pod.get("spec") or {}, pod.get("metadata") or {}
        self.spec_keys, self.spec_values = tuple(spec), tuple(spec.values())
        self.spec_key_set, self.meta_key_set = frozenset(spec), frozenset(md)
        self.shared_keys = tuple(k for k in md if k not in OWN_METADATA)
        self.shared_values = tuple(map(md.__getitem__, self.shared_keys))

    def same_class(self, pod: dict) -> bool:
        """Whether plugins can tell `pod` from the pod this was taken from only by what each pod
        has to itself: the same spec and metadata keys, holding the very same objects (the
        scheduler's pod views of one template share them), but for OWN_METADATA. Plugins read a
        pod's spec and metadata, never its status (as NodeInfo's _same_for_plugins)."""
        spec, md = pod.get("spec"), pod.get("metadata")
        return (spec is not None and md is not None and spec.keys() == self.spec_key_set
                and md.keys() == self.meta_key_set
                and all(map(is_, map(spec.__getitem__, self.spec_keys), self.spec_values))
                and all(map(is_, map(md.__getitem__, self.shared_keys), self.shared_values)))


def class_slot(pod: dict) -> tuple[int, int]:
    """Where a pod's plan is kept: the identities of its containers list and labels (a template's
    pod views share them; templates alike but for their labels, as bench/scale.py's Deployments,
    share the containers list); PodClass.same_class decides."""
    return id((pod.get("spec") or {}).get("containers")), id((pod.get("metadata") or {}).get("labels"))


def plain_indexes(nodes) -> bool:
    """Whether `nodes` is a tracking NodeList with no cordoned, tainted or anti-affinity node."""
    return (getattr(nodes, "tracking", False) and not nodes.unschedulable and not nodes.hard_tainted
            and not nodes.prefer_tainted and not nodes.with_anti_affinity)


@dataclass(slots=True)
class ClassPlan:
    pod_class: PodClass             # of the pod the plan was made for
    slot: tuple                     # class_slot of that pod (pod_class holds the objects it names)
    nodes: list                     # the tracking NodeList it was made on
    filters: list                   # copies of the profile's plugin lists then
    scores: list
    filter_calls: list              # the filters whose pre_filter is still called, in order
    active: list                    # the filters that did not SKIP
    fkey: tuple | None              # Profile._filter_key(pod, active)
    prefix: tuple | None = None     # Profile._local_prefix(pod), once a select_host asked
    score_calls: list | None = field(default=None)    # the score plugins after the prefix still asked


def plan_for(plans: dict, pod: dict, nodes, filters: list, scores: list) -> ClassPlan | None:
    """The plan kept for pod's class, if it may be used on `nodes` now."""
    plan = plans.get(class_slot(pod))
    if (plan is None or plan.nodes is not nodes or not plain_indexes(nodes) or plan.filters != filters
            or plan.scores != scores or not plan.pod_class.same_class(pod)):
        return None
    return plan


def keep_plan(plans: dict, plan: ClassPlan) -> None:
    if len(plans) >= MAX_PLANS:
        plans.clear()
    plans[plan.slot] = plan
