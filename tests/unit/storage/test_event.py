"""storage.Event: a frozen value built on every write; its API and immutability."""
from __future__ import annotations

import dataclasses

import pytest

from labkube.storage.interface import Event


@pytest.mark.parametrize("args,kwargs,want", [
    (("ADDED", "/registry/pods/a/x", 3, '{"a":1}'), {}, ("ADDED", "/registry/pods/a/x", 3, '{"a":1}', None)),
    (("MODIFIED", "/k", 4, '{"a":2}', '{"a":1}'), {}, ("MODIFIED", "/k", 4, '{"a":2}', '{"a":1}')),
    ((), {"type": "DELETED", "key": "/k", "rev": 5, "text": "{}", "prev_text": "{}"}, ("DELETED", "/k", 5, "{}", "{}")),
    (("ADDED", "/k"), {"rev": 6, "text": "{}"}, ("ADDED", "/k", 6, "{}", None)),
], ids=["positional", "with prev", "keywords", "mixed"])
def test_fields_positional_and_keyword(args, kwargs, want):
    ev = Event(*args, **kwargs)
    assert (ev.type, ev.key, ev.rev, ev.text, ev.prev_text) == want
    assert ev.cache == {} and [f.name for f in dataclasses.fields(ev)] == [
        "type", "key", "rev", "text", "prev_text", "cache"]


@pytest.mark.parametrize("name", ["type", "key", "rev", "text", "prev_text", "cache", "obj", "other"])
def test_assigning_or_deleting_raises(name):
    ev = Event("ADDED", "/k", 1, "{}")
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(ev, name, "x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        delattr(ev, name)


def test_equality_hash_and_repr_leave_the_cache_out():
    a, b = Event("ADDED", "/k", 1, "{}"), Event("ADDED", "/k", 1, "{}")
    a.cache["line"] = b"x"
    assert a == b and hash(a) == hash(b) and a != Event("ADDED", "/k", 2, "{}")
    assert repr(a) == "Event(type='ADDED', key='/k', rev=1, text='{}', prev_text=None)"
    assert b.cache == {}                                   # each event has its own cache


def test_replace_shares_the_cache_and_decoded_values_are_memoised():
    ev = Event("MODIFIED", "/k", 2, '{"a":2}', '{"a":1}')
    assert ev.obj == {"a": 2} and ev.obj is ev.obj and ev.prev == {"a": 1}
    assert Event("ADDED", "/k", 1, "{}").prev is None
    moved = dataclasses.replace(ev, rev=3)
    assert moved.rev == 3 and moved.text == ev.text and moved.cache is ev.cache
