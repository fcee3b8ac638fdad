"""The scheduler's bindings go through its Client's pipelined sibling (Client.pipelined) when the
client has one, the warm-up too, and it binds exactly what a scheduler without one binds."""
from __future__ import annotations

import random

from labkube.client.clock import FakeClock
from labkube.client.fake import FakeApi
from labkube.scheduler.plugins import default_profile
from labkube.scheduler.scheduler import BIND_CONNECTIONS, CLIENT_IN_FLIGHT, Scheduler

from .objs import node, pod


class Pipelined:
    """Stands for Client.pipelined(n)'s client: records the bindings and warm-ups, hands them on."""

    def __init__(self, api, connections):
        self.api, self.connections = api, connections
        self.bound: list[str] = []
        self.warmed: list[int] = []

    async def post_subresource(self, res, name, sub, body, namespace=None):
        self.bound.append(name)
        return await self.api.post_subresource(res, name, sub, body, namespace=namespace)

    def keep_warm(self, n):
        self.warmed.append(n)


async def placements(pipelined: bool, pods: int = 40):
    clock = FakeClock()
    api = FakeApi(clock=clock)
    made = []
    if pipelined:
        api.pipelined = lambda n: made.append(Pipelined(api, n)) or made[-1]
    for n in ("w1", "w2", "w3"):
        await api.create("nodes", node(n))
    for i in range(pods):
        await api.create("pods", pod(f"p{i:03d}"))
    s = Scheduler(api, clock=clock, profile=default_profile(random.Random(1)))
    await s.start()
    await api.settle()
    while (key := s.queue.pop_nowait()) is not None:
        await s.schedule_one(key)
    await s.wait_bindings()
    await api.settle()
    got = {p["metadata"]["name"]: p["spec"].get("nodeName") for p in await api.list("pods", namespace="default")}
    s.stop()
    return got, made


async def test_bindings_go_pipelined_and_bind_the_same():
    plain, none = await placements(False)
    piped, made = await placements(True)
    assert none == [] and len(made) == 1 and made[0].connections == BIND_CONNECTIONS
    assert piped == plain and all(plain.values())
    assert sorted(made[0].bound) == sorted(plain) and made[0].warmed == [CLIENT_IN_FLIGHT]
