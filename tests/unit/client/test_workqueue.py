"""WorkQueue waiters: a ready key wakes one waiting task (first come, first woken), delayed keys
are still handed out when due whichever waiter times them, a cancelled waiter passes its
wake-up on, and shutdown wakes every waiter. Time is the FakeClock's; no timed assertions."""
from __future__ import annotations

import asyncio

import pytest

from labkube.client.clock import FakeClock
from labkube.client.workqueue import WorkQueue


async def _spin(n: int = 5) -> None:
    for _ in range(n):
        await asyncio.sleep(0)


class Waiters:
    """`n` tasks each calling q.get() once, recording what they got in start order."""

    def __init__(self, q: WorkQueue, n: int):
        self.got: dict[int, object] = {}
        self.wakeups = 0
        real = q.get_nowait

        def counting():
            self.wakeups += 1
            return real()
        self.q = q
        q.get_nowait = counting
        self.tasks = [asyncio.create_task(self._one(i)) for i in range(n)]

    async def _one(self, i: int) -> None:
        self.got[i] = await self.q.get()

    async def close(self) -> None:
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


@pytest.mark.parametrize("waiters,keys,want", [
    (1, ["a"], {0: "a"}),
    (3, ["a"], {0: "a"}),                       # one key: the first waiter only
    (3, ["a", "b"], {0: "a", 1: "b"}),          # in the order they came
    (3, ["a", "a", "a"], {0: "a"}),             # a key queued once wakes once
    (2, ["a", "b", "c"], {0: "a", 1: "b"}),     # the third stays queued
])
async def test_a_key_wakes_one_waiter_in_arrival_order(waiters, keys, want):
    q = WorkQueue(clock=FakeClock())
    w = Waiters(q, waiters)
    await _spin()
    first = w.wakeups                           # each waiter looked once, found nothing
    assert first == waiters
    for k in keys:
        q.add(k)
    await _spin()
    assert w.got == want
    assert w.wakeups - first == len(want)       # no waiter woke for nothing
    assert len(q) == len(set(keys)) - len(want)
    await w.close()


async def test_a_key_requeued_by_done_wakes_a_waiter():
    q = WorkQueue(clock=FakeClock())
    q.add("a")
    assert q.get_nowait() == "a"
    w = Waiters(q, 2)
    await _spin()
    q.add("a")                                  # dirty while processing: waits for done()
    await _spin()
    assert w.got == {}
    q.done("a")
    await _spin()
    assert w.got == {0: "a"}
    await w.close()


@pytest.mark.parametrize("waiters,delays,advance,want", [
    (1, {"a": 5}, [4], {}),
    (1, {"a": 5}, [5], {0: "a"}),
    (3, {"a": 5}, [5], {0: "a"}),
    (3, {"a": 5, "b": 2}, [2], {0: "b"}),                   # a new earliest key: re-timed
    (3, {"a": 5, "b": 2}, [2, 3], {0: "b", 1: "a"}),
    (3, {"a": 2, "b": 5}, [2, 3], {0: "a", 1: "b"}),        # the next one takes over the timing
])
async def test_delayed_keys_are_handed_out_when_due(waiters, delays, advance, want):
    clock = FakeClock()
    q = WorkQueue(clock=clock)
    w = Waiters(q, waiters)
    await _spin()
    for k, d in delays.items():
        q.add_after(k, d)
        await _spin()
    for dt in advance:
        clock.advance(dt)
        await _spin()
    assert w.got == want
    await w.close()


async def test_delayed_key_due_while_the_timing_waiter_took_another_key():
    """The waiter timing a delayed key is passed over for a ready key while others wait, so the
    delayed key is still handed out when due."""
    clock = FakeClock()
    q = WorkQueue(clock=clock)
    w = Waiters(q, 1)
    await _spin()
    q.add_after("later", 5)                     # the first waiter times it
    await _spin()
    w2 = Waiters(q, 1)                          # a second one waits without a timeout
    await _spin()
    q.add("now")
    await _spin()
    assert w.got == {} and w2.got == {0: "now"}
    clock.advance(5)
    await _spin()
    assert w.got == {0: "later"}
    await w.close()
    await w2.close()


async def test_only_timing_waiter_takes_a_ready_key_then_delayed_keys_wait_for_next_get():
    clock = FakeClock()
    q = WorkQueue(clock=clock)
    w = Waiters(q, 1)
    await _spin()
    q.add_after("later", 5)
    await _spin()
    q.add("now")
    await _spin()
    assert w.got == {0: "now"}
    clock.advance(5)
    assert q.get_nowait() == "later"


async def test_a_cancelled_woken_waiter_passes_the_key_on():
    q = WorkQueue(clock=FakeClock())
    w = Waiters(q, 2)
    await _spin()
    q.add("a")                                  # wakes waiter 0 ...
    w.tasks[0].cancel()                         # ... which is cancelled before it runs
    await _spin()
    assert w.got == {1: "a"}
    await w.close()


async def test_a_cancelled_waiter_leaves_the_fifo():
    q = WorkQueue(clock=FakeClock())
    w = Waiters(q, 2)
    await _spin()
    w.tasks[0].cancel()
    await _spin()
    q.add("a")
    await _spin()
    assert w.got == {1: "a"} and len(q._waiters) == 0
    await w.close()


async def test_shutdown_wakes_every_waiter():
    q = WorkQueue(clock=FakeClock())
    w = Waiters(q, 4)
    await _spin()
    q.add_after("x", 5)
    await _spin()
    q.shutdown()
    await _spin()
    assert w.got == {0: None, 1: None, 2: None, 3: None}
    assert await q.get() is None


async def test_real_clock_timeout_hands_out_a_delayed_key():
    q = WorkQueue()
    q.add_after("a", 0.01)
    assert await asyncio.wait_for(q.get(), 10) == "a"
    assert len(q._waiters) == 0
