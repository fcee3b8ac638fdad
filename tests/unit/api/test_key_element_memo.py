"""managedfields.key_element keeps the `k:` element of a single-key item with a str key value (a
condition's type, a container's name, an address): on a table of items and keys it gives what the
uncached form (`_key_element`) gives, on the first call, on a repeat (from the memo) and after the
memo was emptied for being full."""
import pytest

from labkube.api import managedfields
from labkube.api.managedfields import _key_element, key_element


class Name(str):
    pass


ITEMS = [  # (what, item, keys)
    ("a condition", {"type": "Ready", "status": "True"}, ("type",)),
    ("a container", {"name": "c", "image": "busybox"}, ("name",)),
    ("an address", {"ip": "10.244.1.5"}, ("ip",)),
    ("non-ASCII", {"name": "é ✓"}, ("name",)),
    ("quotes and backslashes", {"name": 'a"b\\c'}, ("name",)),
    ("an empty string", {"name": ""}, ("name",)),
    ("a str subclass: not kept", {"name": Name("c")}, ("name",)),
    ("an int key", {"containerPort": 80}, ("containerPort",)),
    ("a bool key", {"name": True}, ("name",)),
    ("a null key", {"name": None}, ("name",)),
    ("the key missing", {"image": "x"}, ("name",)),
    ("the key missing with a default", {"image": "x"}, ("protocol",)),
    ("two keys", {"containerPort": 80, "protocol": "UDP"}, ("containerPort", "protocol")),
    ("two keys, a default", {"containerPort": 80}, ("containerPort", "protocol")),
    ("two str keys", {"topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway"},
     ("topologyKey", "whenUnsatisfiable")),
]


@pytest.mark.parametrize("item,keys", [i[1:] for i in ITEMS], ids=[i[0] for i in ITEMS])
def test_key_element_is_the_uncached_one(item, keys, monkeypatch):
    monkeypatch.setattr(managedfields, "_KEY_ELEMENTS", {})
    want = _key_element(item, keys)
    assert key_element(item, keys) == want
    assert key_element(dict(item), keys) == want  # from the memo when kept
    monkeypatch.setattr(managedfields, "_KEY_ELEMENTS", {("other", "x"): 'k:{"other":"x"}'})
    monkeypatch.setattr(managedfields, "_KEY_ELEMENTS_MAX", 1)
    assert key_element(item, keys) == want  # a full memo emptied first
    assert len(managedfields._KEY_ELEMENTS) <= 1


def test_equal_values_of_other_types_do_not_share_an_element(monkeypatch):
    monkeypatch.setattr(managedfields, "_KEY_ELEMENTS", {})
    assert key_element({"name": "1"}, ("name",)) == 'k:{"name":"1"}'
    assert key_element({"name": 1}, ("name",)) == 'k:{"name":1}'
    assert key_element({"name": True}, ("name",)) == 'k:{"name":true}'
