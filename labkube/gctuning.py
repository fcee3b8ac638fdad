"""Cyclic garbage-collector settings for long-running labkube processes.

A control-plane process keeps many long-lived containers (informer caches of decoded objects,
indexes, queues). CPython's cyclic collector walks tracked objects that reference counting
already frees (API objects are acyclic trees), so most of its walks find nothing and show up as
latency spikes and CPU per request.

`tune()` moves everything allocated so far (imports, start-up state) out of the collector's
sight with `gc.freeze()` and raises the generation-0 threshold (`THRESHOLDS`): a young
collection runs after 50,000 net container allocations instead of 700. Measured in full
bench/scale.py runs, smaller thresholds cost more in total (2,000: the apiserver's GC CPU
~90 -> ~730 ms per run), because the net count reaches a small threshold on every burst of
in-flight objects, so many more objects are walked.

Then `Policy` (a gc callback) adapts to what the collections find:

- a young collection that frees cyclic garbage (the apiserver's: 5,000-20,000 objects in each)
  leaves its survivors to CPython's generations, as before;
- one that frees nothing (the scheduler's, controllers' and hollow kubelets' in every bench
  run: their informer caches keep what they decode, and a pod replaced in a cache is freed by
  reference counting) freezes
  its survivors, so no older-generation collection walks them again, and the next collections
  freeze their young objects at their start instead of walking them: 1, then 2, 4 ... up to
  `MAX_SKIP` in a row between two walks, back to none as soon as a walk (or a full collection)
  frees something;
- what was frozen that way is collected by a full collection (unfreeze, collect, freeze) run
  from the event loop when the frozen objects grew to `FULL_GROWTH` times the count the last
  one left (counted, a walk of the frozen list ~7x cheaper than a full collection, once
  `COUNT_AFTER` times that count were frozen since the last count: most die soon after),
  or `FULL_PERIOD` seconds after the last one (checked at each collection), so a cycle that
  became garbage after being frozen is freed eventually and memory stays bounded.

`LABKUBE_GC=default` keeps CPython's own settings (for comparison in benchmarks).
`LABKUBE_GC_LOG=DIR` (diagnostic, off by default) records every collection (monotonic time,
generation, wall and thread-CPU seconds, collected, uncollectable, the generation-0 count at its
start) and writes them as DIR/gc-<component>-<pid>.tsv when the process exits.
"""
from __future__ import annotations

import asyncio
import atexit
import gc
import os
import time
from typing import Callable

# generation 0 after this many net container allocations (CPython: 700); generation 1 after
# this many generation-0 runs (10); generation 2 after this many generation-1 runs (10)
THRESHOLDS = (50_000, 20, 100)
MAX_SKIP = 8            # young collections frozen without a walk between two walks, at most
COUNT_AFTER = 4.0       # the frozen objects counted (a list walk) when this many times their count
#                         after the last full collection were frozen since the last count
FULL_GROWTH = 4.0       # full collection when that count is this many times the one it left
FULL_PERIOD = 3600.0    # ... or this many seconds after the last one (checked at each collection)

_installed: list = []   # callbacks this module added (tune() replaces them)
collector: "_Collector | None" = None    # the policy tune() installed (diagnostics, tests)


class Policy:
    """The decisions, free of gc calls (table-tested): `start` answers whether a collection
    about to run freezes its young objects instead of walking them; `stop` whether the
    survivors of the one that ran are frozen, and what is due: nothing, a count of the frozen
    objects (`counted` then answers whether they grew enough for a full collection), or a full
    collection (the period)."""

    def __init__(self, frozen: int, now: float, max_skip: int = MAX_SKIP, count_after: float = COUNT_AFTER,
                 growth: float = FULL_GROWTH, period: float = FULL_PERIOD):
        self.max_skip, self.count_after, self.growth, self.period = max_skip, count_after, growth, period
        self.skip = 0           # the run of frozen-at-start collections after the next walk
        self.left = 0           # frozen-at-start collections before the next walk
        self.skipping = False   # the collection running was frozen at its start
        self.young = 0          # generation-0 count when it started
        self.base = frozen      # frozen count after the last full collection (or tune)
        self.promoted = 0       # objects frozen since the last count (net counts: most die later)
        self.last_full = now

    def start(self, young: int) -> bool:
        self.young = young
        self.skipping = self.left > 0
        if self.skipping:
            self.left -= 1
        return self.skipping

    def stop(self, collected: int, now: float) -> tuple[bool, str | None]:
        """(freeze the survivors, None | "count" | "full")."""
        if not self.skipping:
            if collected:
                self.skip = self.left = 0
                return False, self._due(now)
            self.skip = min(self.max_skip, self.skip * 2 or 1)
            self.left = self.skip
        self.promoted += self.young
        return True, self._due(now)

    def _due(self, now: float) -> str | None:
        if now - self.last_full >= self.period:
            return "full"
        return "count" if self.promoted > self.count_after * max(self.base, 1) else None

    def counted(self, frozen: int) -> bool:
        """Whether the frozen objects (`frozen` now) call for a full collection."""
        self.promoted = 0
        return frozen > self.growth * self.base

    def full_done(self, collected: int, frozen: int, now: float) -> None:
        self.base, self.promoted, self.last_full = frozen, 0, now
        if collected:
            self.skip = self.left = 0


class _Collector:
    """Policy wired to the gc module: the gc callback, and the full collection it schedules on
    the running event loop (gc.collect() does nothing inside a callback)."""

    def __init__(self, policy: Policy, clock: Callable[[], float] = time.monotonic):
        self.policy, self.clock = policy, clock
        self.pending = False
        self.in_full = False
        self.fulls = 0
        self.counts = 0

    def callback(self, phase: str, info: dict) -> None:
        if self.in_full:
            return
        p = self.policy
        if phase == "start":
            if p.start(gc.get_count()[0]):
                gc.freeze()
            return
        freeze, due = p.stop(info["collected"], self.clock())
        if freeze:
            gc.freeze()
        if due == "count" and not self.pending:
            self.counts += 1
            due = "full" if p.counted(gc.get_freeze_count()) else None
        if due == "full" and not self.pending:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return      # not on a loop's thread: the period or a later count asks again
            self.pending = True
            loop.call_soon(self.full)

    def full(self) -> int:
        self.pending = False
        self.in_full = True
        try:
            gc.unfreeze()
            collected = gc.collect()
            gc.freeze()
        finally:
            self.in_full = False
        self.fulls += 1
        self.policy.full_done(collected, gc.get_freeze_count(), self.clock())
        return collected


def _log_to(path: str, component: str) -> tuple[Callable, Callable]:
    """The diagnostic's two callbacks: the first of gc.callbacks marks a collection's start,
    the last records it (the policy's freeze and count included)."""
    rows: list = []
    cur = [0.0, 0.0, 0]

    def started(phase: str, info: dict) -> None:
        if phase == "start":
            cur[0], cur[1], cur[2] = time.perf_counter(), time.thread_time(), gc.get_count()[0]

    def stopped(phase: str, info: dict) -> None:
        if phase == "stop":
            rows.append((time.monotonic(), info["generation"], time.perf_counter() - cur[0],
                         time.thread_time() - cur[1], info["collected"], info["uncollectable"], cur[2]))

    def dump() -> None:
        name = os.path.join(path, f"gc-{component.rsplit('.', 1)[-1]}-{os.getpid()}.tsv")
        with open(name, "w", encoding="utf-8") as f:
            f.writelines("\t".join(map(str, r)) + "\n" for r in rows)
    atexit.register(dump)
    return started, stopped


def tune(thresholds: tuple[int, int, int] = THRESHOLDS, component: str = "labkube") -> bool:
    """Apply the settings unless LABKUBE_GC=default; True when applied."""
    global collector
    for cb in _installed:
        if cb in gc.callbacks:
            gc.callbacks.remove(cb)
    _installed.clear()
    collector = None
    log = _log_to(os.environ["LABKUBE_GC_LOG"], component) if os.environ.get("LABKUBE_GC_LOG") else None
    if log:
        gc.callbacks.insert(0, log[0])
        gc.callbacks.append(log[1])
        _installed.extend(log)
    if os.environ.get("LABKUBE_GC", "") == "default":
        return False
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
    collector = _Collector(Policy(gc.get_freeze_count(), time.monotonic()))
    # before the diagnostic's recorder: its freeze and count are part of the collection's time
    gc.callbacks.insert(gc.callbacks.index(log[1]) if log else len(gc.callbacks), collector.callback)
    _installed.append(collector.callback)
    return True
