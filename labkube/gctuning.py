"""Cyclic garbage-collector settings for long-running labkube processes.

A control-plane process keeps many long-lived containers (informer caches of decoded objects,
indexes, queues). CPython's cyclic collector walks every tracked object in each full
collection, although API objects are acyclic trees that reference counting already frees, so
those walks find almost nothing and show up as latency spikes and CPU per request.

`tune()` moves everything allocated so far (imports, start-up state) out of the collector's
sight with `gc.freeze()` and raises the generation thresholds, so young collections run less
often and full ones only rarely. Cycles are still collected. `LABKUBE_GC=default` keeps
CPython's own settings (for comparison in benchmarks).
"""
from __future__ import annotations

import gc
import os

# generation 0 after this many net container allocations (CPython: 700); generation 1 after
# this many generation-0 runs (10); generation 2 after this many generation-1 runs (10)
THRESHOLDS = (50_000, 20, 100)


def tune(thresholds: tuple[int, int, int] = THRESHOLDS) -> bool:
    """Apply the settings unless LABKUBE_GC=default; True when applied."""
    if os.environ.get("LABKUBE_GC", "") == "default":
        return False
    gc.collect()
    gc.freeze()
    gc.set_threshold(*thresholds)
    return True
