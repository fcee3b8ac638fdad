"""bench/drain.py: what a drain's stamps say (rate from the first binding to the last, the
tenths, the share Running at the last binding), and the processes it stops stay stopped
exactly while its block runs (real child processes, their state read from /proc)."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import drain  # noqa: E402


def stamps(*times: float) -> dict[str, float]:
    return {f"p{i}": t for i, t in enumerate(times)}


@pytest.mark.parametrize("bound, running, t0, want", [
    # 11 pods bound 0.1 s apart from 10.5 s, the scheduler continued at 10.0 s
    (stamps(*(10.5 + i / 10 for i in range(11))), {}, 10.0,
     {"bound": 11, "pods_per_s": 11.0, "first_bind_s": 0.5, "running_at_last_bind": 0.0,
      "bind_deciles_ms": [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]}),
    # the first tenth slow (the scheduler reading its backlog), the rest fast
    (stamps(1.0, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.1, 2.2, 2.3), {}, 1.0,
     {"bound": 10, "pods_per_s": 7.7, "first_bind_s": 0.0,
      "bind_deciles_ms": [0, 500, 600, 700, 800, 900, 1000, 1100, 1200, 1300, 1300]}),
    # Running stamps up to the last binding count, later ones do not
    (stamps(1.0, 2.0, 3.0, 4.0), stamps(1.5, 2.5, 4.0, 4.5), 0.0,
     {"bound": 4, "pods_per_s": 1.3, "running_at_last_bind": 0.75}),
    # one binding: no span to make a rate of
    (stamps(5.0), stamps(5.0), 4.0, {"bound": 1, "pods_per_s": None, "running_at_last_bind": 1.0}),
    ({}, {}, 0.0, {"bound": 0}),
])
def test_bind_stats(bound, running, t0, want):
    got = drain.bind_stats(bound, running, t0)
    assert {k: got.get(k) for k in want} == want
    if not bound:
        assert got == {"bound": 0}


def state(pid: int) -> str:
    """The process's state letter from /proc (T: stopped, S: sleeping)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2]


def states(pids, want: str, timeout: float = 5.0) -> list[str]:
    """The processes' states once all are `want` (signals arrive asynchronously), or as they
    are when `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(state(pid) != want for pid in pids):
        time.sleep(0.005)
    return [state(pid) for pid in pids]


@pytest.fixture
def children():
    procs = [subprocess.Popen(["sleep", "60"]) for _ in range(2)]
    assert states([p.pid for p in procs], "S") == ["S", "S"]
    yield procs
    for p in procs:
        p.kill()
        p.wait()


def test_stopped_stops_the_processes_inside_the_block_only(children):
    pids = [p.pid for p in children]
    with drain.stopped(pids):
        assert states(pids, "T") == ["T", "T"]
    assert states(pids, "S") == ["S", "S"]


def test_stopped_continues_the_processes_when_the_block_fails(children):
    pids = [p.pid for p in children]
    with pytest.raises(RuntimeError):
        with drain.stopped(pids):
            raise RuntimeError("the backlog was not created")
    assert states(pids, "S") == ["S", "S"]
