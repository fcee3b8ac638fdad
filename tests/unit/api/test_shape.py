"""labkube.api.shape: decoder-style type errors, and the fast walk that agrees with them."""
import pytest

from labkube.api import shape

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "x"}},
       "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "1"],
                                "resources": {"requests": {"cpu": "10m", "memory": 16}}}]}}


def _with(path: list, value) -> dict:
    """A copy of POD with the value at path (keys and list indexes) replaced."""
    import copy
    obj = copy.deepcopy(POD)
    node = obj
    for p in path[:-1]:
        node = node[p]
    node[path[-1]] = value
    return obj


CASES = [
    ("well typed", POD, None),
    ("nulls mean unset", _with(["spec", "containers", 0, "image"], None), None),
    ("containers not a list", _with(["spec", "containers"], "c"),
     "json: cannot unmarshal string into Go struct field spec.containers of type []object"),
    ("image a number", _with(["spec", "containers", 0, "image"], 5),
     "json: cannot unmarshal number into Go struct field spec.containers[0].image of type string"),
    ("label value a bool", _with(["metadata", "labels"], {"app": True}),
     "json: cannot unmarshal bool into Go struct field metadata.labels[app] of type string"),
    ("quantity a bool", _with(["spec", "containers", 0, "resources", "requests", "cpu"], True),
     "json: cannot unmarshal bool into Go struct field spec.containers[0].resources.requests[cpu] of type string"),
    ("command item a list", _with(["spec", "containers", 0, "command"], ["sleep", [1]]),
     "json: cannot unmarshal array into Go struct field spec.containers[0].command[1] of type string"),
    ("unknown fields are not typed", _with(["spec", "whatever"], 5), None),
    ("first error in schema order", _with(["metadata"], {"namespace": 1, "name": 2}),
     "json: cannot unmarshal number into Go struct field metadata.name of type string"),
]


@pytest.mark.parametrize("name,obj,want", CASES, ids=[c[0] for c in CASES])
def test_shape_error(name, obj, want):
    assert shape.shape_error("pods", obj) == want


@pytest.mark.parametrize("name,obj,want", CASES, ids=[c[0] for c in CASES])
def test_fast_walk_agrees_with_the_checker(name, obj, want):
    schema = shape._schema("pods", True)
    assert shape._valid(obj, schema) is (shape.check(obj, schema, "") is None)


def test_a_non_object_body():
    assert shape.shape_error("pods", [1]) == "json: cannot unmarshal array into Go value of type object"


@pytest.mark.parametrize("name,obj,want", CASES, ids=[c[0] for c in CASES])
def test_remembered_specs_give_the_same_answer(name, obj, want):
    shape.WELL_TYPED_SPECS.clear()
    first = shape.shape_error("pods", obj)
    second = shape.shape_error("pods", obj)     # a well-typed spec: from the memo
    assert first == second == want
    remembered = len(shape.WELL_TYPED_SPECS.get("pods") or [])
    assert remembered == (1 if want is None else 0)   # only specs that passed are kept


def test_a_remembered_spec_does_not_hide_errors_elsewhere():
    shape.WELL_TYPED_SPECS.clear()
    spec = {"containers": [{"name": "c", "image": "x"}]}
    assert shape.shape_error("pods", {"metadata": {"name": "a"}, "spec": spec}) is None
    assert shape.shape_error("pods", {"metadata": {"name": 1}, "spec": spec}) == \
        "json: cannot unmarshal number into Go struct field metadata.name of type string"


def test_small_specs_that_change_on_every_write_are_not_remembered():
    shape.WELL_TYPED_SPECS.clear()
    assert shape.shape_error("leases", {"metadata": {"name": "n"}, "spec": {"renewTime": "2026-12-02T01:00:00Z"}}) is None
    assert shape.shape_error("leases", {"metadata": {"name": "n"}, "spec": {"holderIdentity": 1}}) == \
        "json: cannot unmarshal number into Go struct field spec.holderIdentity of type string"
    assert "leases" not in shape.WELL_TYPED_SPECS


@pytest.mark.parametrize("case, obj, spec_kept, wrong", [
    ("a kept spec is not walked", {"spec": {"containers": "not a list"}, "status": {"phase": "Running"}}, True, False),
    ("a spec not kept is", {"spec": {"containers": "not a list"}, "status": {"phase": "Running"}}, False, True),
    ("the rest still is", {"spec": {"containers": []}, "metadata": {"labels": "not a map"}}, True, True),
])
def test_a_kept_spec_skips_only_the_specs_type_check(case, obj, spec_kept, wrong):
    assert (shape.shape_error("pods", obj, spec_kept) is not None) == wrong, case
