"""Bindings run on at most BIND_CONCURRENCY binder tasks that take the pending bindings in order
(`Scheduler._binder`) instead of one task per binding waiting on a semaphore: the same bindings,
in the same order, with as many in flight at most, the same Events, failures handled the same;
the earlier form (one task per binding, `asyncio.Semaphore`) is kept here as the oracle."""
from __future__ import annotations

import asyncio
import random

import pytest

from labkube.client.errors import ApiError
from labkube.client.informer import object_key
from labkube.scheduler import scheduler as sched_mod
from labkube.scheduler.scheduler import BIND_CONCURRENCY, WARM_AT, Scheduler

from .harness import setup
from .objs import node, pod


class TaskPerBinding(Scheduler):
    """The scheduler's binding step as it was: a task per binding, a semaphore of BIND_CONCURRENCY."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self._slots = asyncio.Semaphore(BIND_CONCURRENCY)

    async def schedule_one(self, key):
        pod_ = self.pods.get(key)
        if pod_ is None or not self.is_pending_for_us(pod_) or key in self.assumed:
            self.queue.done(key)
            return None
        prio = int((pod_.get("spec") or {}).get("priority") or 0)
        host = self.profile.select_host(pod_, self.with_nominated(pod_, self.node_infos()))
        self.cache.assume(pod_, host)
        self.nominated.pop(key, None)
        self.queue.done(key)
        task = asyncio.create_task(self._old_bind(key, pod_, host, prio))
        self._binding.add(task)
        task.add_done_callback(self._binding.discard)
        if len(self._binding) == WARM_AT and self._keep_warm is not None:
            self._keep_warm(sched_mod.CLIENT_IN_FLIGHT)
        return host

    async def _old_bind(self, key, pod_, host, prio):
        async with self._slots:
            return await Scheduler._bind(self, key, pod_, host, prio)


class Gate:
    """Wraps the API's binding call: records the order they start in, the most in flight, and fails the
    pods named in `fail` with the given error."""

    def __init__(self, api, fail):
        self.api, self.fail = api, fail
        self.order, self.now, self.most = [], 0, 0
        self._post = api.post_subresource
        api.post_subresource = self.post

    async def post(self, res, name, sub, body, namespace=None):
        self.now += 1
        self.most = max(self.most, self.now)
        self.order.append(name)             # the order bindings start in (they end in another)
        try:
            for _ in range(random.Random(name).randrange(4)):       # replies come back out of order
                await asyncio.sleep(0)
            if name in self.fail:
                raise self.fail[name]
            return await self._post(res, name, sub, body, namespace=namespace)
        finally:
            self.now -= 1


async def run(cls, pods, fail):
    api, _, clock = await setup([node(f"w{i}", cpu="64", pods="500") for i in range(5)])
    s = cls(api, clock=clock, profile=__import__("labkube.scheduler.plugins", fromlist=["x"]).default_profile(
        random.Random(1)))
    warm = []
    api.keep_warm = warm.append
    s._keep_warm = warm.append
    for i in range(pods):
        await api.create("pods", pod(f"p{i:03d}", cpu="10m"))
    await s.start()
    await api.settle()
    gate = Gate(api, fail)
    for _ in range(2):                      # failed bindings back off, then go again
        while (key := s.queue.pop_nowait()) is not None:
            await s.schedule_one(key)
        await s.wait_bindings(events=False)
        await api.settle()
        clock.advance(30)
    await s.wait_bindings()
    bound = {p["metadata"]["name"]: p["spec"].get("nodeName") for p in api.all("pods")}
    events = sorted((e["involvedObject"]["name"], e["reason"], e["message"]) for e in api.all("events"))
    return {"bound": bound, "order": gate.order, "most": gate.most, "events": events, "warm": warm,
            "assumed": sorted(s.assumed), "queued": sorted(k for k in (object_key(p) for p in api.all("pods"))
                                                          if k in s.queue)}


CASES = {
    "one": (1, {}),
    "below the limit": (BIND_CONCURRENCY - 1, {}),
    "at the limit": (BIND_CONCURRENCY, {}),
    "a backlog": (3 * BIND_CONCURRENCY + 5, {}),
    "failures": (BIND_CONCURRENCY + 9, {"p003": ApiError(409, "Conflict", "taken"),
                                        "p070": ApiError(500, "InternalError", "boom"),
                                        "p071": ConnectionError("reset")}),
}


@pytest.mark.parametrize("pods,fail", CASES.values(), ids=CASES.keys())
async def test_binders_bind_as_a_task_per_binding_did(pods, fail):
    new = await run(Scheduler, pods, fail)
    old = await run(TaskPerBinding, pods, fail)
    assert new == old
    assert new["most"] <= BIND_CONCURRENCY
    if pods > 2 * BIND_CONCURRENCY:
        assert new["most"] == BIND_CONCURRENCY


async def test_at_most_the_limit_of_binder_tasks():
    api, s, clock = await setup([node("w1", cpu="64", pods="500")])
    for i in range(200):
        await api.create("pods", pod(f"p{i:03d}", cpu="1m"))
    await api.settle()
    while (key := s.queue.pop_nowait()) is not None:
        await s.schedule_one(key)
    assert len(s._binding) == BIND_CONCURRENCY and s._pending_binds == 200
    await s.wait_bindings()
    assert not s._binding and s._pending_binds == 0 and not s._bind_queue
    assert all(p["spec"].get("nodeName") == "w1" for p in api.all("pods"))
