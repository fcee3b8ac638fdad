"""The scheduling framework as plugins see it: the names a plugin module (or a test) imports,
gathered from the modules that hold them so that a plugin needs one import line (the
scheduler's own modules import from those modules). Nothing is defined here:

- `interfaces`: FilterPlugin, ScorePlugin, SKIP, frozen (memo keys for node_local_key);
- `nodeinfo`: NodeInfo (one node and its pods), pod_key, controller_uid;
- `podrequests`: pod_requests (a pod's effective requests, cached);
- `cycle`: Profile (one filter/score cycle), FitError, feasible_nodes_to_find;
- `memos`: the per-node memos a Profile keeps between cycles (no public names).
"""
from __future__ import annotations

from .cycle import FitError, Profile, feasible_nodes_to_find
from .interfaces import SKIP, FilterPlugin, ScorePlugin, frozen
from .nodeinfo import NodeInfo, controller_uid, pod_key
from .podrequests import pod_requests

__all__ = ["SKIP", "FilterPlugin", "FitError", "NodeInfo", "Profile", "ScorePlugin", "controller_uid",
           "feasible_nodes_to_find", "frozen", "pod_key", "pod_requests"]
