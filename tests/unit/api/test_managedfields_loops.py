"""managedfields._list_keys and _Entry.owns_any as loops (no generator per call): the same answers
as the earlier all()/any() forms, kept here as the reference, on a table of lists and path sets."""
import pytest

from labkube.api import managedfields as mf
from labkube.api.patch.strategic import MERGE_KEYS


def _list_keys_before(name, items):  # the earlier form
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    if name in mf.MULTI_KEYS:
        for first, keys in mf.MULTI_KEYS[name].items():
            if all(first in i for i in items):
                return keys
        return None
    key = MERGE_KEYS.get(name)
    if key and all(key in i for i in items):
        return (key,)
    return None


LISTS = [  # (name, items)
    ("containers", [{"name": "a"}, {"name": "b", "image": "x"}]),
    ("containers", [{"name": "a"}, {"image": "x"}]),              # one item without the key
    ("containers", [{"name": "a"}, "b"]),                        # not all objects
    ("containers", []),
    ("containers", None),
    ("conditions", [{"type": "Ready", "status": "True"}]),
    ("ports", [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}]),
    ("ports", [{"port": 80}, {"port": 443}]),                     # a Service's ports
    ("ports", [{"containerPort": 80}, {"port": 443}]),            # neither key in every item
    ("ports", [{"name": "http"}]),
    ("topologySpreadConstraints", [{"topologyKey": "zone", "maxSkew": 1}]),
    ("topologySpreadConstraints", [{"maxSkew": 1}]),
    ("containerStatuses", [{"name": "c", "ready": True}]),        # no merge key: atomic
    ("podIPs", [{"ip": "10.0.0.1"}]),
    ("hostIPs", [{"ip": "10.0.0.1"}, {"ip": "fd00::1"}]),
    ("args", ["a", "b"]),
    ("finalizers", ["a/b"]),
    ("env", [{"name": "A", "value": "1"}, {"name": "B", "valueFrom": {}}]),
    ("volumes", [{"name": "v", "emptyDir": {}}, 3]),
    ("tolerations", [{"operator": "Exists"}]),
    ("unknownList", [{"name": "x"}]),
    ("", [{"name": "x"}]),
]


@pytest.mark.parametrize("name,items", LISTS)
def test_list_keys_as_before(name, items):
    assert mf._list_keys(name, items) == _list_keys_before(name, items)


def _owns_any_before(trie, paths):  # the earlier form
    return any(mf._trie_has(trie, p) for p in paths if not p or p[0] in trie)


TRIE = {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
        "f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:image": {}}}, "f:replicas": {}}}
PATHS = [
    set(),
    {("f:status", "f:phase")},
    {("f:status", "f:phase"), ("f:spec", "f:replicas")},
    {("f:metadata", "f:labels")},
    {("f:metadata", "f:labels", "f:other")},
    {("f:spec", "f:containers", 'k:{"name":"c"}', "f:image")},
    {("f:spec", "f:containers", 'k:{"name":"d"}')},
    {()},
    {("f:spec",)},
    {("f:status", "f:conditions", 'k:{"type":"Ready"}'), ("f:status", "f:podIP"), ("f:status", "f:hostIP")},
]


@pytest.mark.parametrize("paths", PATHS)
@pytest.mark.parametrize("trie", [TRIE, {}, {"f:status": {"f:phase": {}}}])
def test_owns_any_as_before(trie, paths):
    entry = mf._Entry({"fieldsV1": trie}, None)
    assert entry.owns_any(paths) is _owns_any_before(trie, paths)
