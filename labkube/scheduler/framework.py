"""The scheduling framework: node snapshots, the filter/score plugin interfaces, and one cycle
(the cache's NodeList and the per-node columns a cycle reads along it are in `nodelist`).

A filter plugin returns a list of reasons the node does not fit (empty: fits); a score
plugin returns 0..100 for a node that passed every filter. The FitError message is
built the way kube-scheduler words it: "0/3 nodes are available: 1 node(s) had
untolerated taint {...}, 2 Insufficient cpu."
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from itertools import compress, islice, repeat
from operator import add, attrgetter, ge, is_, itemgetter, mul, ne, not_, truth

from labkube import jsonio

from . import quantity
from .nodelist import Feasible, NodeList, column

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
    Cached per (uid, generation): container resources cannot change once a pod is stored, and
    status writes (most of a pod's updates) leave the generation alone; objects without a
    generation are cached per resourceVersion. A pod not seen yet finds the requests of the
    same containers, initContainers and overhead objects (a template's shared view) in a
    second cache, keyed by their identity."""
    md = pod.get("metadata") or {}
    ver = md.get("generation") or md.get("resourceVersion")
    key = (md.get("uid"), ver, non_zero) if md.get("uid") and ver else None
    if key is not None:
        got = _REQ_CACHE.get(key)
        if got is not None:
            return got
    spec = pod.get("spec") or {}
    parts = (spec.get("containers"), spec.get("initContainers"), spec.get("overhead"))
    skey = (id(parts[0]), id(parts[1]), id(parts[2]), non_zero)
    held = _SPEC_CACHE.get(skey)
    if held is not None and held[0] is parts[0] and held[1] is parts[1] and held[2] is parts[2]:
        out = held[3]
    else:
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


HARD_EFFECTS = ("NoSchedule", "NoExecute")


def frozen(value) -> bytes:
    """A hashable stand-in for a piece of a pod (lists and dicts, as JSON): for memo keys, where
    two equal values written in another key order only cost a memo miss."""
    return jsonio.dumps(value)


def pod_key(pod: dict) -> str:
    md = pod.get("metadata") or {}
    return f"{md.get('namespace')}/{md.get('name')}" if md.get("namespace") else str(md.get("name"))


def _at(pods: list[dict], key: str) -> int:
    """The index of the first pod with this `namespace/name` key in `pods` (-1: none there), by
    reading every pod's metadata (NodeInfo keeps an index by key instead: `NodeInfo._index`)."""
    name = key.rpartition("/")[2]
    for i, p in enumerate(pods):
        if (p.get("metadata") or {}).get("name") == name and pod_key(p) == key:
            return i
    return -1


def controller_uid(pod: dict) -> str | None:
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def has_required_anti_affinity(pod: dict) -> bool:
    return bool((((pod.get("spec") or {}).get("affinity") or {}).get("podAntiAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))


def _same_for_plugins(old: dict, new: dict) -> bool:
    """Whether a plugin could tell `old` from `new` when they are pods on a node: plugins read
    their spec (requests, affinity, ports, tolerations), labels, namespace and owners, never
    their status (the cache drops terminal pods before they get here)."""
    om, nm = old.get("metadata") or {}, new.get("metadata") or {}
    return (old.get("spec") == new.get("spec") and om.get("labels") == nm.get("labels")
            and om.get("namespace") == nm.get("namespace") and om.get("uid") == nm.get("uid")
            and om.get("ownerReferences") == nm.get("ownerReferences"))


class NodeInfo:
    """One node and the pods on it, with aggregates the plugins read on every cycle, kept up to
    date incrementally by `add_pod`/`remove_pod` (the scheduler's cache calls them from informer
    events; do not edit `pods` directly): requested resources (`req`, and `req_nz` where unset
    cpu/memory count as the scoring defaults), pods per controller uid (`owners`), pods with
    required anti-affinity (`anti`), and the allocatable amounts (`alloc`)."""

    def __init__(self, node: dict, pods: list[dict] | None = None):
        self.pods: list[dict] = []
        self.req: Counter = Counter()
        self.req_nz: Counter = Counter()
        self.owners: Counter = Counter()
        self.anti: list[dict] = []
        # pod key -> the first pod in `pods` with that key, and how many pods share a key with an
        # earlier one (0 but in odd hand-built snapshots): a pod is found by its key without
        # reading the metadata of every pod on the node (a binding's echo looks its pod up among
        # ~12 whose dicts are rarely in the CPU's cache by then: ~11 us of misses per lookup)
        self._first: dict[str, dict] = {}
        self._dups = 0
        self.generation = 0
        self.log: list | None = None      # a tracking NodeList's change log: every new generation is appended
        self.score_memo: tuple = ()       # (generation, key, summed node-local scores): Profile.select_host
        self.fit_memo: tuple = ()         # (generation, requests that fit): NodeResourcesFit
        self.filter_memo: tuple = ()      # (generation, filter key, reasons): Profile.find_nodes
        self.set_node(node)
        for p in pods or ():
            self.add_pod(p)

    def __repr__(self) -> str:
        return f"NodeInfo({self.name!r}, {len(self.pods)} pods)"

    def set_node(self, node: dict) -> None:
        """A new version of the node object (same name)."""
        self.node = node
        self.name = node["metadata"]["name"]
        spec, st = node.get("spec") or {}, node.get("status") or {}
        alloc = st.get("allocatable") or st.get("capacity") or {}
        self.alloc = {k: quantity.amount(k, v) for k, v in alloc.items()}
        self.unschedulable = bool(spec.get("unschedulable"))
        taints = spec.get("taints") or []
        self.hard_taints = [t for t in taints if t.get("effect") in HARD_EFFECTS]
        self.prefer_taints = [t for t in taints if t.get("effect") == "PreferNoSchedule"]
        self._changed()

    def _changed(self) -> None:
        self.generation += 1
        if self.log is not None:
            self.log.append(self)

    def _account(self, pod: dict, sign: int) -> None:
        for k, v in pod_requests(pod).items():
            self.req[k] += sign * v
        for k, v in pod_requests(pod, non_zero=True).items():
            self.req_nz[k] += sign * v
        uid = controller_uid(pod)
        if uid is not None:
            self.owners[uid] += sign
            if self.owners[uid] <= 0:
                del self.owners[uid]
        if has_required_anti_affinity(pod):
            if sign > 0:
                self.anti.append(pod)
            else:
                self.anti = [p for p in self.anti if p is not pod]
        self._changed()

    def add_pod(self, pod: dict, key: str | None = None) -> None:
        """Add a pod (`key`: its `namespace/name`, when the caller has it)."""
        self.pods.append(pod)
        key = key or pod_key(pod)
        if key in self._first:
            self._dups += 1
        else:
            self._first[key] = pod
        self._account(pod, 1)

    def _index(self, key: str) -> int:
        """The index in `pods` of the first pod with this `namespace/name` key (-1: none here), as
        `_at(self.pods, key)` finds it: from the key index, then by identity (list pointers only)."""
        p = self._first.get(key)
        if p is None:
            return -1
        return list(map(is_, self.pods, repeat(p))).index(True)

    def remove_pod(self, key: str) -> dict | None:
        """Remove the pod with this `namespace/name` key; returns it (None: not here)."""
        i = self._index(key)
        if i < 0:
            return None
        p = self.pods.pop(i)
        del self._first[key]
        if self._dups:          # the next pod with this key, if any, is now the first
            j = _at(self.pods, key)
            if j >= 0:
                self._first[key] = self.pods[j]
                self._dups -= 1
        self._account(p, -1)
        return p

    def replace_pod(self, key: str, pod: dict) -> bool:
        """Put `pod` in place of the pod with this key when plugins would see no difference (same
        namespace, spec, labels and ownerReferences: a status write), without re-accounting or a
        new generation; False (nothing done) when the pod is not here or differs in those."""
        i = self._index(key)
        if i < 0:
            return False
        p = self.pods[i]
        if not _same_for_plugins(p, pod):
            return False
        self.pods[i] = pod
        if pod_key(pod) == key:
            self._first[key] = pod
        else:                   # not the key it was asked for: index the pods again
            self._first, self._dups = {}, 0
            for q in self.pods:
                k = pod_key(q)
                if k in self._first:
                    self._dups += 1
                else:
                    self._first[k] = q
        if self.anti and any(a is p for a in self.anti):
            self.anti = [pod if a is p else a for a in self.anti]
        return True

    def allocatable(self) -> dict[str, int]:
        return self.alloc

    def requested(self, non_zero: bool = False) -> dict[str, int]:
        """Sum of the pods' requests (non_zero: unset cpu/memory counted as scoring defaults),
        plus "pods": how many there are."""
        return {**(self.req_nz if non_zero else self.req), "pods": len(self.pods)}

    def anti_affinity_pods(self) -> list[dict]:
        """The pods here with required pod anti-affinity (most nodes: none)."""
        return self.anti

    def owner_counts(self) -> Counter:
        """How many pods here each controller (owner uid) has."""
        return self.owners


SKIP = "Skip"


class FilterPlugin:
    name = "Filter"

    def node_local_key(self, pod: dict):
        """None, or a hashable summary of the pod such that, once pre_filter() has run,
        filter(pod, node) depends only on it and on the node's own state (NodeInfo.generation):
        then the profile keeps each node's verdict between cycles and runs the filters again only
        for nodes that changed or pods with another summary (kube-scheduler's former equivalence
        cache, kept per node). A plugin whose answer depends on other nodes returns None."""
        return None

    def pre_filter(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        """Called once per cycle with every node, before filter(); for cluster-wide state.
        Returning SKIP (the pod asks nothing of this plugin) spares the filter() calls, as
        kube-scheduler's PreFilter Skip."""

    def filter(self, pod: dict, node: NodeInfo) -> list[str]:
        raise NotImplementedError

    def filter_batch(self, pod: dict, nodes: list[NodeInfo]) -> list[list[str]]:
        """filter() for several nodes, in order (plugins override this with one tight loop)."""
        return [self.filter(pod, ni) for ni in nodes]


class ScorePlugin:
    name = "Score"
    weight = 1

    def node_local_key(self, pod: dict):
        """None, or a hashable summary of the pod such that the score of a node depends only on
        it and on the node's own state (NodeInfo.generation), never on the other nodes: then the
        profile keeps each node's score between cycles and recomputes it only for nodes that
        changed or pods with another key (most cycles: one node, the previous pod's)."""
        return None

    def pre_score(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        """Called once per cycle with the feasible nodes, before score(). Returning SKIP (every
        node would get the same score) spares the score() calls, as kube-scheduler's PreScore Skip."""

    def score(self, pod: dict, node: NodeInfo) -> float:
        raise NotImplementedError

    def score_all(self, pod: dict, nodes: list[NodeInfo]) -> list[float]:
        """Scores of the feasible nodes, in order (plugins override this with one tight loop)."""
        return [self.score(pod, ni) for ni in nodes]

    def cycle_key(self, pod: dict):
        """Asked after a pre_score() that did not return SKIP: None, or a hashable summary of
        what this cycle's scores depend on besides the node, such that until the next
        pre_score(), score_all(pod, nodes) gives each node (of any list) the score it gives
        it among the feasible nodes, from the key and the node's own state (NodeInfo.generation)
        only. The profile then keeps running totals per node with this plugin's score added
        across cycles with the same key (most cycles: the pods of one ReplicaSet)."""
        return None


class FitError(Exception):
    def __init__(self, pod: dict, num_nodes: int, reasons: dict[str, list[str]]):
        self.pod = pod
        self.num_nodes = num_nodes
        self.reasons = reasons      # node name -> reasons
        super().__init__(self.message())

    def message(self) -> str:
        counts = Counter(r for rs in self.reasons.values() for r in rs)
        parts = sorted(f"{n} {r}" for r, n in counts.items())
        if self.num_nodes == 0:
            return "0/0 nodes are available: no nodes available to schedule pods."
        return f"0/{self.num_nodes} nodes are available: {', '.join(parts)}."


MIN_FEASIBLE_NODES = 100
FILTER_CHUNK = 64
MAX_INTERNED_KEYS = 4096
FITS: list[str] = []            # the shared "no reasons" verdict (never modified)


def feasible_nodes_to_find(num_nodes: int, percentage: int = 0) -> int:
    """kube-scheduler's percentageOfNodesToScore: with 100 nodes or more, filtering stops once
    this many feasible nodes are found (0 = adaptive: 50 % minus 1 % per 125 nodes, at least 5 %)."""
    if num_nodes < MIN_FEASIBLE_NODES or percentage >= 100:
        return num_nodes
    pct = percentage if percentage > 0 else max(50 - num_nodes // 125, 5)
    return max(num_nodes * pct // 100, MIN_FEASIBLE_NODES)


@dataclass
class Profile:
    filters: list[FilterPlugin]
    scores: list[ScorePlugin]
    rng: random.Random = field(default_factory=random.Random)
    percentage_of_nodes_to_score: int = 0
    next_start: int = 0              # where the next cycle starts looking (round robin, as kube-scheduler)
    _keys: dict = field(default_factory=dict, repr=False)     # interned memo keys
    # per pod class, values per node of a tracking NodeList: [list, epoch, log mark, values]
    _verdicts: dict = field(default_factory=dict, repr=False)   # filter key -> reasons per node
    _local: dict = field(default_factory=dict, repr=False)      # score key -> node-local score sum per node
    # (score key, then per later plugin: its name, weight and cycle key) -> running total per node
    _fused: dict = field(default_factory=dict, repr=False)

    def find_nodes(self, pod: dict, nodes: list[NodeInfo]) -> list[NodeInfo]:
        """Nodes passing every filter (enough of them: `feasible_nodes_to_find`); FitError naming
        the reasons when there are none."""
        feasible, reasons = [], {}
        active = [f for f in self.filters if f.pre_filter(pod, nodes) != SKIP]
        n = len(nodes)
        want = feasible_nodes_to_find(n, self.percentage_of_nodes_to_score)
        start = self.next_start % n if want < n else 0
        fkey = self._filter_key(pod, active) if active else None
        feasible_at = run = None
        if not active:                  # nothing to check: the first `want` nodes
            feasible = list((nodes[start:] + nodes[:start] if start else nodes)[:want])
            processed = len(feasible)
        elif fkey is not None and getattr(nodes, "tracking", False):
            feasible, processed, feasible_at, run = self._find_tracked(pod, active, fkey, nodes, start, want,
                                                                       reasons)
        elif fkey is not None:
            order = nodes[start:] + nodes[:start] if start else nodes
            processed = self._find_memoized(pod, active, fkey, order, want, feasible, reasons)
        else:
            order = nodes[start:] + nodes[:start] if start else nodes
            processed = 0
            # nodes go through the filters a chunk at a time (each filter sees only the nodes that
            # passed the ones before it); the result is as if node after node were filtered and
            # the search stopped at the `want`-th feasible one
            for at in range(0, n, FILTER_CHUNK):
                chunk = order[at:at + FILTER_CHUNK]
                why: list = [None] * len(chunk)
                left = list(range(len(chunk)))
                for f in active:
                    verdicts = f.filter_batch(pod, [chunk[j] for j in left])
                    for j, v in zip(left, verdicts):
                        if v:
                            why[j] = v
                    left = [j for j in left if not why[j]]
                    if not left:
                        break
                for ni, v in zip(chunk, why):
                    processed += 1
                    if v:
                        reasons[ni.name] = v
                    else:
                        feasible.append(ni)
                        if len(feasible) >= want:
                            break
                if len(feasible) >= want:
                    break
        if want < n:
            self.next_start = (start + processed) % n
        if not feasible:
            raise FitError(pod, len(nodes), reasons)
        out = Feasible(feasible)
        out.cluster = nodes
        out.at = feasible_at
        out.run = run
        return out

    def _find_tracked(self, pod: dict, active: list[FilterPlugin], fkey: tuple, nodes: NodeList, start: int,
                      want: int, reasons: dict) -> tuple[list[NodeInfo], int, list[int], tuple | None]:
        """find_nodes on a tracking NodeList when every active filter is node-local: the
        verdicts of the class's column, read from `start` round the list; the feasible nodes are
        the first `want` that fit, and the nodes up to the last of them (or all) count as looked
        at (their failures give the reasons). Returns (feasible, looked at, their indexes, and
        (start, want) when they are the `want` nodes from `start` on: see Feasible.run)."""
        def verdict(ni: NodeInfo) -> list[str]:
            m = ni.filter_memo
            if m and m[1] is fkey and m[0] == ni.generation:
                return m[2]
            return _filter_verdict(pod, active, ni, fkey)

        n = len(nodes)
        verdicts = column(self._verdicts, fkey, nodes, verdict)
        end = start + want
        if not any(verdicts[start:end] if end <= n else verdicts[start:] + verdicts[:end - n]):
            # the usual case: the `want` nodes from `start` on all fit, so they are the feasible
            # nodes and the nodes looked at, with no reasons; slices instead of a pass per node
            return nodes.run_from(start, want), want, nodes.positions()[start:end], (start, want)
        if start:
            verdicts = verdicts[start:] + verdicts[:start]
            where = nodes.positions()[start:start + n]
        else:
            where = range(n)
        picked = list(islice(compress(range(n), map(not_, verdicts)), want))
        processed = picked[-1] + 1 if len(picked) == want else n
        for i in compress(range(processed), map(truth, verdicts[:processed])):
            reasons[nodes[where[i]].name] = verdicts[i]
        at = list(map(where.__getitem__, picked))
        return list(map(nodes.__getitem__, at)), processed, at, None

    def _intern(self, key: tuple) -> tuple:
        """One object per distinct key, so memos compare keys by identity (`is`)."""
        keys = self._keys
        got = keys.get(key)
        if got is None:
            if len(keys) >= MAX_INTERNED_KEYS:
                keys.clear()            # old memos then miss once: never a wrong answer
            got = keys[key] = key
        return got

    def _filter_key(self, pod: dict, active: list[FilterPlugin]) -> tuple | None:
        """The pod's filter class: every active filter's node_local_key (None: one is not
        node-local, so no node keeps a verdict for it)."""
        parts = []
        for f in active:
            k = f.node_local_key(pod)
            if k is None:
                return None
            parts.append((f.name, k))
        return self._intern(tuple(parts))

    @staticmethod
    def _find_memoized(pod: dict, active: list[FilterPlugin], fkey: tuple, order: list[NodeInfo],
                       want: int, feasible: list, reasons: dict) -> int:
        """find_nodes when every active filter is node-local: each node's verdict from its memo
        when neither the node (generation) nor the pod's class changed, else from the filters in
        order (the first that fails gives the reasons); the feasible nodes are the first `want`
        that fit, in order, and the nodes before the last of them (or all) count as looked at.
        Returns how many that is.

        The memo checks and the picking run a chunk of `want` nodes at a time in C-level map()
        calls (a Python loop over hundreds of nodes per cycle was most of a cycle's cost); only
        the stale memos of a chunk go through the filters, so a new pod class may filter up to a
        chunk more nodes than kube-scheduler would look at, never with another result."""
        processed = 0
        step = max(want, FILTER_CHUNK)
        for at in range(0, len(order), step):
            chunk = order[at:at + step]
            memos = list(map(_filter_memo, chunk))
            for i in _stale(chunk, memos, fkey):
                _filter_verdict(pod, active, chunk[i], fkey)
                memos[i] = chunk[i].filter_memo
            verdicts = list(map(_third, memos))
            need = want - len(feasible)
            picked = list(islice(compress(range(len(chunk)), map(not_, verdicts)), need))
            upto = picked[-1] + 1 if len(picked) == need else len(chunk)
            feasible.extend(map(chunk.__getitem__, picked))
            for i in compress(range(upto), map(truth, verdicts[:upto])):
                reasons[chunk[i].name] = verdicts[i]
            processed += upto
            if len(feasible) >= want:
                break
        return processed

    def select_host(self, pod: dict, nodes: list[NodeInfo]) -> str:
        feasible = self.find_nodes(pod, nodes)
        if len(feasible) == 1:
            return feasible[0].name
        n, key = self._local_prefix(pod)
        cluster, col = getattr(feasible, "cluster", None), None
        if n and getattr(feasible, "at", None) is not None and getattr(cluster, "tracking", False):
            # the running totals stay a column of every node of the tracking NodeList while the
            # plugins after the node-local ones are node-local for this cycle (cycle_key): each
            # such plugin's weighted score is added into a column kept per (totals so far, its
            # cycle key), in which only changed nodes are added again; the feasible nodes'
            # totals are then read at the end with one slice (the same floats, added in the same
            # order, as the per-cycle lists below)
            col = self._local_column(pod, cluster, n, key)
            totals = None
        else:
            totals = self._node_local_totals(pod, feasible, n, key)
        for s in self.scores[n:]:
            if s.pre_score(pod, feasible) == SKIP:
                continue
            if col is not None:
                ck = s.cycle_key(pod)
                if ck is not None:
                    key = (key, s.name, s.weight, ck)
                    col = column(self._fused, key, cluster, None,
                                 many=partial(_add_scores, col, cluster, s, pod))
                    continue
                totals, col = feasible.pick(col), None
            w, scores = s.weight, s.score_all(pod, feasible)
            totals = list(map(add, totals, scores if w == 1 else map(mul, repeat(w), scores)))
        if col is not None:
            totals = feasible.pick(col)
        # one of the top-scoring nodes at random, as kube-scheduler's selectHost; the tied nodes
        # are taken in the order the cycle looked at them (round robin from `next_start`), not
        # sorted by name: identical hollow nodes tie by the hundred, and sorting their names was
        # ~6 % of the scheduler's CPU in a drain
        # (ge over repeat(best): one C call per node instead of a bound method-wrapper's)
        best = max(totals) - 1e-9
        return self.rng.choice(list(compress(feasible, map(ge, totals, repeat(best))))).name

    def _local_prefix(self, pod: dict) -> tuple[int, tuple]:
        """How many leading score plugins are node-local for this pod, and their keys (interned)."""
        keys = []
        for s in self.scores:
            k = s.node_local_key(pod)
            if k is None:
                break
            keys.append(k)
        return len(keys), self._intern(("score", *keys))

    def _node_local_totals(self, pod: dict, feasible: list[NodeInfo], n: int, key: tuple) -> list[float]:
        """The weighted sum of the first `n` (node-local) plugins' scores per node, added in the
        same order as the plain loop, from each node's memo where the node and the pod's key are
        unchanged."""
        if not n:
            return [0] * len(feasible)
        at, cluster = getattr(feasible, "at", None), getattr(feasible, "cluster", None)
        if at is not None and getattr(cluster, "tracking", False):
            return feasible.pick(self._local_column(pod, cluster, n, key))
        memos = list(map(_score_memo, feasible))
        stale = _stale(feasible, memos, key)
        if stale:
            nodes = [feasible[i] for i in stale]
            sums = self._weighted_sums(pod, nodes, n)
            for i, ni, v in zip(stale, nodes, sums):
                memos[i] = ni.score_memo = (ni.generation, key, v)
        return list(map(_third, memos))

    def _local_column(self, pod: dict, cluster: NodeList, n: int, key: tuple) -> list[float]:
        """_node_local_totals of every node of the tracking NodeList `cluster`, as the class's
        column: a changed node's entry is computed again at once, in the next cycle of the class,
        whether or not the node is feasible in it (a node-local score depends only on the key and
        the node), so the column never holds a stale or missing entry and the feasible nodes'
        entries are read with no per-node check (a scan of the ~420 entries for a missing one
        took ~8 % of a cycle at 1,000 nodes)."""
        return column(self._local, key, cluster, None, many=lambda nodes: self._weighted_sums(pod, nodes, n))

    def _weighted_sums(self, pod: dict, nodes: list, n: int) -> list[float]:
        """The weighted sum of the first n (node-local) score plugins for each of nodes."""
        sums = [0] * len(nodes)
        for s in self.scores[:n]:
            s.pre_score(pod, nodes)
            w = s.weight
            sums = [t + w * v for t, v in zip(sums, s.score_all(pod, nodes))]
        return sums


def _add_scores(base: list, cluster: NodeList, s: ScorePlugin, pod: dict, nodes: list[NodeInfo]) -> list[float]:
    """For each of `nodes` (of the tracking `cluster`): its entry in the column `base` plus the
    weighted score of `s` (whose pre_score ran in this cycle), added as select_host adds it."""
    where = cluster.index_of()
    totals = [base[where[ni.name]] for ni in nodes]
    w, scores = s.weight, s.score_all(pod, nodes)
    return list(map(add, totals, scores if w == 1 else map(mul, repeat(w), scores)))


def _filter_verdict(pod: dict, active: list[FilterPlugin], ni: NodeInfo, fkey: tuple) -> list[str]:
    """The reasons of the first active filter ni fails (FITS when it passes them all), kept as
    ni's filter memo for the pod class `fkey` at its current generation."""
    v = FITS
    for f in active:
        v = f.filter(pod, ni)
        if v:
            break
    ni.filter_memo = (ni.generation, fkey, v)
    return v


_score_memo = attrgetter("score_memo")
_filter_memo = attrgetter("filter_memo")
_generation = attrgetter("generation")
_memo_head = itemgetter(slice(0, 2))
_third = itemgetter(2)


def _stale(nodes: list[NodeInfo], memos: list[tuple], key: tuple) -> list[int]:
    """Indexes of the nodes whose memo, (generation, key, value) or (), is not for `key` at the
    node's current generation (one C-level pass)."""
    return list(compress(range(len(nodes)), map(ne, map(_memo_head, memos),
                                                 zip(map(_generation, nodes), repeat(key)))))
