"""validate_meta's clean-case shortcut (_clean_meta) gives the full checks' answer (_validate_meta,
the code before the shortcut): the same errors (type, path, value, detail) or the same exception."""
import itertools
import random

import pytest

from labkube.api.validation import meta
from labkube.api.validation.meta import _validate_meta, validate_meta

LONG = "a" * 64
OK_REF = {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "u-1"}

NAMES = ["web-1", "", None, 5, ["x"], "Web", LONG, "a" * 254, "a.b", "-a", "my.svc"]
NAMESPACES = ["default", "", None, "Bad_NS", 7, LONG, "kube-system"]
LABELS = [None, {}, {"app": "d1", "pod-template-hash": "5d8f7c9b6"}, {"app": 1}, {"app": None},
          {"bad key!": "v"}, {"example.com/k": "v"}, {"Example.com/k": "v"}, {"a/b/c": "v"}, {"/k": "v"},
          {"k": "bad value!"}, {"k": LONG}, {LONG: "v"}, {"k": ""}, "notamap", ["k"], {1: "v"}, {"k": True}]
ANNOTATIONS = [None, {}, {"a": "b"}, {"a": 1}, {"a": None}, {"bad key!": "x"}, {"k": "x" * (256 * 1024)},
               {"k": "x" * (128 * 1024), "l": "y" * (128 * 1024)}, "x", [], {2: "x"}]
REFS = [None, [], [OK_REF], [dict(OK_REF, uid="")], [dict(OK_REF, kind=None)], [None], [{}], ["x"], [5],
        {"a": 1}, {}, "ref", 0, 3, [OK_REF, {"apiVersion": "v1"}]]
FINALIZERS = [None, [], ["kubernetes"], "kubernetes", {"a": 1}, 0]


def answer(fn, *args):
    try:
        return "ok", [(e.type, e.path, repr(getattr(e, "value", None)), e.detail) for e in fn(*args)]
    except Exception as e:  # noqa: BLE001 - the same exception is part of the answer
        return "raised", type(e).__name__


def same(md, namespaced, rule):
    obj = {"metadata": md} if md is not ...  else {}
    assert answer(validate_meta, obj, namespaced, rule) == answer(_validate_meta, obj.get("metadata"),
                                                                  namespaced, rule), (md, namespaced, rule)


@pytest.mark.parametrize("rule", sorted(meta.NAME_RULES))
@pytest.mark.parametrize("namespaced", [True, False])
def test_each_field_alone(rule, namespaced):
    base = {"name": "web-1", "namespace": "default"}
    same(base, namespaced, rule)
    same({"name": "web-1"}, namespaced, rule)
    for field, values in (("name", NAMES), ("namespace", NAMESPACES), ("labels", LABELS),
                          ("annotations", ANNOTATIONS), ("ownerReferences", REFS), ("finalizers", FINALIZERS)):
        for v in values:
            same(dict(base, **{field: v}), namespaced, rule)


@pytest.mark.parametrize("md", [..., None, "x", [], 5, {}])
def test_not_a_map(md):
    same(md, True, "subdomain")
    same(md, False, "label")


def test_generated_combinations_twice():
    """Random combinations, each checked twice (the second time with the memo of clean strings
    filled by the first), and again after the memo was emptied."""
    rnd = random.Random(6)
    cases = []
    for _ in range(3000):
        md = {}
        for field, values in (("name", NAMES), ("namespace", NAMESPACES), ("labels", LABELS),
                              ("annotations", ANNOTATIONS), ("ownerReferences", REFS), ("finalizers", FINALIZERS)):
            if rnd.random() < 0.8:
                md[field] = rnd.choice(values)
        cases.append((md, rnd.random() < 0.7, rnd.choice(sorted(meta.NAME_RULES))))
    for md, namespaced, rule in itertools.chain(cases, cases):
        same(md, namespaced, rule)
    meta._CLEAN_KEYS.clear(), meta._CLEAN_VALUES.clear(), meta._CLEAN_NS.clear()
    for md, namespaced, rule in cases:
        same(md, namespaced, rule)


def test_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(meta, "_CLEAN_MAX", 10)
    for i in range(50):
        assert validate_meta({"metadata": {"name": "a", "namespace": f"ns-{i}", "labels": {f"k{i}": f"v{i}"}}},
                             True) == []
    assert len(meta._CLEAN_NS) <= 10 and len(meta._CLEAN_KEYS) <= 10 and len(meta._CLEAN_VALUES) <= 10
