"""bench/scale.py's write ceiling: its clock starts after the untimed warm-up creates, on the same
client, and the warm-up's own rate is reported apart (a fake client records the creates)."""
from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import scale  # noqa: E402


class RecordingClient:
    def __init__(self):
        self.created: list[tuple[str, str, str | None]] = []

    async def create(self, res, body, namespace=None):
        self.created.append((res, body["metadata"]["name"], namespace))
        await asyncio.sleep(0)
        return body


@pytest.mark.parametrize("count, warmup", [(10, 4), (10, 0), (3, 7)])
def test_ceiling_times_only_the_creates_after_the_warm_up(count, warmup):
    c, out = RecordingClient(), {}
    asyncio.run(scale.write_ceiling(c, count, warmup, 3, os.getpid(), out))

    assert c.created[0] == ("namespaces", "bench-ceiling", None)
    names = [name for res, name, ns in c.created[1:]]
    assert all(res == "configmaps" and ns == "bench-ceiling" for res, _, ns in c.created[1:])
    assert names == [f"warm-{i}" for i in range(warmup)] + [f"cm-{i}" for i in range(count)]
    assert out["write_ceiling_per_s"] > 0
    assert set(out["write_ceiling_cpu_ms"]) == {"apiserver", "bench"}
    assert ("write_ceiling_cold_per_s" in out) == (warmup > 0)
