"""Expectations: counted creations, named deletions, the TTL."""
from __future__ import annotations

import pytest

from labkube.client.clock import FakeClock
from labkube.controllers.expectations import Expectations

# each step: (operation, argument); the key is always "ns/owner"
CASES = [
    ("nothing expected", [], True),
    ("two creations, none seen", [("expect_creations", 2)], False),
    ("two creations, one seen", [("expect_creations", 2), ("creation_observed", None)], False),
    ("two creations, both seen", [("expect_creations", 2), ("creation_observed", None), ("creation_observed", None)], True),
    ("an arrival before any expectation does not pay for a later one",
     [("creation_observed", None), ("expect_creations", 1)], False),
    ("batches add up", [("expect_creations", 1), ("expect_creations", 2), ("creation_observed", None),
                        ("creation_observed", None)], False),
    ("a deletion waits for its pod", [("expect_delete", "p1")], False),
    ("the pod's deletion seen", [("expect_delete", "p1"), ("deleted", "p1")], True),
    ("seen twice settles once", [("expect_delete", "p1"), ("expect_delete", "p2"), ("deleted", "p1"), ("deleted", "p1")],
     False),
    ("another pod's deletion does not count", [("expect_delete", "p1"), ("deleted", "p9")], False),
    ("forgotten", [("expect_creations", 3), ("expect_delete", "p1"), ("forget", None)], True),
    ("older than the TTL", [("expect_creations", 1), ("advance", 301)], True),
    ("within the TTL", [("expect_creations", 1), ("advance", 299)], False),
]


@pytest.mark.parametrize("steps,want", [(s, w) for _, s, w in CASES], ids=[c[0] for c in CASES])
def test_satisfied(steps, want):
    clock = FakeClock()
    e = Expectations(clock)
    for op, arg in steps:
        if op == "advance":
            clock.advance(arg)
        elif arg is None:
            getattr(e, op)("ns/owner")
        else:
            getattr(e, op)("ns/owner", arg)
    assert e.satisfied("ns/owner") is want
    assert e.satisfied("ns/other")

