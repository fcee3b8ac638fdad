"""StatusBatch: a status-only change queues a key at once when its last sync started a period
ago or more (or never), else once, when that period has passed; a sync takes a due batch."""
import pytest

from labkube.controllers.statusbatch import StatusBatch

# (steps: ("changed", t, want) | ("syncing", t) | ("forget",), next_due at the end)
CASES = [
    ("never synced: at once", [("changed", 5.0, 0)], None),
    ("synced long ago: at once", [("syncing", 1.0), ("changed", 2.0, 0)], None),
    ("synced a period ago exactly: at once", [("syncing", 1.0), ("changed", 1.25, 0)], None),
    ("synced just now: after the rest of the period", [("syncing", 1.0), ("changed", 1.05, pytest.approx(0.2))], 1.25),
    ("a second change before it is due: nothing more", [("syncing", 1.0), ("changed", 1.05, pytest.approx(0.2)),
                                                         ("changed", 1.1, None)], 1.25),
    ("the due sync takes the batch", [("syncing", 1.0), ("changed", 1.05, pytest.approx(0.2)),
                                      ("syncing", 1.25), ("changed", 1.3, pytest.approx(0.2))], 1.5),
    ("a sync before it is due keeps the batch", [("syncing", 1.0), ("changed", 1.05, pytest.approx(0.2)),
                                                 ("syncing", 1.1), ("changed", 1.2, None)], 1.25),
    ("forgotten: nothing kept", [("syncing", 1.0), ("changed", 1.05, pytest.approx(0.2)), ("forget",),
                                 ("changed", 1.1, 0)], None),
]


@pytest.mark.parametrize("what,steps,due", CASES, ids=[c[0] for c in CASES])
def test_status_batch(what, steps, due):
    b = StatusBatch(0.25)
    for step in steps:
        if step[0] == "changed":
            assert b.changed("ns/rs", step[1]) == step[2]
        elif step[0] == "syncing":
            b.syncing("ns/rs", step[1])
        else:
            b.forget("ns/rs")
    assert b.next_due() == due
