"""Two caches a cycle reads, against their earlier code (kept here): pod_requests, which now asks
its per-template cache (identity of the containers, initContainers and overhead objects) before
its per-pod one, and NodeList.changed_since, which hands the same answer to the callers asking
from the same mark before the log grows (a cycle's columns). Same answers for every call of
random call sequences."""
from __future__ import annotations

import copy
import random
from collections import Counter

import pytest

from labkube.scheduler import podrequests
from labkube.scheduler.cache import SchedulerCache
from labkube.scheduler.nodelist import NodeList
from labkube.scheduler.views import pod_view

from .objs import node, pod


class EarlierPodRequests:
    """pod_requests before: the per-pod (uid, version) cache first, then the per-template one."""

    def __init__(self):
        self.by_pod, self.by_spec = {}, {}

    def __call__(self, pod, non_zero=False):
        md = pod.get("metadata") or {}
        ver = md.get("generation") or md.get("resourceVersion")
        key = (md.get("uid"), ver, non_zero) if md.get("uid") and ver else None
        if key is not None:
            got = self.by_pod.get(key)
            if got is not None:
                return got
        spec = pod.get("spec") or {}
        parts = (spec.get("containers"), spec.get("initContainers"), spec.get("overhead"))
        skey = (id(parts[0]), id(parts[1]), id(parts[2]), non_zero)
        held = self.by_spec.get(skey)
        if held is not None and held[0] is parts[0] and held[1] is parts[1] and held[2] is parts[2]:
            out = held[3]
        else:
            out = podrequests._pod_requests(pod, non_zero)
            self.by_spec[skey] = (*parts, out)
        if key is not None:
            self.by_pod[key] = out
        return out


def templates():
    """Pod specs: requests, limits only, none (the non-zero defaults), init containers, overhead."""
    def spec(containers, **more):
        return {"containers": containers, **more}
    return [
        spec([{"name": "c", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]),
        spec([{"name": "c", "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]),
        spec([{"name": "c"}]),
        spec([{"name": "c", "resources": {"requests": {"cpu": "10m"}}},
              {"name": "d", "resources": {"requests": {"memory": "16Mi", "nvidia.com/gpu": "1"}}}]),
        spec([{"name": "c", "resources": {"requests": {"cpu": "50m"}}}],
             initContainers=[{"name": "i", "resources": {"requests": {"cpu": "2", "memory": "8Mi"}}}]),
        spec([{"name": "c", "resources": {"requests": {"cpu": "50m"}}}], overhead={"cpu": "5m", "memory": "1Mi"}),
    ]


@pytest.mark.parametrize("seed", range(12))
def test_pod_requests_answers_as_before(seed, monkeypatch):
    monkeypatch.setattr(podrequests, "_REQ_CACHE", {})
    monkeypatch.setattr(podrequests, "_SPEC_CACHE", {})
    earlier = EarlierPodRequests()
    rng = random.Random(seed)
    specs = templates()
    pods = []
    for i in range(120):
        t = rng.randrange(len(specs))
        md = {"name": f"p{i}", "namespace": "default"}
        how = rng.randrange(4)
        if how:                                 # a stored pod: uid and version (one content per pair)
            md.update(uid=f"u{i}", resourceVersion=str(i))
            if how == 2:
                md["generation"] = 1
        p = {"metadata": md, "spec": copy.deepcopy(specs[t])}
        if how == 3:
            p = pod_view(p)                     # the informer's view: a template's objects shared
        pods.append(p)
        if rng.random() < 0.3:                  # its assumed copy: same containers objects
            pods.append({**p, "spec": {**p["spec"], "nodeName": "n1"}})
    for _ in range(1500):
        p, non_zero = rng.choice(pods), rng.random() < 0.5
        assert podrequests.pod_requests(p, non_zero) == earlier(p, non_zero)


@pytest.mark.parametrize("seed", range(12))
def test_changed_since_answers_as_a_fresh_look_at_the_log(seed, monkeypatch):
    monkeypatch.setattr(NodeList, "MAX_LOG", 8)         # the log restarts now and then
    rng = random.Random(seed)
    cache = SchedulerCache()
    names = [f"n{i}" for i in range(12)]
    for n in names:
        cache.set_node(node(n))
    nodes = cache.snapshot()
    marks = [nodes.mark()]
    for step in range(300):
        if rng.random() < 0.4:
            cache.set_pod(pod(f"p{step}", cpu="10m", node_name=rng.choice(names)))
        mark = rng.choice(marks[-4:])
        got = nodes.changed_since(mark)
        again = nodes.changed_since(mark)
        fresh = (None if mark < nodes.changed_base
                 else list(dict.fromkeys(nodes.changed[mark - nodes.changed_base:])))
        assert got == fresh and again == fresh
        assert Counter(map(id, got or [])) == Counter(map(id, fresh or []))
        if rng.random() < 0.3:
            marks.append(nodes.mark())
