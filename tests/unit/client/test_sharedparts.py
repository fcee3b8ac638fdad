"""Parts of informer views held once per JSON text (labkube.client.sharedparts), as the scheduler's
and the controller-manager's pod views use them."""
from __future__ import annotations

import sys

import pytest

from labkube.client.informer import SharedValues
from labkube.client.sharedparts import SharedParts, held, scalar

SPEC = {"schedulerName": "default-scheduler", "priority": 0,
        "containers": [{"name": "c", "resources": {"requests": {"cpu": "10m"}}}],
        "tolerations": [{"key": "k", "operator": "Exists"}]}


@pytest.mark.parametrize("common, own, want_keys", [
    (SPEC, {"nodeName": "w1"}, [*SPEC, "nodeName"]),                       # own fields last
    (SPEC, None, list(SPEC)),
    ({"labels": {"app": "a"}, "namespace": "ns"}, {"name": "p", "uid": "u1"}, ["labels", "namespace", "name", "uid"]),
    ({}, {"nodeName": "w1"}, ["nodeName"]),
    ({"n": 10 ** 30}, None, ["n"]),                                          # beyond 64 bits (the JSON fallback)
])
def test_held_is_the_part_with_own_fields_last(common, own, want_keys):
    parts = SharedParts(SharedValues())
    got = held(dict(common), dict(own) if own else own, parts)
    assert got == {**common, **(own or {})}
    assert list(got) == want_keys


def test_parts_share_values_but_each_view_owns_its_dict():
    parts = SharedParts(SharedValues())
    a, b = held(dict(SPEC), {"nodeName": "w1"}, parts), held(dict(SPEC), {"nodeName": "w2"}, parts)
    assert a is not b and a["nodeName"] == "w1" and b["nodeName"] == "w2"
    assert a["containers"] is b["containers"] and a["tolerations"] is b["tolerations"]
    assert len(parts) == 1
    # a value common to two different parts is held once too
    other = held({"containers": [{"name": "c", "resources": {"requests": {"cpu": "10m"}}}], "priority": 5}, None, parts)
    assert other["containers"] is a["containers"] and len(parts) == 2


def test_keys_and_short_strings_are_interned():
    parts = SharedParts(SharedValues())
    key, short, long_ = "".join(["scheduler", "Name"]), "".join(["default-", "scheduler"]), "x" * 200
    got = parts.share({key: short, "blob": long_})
    assert next(iter(got)) is sys.intern("schedulerName")
    assert got["schedulerName"] is sys.intern("default-scheduler")
    assert got["blob"] == long_
    assert scalar(short) is sys.intern("default-scheduler") and scalar(7) == 7


def test_parts_start_over_when_full():
    parts = SharedParts(SharedValues(), size=2)
    first = parts.share({"a": 1})
    parts.share({"b": 2})
    assert parts.share({"a": 1}) is first and len(parts) == 2
    parts.share({"c": 3})                                    # full: starts over
    assert len(parts) == 1
    again = parts.share({"a": 1})
    assert again == first and again is not first
