"""EventQueue: Events written in the background at a bounded rate, dropped when too many wait."""
from __future__ import annotations

import pytest

from labkube.client.clock import FakeClock
from labkube.client.events import EventQueue, EventRecorder
from labkube.client.fake import FakeApi


async def pods(api, n):
    return [await api.create("pods", {"metadata": {"name": f"p{i}"}, "spec": {}}) for i in range(n)]


@pytest.mark.parametrize("emitted, qps, burst, max_queued, written, dropped, seconds", [
    (10, 50, 100, 1000, 10, 0, 0.0),        # within the burst: written at once
    (150, 50, 100, 1000, 150, 0, 1.0),      # 50 beyond the burst: one second at 50/s
    (150, 10, 20, 1000, 150, 0, 13.0),      # 130 beyond the burst at 10/s
    (30, 50, 100, 12, 12, 18, 0.0),         # emitted in one go: 12 queued, the rest dropped
])
async def test_event_queue_rate_burst_and_drops(emitted, qps, burst, max_queued, written, dropped, seconds):
    clock = FakeClock()
    api = FakeApi(clock=clock)
    objs = await pods(api, emitted)
    q = EventQueue(EventRecorder(api, "default-scheduler", clock=clock), qps=qps, burst=burst,
                   max_queued=max_queued)
    t0 = clock.monotonic()
    accepted = [q.normal(p, "Scheduled", f"Successfully assigned default/{p['metadata']['name']} to w1")
                for p in objs]
    await q.flush()
    assert accepted.count(True) == written and q.dropped == dropped
    evs = api.all("events", "default")
    assert len(evs) == written and {e["reason"] for e in evs} == {"Scheduled"}
    assert clock.monotonic() - t0 == pytest.approx(seconds)


async def test_event_queue_keeps_the_recorders_folding_and_order():
    clock = FakeClock()
    api = FakeApi(clock=clock)
    (pod,) = await pods(api, 1)
    q = EventQueue(EventRecorder(api, "default-scheduler", clock=clock), burst=1, qps=1)
    for _ in range(3):
        q.warning(pod, "FailedScheduling", "0/1 nodes are available")
    q.normal(pod, "Scheduled", "Successfully assigned default/p0 to w1")
    await q.flush()
    evs = {e["reason"]: e for e in api.all("events", "default")}
    assert evs["FailedScheduling"]["count"] == 3 and evs["FailedScheduling"]["type"] == "Warning"
    assert evs["Scheduled"]["count"] == 1


async def test_event_queue_closed_drops_what_waits_and_what_comes():
    clock = FakeClock()
    api = FakeApi(clock=clock)
    objs = await pods(api, 3)
    q = EventQueue(EventRecorder(api, "default-scheduler", clock=clock))
    q.normal(objs[0], "Scheduled", "a")
    q.normal(objs[1], "Scheduled", "b")
    q.close()
    assert not q.normal(objs[2], "Scheduled", "c")
    await q.flush()
    assert api.all("events", "default") == [] and len(q) == 0 and q.dropped == 1


@pytest.mark.parametrize("kw", [{"qps": 0}, {"burst": 0}, {"max_queued": 0}, {"in_flight": 0}])
async def test_event_queue_rejects_bad_limits(kw):
    with pytest.raises(ValueError, match="EventQueue"):
        EventQueue(EventRecorder(FakeApi(), "x"), **kw)
