"""A JSON merge patch copies the values that replace a field (a status's conditions, IPs, container
statuses) by a C-level JSON round trip where that reads back exactly, else by deepcopy: the merged
object equals, in value, JSON text and types, the one built with deepcopy, and shares no list or
object with the patch. Table-driven."""
import copy
import datetime
import json
import math

import pytest

from labkube.api.patch import merge as merge_module
from labkube.api.patch.merge import merge_patch


class Str(str):
    pass


def _reference(target, patch):
    """merge_patch with every replacing value deep-copied (the earlier code)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = _reference(out.get(k), v)
    return out


def _types(v):
    if isinstance(v, dict):
        return ("d", [(k, _types(x)) for k, x in v.items()])
    if isinstance(v, (list, tuple)):
        return (type(v).__name__, [_types(x) for x in v])
    return type(v).__name__


def _containers(v):
    if isinstance(v, dict):
        yield v
        for x in v.values():
            yield from _containers(x)
    elif isinstance(v, list):
        yield v
        for x in v:
            yield from _containers(x)


TARGET = {"metadata": {"name": "p", "labels": {"a": "1"}},
          "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}]}}

PATCHES = [
    ("a kubelet's Running status", {"status": {
        "phase": "Running", "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": None}],
        "podIPs": [{"ip": "10.244.1.5"}], "containerStatuses": [{"name": "c", "state": {"running": {}}, "lastState": {}}]}}),
    ("null deletes, nulls inside a list stay", {"metadata": {"labels": None}, "status": {"x": [None, {"a": None}]}}),
    ("every JSON type in a list", {"spec": {"l": [1, 1.0, True, "s", -0.0, 2 ** 63, "é\u2028", [], {}]}}),
    ("a NaN in a list", {"spec": {"l": [math.nan, 1]}}),
    ("a tuple, a list holding a tuple", {"spec": {"t": ("a", 1), "l": [("b",)]}}),
    ("a str subclass, a datetime in a list", {"spec": {"l": [Str("x")], "d": [datetime.date(2026, 1, 1)]}}),
    ("an integer beyond 64 bits in a list", {"spec": {"l": [2 ** 70]}}),
    ("scalars", {"spec": {"s": Str("x"), "f": math.inf, "n": 5, "b": False}}),
    ("a list over an object, an object over a list", {"status": {"conditions": {"a": 1}}, "metadata": ["x"]}),
]


@pytest.mark.parametrize("what,patch", PATCHES, ids=[p[0] for p in PATCHES])
def test_merge_patch_equals_the_deepcopy_merge(what, patch):
    target, before, pbefore = copy.deepcopy(TARGET), copy.deepcopy(TARGET), copy.deepcopy(patch)
    out = merge_patch(target, patch)
    ref = _reference(copy.deepcopy(TARGET), copy.deepcopy(patch))
    assert repr(out) == repr(ref) and _types(out) == _types(ref)
    assert json.dumps(out, default=str) == json.dumps(ref, default=str)
    assert repr(target) == repr(before) and repr(patch) == repr(pbefore)
    mine = {id(c) for c in _containers(patch) if isinstance(c, list)}
    assert not any(id(c) in mine for c in _containers(out) if isinstance(c, list))


def test_plain_lists_take_the_round_trip(monkeypatch):
    calls, deep = [], copy.deepcopy
    monkeypatch.setattr(merge_module.copy, "deepcopy", lambda v: calls.append(v) or deep(v))
    merge_patch(TARGET, PATCHES[0][1])
    assert calls == []
    merge_patch(TARGET, {"spec": {"t": [("a",)]}})
    assert len(calls) == 1


@pytest.mark.parametrize("what,patch", PATCHES, ids=[p[0] for p in PATCHES])
def test_an_owned_patch_merges_to_the_same_object_uncopied(what, patch):
    """owned (a patch decoded for this merge alone): the same merged object, in value, JSON text
    and types, the target left as it was; the patch's values are taken as they are."""
    target, before = copy.deepcopy(TARGET), copy.deepcopy(TARGET)
    out = merge_patch(target, copy.deepcopy(patch), owned=True)
    ref = merge_patch(copy.deepcopy(TARGET), copy.deepcopy(patch))
    assert repr(out) == repr(ref) and _types(out) == _types(ref)
    assert json.dumps(out, default=str) == json.dumps(ref, default=str)
    assert repr(target) == repr(before)
    given = copy.deepcopy(patch)
    out = merge_patch(copy.deepcopy(TARGET), given, owned=True)
    lists = {id(c) for c in _containers(given) if isinstance(c, list)}
    assert lists <= {id(c) for c in _containers(out) if isinstance(c, list)}
