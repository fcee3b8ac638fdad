"""A pod's effective resource requests: what NodeInfo adds up per node and the resource plugins
compare with a node's allocatable, cached per pod and per template's containers (pod_requests)."""
from __future__ import annotations

from collections import Counter

from . import quantity

DEFAULT_CPU_REQUEST = 100                 # millicores, used for scoring only (non-zero requests)
DEFAULT_MEMORY_REQUEST = 200 * 2 ** 20


_REQ_CACHE: dict[tuple, dict[str, int]] = {}
# requests per containers list object: the scheduler's pod view shares one list between the pods
# of a template (views.SHARED), so a new pod of a ReplicaSet finds its requests worked out by its
# siblings. Entries hold the objects they are for (an id() is reused once its object is freed).
_SPEC_CACHE: dict[tuple, tuple] = {}
MAX_REQ_CACHE = 50000


def pod_requests(pod: dict, non_zero: bool = False) -> dict[str, int]:
    """Effective requests: sum over containers, at least each init container, plus overhead.
    Cached per identity of the containers, initContainers and overhead objects (a template's
    pod views share them, so a new pod of a ReplicaSet finds its siblings' answer with one
    lookup and adds no entry of its own), then per (uid, generation): container resources cannot
    change once a pod is stored, and status writes (most of a pod's updates) leave the generation
    alone; objects without a generation are cached per resourceVersion."""
    spec = pod.get("spec") or {}
    parts = (spec.get("containers"), spec.get("initContainers"), spec.get("overhead"))
    skey = (id(parts[0]), id(parts[1]), id(parts[2]), non_zero)
    held = _SPEC_CACHE.get(skey)
    if held is not None and held[0] is parts[0] and held[1] is parts[1] and held[2] is parts[2]:
        return held[3]
    md = pod.get("metadata") or {}
    ver = md.get("generation") or md.get("resourceVersion")
    key = (md.get("uid"), ver, non_zero) if md.get("uid") and ver else None
    if key is not None:
        got = _REQ_CACHE.get(key)
        if got is not None:
            return got
    out = _pod_requests(pod, non_zero)
    if len(_SPEC_CACHE) > MAX_REQ_CACHE:
        _SPEC_CACHE.clear()
    _SPEC_CACHE[skey] = (*parts, out)
    if key is not None:
        if len(_REQ_CACHE) > MAX_REQ_CACHE:
            _REQ_CACHE.clear()
        _REQ_CACHE[key] = out
    return out


def _pod_requests(pod: dict, non_zero: bool) -> dict[str, int]:
    spec = pod.get("spec") or {}
    total: Counter = Counter()
    for c in spec.get("containers") or []:
        req = ((c.get("resources") or {}).get("requests") or {})
        lim = ((c.get("resources") or {}).get("limits") or {})
        for name in set(req) | set(lim):
            total[name] += quantity.amount(name, req.get(name, lim.get(name)))
        if non_zero:
            if "cpu" not in req and "cpu" not in lim:
                total["cpu"] += DEFAULT_CPU_REQUEST
            if "memory" not in req and "memory" not in lim:
                total["memory"] += DEFAULT_MEMORY_REQUEST
    for c in spec.get("initContainers") or []:
        req = ((c.get("resources") or {}).get("requests") or {})
        for name, q in req.items():
            total[name] = max(total[name], quantity.amount(name, q))
    for name, q in (spec.get("overhead") or {}).items():
        total[name] += quantity.amount(name, q)
    return dict(total)
