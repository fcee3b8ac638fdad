"""The Scheduler against the in-memory FakeApi: binding, events, who it ignores, retries, queue order."""
from __future__ import annotations

from labkube.client.clock import FakeClock
from labkube.scheduler.queue import SchedulingQueue

from .harness import run_queue, setup
from .objs import CP_TAINT, node, pod


def events(api, reason):
    return [e for e in api.all("events") if e["reason"] == reason]


async def test_binds_to_worker_and_records_scheduled_event():
    api, s, _ = await setup([node("m-k8s", taints=[CP_TAINT]), node("w1-k8s")], [pod("x")])
    await run_queue(api, s)
    p = await api.get("pods", "x", "default")
    assert p["spec"]["nodeName"] == "w1-k8s"
    ev = events(api, "Scheduled")
    assert [e["message"] for e in ev] == ["Successfully assigned default/x to w1-k8s"]
    assert ev[0]["source"]["component"] == "default-scheduler"
    assert ("create/binding", "pods", "default", "x") in api.actions


async def test_ignores_other_schedulers_bound_and_deleting_pods():
    p_del = pod("deleting")
    api, s, _ = await setup([node("w1")], [pod("other", scheduler="my-sched"), pod("bound", node_name="w1"), p_del])
    await api.delete("pods", "deleting", "default")   # unbound: removed at once
    await api.settle()
    await run_queue(api, s)
    assert not [a for a in api.actions if a[0] == "create/binding"]
    assert (await api.get("pods", "other", "default"))["spec"].get("nodeName") is None


async def test_failed_scheduling_then_retry_when_a_node_appears():
    api, s, clock = await setup([node("m-k8s", taints=[CP_TAINT]), node("w1-k8s", cpu="1"), node("w2-k8s", cpu="1")],
                                [pod("big", cpu="2")])
    await run_queue(api, s)
    ev = events(api, "FailedScheduling")
    assert ev[0]["type"] == "Warning"
    assert ev[0]["message"] == ("0/3 nodes are available: 1 node(s) had untolerated taint "
                                "{node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu.")
    cond = (await api.get("pods", "big", "default"))["status"]["conditions"]
    assert cond[0]["type"] == "PodScheduled" and cond[0]["reason"] == "Unschedulable"
    await run_queue(api, s)                 # nothing changed: no new attempt
    assert len([a for a in api.actions if a[:2] == ("list", "nodes")]) == 1
    assert events(api, "FailedScheduling")[0]["count"] == 1
    await api.create("nodes", node("w3-k8s", cpu="4"))
    await api.settle()
    await run_queue(api, s)                 # still backing off
    assert (await api.get("pods", "big", "default"))["spec"].get("nodeName") is None
    clock.advance(1)
    await run_queue(api, s)
    assert (await api.get("pods", "big", "default"))["spec"]["nodeName"] == "w3-k8s"


async def test_assumed_pods_count_before_the_informer_sees_the_binding():
    api, s, _ = await setup([node("w1", cpu="1")], [pod("a", cpu="600m"), pod("b", cpu="600m")])
    ka, kb = s.queue.pop_nowait(), s.queue.pop_nowait()
    assert await s.schedule_one(ka) == "w1"
    assert await s.schedule_one(kb) is None     # no settle in between: w1 is full thanks to the assumed pod


async def test_binding_conflict_is_not_retried():
    api, s, _ = await setup([node("w1")], [pod("a")])
    await api.post_subresource("pods", "a", "binding", {"target": {"name": "w1"}}, "default")
    key = s.queue.pop_nowait()
    await s.schedule_one(key)
    await s.wait_bindings()
    assert "default/a" not in s.queue and "default/a" not in s.assumed
    assert not events(api, "Scheduled")


def test_queue_orders_by_priority_then_time():
    clock = FakeClock()
    q = SchedulingQueue(clock)
    q.add("ns/low", 0)
    clock.advance(1)
    q.add("ns/high", 100)
    clock.advance(1)
    q.add("ns/low2", 0)
    assert [q.pop_nowait(), q.pop_nowait(), q.pop_nowait()] == ["ns/high", "ns/low", "ns/low2"]


def test_queue_backoff_doubles_and_flushes_unschedulable():
    clock = FakeClock()
    q = SchedulingQueue(clock, initial_backoff=1, max_backoff=10, unschedulable_flush=30)
    q.add("k")
    assert q.pop_nowait() == "k"
    q.done("k")
    q.add_unschedulable("k")
    q.add_unschedulable("k")      # second failure: backoff 2 s
    q.move_all_to_active()
    clock.advance(1.5)
    assert q.pop_nowait() is None
    clock.advance(0.5)
    assert q.pop_nowait() == "k"
    q.done("k")
    q.add_unschedulable("k")
    clock.advance(29)
    assert q.pop_nowait() is None
    clock.advance(1)
    assert q.pop_nowait() == "k"


async def test_high_priority_pod_preempts_the_cheapest_victims():
    low1, low2, mid = pod("low1", cpu="1", node_name="w1", priority=1), pod("low2", cpu="1", node_name="w2",
                                                                             priority=1), pod("mid", cpu="1", node_name="w2", priority=50)
    api, s, clock = await setup([node("w1", cpu="2"), node("w2", cpu="2")],
                                [low1, low2, mid, pod("filler", cpu="1", node_name="w1", priority=60),
                                 pod("vip", cpu="1500m", priority=100)])
    await run_queue(api, s)
    # w1 needs low1 and filler (priority 60) gone, w2 needs low2 and mid (priority 50) gone:
    # two victims either way, and w2's most important victim is the cheaper one.
    gone = {p["metadata"]["name"] for p in api.all("pods") if p["metadata"].get("deletionTimestamp")}
    assert gone == {"low2", "mid"}
    assert (await api.get("pods", "vip", "default"))["status"]["nominatedNodeName"] == "w2"
    assert {e["involvedObject"]["name"] for e in events(api, "Preempted")} == {"low2", "mid"}
    for n in ("low2", "mid"):
        await api.delete("pods", n, "default", grace_period_seconds=0)
    await api.settle()
    clock.advance(1)
    await run_queue(api, s)
    assert (await api.get("pods", "vip", "default"))["spec"]["nodeName"] == "w2"


def terminating(api):
    return {p["metadata"]["name"] for p in api.all("pods") if p["metadata"].get("deletionTimestamp")}


async def test_a_preemptor_waits_for_its_victim_and_its_room_is_held():
    api, s, clock = await setup([node("w1", cpu="2"), node("w2", cpu="2")],
                                [pod("low1", cpu="1500m", node_name="w1", priority=1),
                                 pod("low2", cpu="1500m", node_name="w2", priority=1),
                                 pod("vip", cpu="1500m", priority=100)])
    await run_queue(api, s)
    victims = terminating(api)
    assert len(victims) == 1                        # one victim is enough
    held = (await api.get("pods", "vip", "default"))["status"]["nominatedNodeName"]
    # while the victim shuts down, vip is tried again: it takes no second victim elsewhere ...
    s.queue.move_all_to_active()
    clock.advance(60)
    await run_queue(api, s)
    assert terminating(api) == victims
    # ... and a pod of equal priority arriving now cannot take the room held for vip
    await api.create("pods", pod("rival", cpu="1500m", priority=100))
    await api.delete("pods", victims.pop(), "default", grace_period_seconds=0)
    await api.settle()
    clock.advance(60)
    await run_queue(api, s)
    assert (await api.get("pods", "vip", "default"))["spec"]["nodeName"] == held
    rival = await api.get("pods", "rival", "default")
    other = ({"w1", "w2"} - {held}).pop()
    assert not rival["spec"].get("nodeName")        # it preempts on the other node instead
    assert rival["status"]["nominatedNodeName"] == other
    assert {key: n for key, (n, _) in s.nominated.items()} == {"default/rival": other}


async def test_no_preemption_for_unfixable_reasons_or_policy_never():
    api, s, _ = await setup([node("m", taints=[CP_TAINT])], [pod("low", node_name="m", priority=0),
                                                           pod("vip", priority=100)])
    await run_queue(api, s)
    assert not [p for p in api.all("pods") if p["metadata"].get("deletionTimestamp")]
    p = pod("never", cpu="2", priority=100)
    p["spec"]["preemptionPolicy"] = "Never"
    api2, s2, _ = await setup([node("w1", cpu="2")], [pod("low", cpu="1", node_name="w1", priority=0), p])
    await run_queue(api2, s2)
    assert not [p for p in api2.all("pods") if p["metadata"].get("deletionTimestamp")]


async def test_failed_binding_releases_the_node_and_retries():
    from labkube.client.errors import status_error
    api, s, clock = await setup([node("w1", cpu="1")], [pod("a", cpu="600m"), pod("b", cpu="600m")])
    broken = [True]

    def reactor(verb, res, ns, name, body):
        if verb == "create/binding" and name == "a" and broken[0]:
            raise status_error(500, "InternalError", "etcd hiccup")
    api.reactors.append(reactor)
    ka = s.queue.pop_nowait()
    assert await s.schedule_one(ka) == "w1"
    await s.wait_bindings()
    assert ka not in s.assumed                    # w1's space is free again...
    kb = s.queue.pop_nowait()
    assert await s.schedule_one(kb) == "w1"       # ...so b gets it
    await s.wait_bindings()
    broken[0] = False
    clock.advance(1)
    await run_queue(api, s)                        # a retries after its backoff: no room now
    assert (await api.get("pods", "b", "default"))["spec"]["nodeName"] == "w1"
    assert (await api.get("pods", "a", "default"))["spec"].get("nodeName") is None
    assert events(api, "FailedScheduling")


async def test_node_heartbeats_do_not_retry_unschedulable_pods_but_real_changes_do():
    api, s, clock = await setup([node("w1", cpu="1")], [pod("big", cpu="2")])
    await run_queue(api, s)
    assert "default/big" in s.queue.unschedulable
    n = await api.get("nodes", "w1")
    n["status"]["conditions"][0]["lastHeartbeatTime"] = "2026-01-01T00:01:00Z"
    await api.replace("nodes", "w1", n, subresource="status")
    await api.settle()
    assert "default/big" in s.queue.unschedulable
    n = await api.get("nodes", "w1")
    n["status"]["allocatable"]["cpu"] = "4"
    await api.replace("nodes", "w1", n, subresource="status")
    await api.settle()
    assert "default/big" not in s.queue.unschedulable
    clock.advance(1)
    await run_queue(api, s)
    assert (await api.get("pods", "big", "default"))["spec"]["nodeName"] == "w1"


async def test_node_snapshot_follows_pod_changes_between_cycles():
    api, s, clock = await setup([node("w1", cpu="1")], [pod("a", cpu="800m", node_name="w1"), pod("b", cpu="800m")])
    await run_queue(api, s)
    assert (await api.get("pods", "b", "default"))["spec"].get("nodeName") is None
    w1 = s.node_infos()[0]
    assert w1.requested()["cpu"] == 800 and w1.requested()["pods"] == 1
    await api.delete("pods", "a", "default", grace_period_seconds=0)
    await api.settle()
    assert s.node_infos()[0] is w1                       # updated in place from the informer event
    assert w1.requested().get("cpu", 0) == 0 and w1.requested()["pods"] == 0
    clock.advance(1)
    await run_queue(api, s)
    assert (await api.get("pods", "b", "default"))["spec"]["nodeName"] == "w1"
