"""select_host with its per-class plans (classplan: the plugins' SKIP answers and the pod's keys
kept per pod class) and its window queries on Ranks (ranks: the top-scoring nodes of the run,
SelectorSpread's high mark, whether a filter fails in the run) against the earlier select_host,
kept here as the oracle (every pre_filter and pre_score asked each cycle, the run's totals
sliced, scanned and compressed, SelectorSpread's counts picked and maxed): twin caches fed the
same events must get the same hosts, the same FitErrors, the same round-robin start and the same
tied nodes to choose from, cycle after cycle, for pods built the way the scheduler's informer
builds them (pod views: a template's pods share their spec and metadata values, so the plans
apply) and the way tests build them (no sharing)."""
from __future__ import annotations

import copy
import itertools
import random
from bisect import bisect_left
from functools import partial
from itertools import compress, islice, repeat
from operator import add, ge, mul, not_, truth

import pytest

from labkube.scheduler import nodelist
from labkube.scheduler.cache import SchedulerCache
from labkube.scheduler.classplan import PodClass, plain_indexes
from labkube.scheduler.cycle import FitError, Profile, feasible_nodes_to_find
from labkube.scheduler.interfaces import SKIP
from labkube.scheduler.memos import FILTER_CHUNK, _filter_verdict, add_scores
from labkube.scheduler.nodelist import Feasible, NodeList, column
from labkube.scheduler.podrequests import pod_requests
from labkube.scheduler.plugins import default_profile
from labkube.scheduler.plugins.node_resources_fit import NodeResourcesFit
from labkube.scheduler.plugins.selector_spread import MAX_CONTROLLERS, SelectorSpread, owner_uid, sibling_counts
from labkube.scheduler.ranks import Ranks
from labkube.scheduler.views import pod_view

from .objs import node, pod

UIDS = itertools.count()
TAINT = {"key": "dedicated", "value": "x", "effect": "NoSchedule"}
SOFT_TAINT = {"key": "soft", "value": "x", "effect": "PreferNoSchedule"}


class EarlierSelectorSpread(SelectorSpread):
    """SelectorSpread.pre_score before the Ranks: the run's counts picked from the column, maxed."""

    def pre_score(self, pod, nodes):
        uid = owner_uid(pod)
        at, cluster = getattr(nodes, "at", None), getattr(nodes, "cluster", None)
        if uid and at is not None and getattr(cluster, "tracking", False):
            cols = self.__dict__.setdefault("_columns", {})
            col = column(cols, uid, cluster, lambda ni: ni.owners.get(uid, 0), MAX_CONTROLLERS)
            counts = nodes.pick(col)
        else:
            counts = sibling_counts(uid, nodes) if uid else []
        self.high = max(counts, default=0)
        self._seen = (pod, nodes, counts)
        return None if self.high else SKIP


class EarlierProfile(Profile):
    """find_nodes and select_host before the class plans and the Ranks."""

    def _find_tracked(self, pod, active, fkey, nodes, start, want, reasons):
        def verdict(ni):
            m = ni.filter_memo
            if m and m[1] is fkey and m[0] == ni.generation:
                return m[2]
            return _filter_verdict(pod, active, ni, fkey)

        n = len(nodes)
        verdicts = column(self._verdicts, fkey, nodes, verdict)
        end = start + want
        if not any(verdicts[start:end] if end <= n else verdicts[start:] + verdicts[:end - n]):
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

    def find_nodes(self, pod, nodes):
        feasible, reasons = [], {}
        active = [f for f in self.filters if f.pre_filter(pod, nodes) != SKIP]
        n = len(nodes)
        want = feasible_nodes_to_find(n, self.percentage_of_nodes_to_score)
        start = self.next_start % n if want < n else 0
        fkey = self._filter_key(pod, active) if active else None
        feasible_at = run = None
        if not active:
            feasible = list((nodes[start:] + nodes[:start] if start else nodes)[:want])
            processed = len(feasible)
        elif fkey is not None and getattr(nodes, "tracking", False):
            feasible, processed, feasible_at, run = self._find_tracked(pod, active, fkey, nodes, start, want,
                                                                       reasons)
        else:
            assert fkey is None                 # the stories run on tracking NodeLists
            order = nodes[start:] + nodes[:start] if start else nodes
            processed = 0
            for at in range(0, n, FILTER_CHUNK):
                chunk = order[at:at + FILTER_CHUNK]
                why = [None] * len(chunk)
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
        out.cluster, out.at, out.run = nodes, feasible_at, run
        return out

    def select_host(self, pod, nodes):
        feasible = self.find_nodes(pod, nodes)
        if len(feasible) == 1:
            return feasible[0].name
        n, key = self._local_prefix(pod)
        cluster, col = feasible.cluster, None
        if n and feasible.at is not None and getattr(cluster, "tracking", False):
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
                    col = column(self._fused, key, cluster, None, many=partial(add_scores, col, cluster, s, pod))
                    continue
                totals, col = feasible.pick(col), None
            w, scores = s.weight, s.score_all(pod, feasible)
            totals = list(map(add, totals, scores if w == 1 else map(mul, repeat(w), scores)))
        if col is not None:
            totals = feasible.pick(col)
        best = max(totals) - 1e-9
        return self.rng.choice(list(compress(feasible, map(ge, totals, repeat(best))))).name


class EarlierNodeResourcesFit(NodeResourcesFit):
    """NodeResourcesFit.pre_filter before it kept the requests it worked out last."""

    def pre_filter(self, pod, nodes):
        self._pod = pod
        self._want = tuple(sorted((k, v) for k, v in pod_requests(pod).items() if v > 0))
        return None


class Recording(random.Random):
    """Records every list of tied nodes a cycle chooses from."""

    def __init__(self, seed):
        super().__init__(seed)
        self.ties = []

    def choice(self, seq):
        self.ties.append([ni.name for ni in seq])
        return super().choice(seq)


def profiles(percentage=0):
    new = default_profile(Recording(5))
    old = default_profile(Recording(5))
    old = EarlierProfile(filters=[EarlierNodeResourcesFit() if isinstance(f, NodeResourcesFit) else f
                                  for f in old.filters], rng=old.rng,
                         scores=[EarlierSelectorSpread() if isinstance(s, SelectorSpread) else s for s in old.scores])
    for p in (new, old):
        p.percentage_of_nodes_to_score = percentage
    return new, old


class Twin:
    """The same events on two caches; the new profile on one, the earlier on the other."""

    def __init__(self, nodes=300, percentage=0, cpu="4"):
        self.caches = (SchedulerCache(), SchedulerCache())
        self.profiles = profiles(percentage)
        self.names = [f"n{i:04d}" for i in range(nodes)]
        self.n = 0
        self.fits = 0
        for i, name in enumerate(self.names):
            self.node(name, cpu=cpu, labels={"zone": "abc"[i % 3]})

    def apply(self, op, *args):
        for c in self.caches:
            getattr(c, op)(*[copy.deepcopy(a) if isinstance(a, dict) else a for a in args])

    def node(self, name, **kw):
        self.apply("set_node", node(name, **kw))

    def bind(self, name, node_name, cpu="100m", owner=None):
        p = pod(name, cpu=cpu, node_name=node_name)
        p["metadata"].update(uid=f"bound-{next(UIDS)}", resourceVersion="1")
        if owner:
            p["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": owner, "uid": owner,
                                                 "controller": True}]
        self.apply("set_pod", p)

    def cycle(self, p):
        picks = []
        for c, prof in zip(self.caches, self.profiles):
            try:
                host = prof.select_host(p, c.snapshot())
                c.assume(p, host)
                picks.append((host, prof.next_start))
            except FitError as e:
                picks.append((e.message(), prof.next_start))
        assert picks[0] == picks[1]
        assert self.profiles[0].rng.ties == self.profiles[1].rng.ties
        self.fits += picks[0][0].startswith("0/")
        return picks[0][0]

    def schedule(self, count, app="web", cpu="100m", view=True, **spec):
        """`count` pods of one template (pod views when `view`: shared values, as the informer's)."""
        for _ in range(count):
            self.n += 1
            p = pod(f"{app}-{self.n}", cpu=cpu, memory="64Mi")
            md = p["metadata"]
            md.update(resourceVersion="1", uid=f"plans-{next(UIDS)}", labels={"app": app},
                      ownerReferences=[{"kind": "ReplicaSet", "name": app, "uid": "rs-" + app, "controller": True}])
            p["spec"].update(copy.deepcopy(spec))
            self.cycle(pod_view(p) if view else p)


def drain(t):
    t.schedule(700)


def spread_against_load(t):
    """Siblings piled on one node (the high mark of the whole list is not the run's) and load on
    every other node: the spread and resource scores trade off, so a wrong high mark shows."""
    for k in range(12):
        t.bind(f"pile{k}", t.names[0], owner="rs-web")
    for i in range(1, len(t.names), 2):
        t.bind(f"load{i}", t.names[i], cpu="1500m")
    t.schedule(200)


def interleaved(t):
    for _ in range(80):
        t.schedule(2, app="a")
        t.schedule(1, app="b", cpu="300m")
        t.schedule(1, app="c", view=False)


def fill_up(t):
    t.schedule(900, app="big", cpu="1500m")             # nodes fill and fail: runs broken, FitErrors


def requests_alternate(t):
    for _ in range(150):
        t.schedule(1, app="small", cpu="100m")
        t.schedule(2, app="big", cpu="1900m")


def affinity(t):
    far = [n for n in t.names[::7]]
    t.schedule(60, app="aff", affinity={"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "NotIn", "values": far}]}]},
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 3, "preference": {"matchExpressions": [
            {"key": "zone", "operator": "In", "values": ["a"]}]}}]}})
    t.schedule(60, app="sel", nodeSelector={"zone": "b"})
    t.schedule(60)


def taints_come_and_go(t):
    t.schedule(60)
    for name in t.names[::5]:
        t.node(name, cpu="4", taints=[TAINT])
    t.schedule(60)
    t.schedule(30, app="tol", tolerations=[{"key": "dedicated", "operator": "Exists"}])
    for name in t.names[1::9]:
        t.node(name, cpu="4", taints=[SOFT_TAINT])
    t.schedule(60)
    t.node(t.names[4], cpu="4", unschedulable=True)
    t.schedule(60)
    for name in t.names:
        t.node(name, cpu="4")
    t.schedule(60)


def nodes_come_and_go(t):
    t.schedule(80)
    t.apply("remove_node", t.names[10])
    t.node("n0010b", cpu="4")
    t.schedule(80)
    for k in list(t.caches[0].assumed)[:30]:
        t.apply("forget", k)
    t.schedule(80)


def anti_affinity_and_spread(t):
    t.schedule(40)
    t.schedule(20, app="anti", affinity={"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "anti"}}, "topologyKey": "kubernetes.io/hostname"}]}})
    t.schedule(40)
    t.schedule(30, app="spr", topologySpreadConstraints=[
        {"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway",
         "labelSelector": {"matchLabels": {"app": "spr"}}}])
    t.schedule(30, app="hard", topologySpreadConstraints=[
        {"maxSkew": 2, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
         "labelSelector": {"matchLabels": {"app": "hard"}}}])
    t.schedule(40)


def changed_in_place(t):
    """One pod object scheduled again after its spec changed in place: no plan of its old class."""
    t.schedule(30)
    p = pod_view({**pod("same", cpu="100m"), "metadata": {"name": "same", "namespace": "default", "uid": "same-1",
                                                          "resourceVersion": "1", "labels": {"app": "web"}}})
    t.cycle(p)
    t.cycle(p)
    p["spec"]["tolerations"] = [{"key": "dedicated", "operator": "Exists"}]
    p["spec"]["nodeSelector"] = {"zone": "c"}
    t.cycle(p)
    t.cycle(p)
    t.schedule(30)


def restart_the_log(t):
    NodeList.MAX_LOG = 0
    t.schedule(100)
    for name in t.names[:200]:
        t.node(name, cpu="4", labels={"round": "2"})
    t.schedule(100)


STORIES = [drain, spread_against_load, interleaved, fill_up, requests_alternate, affinity, taints_come_and_go,
           nodes_come_and_go, anti_affinity_and_spread, changed_in_place, restart_the_log]


@pytest.mark.parametrize("nodes,percentage", [(300, 0), (60, 0), (250, 50)])
@pytest.mark.parametrize("story", STORIES)
def test_plans_and_ranks_choose_as_the_earlier_select_host(story, nodes, percentage, monkeypatch):
    monkeypatch.setattr(NodeList, "MAX_LOG", NodeList.MAX_LOG)
    t = Twin(nodes, percentage)
    for i in range(0, nodes, 3):                        # some pods already bound, of a few controllers
        p = pod(f"old{i}", cpu="200m", node_name=t.names[i])
        p["metadata"].update(uid=f"old-{i}", ownerReferences=[
            {"kind": "ReplicaSet", "name": "web", "uid": "rs-web" if i % 2 else "rs-x", "controller": True}])
        t.apply("set_pod", p)
    story(t)
    assert t.profiles[0].rng.ties and len(t.profiles[0].rng.ties) == len(t.profiles[1].rng.ties)
    if story is fill_up:
        assert t.fits


def test_the_plans_are_used_for_pod_views_of_one_template():
    t = Twin(300)
    t.schedule(50)
    new = t.profiles[0]
    assert len(new._plans) == 1
    plan = next(iter(new._plans.values()))
    names = [f.name for f in plan.filter_calls]
    assert names == ["NodeResourcesFit"]            # the others answer SKIP by the pod alone
    assert [s.name for s in plan.score_calls] == ["SelectorSpread"]
    t.node(t.names[0], cpu="4", taints=[TAINT])     # a tainted node: no plan applies
    assert not plain_indexes(t.caches[0].snapshot())


def test_pod_class_tells_own_fields_from_shared_ones():
    def view(name, uid, **spec):
        p = pod(name, cpu="100m")
        p["metadata"].update(uid=uid, resourceVersion="7", labels={"app": "x"})
        p["spec"].update(spec)
        return pod_view(p)
    a, b = view("a", "u1"), view("b", "u2")
    assert PodClass(a).same_class(b)
    assert not PodClass(a).same_class(view("c", "u3", nodeSelector={"zone": "a"}))
    other = dict(b, metadata=dict(b["metadata"], labels={"app": "y"}))
    assert not PodClass(a).same_class(other)
    assert not PodClass(a).same_class(pod("d", cpu="100m"))      # equal values, not shared: no match
    c = PodClass(a)
    a["spec"]["priority"] = 5                                     # changed in place after the plan
    assert not c.same_class(a)


@pytest.mark.parametrize("seed", range(40))
def test_ranks_answer_as_a_scan_of_the_run(seed):
    rng = random.Random(seed)
    n = rng.randrange(1, 60)
    values = [rng.choice([0.0, 1.0, 1.0 + 5e-10, 2.5, 2.5 - 2e-10, 7.0]) for _ in range(n)]
    ranks = Ranks(values)
    flags = [rng.random() < 0.2 for _ in range(n)]
    fails = Ranks(flags)
    for _ in range(60):
        i = rng.randrange(n)
        v = rng.choice([0.0, 1.0, 2.5, 3.0, 7.0, 7.0 - 1e-10])
        ranks.move(i, values[i], v)
        values[i] = v
        f = rng.random() < 0.2
        fails.move(i, flags[i], f)
        flags[i] = f
        start, count = rng.randrange(n), rng.randrange(1, n + 1)
        run = [(start + k) % n for k in range(count)]
        best = max(values[i] for i in run) - 1e-9
        assert ranks.top(start, count, n, 1e-9) == [i for i in run if values[i] >= best]
        assert ranks.highest(start, count, n) == max(values[i] for i in run)
        assert fails.holds(True, start, count, n) == any(flags[i] for i in run)
        assert sorted(ranks.order) == ranks.order and all(ranks.groups[g] for g in ranks.order)
        assert all(bisect_left(m, 0) == 0 and m == sorted(m) for m in ranks.groups.values())


def test_ranked_columns_follow_column_refreshes():
    c = SchedulerCache()
    for i in range(20):
        c.set_node(node(f"n{i:02d}"))
    nodes = c.snapshot()
    memo = {}
    col = column(memo, "k", nodes, lambda ni: len(ni.pods))
    assert nodelist.ranked(memo, "k") is None               # asked once: no Ranks made yet
    ranks = nodelist.ranked(memo, "k")
    for i in range(30):
        c.assume(pod(f"p{i}", cpu="10m"), f"n{(i * 7) % 20:02d}")
        col = column(memo, "k", nodes, lambda ni: len(ni.pods))
        assert ranks.top(0, 20, 20) == [j for j in range(20) if col[j] == max(col)]


SPECS = [{}, {"nodeName": "n1"}, {"nodeSelector": {"a": "b"}}, {"tolerations": [{"operator": "Exists"}]},
         {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule"}]},
         {"topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"}]},
         {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
             {"labelSelector": {}, "topologyKey": "zone"}]}}},
         {"affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
             {"weight": 1, "preference": {"matchExpressions": [
                 {"key": "zone", "operator": "In", "values": ["a"]}]}}]}}},
         {"containers": [{"name": "c", "ports": [{"containerPort": 80, "hostPort": 80}]}]},
         {"volumes": [{"name": "v", "persistentVolumeClaim": {"claimName": "c"}}]}]


@pytest.mark.parametrize("spec", SPECS)
def test_a_plugin_that_skips_by_the_pod_skips_on_plain_node_lists(spec):
    c = SchedulerCache()
    for i in range(6):
        c.set_node(node(f"n{i}", labels={"zone": "ab"[i % 2]}))
    c.set_pod(pod("there", cpu="100m", node_name="n0"))
    nodes = c.snapshot()
    assert plain_indexes(nodes)
    p = pod("p", cpu="100m")
    p["spec"].update(spec)
    prof = default_profile(random.Random(0))
    for f in prof.filters:
        if f.filter_skips_by_pod(p):
            assert f.pre_filter(p, nodes) == SKIP, f.name
    feasible = Feasible(nodes)
    feasible.cluster, feasible.at = nodes, list(range(len(nodes)))
    for s in prof.scores:
        if s.score_skips_by_pod(p):
            assert s.pre_score(p, feasible) == SKIP, s.name
