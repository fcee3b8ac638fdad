"""Controller.dispatch: queued keys are synced `workers` at a time, one sync per key at once, and
a key queued again while its sync runs is synced again after it."""
from __future__ import annotations

import asyncio

from labkube.client.fake import FakeApi
from labkube.controllers.base import Controller


class Blocking(Controller):
    name = "blocking"

    def setup(self):
        self.running, self.most, self.seen, self.release = set(), 0, [], asyncio.Event()

    async def sync(self, key):
        assert key not in self.running
        self.running.add(key)
        self.most = max(self.most, len(self.running))
        self.seen.append(key)
        await self.release.wait()
        self.running.discard(key)


async def until(cond, what):
    for _ in range(500):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


async def test_dispatch_runs_at_most_workers_syncs_and_each_key_once_at_a_time():
    c = Blocking(FakeApi())
    for k in ("a", "b", "c", "d", "e"):
        c.queue.add(k)
    task = asyncio.create_task(c.dispatch(2))
    await until(lambda: len(c.running) == 2, "two syncs running")
    c.queue.add("a")                     # again, while "a" is being synced
    await asyncio.sleep(0.05)
    assert c.seen == ["a", "b"]          # the rest wait for a slot
    c.release.set()
    await until(lambda: len(c.seen) == 6, "every key synced, a twice")
    assert c.most == 2 and sorted(c.seen) == ["a", "a", "b", "c", "d", "e"]
    c.queue.shutdown()
    await asyncio.wait_for(task, 5)      # returns once the queue shuts down
