"""Scheduler plugins, one module each; default_profile() lists them in kube-scheduler's order."""
from __future__ import annotations

import random

from ..framework import Profile
from .balanced_allocation import BalancedAllocation
from .least_allocated import LeastAllocated
from .node_affinity import NodeAffinity
from .node_name import NodeName
from .node_resources_fit import NodeResourcesFit
from .node_unschedulable import NodeUnschedulable
from .taint_toleration import TaintToleration


def default_profile(rng: random.Random | None = None) -> Profile:
    return Profile(filters=[NodeUnschedulable(), NodeName(), TaintToleration(), NodeAffinity(),
                            NodeResourcesFit()],
                   scores=[LeastAllocated(), BalancedAllocation()],
                   rng=rng or random.Random())
