"""labkube.gctuning: the collector settings a long-running component applies at start, and the
policy that freezes what collections keep finding alive."""
import asyncio
import gc
import os
import subprocess
import sys
import weakref

import pytest

from labkube import gctuning

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture
def restore_gc():
    before = gc.get_threshold()
    callbacks = list(gc.callbacks)
    yield
    gc.callbacks[:] = callbacks
    gctuning._installed.clear()
    gc.unfreeze()
    gc.set_threshold(*before)


def test_tune_freezes_start_up_objects_and_raises_thresholds(restore_gc, monkeypatch):
    monkeypatch.delenv("LABKUBE_GC", raising=False)
    monkeypatch.delenv("LABKUBE_GC_LOG", raising=False)
    n = len(gc.callbacks)
    assert gctuning.tune() is True
    assert gc.get_threshold() == gctuning.THRESHOLDS
    assert gc.get_freeze_count() > 0
    assert len(gc.callbacks) == n + 1
    assert gctuning.tune() is True          # again: its callback replaced, not added twice
    assert len(gc.callbacks) == n + 1


def test_default_opt_out_keeps_cpython_settings(restore_gc, monkeypatch):
    monkeypatch.setenv("LABKUBE_GC", "default")
    monkeypatch.delenv("LABKUBE_GC_LOG", raising=False)
    before, n = gc.get_threshold(), len(gc.callbacks)
    assert gctuning.tune() is False
    assert gc.get_threshold() == before
    assert len(gc.callbacks) == n


# Policy: each row a sequence of ("start", young) -> frozen at its start?; ("stop", collected,
# now) -> (survivors frozen?, None | "count" | "full" due); ("count", frozen) -> full due?;
# ("full", collected, frozen, now): a full collection done
POLICY_ROWS = [
    ("collections that free garbage: CPython's generations, nothing frozen",
     dict(frozen=1000, now=0.0),
     [("start", 50_000, False), ("stop", 15_000, 1.0, (False, None)),
      ("start", 50_000, False), ("stop", 1, 2.0, (False, None)),
      ("start", 50_000, False), ("stop", 9_000, 3.0, (False, None))]),
    ("barren walks: survivors frozen, then 1, 2, 4, 4 collections frozen at start",
     dict(frozen=10**9, now=0.0, max_skip=4),
     [("start", 10, False), ("stop", 0, 0.0, (True, None)),
      ("start", 10, True), ("stop", 0, 0.0, (True, None)),
      ("start", 10, False), ("stop", 0, 0.0, (True, None)),
      ("start", 10, True), ("stop", 0, 0.0, (True, None)),
      ("start", 10, True), ("stop", 0, 0.0, (True, None)),
      ("start", 10, False), ("stop", 0, 0.0, (True, None)),
      ("start", 10, True), ("start", 10, True), ("start", 10, True), ("start", 10, True),
      ("start", 10, False), ("stop", 0, 0.0, (True, None)),
      ("start", 10, True), ("start", 10, True), ("start", 10, True), ("start", 10, True),
      ("start", 10, False)]),
    ("a walk that frees garbage ends the skipping at once",
     dict(frozen=10**9, now=0.0, max_skip=8),
     [("start", 10, False), ("stop", 0, 0.0, (True, None)),
      ("start", 10, True), ("stop", 0, 0.0, (True, None)),
      ("start", 10, False), ("stop", 3, 0.0, (False, None)),
      ("start", 10, False), ("stop", 0, 0.0, (True, None)),
      ("start", 10, True)]),
    ("a count when more than count_after x the frozen count was frozen since the last count; "
     "a full collection when the count grew past growth x",
     dict(frozen=100, now=0.0, count_after=2.0, growth=1.5, max_skip=1),
     [("start", 150, False), ("stop", 0, 0.0, (True, None)),        # 150 frozen since
      ("start", 40, True), ("stop", 0, 0.0, (True, None)),          # 190
      ("start", 500, False), ("stop", 7, 0.0, (False, None)),       # not frozen: 190
      ("start", 20, False), ("stop", 0, 0.0, (True, "count")),      # 210 > 200
      ("count", 150, False),                                        # most died: not 1.5 x 100
      ("start", 150, True), ("stop", 0, 0.0, (True, None)),         # 150 since the count
      ("start", 60, False), ("stop", 0, 0.0, (True, "count")),      # 210
      ("count", 151, True),
      ("full", 0, 300, 5.0),
      ("start", 20, True), ("stop", 0, 6.0, (True, None)),          # 20 of 600
      ("start", 590, False), ("stop", 0, 7.0, (True, "count")),     # 610 > 600
      ("count", 450, False)]),
    ("a full collection after the period, also in a process that frees garbage",
     dict(frozen=10**9, now=100.0, period=60.0),
     [("start", 50_000, False), ("stop", 5, 159.0, (False, None)),
      ("start", 50_000, False), ("stop", 5, 160.0, (False, "full")),
      ("full", 0, 10**9, 161.0),
      ("start", 50_000, False), ("stop", 5, 220.0, (False, None)),
      ("start", 50_000, False), ("stop", 0, 221.0, (True, "full"))]),
    ("a full collection that frees garbage ends the skipping",
     dict(frozen=10**9, now=0.0, max_skip=8),
     [("start", 10, False), ("stop", 0, 0.0, (True, None)),
      ("start", 10, True), ("stop", 0, 0.0, (True, None)),
      ("start", 10, False), ("stop", 0, 0.0, (True, None)),         # next: 2 frozen at start
      ("full", 12, 10**9, 1.0),
      ("start", 10, False), ("stop", 0, 2.0, (True, None)),
      ("start", 10, True), ("start", 10, False)]),
    ("a full collection that frees nothing leaves the skipping as it was",
     dict(frozen=10**9, now=0.0, max_skip=8),
     [("start", 10, False), ("stop", 0, 0.0, (True, None)),
      ("full", 0, 10**9, 1.0),
      ("start", 10, True), ("start", 10, False)]),
    ("defaults: a walk at least every MAX_SKIP + 1 collections",
     dict(frozen=10**9, now=0.0),
     [("start", 10, False), ("stop", 0, 0.0, (True, None))] + [("start", 10, True)] * 1
     + [("start", 10, False), ("stop", 0, 0.0, (True, None))] + [("start", 10, True)] * 2
     + [("start", 10, False), ("stop", 0, 0.0, (True, None))] + [("start", 10, True)] * 4
     + [("start", 10, False), ("stop", 0, 0.0, (True, None))] + [("start", 10, True)] * gctuning.MAX_SKIP
     + [("start", 10, False), ("stop", 0, 0.0, (True, None))] + [("start", 10, True)] * gctuning.MAX_SKIP
     + [("start", 10, False)]),
]


@pytest.mark.parametrize("kwargs,steps", [r[1:] for r in POLICY_ROWS], ids=[r[0] for r in POLICY_ROWS])
def test_policy(kwargs, steps):
    p = gctuning.Policy(**kwargs)
    for step in steps:
        if step[0] == "start":
            assert p.start(step[1]) is step[2], step
        elif step[0] == "stop":
            assert p.stop(step[1], step[2]) == step[3], step
        elif step[0] == "count":
            assert p.counted(step[1]) is step[2], step
        else:
            p.full_done(*step[1:])


class _Node:
    pass


@pytest.mark.parametrize("trigger", [
    dict(period=20.0),                                      # the period (a clock step a call)
    dict(period=1e9, count_after=0.0, growth=1.0),          # the frozen count grew
], ids=["period", "growth"])
def test_cycle_frozen_without_a_walk_is_freed_by_the_full_collection_on_the_loop(restore_gc, trigger):
    clock = iter(range(10**6))

    async def main():
        gc.collect()
        gc.freeze()
        policy = gctuning.Policy(gc.get_freeze_count(), 0.0, **trigger)
        collector = gctuning._Collector(policy, clock=lambda: float(next(clock)))
        gc.callbacks.append(collector.callback)
        policy.skip = policy.left = 1         # as after a walk that freed nothing
        n = _Node()
        n.self = n
        ref = weakref.ref(n)
        del n
        gc.collect(0)                         # frozen at the start, not walked
        assert ref() is not None
        collector.in_full = True              # (the policy left out: no full collection yet)
        gc.collect()                          # a full walk of what is not frozen misses it
        collector.in_full = False
        assert ref() is not None and collector.fulls == 0
        rounds = 0
        while ref() is not None and rounds < 100:
            gc.collect(0)
            await asyncio.sleep(0)            # the full collection runs from the loop
            rounds += 1
        return ref() is None, collector.fulls, rounds

    freed, fulls, rounds = asyncio.run(main())
    assert freed and fulls == 1 and rounds >= 1


def test_full_due_off_the_loop_waits_for_a_collection_on_it(restore_gc):
    policy = gctuning.Policy(10**9, 0.0, period=0.0)
    collector = gctuning._Collector(policy, clock=lambda: 1.0)
    collector.callback("start", {"generation": 0, "collected": 0, "uncollectable": 0})
    collector.callback("stop", {"generation": 0, "collected": 5, "uncollectable": 0})
    assert collector.pending is False and collector.fulls == 0


def test_diagnostic_log_records_each_collection(tmp_path):
    env = dict(os.environ, LABKUBE_GC_LOG=str(tmp_path), PYTHONPATH=ROOT)
    for mode in ("", "default"):
        env["LABKUBE_GC"] = mode
        code = ("import gc; from labkube import gctuning; gctuning.tune(component='labkube.x'); "
                "gc.collect(0); gc.collect(1)")
        proc = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        (log,) = tmp_path.glob("gc-x-*.tsv")
        rows = [line.split("\t") for line in log.read_text().splitlines()]
        gens = [int(r[1]) for r in rows]
        assert all(len(r) == 7 for r in rows)
        assert gens[-2:] == [0, 1] and gens.count(2) == (0 if mode == "default" else 1)
        log.unlink()
