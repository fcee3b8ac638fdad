"""What keeps a cycle cheap on large clusters: kube-scheduler's percentageOfNodesToScore with a
round-robin start, the per-node pod index kept from informer events, and per-NodeInfo caches."""
from __future__ import annotations

import random

import pytest

from labkube.client.clock import FakeClock
from labkube.client.fake import FakeApi
from labkube.scheduler import scheduler as sched_mod
from labkube.scheduler.framework import FilterPlugin, FitError, NodeInfo, Profile, feasible_nodes_to_find
from labkube.scheduler.plugins import default_profile
from labkube.scheduler.plugins.node_resources_fit import NodeResourcesFit
from labkube.scheduler.scheduler import Scheduler
from steppingclock import SteppingClock

from .objs import CP_TAINT, node, pod


def test_feasible_nodes_to_find_follows_kube_scheduler():
    assert feasible_nodes_to_find(50) == 50                 # fewer than 100 nodes: all of them
    assert feasible_nodes_to_find(1000) == 420              # adaptive: 50 % - 1000/125 %
    assert feasible_nodes_to_find(5000) == 500              # 10 %
    assert feasible_nodes_to_find(100000) == 5000           # at least 5 %
    assert feasible_nodes_to_find(300, 10) == 100           # never below 100
    assert feasible_nodes_to_find(1000, 100) == 1000


def test_filtering_stops_early_and_starts_round_robin():
    nodes = [NodeInfo(node(f"n{i:03d}")) for i in range(200)]
    prof = default_profile(random.Random(0))
    prof.percentage_of_nodes_to_score = 10                  # 20 wanted -> at least 100
    first = prof.find_nodes(pod("p"), nodes)
    assert [n.name for n in first] == [f"n{i:03d}" for i in range(100)]
    second = prof.find_nodes(pod("q"), nodes)
    assert [n.name for n in second] == [f"n{i:03d}" for i in range(100, 200)]
    assert prof.next_start == 0


def test_no_fit_still_reports_every_node():
    nodes = [NodeInfo(node(f"n{i:03d}", cpu="1")) for i in range(150)]
    prof = default_profile(random.Random(0))
    try:
        prof.find_nodes(pod("big", cpu="2"), nodes)
    except FitError as e:
        assert e.message() == "0/150 nodes are available: 150 Insufficient cpu."
    else:
        raise AssertionError("expected FitError")


def test_node_info_caches_follow_its_pods():
    ni = NodeInfo(node("w1"), [])
    anti = pod("a", affinity={"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": "kubernetes.io/hostname"}]}})
    owned = pod("b")
    owned["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": "rs", "uid": "rs1", "controller": True}]
    assert ni.anti_affinity_pods() == [] and ni.owner_counts() == {}
    ni.add_pod(anti)
    ni.add_pod(owned)
    assert ni.anti_affinity_pods() == [anti] and ni.owner_counts() == {"rs1": 1}


async def test_pods_per_node_follow_informer_events():
    clock = FakeClock()
    api = FakeApi(clock=clock)
    for n in ("w1", "w2"):
        await api.create("nodes", node(n))
    await api.create("pods", pod("a", node_name="w1"))
    await api.create("pods", pod("b"))
    s = Scheduler(api, clock=clock, profile=default_profile(random.Random(1)))
    await s.start()
    await api.settle()
    by = {ni.name: [p["metadata"]["name"] for p in ni.pods] for ni in s.node_infos()}
    assert by == {"w1": ["a"], "w2": []}
    await s.schedule_one("default/b")                      # assumed on its node before the binding is seen
    host = s.assumed["default/b"]["spec"]["nodeName"]
    assert "b" in [p["metadata"]["name"] for ni in s.node_infos() if ni.name == host for p in ni.pods]
    await s.wait_bindings()
    await api.settle()
    a = await api.get("pods", "a", "default")
    a["status"] = {"phase": "Succeeded"}                    # terminal pods free their node
    await api.replace("pods", "a", a, "default", subresource="status")
    await api.settle()
    by = {ni.name: [p["metadata"]["name"] for p in ni.pods] for ni in s.node_infos()}
    assert by == {"w1": ["b"] if host == "w1" else [], "w2": ["b"] if host == "w2" else []}
    await api.delete("pods", "b", "default", grace_period_seconds=0)
    await api.settle()
    assert all(not ni.pods for ni in s.node_infos())


def test_score_plugins_skip_when_every_node_would_score_the_same():
    from labkube.scheduler.framework import SKIP
    from labkube.scheduler.plugins.preferences import InterPodAffinityPreference, NodeAffinityPreference, TaintPreference
    from labkube.scheduler.plugins.selector_spread import SelectorSpread
    nodes = [NodeInfo(node("w1")), NodeInfo(node("w2", taints=[{"key": "k", "effect": "PreferNoSchedule"}]))]
    p = pod("p")
    assert NodeAffinityPreference().pre_score(p, nodes) == SKIP
    assert InterPodAffinityPreference().pre_score(p, nodes) == SKIP
    assert SelectorSpread().pre_score(p, nodes) == SKIP
    taints = TaintPreference()
    assert taints.pre_score(p, nodes) is None and taints.score(p, nodes[0]) > taints.score(p, nodes[1])
    assert default_profile(random.Random(0)).select_host(p, nodes) == "w1"


class ScanCountingNodes(list):
    """A plain node list that counts how often a plugin walks it."""
    walks = 0

    def __iter__(self):
        type(self).walks += 1
        return super().__iter__()


def test_taint_preference_trusts_the_cluster_index_of_prefer_no_schedule_taints():
    """Scores get the feasible nodes with the cluster they came from: when the cache's index says
    no node has a PreferNoSchedule taint, TaintPreference skips without walking the nodes; with
    such a node in the cluster (feasible or not) it looks at the feasible ones."""
    from labkube.scheduler.cache import SchedulerCache
    from labkube.scheduler.framework import SKIP
    from labkube.scheduler.plugins.preferences import TaintPreference
    cache = SchedulerCache()
    for n in ("w1", "w2"):
        cache.set_node(node(n))
    prof = default_profile(random.Random(0))
    feasible = prof.find_nodes(pod("p"), cache.snapshot())
    assert feasible.cluster is cache.snapshot()
    walked = ScanCountingNodes(feasible)
    walked.cluster = feasible.cluster
    ScanCountingNodes.walks = 0
    assert TaintPreference().pre_score(pod("p"), walked) == SKIP and ScanCountingNodes.walks == 0
    cache.set_node(node("w3", taints=[{"key": "k", "effect": "PreferNoSchedule"}], cpu="1m"))
    feasible = prof.find_nodes(pod("p", cpu="100m"), cache.snapshot())     # w3 is too small
    assert [ni.name for ni in feasible] == ["w1", "w2"]
    assert TaintPreference().pre_score(pod("p"), feasible) == SKIP         # none of these is tainted
    cache.set_node(node("w3", taints=[{"key": "k", "effect": "PreferNoSchedule"}]))
    taints = TaintPreference()
    feasible = prof.find_nodes(pod("p"), cache.snapshot())
    assert taints.pre_score(pod("p"), feasible) is None and taints.score(pod("p"), feasible[2]) == 0.0
    assert prof.select_host(pod("q"), cache.snapshot()) in ("w1", "w2")


@pytest.mark.parametrize("step,cycles_per_turn", [
    (0.0, 40),                          # a slice that never ends: the whole queue in one turn
    (2 * sched_mod.CYCLE_SLICE, 1),     # every cycle reaches the slice's end
    (0.3 * sched_mod.CYCLE_SLICE, 4),   # 0.3, 0.6, 0.9 of the slice: go on; 1.2: the turn ends
])
async def test_cycles_run_in_slices_and_bindings_proceed_between_them(monkeypatch, step, cycles_per_turn):
    """Cycles are pure computation: the loop runs them for up to CYCLE_SLICE, then yields, or no
    binding (and no informer event, no SIGTERM) gets through until the whole queue is drained."""
    import asyncio
    monkeypatch.setattr(sched_mod, "perf_counter", SteppingClock(step))
    clock = FakeClock()
    api = FakeApi(clock=clock)
    await api.create("nodes", node("w1", pods="200"))
    for i in range(40):
        await api.create("pods", pod(f"p{i}"))
    s = Scheduler(api, clock=clock, profile=default_profile(random.Random(1)))
    turns = 0
    bound_then, turn_then = [], []
    real = s.schedule_one

    async def spy(key):
        bound_then.append(sum(1 for p in api.all("pods") if p["spec"].get("nodeName")))
        turn_then.append(turns)
        return await real(key)
    s.schedule_one = spy

    async def other_task():
        nonlocal turns
        while True:
            turns += 1
            await asyncio.sleep(0)
    ticker = asyncio.create_task(other_task())
    task = asyncio.create_task(s.run())
    for _ in range(400):
        await asyncio.sleep(0)
        if len(bound_then) >= 40:
            break
    task.cancel()
    ticker.cancel()
    await asyncio.gather(task, ticker, return_exceptions=True)
    assert len(bound_then) == 40
    assert max(turn_then.count(t) for t in set(turn_then)) == cycles_per_turn, turn_then
    # bindings landed before the queue was drained exactly when the loop yielded in between
    assert (bound_then[-1] > 0) is (cycles_per_turn < 40), bound_then


def test_filters_skip_what_the_pod_does_not_ask_for():
    from labkube.scheduler.framework import SKIP
    nodes = [NodeInfo(node("w1", labels={"disk": "ssd"})), NodeInfo(node("w2"))]
    prof = default_profile(random.Random(0))
    skipped = {f.name for f in prof.filters if f.pre_filter(pod("plain"), nodes) == SKIP}
    assert skipped == {"NodeName", "NodeAffinity", "NodePorts", "VolumeBinding", "PodTopologySpread",
                       "InterPodAffinity", "NodeUnschedulable", "TaintToleration"}      # no node is cordoned or tainted
    marked = nodes + [NodeInfo(node("m", taints=[CP_TAINT])), NodeInfo(node("c", unschedulable=True))]
    skipped = {f.name for f in prof.filters if f.pre_filter(pod("plain"), marked) == SKIP}
    assert "NodeUnschedulable" not in skipped and "TaintToleration" not in skipped
    assert [n.name for n in prof.find_nodes(pod("plain"), marked)] == ["w1", "w2"]
    picky = pod("picky", node_selector={"disk": "ssd"})
    assert [n.name for n in prof.find_nodes(picky, nodes)] == ["w1"]
    named = pod("named")
    named["spec"]["nodeName"] = "w2"
    assert [n.name for n in prof.find_nodes(named, nodes)] == ["w2"]


class PassNotLocal(FilterPlugin):
    """Lets every node through, and says its answer may depend on other nodes."""
    name = "PassNotLocal"

    def filter(self, pod, node):
        return []


class CountingFit(NodeResourcesFit):
    """NodeResourcesFit that counts the nodes it was asked about."""

    def __init__(self):
        self.asked = []

    def filter(self, pod, node):
        self.asked.append(node.name)
        return super().filter(pod, node)


def test_node_verdicts_are_kept_until_the_node_or_the_pod_class_changes():
    """Every active filter is node-local: a node's verdict is computed once per pod class and
    node generation, so a burst of pods from one template filters only the nodes that changed."""
    fit = CountingFit()
    prof = Profile(filters=[fit], scores=[], rng=random.Random(0), percentage_of_nodes_to_score=100)
    nodes = [NodeInfo(node(f"n{i}", cpu="1")) for i in range(3)]
    assert [n.name for n in prof.find_nodes(pod("a", cpu="300m"), nodes)] == ["n0", "n1", "n2"]
    assert fit.asked == ["n0", "n1", "n2"]
    fit.asked.clear()
    assert len(prof.find_nodes(pod("b", cpu="300m"), nodes)) == 3       # same class, nothing changed
    assert fit.asked == []
    nodes[1].add_pod(pod("x", cpu="800m", node_name="n1"))              # n1 changed: only n1 again
    assert [n.name for n in prof.find_nodes(pod("c", cpu="300m"), nodes)] == ["n0", "n2"]
    assert fit.asked == ["n1"]
    fit.asked.clear()
    nodes[1].remove_pod("default/x")
    nodes[2].set_node(node("n2", cpu="100m"))                           # a node update counts too
    assert [n.name for n in prof.find_nodes(pod("d", cpu="300m"), nodes)] == ["n0", "n1"]
    assert fit.asked == ["n1", "n2"]
    fit.asked.clear()
    assert [n.name for n in prof.find_nodes(pod("e", cpu="100m"), nodes)] == ["n0", "n1", "n2"]
    assert fit.asked == ["n0", "n1", "n2"]                              # another class: every node


@pytest.mark.parametrize("change, pods", [
    ("nothing", ["plain", "cpu", "tolerant", "picky", "ports"]),
    ("fill n1", ["cpu", "cpu", "plain"]),
    ("taint n2", ["plain", "tolerant", "plain"]),
    ("cordon n0", ["plain", "tolerant", "picky"]),
    ("relabel n3", ["picky", "picky", "plain"]),
    ("ports on n4", ["ports", "plain", "ports"]),
    ("free n1", ["cpu", "plain"]),
])
def test_kept_verdicts_match_a_fresh_look(change, pods):
    """Whatever changed on a node (its pods, taints, cordon, labels), the verdicts a profile kept
    from earlier cycles give the same feasible nodes and the same FitError text as a profile
    looking at fresh copies of the same nodes."""
    toleration = [{"key": "dedicated", "operator": "Exists"}]

    def make(kind, i):
        return {"plain": lambda: pod(f"p{i}"), "cpu": lambda: pod(f"p{i}", cpu="1500m"),
                "tolerant": lambda: pod(f"p{i}", tolerations=toleration),
                "picky": lambda: pod(f"p{i}", node_selector={"disk": "ssd"}),
                "ports": lambda: with_host_port(pod(f"p{i}"), 8080)}[kind]()

    def with_host_port(p, port):
        p["spec"]["containers"][0]["ports"] = [{"containerPort": port, "hostPort": port}]
        return p

    specs = {f"n{i}": node(f"n{i}", cpu="2", labels={"disk": "ssd"} if i % 2 else None) for i in range(5)}
    infos = [NodeInfo(specs[n]) for n in sorted(specs)]
    kept = default_profile(random.Random(0))
    kept.percentage_of_nodes_to_score = 100
    kept.find_nodes(make(pods[0], 0), infos)            # verdicts kept for the first pod's class
    by = {ni.name: ni for ni in infos}
    if change == "fill n1":
        by["n1"].add_pod(pod("big", cpu="1", node_name="n1"))
    elif change == "taint n2":
        by["n2"].set_node(node("n2", cpu="2", taints=[{"key": "dedicated", "effect": "NoSchedule"}]))
    elif change == "cordon n0":
        by["n0"].set_node(node("n0", cpu="2", unschedulable=True))
    elif change == "relabel n3":
        by["n3"].set_node(node("n3", cpu="2"))
    elif change == "ports on n4":
        by["n4"].add_pod(with_host_port(pod("web", node_name="n4"), 8080))
    elif change == "free n1":
        by["n1"].add_pod(pod("big", cpu="1", node_name="n1"))
        kept.find_nodes(make("cpu", 0), infos)
        by["n1"].remove_pod("default/big")
    for i, kind in enumerate(pods):
        p = make(kind, i + 1)
        fresh = [NodeInfo(ni.node, list(ni.pods)) for ni in infos]
        look = default_profile(random.Random(0))
        look.percentage_of_nodes_to_score = 100

        def outcome(prof, nodes):
            try:
                return [ni.name for ni in prof.find_nodes(p, nodes)]
            except FitError as e:
                return e.message()
        assert outcome(kept, infos) == outcome(look, fresh), (change, kind)


def test_chunked_filtering_matches_node_by_node():
    """Filters run a chunk of nodes at a time; the outcome must be what checking node after node
    and stopping at the wanted number of feasible nodes gives: same feasible nodes, same reasons
    for the nodes looked at, same round-robin start for the next cycle."""
    from labkube.scheduler.memos import FILTER_CHUNK

    def build():
        out = []
        for i in range(300):
            name = f"n{i:03d}"
            if i % 7 == 0:
                out.append(NodeInfo(node(name, taints=[CP_TAINT])))
            elif i % 5 == 0:
                out.append(NodeInfo(node(name, cpu="100m")))
            else:
                out.append(NodeInfo(node(name)))
        return out

    def by_hand(prof, p, nodes, start):
        want = feasible_nodes_to_find(len(nodes), prof.percentage_of_nodes_to_score)
        feasible, reasons, looked = [], {}, 0
        for ni in nodes[start:] + nodes[:start]:
            looked += 1
            why = next((w for f in prof.filters if (w := f.filter(p, ni))), None)
            if why:
                reasons[ni.name] = why
            else:
                feasible.append(ni.name)
                if len(feasible) >= want:
                    break
        return feasible, reasons, (start + looked) % len(nodes)

    assert FILTER_CHUNK < 300
    for pct, start, path in ((10, 0, "memo"), (10, 250, "memo"), (40, 37, "memo"), (100, 0, "memo"),
                             (10, 0, "chunks"), (10, 250, "chunks"), (40, 37, "chunks"), (100, 0, "chunks")):
        nodes = build()
        prof = default_profile(random.Random(0))
        if path == "chunks":                    # a filter that is not node-local: no memo, chunks
            prof.filters.append(PassNotLocal())
        prof.percentage_of_nodes_to_score, prof.next_start = pct, start
        p = pod("p", cpu="500m")
        want_feasible, _, want_next = by_hand(prof, p, nodes, start if pct < 100 else 0)
        got = prof.find_nodes(p, nodes)
        assert [ni.name for ni in got] == want_feasible, (pct, path)
        if pct < 100:
            assert prof.next_start == want_next, (pct, path)
    try:                                                    # nothing fits: every node's reason
        default_profile(random.Random(0)).find_nodes(pod("big", cpu="64"), build())
    except FitError as e:
        assert len(e.reasons) == 300 and e.message() == (
            "0/300 nodes are available: 257 Insufficient cpu, 43 node(s) had untolerated taint "
            "{node-role.kubernetes.io/control-plane: }.")
    else:
        raise AssertionError("expected FitError")


def _owned(name, app, cpu=None, memory=None):
    p = pod(name, cpu=cpu, memory=memory)
    p["metadata"]["labels"] = {"app": app}
    p["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": app, "uid": "rs-" + app, "controller": True}]
    return p


def test_node_memos_give_the_choices_of_fresh_scoring():
    """Per-node memos (resource fit, resource scores) must change no decision: the same pods
    placed with memos and with a fresh profile and fresh NodeInfos every cycle land on the same
    nodes, while pods of several request shapes come and go and nodes change."""
    from labkube.scheduler.cache import SchedulerCache
    shapes = [("10m", "16Mi"), ("100m", None), (None, None), ("1", "1Gi")]

    def place(fresh: bool) -> list[str]:
        rnd = random.Random(3)
        cache = SchedulerCache()
        for i in range(150):
            cache.set_node(node(f"n{i:03d}", cpu=rnd.choice(["2", "4"]), memory=rnd.choice(["4Gi", "8Gi"])))
        prof, chosen = default_profile(random.Random(0)), []
        for i in range(600):
            cpu, mem = shapes[i % len(shapes)]
            p = _owned(f"p{i}", f"d{i % 9}", cpu, mem)
            nodes = cache.snapshot()
            if fresh:                    # nothing remembered from earlier cycles
                nodes = [NodeInfo(ni.node, list(ni.pods)) for ni in nodes]
                start, prof = prof.next_start, default_profile(prof.rng)
                prof.next_start = start
            host = prof.select_host(p, nodes)
            cache.assume(p, host)
            chosen.append(host)
            if i % 7 == 0:
                cache.forget(f"default/p{rnd.randrange(i + 1)}")
            if i % 50 == 0:
                cache.set_node(node(f"n{rnd.randrange(150):03d}", cpu="8", memory="2Gi"))
        return chosen

    assert place(fresh=False) == place(fresh=True)


def test_a_node_is_rescored_after_it_changes():
    """The memo of a node is dropped once a pod lands there: the emptier node wins next."""
    nodes = [NodeInfo(node("w1", cpu="2")), NodeInfo(node("w2", cpu="2"))]
    prof = default_profile(random.Random(0))
    placed = []
    for i in range(4):
        p = pod(f"p{i}", cpu="1", memory="1Gi")
        host = prof.select_host(p, nodes)
        next(ni for ni in nodes if ni.name == host).add_pod(p)
        placed.append(host)
    assert placed[0] != placed[1] and placed[2] != placed[3]      # a tie after each pair
    try:                                                    # both full now: the fit memo is not reused
        prof.find_nodes(pod("late", cpu="1"), nodes)
    except FitError as e:
        assert e.message() == "0/2 nodes are available: 2 Insufficient cpu."
    else:
        raise AssertionError("expected FitError")
