"""shape._valid with the scalar members checked inline gives the answer of the walk before it
(`_valid_before` below: the earlier code, one _valid and one _ok call per member), on generated
objects for every schema shape_error uses, and shape_error's messages stay check()'s."""
import random

import pytest

from labkube.api import shape
from labkube.api.shape import MAP, QMAP, _ok, _valid


def _valid_before(v, schema) -> bool:
    if v is None:
        return True
    if type(schema) is dict:
        if not isinstance(v, dict):
            return False
        for k, item in v.items():
            sub = schema.get(k)
            if sub is not None and item is not None and not _valid_before(item, sub):
                return False
        return True
    if type(schema) is list:
        if not isinstance(v, list):
            return False
        sub = schema[0]
        for item in v:
            if item is not None and not _valid_before(item, sub):
                return False
        return True
    if schema == MAP:
        return isinstance(v, dict) and all(item is None or isinstance(item, str) for item in v.values())
    if schema == QMAP:
        return isinstance(v, dict) and all(item is None or (isinstance(item, (str, int, float))
                                                            and not isinstance(item, bool)) for item in v.values())
    return _ok(v, schema)


SCALARS = [None, "s", "", 0, 3, -1, 2.5, True, False, [], ["s"], [1], {}, {"a": "b"}, {"a": 1}]


def gen(schema, rnd, depth=0):
    """A value mostly of the schema's type, sometimes of another (any member may be wrong)."""
    if rnd.random() < 0.08 or depth > 6:
        return rnd.choice(SCALARS)
    if type(schema) is dict:
        out = {k: gen(sub, rnd, depth + 1) for k, sub in schema.items() if rnd.random() < 0.6}
        if rnd.random() < 0.2:
            out["unknownField"] = rnd.choice(SCALARS)
        return out
    if type(schema) is list:
        return [gen(schema[0], rnd, depth + 1) for _ in range(rnd.randrange(3))]
    if schema == shape.S:
        return rnd.choice(["x", "y", ""]) if rnd.random() < 0.85 else rnd.choice(SCALARS)
    if schema == shape.I:
        return rnd.choice([0, 7, -3]) if rnd.random() < 0.85 else rnd.choice(SCALARS)
    if schema == shape.B:
        return rnd.choice([True, False]) if rnd.random() < 0.85 else rnd.choice(SCALARS)
    if schema in (MAP, QMAP):
        return {"k": rnd.choice(["v", 1, 1.5, True, None, []])}
    if schema == shape.INTSTR:
        return rnd.choice(["25%", 1, True, 1.5])
    return rnd.choice(SCALARS)


KINDS = sorted(set(shape.SPEC) | set(shape.TOP) | {"", "widgets"})


@pytest.mark.parametrize("kind", KINDS)
def test_same_answers_as_before(kind):
    rnd = random.Random(kind)
    schema = shape._schema(kind, True)
    for _ in range(400):
        obj = gen(schema, rnd)
        if not isinstance(obj, dict):
            obj = {"spec": obj}
        assert _valid(obj, schema) == _valid_before(obj, schema), obj
        # shape_error: None exactly when the walk passes, else check()'s message
        err = shape.shape_error(kind, obj)
        want = None if _valid_before(obj, shape._schema(kind, "spec" in obj)) else \
            shape.check(obj, shape._schema(kind, "spec" in obj), "")
        assert err == want, obj


@pytest.mark.parametrize("value", SCALARS + [1.0, -0.0, "1"])
@pytest.mark.parametrize("member", [shape.S, shape.I, shape.B, shape.O, MAP, QMAP, shape.INTSTR, [shape.S],
                                    {"a": shape.S}])
def test_each_member_type(member, value):
    schema = {"m": member}
    assert _valid({"m": value}, schema) == _valid_before({"m": value}, schema)
