"""Scheduler plugins, one module each; default_profile() lists them in kube-scheduler's order."""
from __future__ import annotations

import random

from ..framework import Profile
from .balanced_allocation import BalancedAllocation
from .inter_pod_affinity import InterPodAffinity
from .least_allocated import LeastAllocated
from .node_affinity import NodeAffinity
from .node_name import NodeName
from .node_ports import NodePorts
from .node_resources_fit import NodeResourcesFit
from .node_unschedulable import NodeUnschedulable
from .pod_topology_spread import PodTopologySpread
from .preferences import InterPodAffinityPreference, NodeAffinityPreference, TaintPreference
from .selector_spread import SelectorSpread
from .taint_toleration import TaintToleration
from .volume_binding import VolumeBinding


def default_profile(rng: random.Random | None = None) -> Profile:
    spread = PodTopologySpread()
    return Profile(filters=[NodeUnschedulable(), NodeName(), TaintToleration(), NodeAffinity(),
                            NodePorts(), NodeResourcesFit(), VolumeBinding(), spread, InterPodAffinity()],
                   scores=[LeastAllocated(), BalancedAllocation(), spread, SelectorSpread(),
                           NodeAffinityPreference(), TaintPreference(), InterPodAffinityPreference()],
                   rng=rng or random.Random())
