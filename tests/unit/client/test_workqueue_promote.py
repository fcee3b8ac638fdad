"""WorkQueue.promote_due, which no longer reads the clock when no key is delayed, against the
earlier one (kept here as ReferenceQueue.promote_due): two queues on fake clocks run the same
random sequences of add, add_after, add_rate_limited, forget, get_nowait, done and clock
advances; every answer and the queues' keys (ready, delayed, processing) stay the same."""
from __future__ import annotations

import heapq
import random

import pytest

from labkube.client.clock import FakeClock
from labkube.client.workqueue import WorkQueue


class ReferenceQueue(WorkQueue):
    def promote_due(self) -> float | None:
        """WorkQueue.promote_due before it skipped the clock with nothing delayed (2022d44)."""
        now = self.clock.monotonic()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, key = heapq.heappop(self._delayed)
            self.add(key)
        return (self._delayed[0][0] - now) if self._delayed else None


def state(q: WorkQueue):
    return list(q._queue), sorted(q._delayed), sorted(q._processing), sorted(q._dirty), dict(q._failures)


@pytest.mark.parametrize("seed", range(40))
def test_promote_due_same_as_reference(seed):
    rng = random.Random(seed)
    queues = [WorkQueue(FakeClock()), ReferenceQueue(FakeClock())]
    keys = [f"ns/p{i}" for i in range(6)]
    taken: list[str] = []
    for _ in range(300):
        op = rng.choice(["add", "after", "limited", "forget", "get", "get", "done", "advance", "promote"])
        key = rng.choice(keys)
        delay = rng.choice([0.0, -1.0, 0.001, 0.01, 1.0])
        dt = rng.choice([0.0, 0.001, 0.005, 0.5, 2.0])
        done = rng.choice(taken) if taken else None
        answers = []
        for q in queues:
            if op == "add":
                answers.append(q.add(key))
            elif op == "after":
                answers.append(q.add_after(key, delay))
            elif op == "limited":
                answers.append(q.add_rate_limited(key))
            elif op == "forget":
                answers.append(q.forget(key))
            elif op == "get":
                answers.append(q.get_nowait())
            elif op == "done" and done is not None:
                answers.append(q.done(done))
            elif op == "advance":
                q.clock.advance(dt)
            elif op == "promote":
                answers.append(q.promote_due())
        if op == "get" and answers[0] is not None:
            taken.append(answers[0])
        if op == "done" and done is not None:
            taken.remove(done)
        assert len(set(map(repr, answers))) <= 1, answers
        assert state(queues[0]) == state(queues[1])
