"""The scheduler asks its Client to warm the connection pool up when bindings pile up (WARM_AT
pending), once per time they reach it, and binds exactly as without the warm-up."""
from __future__ import annotations

import random

import pytest

from labkube.client.clock import FakeClock
from labkube.client.fake import FakeApi
from labkube.scheduler.plugins import default_profile
from labkube.scheduler.scheduler import CLIENT_IN_FLIGHT, WARM_AT, Scheduler

from .objs import node, pod


async def started(pods: int, warm: list | None):
    clock = FakeClock()
    api = FakeApi(clock=clock)
    if warm is not None:
        api.keep_warm = warm.append             # as Client.keep_warm; FakeApi has none
    for n in ("w1", "w2", "w3"):
        await api.create("nodes", node(n))
    for i in range(pods):
        await api.create("pods", pod(f"p{i:03d}"))
    s = Scheduler(api, clock=clock, profile=default_profile(random.Random(1)))
    await s.start()
    await api.settle()
    return api, s


async def schedule(api, s, bursts: list[int]) -> None:
    """Schedule the queued pods in bursts of the given sizes, bindings left pending within a
    burst (no await yields to them) and finished between bursts."""
    for size in bursts:
        for _ in range(size):
            key = s.queue.pop_nowait()
            assert key is not None
            await s.schedule_one(key)
        await s.wait_bindings()
        await api.settle()


# bursts (pods scheduled with their bindings pending) -> keep_warm calls
BURSTS = [
    ("below the mark", [WARM_AT - 1], []),
    ("at the mark", [WARM_AT], [CLIENT_IN_FLIGHT]),
    ("past it: once", [2 * WARM_AT + 3], [CLIENT_IN_FLIGHT]),
    ("bindings done between pods", [1] * (WARM_AT + 2), []),
    ("two bursts reaching it", [WARM_AT, 3, WARM_AT + 1], [CLIENT_IN_FLIGHT, CLIENT_IN_FLIGHT]),
]


@pytest.mark.parametrize("name,bursts,calls", BURSTS, ids=[b[0] for b in BURSTS])
async def test_pool_warmed_when_bindings_pile_up(name, bursts, calls):
    warm: list[int] = []
    api, s = await started(sum(bursts), warm)
    await schedule(api, s, bursts)
    assert warm == calls
    # the same bindings as a scheduler whose client has no warm-up (FakeApi alone)
    api0, s0 = await started(sum(bursts), None)
    await schedule(api0, s0, bursts)
    got = {p["metadata"]["name"]: p["spec"].get("nodeName") for p in api.all("pods")}
    assert got == {p["metadata"]["name"]: p["spec"].get("nodeName") for p in api0.all("pods")}
    assert all(got.values())


def test_the_mark_and_the_client_limit():
    assert 1 <= WARM_AT < CLIENT_IN_FLIGHT
