"""strategy.same_but_rv (the registry's 'did the write change anything' check) answers what comparing
the two strip_for_compare copies (the check it replaced, kept here as the oracle) answered, on a
table of object pairs and on generated ones."""
import copy
import random

import pytest

from labkube.api.strategy import same_but_rv


def strip_for_compare(obj: dict) -> dict:
    """The object without resourceVersion: the registry's check before same_but_rv."""
    o = dict(obj)
    o["metadata"] = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "resourceVersion"}
    return o

NAN = float("nan")
POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "p", "namespace": "d", "resourceVersion": "5", "labels": {"a": "1"},
                    "managedFields": [{"manager": "m", "fieldsV1": {"f:spec": {}}}]},
       "spec": {"containers": [{"name": "c", "image": "x"}], "nodeName": "n1"},
       "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


def _with(obj, path, value):
    out = copy.deepcopy(obj)
    node = out
    for k in path[:-1]:
        node = node[k]
    if value is KeyError:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value
    return out


SHARED = [NAN]
PAIRS = [  # (what, a, b)
    ("same", POD, copy.deepcopy(POD)),
    ("another resourceVersion", POD, _with(POD, ("metadata", "resourceVersion"), "6")),
    ("resourceVersion missing in one", POD, _with(POD, ("metadata", "resourceVersion"), KeyError)),
    ("status changed", POD, _with(POD, ("status", "phase"), "Failed")),
    ("spec changed", POD, _with(POD, ("spec", "nodeName"), "n2")),
    ("label changed", POD, _with(POD, ("metadata", "labels", "a"), "2")),
    ("managedFields changed", POD, _with(POD, ("metadata", "managedFields"), [])),
    ("metadata key missing", POD, _with(POD, ("metadata", "labels"), KeyError)),
    ("metadata key None", POD, _with(POD, ("metadata", "labels"), None)),
    ("member missing", POD, _with(POD, ("status",), KeyError)),
    ("member None", POD, _with(POD, ("status",), None)),
    ("extra member", POD, _with(POD, ("extra",), 1)),
    ("int vs float", POD, _with(POD, ("status", "n"), 1.0)),
    ("int vs float both", _with(POD, ("status", "n"), 1), _with(POD, ("status", "n"), 1.0)),
    ("true vs 1", _with(POD, ("status", "n"), True), _with(POD, ("status", "n"), 1)),
    ("key order", POD, {k: POD[k] for k in reversed(POD)}),
    ("metadata key order", POD, _with(POD, ("metadata",), {k: POD["metadata"][k] for k in reversed(POD["metadata"])})),
    ("no metadata vs empty", {"spec": {}}, {"spec": {}, "metadata": {}}),
    ("no metadata vs None", {"spec": {}}, {"spec": {}, "metadata": None}),
    ("no metadata vs only resourceVersion", {"spec": {}}, {"spec": {}, "metadata": {"resourceVersion": "1"}}),
    ("no metadata vs a name", {"spec": {}}, {"spec": {}, "metadata": {"name": "x"}}),
    ("both without metadata", {"spec": {"a": 1}}, {"spec": {"a": 1}}),
    ("empty", {}, {}),
    ("empty vs metadata", {}, {"metadata": {}}),
    ("the same NaN object", {"metadata": {}, "status": {"x": SHARED}}, {"metadata": {}, "status": {"x": SHARED}}),
    ("a member that is the same NaN", {"status": SHARED[0]}, {"status": SHARED[0]}),
    ("two NaNs", {"status": float("nan")}, {"status": float("nan")}),
    ("metadata value the same NaN", {"metadata": {"x": SHARED[0]}}, {"metadata": {"x": SHARED[0]}}),
    ("metadata value two NaNs", {"metadata": {"x": float("nan")}}, {"metadata": {"x": float("nan")}}),
    ("resourceVersion among other differences", _with(POD, ("metadata", "resourceVersion"), "9"),
     _with(POD, ("metadata", "generation"), 2)),
]


@pytest.mark.parametrize("what,a,b", PAIRS, ids=[p[0] for p in PAIRS])
def test_same_but_rv_answers_as_the_copies_compared(what, a, b):
    want = strip_for_compare(a) == strip_for_compare(b)
    assert same_but_rv(a, b) is want, what
    assert same_but_rv(b, a) is (strip_for_compare(b) == strip_for_compare(a)), what


def test_generated_pairs():
    rng = random.Random(7)
    values = ["x", "y", 1, 1.0, True, None, [], {}, [1], {"a": 1}, SHARED[0]]
    keys = ["metadata", "spec", "status", "kind"]
    mkeys = ["name", "resourceVersion", "labels", "uid"]
    for _ in range(3000):
        def obj():
            o = {k: rng.choice(values) for k in rng.sample(keys[1:], rng.randint(0, 3))}
            if rng.random() < 0.8:
                o["metadata"] = rng.choice([None, {k: rng.choice(values) for k in rng.sample(mkeys, rng.randint(0, 4))}])
            return o
        a = obj()
        b = obj() if rng.random() < 0.5 else copy.copy(a)
        if rng.random() < 0.5 and isinstance(b.get("metadata"), dict):
            b["metadata"] = dict(b["metadata"], resourceVersion=str(rng.randint(1, 3)))
        assert same_but_rv(a, b) is (strip_for_compare(a) == strip_for_compare(b)), (a, b)
