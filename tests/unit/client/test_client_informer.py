"""Informer (list, watch, resume, relist after 410 with deletes seen) and WorkQueue semantics."""
from __future__ import annotations

import sys

import pytest

from labkube.client.clock import FakeClock
from labkube.client.events import EventRecorder
from labkube.client.fake import FakeApi
from labkube.client.informer import Informer
from labkube.client.workqueue import WorkQueue


async def test_informer_cache_handlers_and_relist():
    api = FakeApi()
    await api.create("pods", {"metadata": {"name": "old"}, "spec": {}})
    inf = Informer(api, "pods")
    seen = []
    inf.add_handlers(lambda o: seen.append(("add", o["metadata"]["name"])),
                     lambda a, b: seen.append(("upd", b["metadata"]["name"])),
                     lambda o: seen.append(("del", o["metadata"]["name"])))
    inf.start()
    await api.settle()
    assert inf.has_synced and inf.keys() == ["default/old"]
    await api.create("pods", {"metadata": {"name": "new"}, "spec": {}})
    await api.patch("pods", "new", {"metadata": {"labels": {"x": "y"}}}, namespace="default")
    await api.settle()
    assert inf.get("default/new")["metadata"]["labels"] == {"x": "y"}
    # the stream ends: the informer resumes from its last resourceVersion (no relist)
    api.close_watches()
    await api.delete("pods", "old", "default")
    await api.settle()
    assert inf.relists == 1 and "default/old" not in inf.cache
    # history lost while disconnected -> 410 -> relist, which must notice the deletion
    api.close_watches()
    await api.delete("pods", "new", "default")
    api.compact()
    await api.settle()
    assert inf.relists == 2 and inf.cache == {}
    assert seen == [("add", "old"), ("add", "new"), ("upd", "new"), ("del", "old"), ("del", "new")]
    await inf.stop()


def test_workqueue_dedup_and_exclusive_processing():
    q = WorkQueue(clock=FakeClock())
    q.add("a"); q.add("b"); q.add("a")
    assert len(q) == 2
    k = q.get_nowait()
    assert k == "a"
    q.add("a")                  # re-added while processing: must not be handed out again yet
    assert q.get_nowait() == "b"
    assert q.get_nowait() is None
    q.done("a")
    assert q.get_nowait() == "a"


def test_workqueue_rate_limit_backoff_and_forget():
    clock = FakeClock()
    q = WorkQueue(clock=clock, base_delay=1, max_delay=5)
    delays = []
    for _ in range(5):
        delays.append(q.backoff("k"))
        q.add_rate_limited("k")
    assert delays == [1, 2, 4, 5, 5]
    assert q.get_nowait() is None
    clock.advance(1)
    assert q.get_nowait() == "k"
    q.done("k")
    q.forget("k")
    assert q.backoff("k") == 1 and q.num_requeues("k") == 0


async def test_workqueue_shutdown():
    q = WorkQueue()
    q.shutdown()
    q.add("x")
    assert await q.get() is None


async def test_event_recorder_aggregates():
    clock = FakeClock()
    api = FakeApi(clock=clock)
    pod = await api.create("pods", {"metadata": {"name": "p"}, "spec": {}})
    rec = EventRecorder(api, "default-scheduler", clock=clock)
    await rec.warning(pod, "FailedScheduling", "0/1 nodes are available")
    clock.advance(5)
    await rec.warning(pod, "FailedScheduling", "0/1 nodes are available")
    await rec.normal(pod, "Scheduled", "Successfully assigned default/p to w1")
    evs = api.all("events", "default")
    assert len(evs) == 2
    fs = next(e for e in evs if e["reason"] == "FailedScheduling")
    assert fs["count"] == 2 and fs["type"] == "Warning"
    assert fs["involvedObject"]["uid"] == pod["metadata"]["uid"]
    assert fs["source"] == {"component": "default-scheduler"}
    assert fs["firstTimestamp"] < fs["lastTimestamp"]


async def test_event_spam_filter_25_per_object_then_one_per_5_minutes():
    clock = FakeClock()
    api = FakeApi(clock=clock)
    rs = await api.create("replicasets", {"metadata": {"name": "rs"}, "spec": {}})
    other = await api.create("replicasets", {"metadata": {"name": "other"}, "spec": {}})
    rec = EventRecorder(api, "replicaset-controller", clock=clock)
    for i in range(30):
        await rec.normal(rs, "SuccessfulCreate", f"Created pod: rs-{i}")
    await rec.normal(other, "SuccessfulCreate", "Created pod: other-0")     # its own bucket

    def created(name):
        return [e for e in api.all("events", "default") if e["involvedObject"]["name"] == name]
    assert len(created("rs")) == 25 and rec.dropped == 5 and len(created("other")) == 1
    clock.advance(299)
    await rec.normal(rs, "SuccessfulCreate", "Created pod: rs-30")
    assert len(created("rs")) == 25                                         # no token back yet
    clock.advance(301)                                                      # 600 s since: 2 tokens
    for i in range(31, 34):
        await rec.normal(rs, "SuccessfulCreate", f"Created pod: rs-{i}")
    assert len(created("rs")) == 27 and rec.dropped == 7


async def test_leader_election_takeover_after_expiry():
    from labkube.client.leaderelection import LeaderElector
    clock = FakeClock()
    api = FakeApi(clock=clock)
    a = LeaderElector(api, "kube-scheduler", "a", lease_duration=15, clock=clock)
    b = LeaderElector(api, "kube-scheduler", "b", lease_duration=15, clock=clock)
    assert await a.try_acquire_or_renew()
    assert not await b.try_acquire_or_renew()
    clock.advance(10)
    assert await a.try_acquire_or_renew()        # renewal
    clock.advance(10)
    assert not await b.try_acquire_or_renew()    # a renewed 10 s ago: still valid
    clock.advance(6)
    assert await b.try_acquire_or_renew()
    lease = await api.get("leases", "kube-scheduler", "kube-system")
    assert lease["spec"]["holderIdentity"] == "b" and lease["spec"]["leaseTransitions"] == 1


async def test_leader_runs_and_releases_on_stop():
    import asyncio
    from labkube.client.leaderelection import LeaderElector
    clock = FakeClock()
    api = FakeApi(clock=clock)
    started = asyncio.Event()

    async def lead():
        started.set()
        await asyncio.Event().wait()
    a = LeaderElector(api, "cm", "a", clock=clock)
    task = asyncio.create_task(a.run(lead))
    await started.wait()
    assert a.is_leader
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    lease = await api.get("leases", "cm", "kube-system")
    assert not lease["spec"]["holderIdentity"]
    b = LeaderElector(api, "cm", "b", clock=clock)
    assert await b.try_acquire_or_renew()          # no need to wait for the old lease to expire


async def test_leader_election_survives_connection_errors_then_gives_up():
    import asyncio
    import pytest
    from labkube.client.leaderelection import LeaderElector, LeadershipLost
    clock = FakeClock()
    api = FakeApi(clock=clock)
    a = LeaderElector(api, "cm", "a", clock=clock, renew_deadline=10, retry_period=2)
    assert await a.try_acquire_or_renew()

    def down(verb, res, ns, name, body):
        raise ConnectionRefusedError(111, "Connect call failed")
    api.reactors.append(down)
    assert not await a.try_acquire_or_renew()        # no exception: just "not this time"

    async def lead():
        await asyncio.Event().wait()
    api.reactors.clear()
    task = asyncio.create_task(a.run(lead))
    for _ in range(20):
        await asyncio.sleep(0)
    api.reactors.append(down)
    with pytest.raises(LeadershipLost):
        await asyncio.wait_for(task, 5)


def test_bookmarks_move_the_resume_point_without_events():
    inf = Informer(FakeApi(), "pods")
    seen = []
    inf.add_handlers(lambda o: seen.append(o), lambda a, b: seen.append(b), lambda o: seen.append(o))
    inf.handle_event({"type": "BOOKMARK", "object": {"kind": "Pod", "apiVersion": "v1",
                                                     "metadata": {"resourceVersion": "42"}}})
    assert inf.last_rv == "42" and seen == [] and inf.cache == {}
    inf.handle_event({"type": "ADDED", "object": {"metadata": {"name": "a", "namespace": "ns", "resourceVersion": "43"}}})
    inf.handle_event({"type": "DELETED", "object": {"metadata": {"name": "a", "namespace": "ns", "resourceVersion": "44"}}})
    assert inf.last_rv == "44" and len(seen) == 2 and inf.cache == {}


def _ev(t, name, ns="ns", owner=None, rv="1"):
    md = {"name": name, "namespace": ns, "resourceVersion": rv}
    if owner:
        md["ownerReferences"] = [{"uid": owner, "controller": True}]
    return {"type": t, "object": {"metadata": md}}


def _owner(obj):
    return [r["uid"] for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")]


def _names(objs):
    return sorted(o["metadata"]["name"] for o in objs)


def test_index_follows_adds_updates_deletes():
    inf = Informer(FakeApi(), "pods")
    inf.handle_event(_ev("ADDED", "early", owner="rs1"))
    inf.add_index("owner", _owner)                     # added late: files what is cached already
    inf.handle_event(_ev("ADDED", "a", owner="rs1"))
    inf.handle_event(_ev("ADDED", "b", owner="rs2"))
    inf.handle_event(_ev("ADDED", "orphan"))
    assert _names(inf.by_index("owner", "rs1")) == ["a", "early"]
    inf.handle_event(_ev("MODIFIED", "a", owner="rs2", rv="2"))      # re-owned
    assert _names(inf.by_index("owner", "rs1")) == ["early"] and _names(inf.by_index("owner", "rs2")) == ["a", "b"]
    inf.handle_event(_ev("DELETED", "early", owner="rs1", rv="3"))
    assert inf.by_index("owner", "rs1") == [] and inf.by_index("owner", "nobody") == []
    assert inf.index_values("owner") == ["rs2"]                      # emptied values are gone
    assert any(o is inf.get("ns/a") for o in inf.by_index("owner", "rs2"))   # the cached objects themselves
    inf.add_index("owner", lambda o: ["ignored"])                     # a second add keeps the first
    assert _names(inf.by_index("owner", "rs2")) == ["a", "b"]


async def test_index_follows_a_relist():
    api = FakeApi()
    await api.create("pods", {"metadata": {"name": "x", "ownerReferences": [{"uid": "rs1", "controller": True}]},
                              "spec": {}})
    inf = Informer(api, "pods")
    inf.add_index("owner", _owner)
    inf.start()
    await api.settle()
    assert _names(inf.by_index("owner", "rs1")) == ["x"]
    api.close_watches()
    await api.delete("pods", "x", "default")
    api.compact()                                       # history lost: the relist notices the deletion
    await api.settle()
    assert inf.relists == 2 and inf.by_index("owner", "rs1") == []
    await inf.stop()


def test_managed_fields_are_dropped_unless_asked_for():
    mf = [{"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:data": {}}}]
    for transform, want in ((..., None), (None, mf)):
        inf = Informer(FakeApi(), "configmaps") if transform is ... else Informer(FakeApi(), "configmaps",
                                                                                  transform=transform)
        seen = []
        inf.add_handlers(seen.append, None, None)
        inf.handle_event({"type": "ADDED", "object": {"metadata": {"name": "c", "namespace": "ns",
                                                                   "managedFields": list(mf)}}})
        assert inf.get("ns/c")["metadata"].get("managedFields") == want
        assert seen[0] is inf.get("ns/c")               # handlers see the object as cached


def test_compact_objects_share_keys_and_short_strings():
    from labkube.client.informer import compact

    def pod(name):      # built at run time: equal strings, distinct objects
        return {"".join(["meta", "data"]): {"name": name, "namespace": "".join(["de", "fault"]),
                                            "managedFields": [{"manager": "x"}]},
                "status": {"phase": "".join(["Run", "ning"]), "conditions": [{"type": "".join(["Rea", "dy"])}],
                           "blob": "x" * 100 + name}}
    a, b = compact(pod("a")), compact(pod("b"))
    assert a == {"metadata": {"name": "a", "namespace": "default"},
                 "status": {"phase": "Running", "conditions": [{"type": "Ready"}], "blob": "x" * 100 + "a"}}
    ka, kb = next(iter(a)), next(iter(b))
    assert ka is kb and a["metadata"]["namespace"] is b["metadata"]["namespace"]
    assert a["status"]["phase"] is b["status"]["phase"]
    assert a["status"]["conditions"][0]["type"] is b["status"]["conditions"][0]["type"]


COMPACT_VALUES = [  # (what, value inside an object): compact keeps it equal, of the same types
    ("numbers, booleans and null", {"i": 3, "f": 0.5, "t": True, "n": None}),
    ("a list of strings", {"finalizers": ["".join(["a", "b"]), "c" * 80]}),
    ("lists of lists and dicts", {"m": [[1, "x"], [{"k": ["v", 2]}], []]}),
    ("empty containers", {"d": {}, "l": []}),
]


@pytest.mark.parametrize("what,value", COMPACT_VALUES, ids=[c[0] for c in COMPACT_VALUES])
def test_compact_keeps_every_value(what, value):
    import copy
    from labkube.client.informer import compact
    out = compact({"metadata": {"name": "x"}, "spec": copy.deepcopy(value)})
    assert out == {"metadata": {"name": "x"}, "spec": value}, what
    assert repr(out["spec"]) == repr(value), what           # same types (1 stays 1, not 1.0 or True)
    short = [s for s in (value.get("finalizers") or []) if len(s) <= 64]
    for got, want in zip(out["spec"].get("finalizers") or [], short):
        assert got is sys.intern(want), what                # short strings in lists are shared too


def test_shared_values_hold_one_copy_per_json_text_up_to_size():
    from labkube.client.informer import SharedValues
    sv = SharedValues(size=2)
    a = sv.share({"x": [1, 2]})
    assert sv.share({"x": [1, 2]}) is a and a == {"x": [1, 2]}
    assert sv.share({"x": [1, 2.0]}) is not a           # another JSON text: 2.0 is not 2
    t = sv.share([True])
    assert sv.share([1]) is not t and t[0] is True      # true and 1 are equal in Python, not in JSON
    assert len(sv) == 2                                  # full at 2 before [True]: started over
    b = sv.share({"x": [1, 2]})                          # full again: a new copy
    assert b is not a and b == a and sv.share({"x": [1, 2]}) is b


def _reference_file(idx: dict, key: str, before: list, after: list) -> None:
    """The index update as it was before the unchanged-values shortcut: two sets every time."""
    b, a = set(before), set(after)
    for v in b - a:
        keys = idx.get(v)
        if keys is not None:
            keys.pop(key, None)
            if not keys:
                del idx[v]
    for v in a - b:
        idx.setdefault(v, {})[key] = None


def _vals(obj):
    return list(obj["metadata"].get("annotations", {}).get("v", "").split()) if obj else []


@pytest.mark.parametrize("steps", [
    [("ADDED", "a", "x"), ("MODIFIED", "a", "x"), ("MODIFIED", "a", "x")],
    [("ADDED", "a", "x"), ("ADDED", "b", "x"), ("MODIFIED", "a", "y"), ("MODIFIED", "a", "x")],
    [("ADDED", "a", "x y"), ("MODIFIED", "a", "y x"), ("MODIFIED", "a", "y x x"), ("MODIFIED", "a", "y")],
    [("ADDED", "a", ""), ("MODIFIED", "a", ""), ("MODIFIED", "a", "z"), ("MODIFIED", "a", "")],
    [("ADDED", "a", "x"), ("ADDED", "b", "x y"), ("ADDED", "c", "y"), ("DELETED", "b", "x y"),
     ("ADDED", "b", "y x"), ("MODIFIED", "c", "y"), ("MODIFIED", "a", "x z")],
    [("ADDED", "a", "x"), ("DELETED", "a", "x"), ("DELETED", "a", "x"), ("MODIFIED", "a", "x")],
], ids=["unchanged", "moved away and back", "reordered and repeated", "empty", "shared values", "gone twice"])
def test_index_contents_and_order_match_the_two_set_update(steps):
    """Skipping unchanged values leaves every value's keys, and the order of values and keys,
    as the update that built two sets on every event left them."""
    inf = Informer(FakeApi(), "pods")
    inf.add_index("v", _vals)
    ref: dict = {}
    cached: dict = {}
    for rv, (typ, name, values) in enumerate(steps, 1):
        ev = _ev(typ, name, rv=str(rv))
        ev["object"]["metadata"]["annotations"] = {"v": values}
        inf.handle_event(ev)
        key = f"ns/{name}"
        new = None if typ == "DELETED" else ev["object"]
        _reference_file(ref, key, _vals(cached.get(key)), _vals(new))
        if new is None:
            cached.pop(key, None)
        else:
            cached[key] = new
        got = {v: list(keys) for v, keys in inf._indices["v"].items()}
        assert list(got.items()) == [(v, list(keys)) for v, keys in ref.items()], (rv, typ, name, values)
