"""Custom resource schemas: pruning, defaults and validation; the JSONPath subset for columns."""
import copy

import pytest

from labkube.api import jsonpath
from labkube.api.crschema import prune_and_default, validate
from labkube.api.validation.field import Path

SCHEMA = {"type": "object", "properties": {
    "spec": {"type": "object", "required": ["size"], "properties": {
        "size": {"type": "integer", "minimum": 1, "maximum": 10},
        "color": {"type": "string", "enum": ["red", "blue"], "default": "red"},
        "name": {"type": "string", "pattern": "^[a-z]+$", "maxLength": 5},
        "tags": {"type": "object", "additionalProperties": {"type": "string"}},
        "items": {"type": "array", "maxItems": 2, "items": {"type": "object", "properties": {"n": {"type": "integer"}}}},
        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
        "port": {"x-kubernetes-int-or-string": True}}},
    "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}


def _obj(**spec):
    return {"apiVersion": "example.com/v1", "kind": "W", "metadata": {"name": "w"}, "spec": spec}


def test_prune_and_default():
    o = _obj(size=2, junk=1, items=[{"n": 1, "x": 2}], free={"any": {"thing": 1}}, tags={"a": "b"})
    o["extra"] = True
    out = prune_and_default(o, SCHEMA, top=True)
    assert out == {"apiVersion": "example.com/v1", "kind": "W", "metadata": {"name": "w"},
                   "spec": {"size": 2, "items": [{"n": 1}], "free": {"any": {"thing": 1}}, "tags": {"a": "b"},
                            "color": "red"}}


@pytest.mark.parametrize("spec,expected", [
    ({"size": 3}, []),
    ({}, ["spec.size: Required value"]),
    ({"size": 0}, ["spec.size: Invalid value: 0: should be greater than or equal to 1"]),
    ({"size": 11}, ["spec.size: Invalid value: 11: should be less than or equal to 10"]),
    ({"size": "3"}, ['spec.size: Invalid value: "3": must be of type integer']),
    ({"size": True}, ["spec.size: Invalid value: true: must be of type integer"]),
    ({"size": 1, "color": "green"}, ['spec.color: Unsupported value: "green": supported values: "red", "blue"']),
    ({"size": 1, "name": "ABC"}, ['spec.name: Invalid value: "ABC": should match \'^[a-z]+$\'']),
    ({"size": 1, "name": "abcdef"}, ["spec.name: Too long: may not be longer than 5"]),
    ({"size": 1, "items": [{}, {}, {}]}, ["spec.items: Too long: must have at most 2 items"]),
    ({"size": 1, "items": [{"n": "x"}]}, ['spec.items[0].n: Invalid value: "x": must be of type integer']),
    ({"size": 1, "tags": {"a": 1}}, ["spec.tags.a: Invalid value: 1: must be of type string"]),
    ({"size": 1, "port": 80}, []), ({"size": 1, "port": "http"}, []),
    ({"size": 1, "port": [1]}, ["spec.port: Invalid value: [1]: must be an integer or a string"]),
])
def test_validate(spec, expected):
    assert [str(e) for e in validate(_obj(**spec), SCHEMA, Path(""), top=True)] == expected


def test_defaults_are_copied():
    schema = {"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "l": {"type": "array", "default": []}}}}}
    a, b = prune_and_default(_obj(), schema, True), prune_and_default(_obj(), schema, True)
    a["spec"]["l"].append(1)
    assert b["spec"]["l"] == [] and copy.deepcopy(a) == a


OBJ = {"metadata": {"name": "w"}, "spec": {"size": 3, "ok": True, "list": [{"n": 1}, {"n": 2}]},
       "status": {"conditions": [{"type": "Ready", "status": "True"}, {"type": "Synced", "status": "False"}]}}


@pytest.mark.parametrize("path,text", [
    (".spec.size", "3"), (".spec.ok", "true"), (".spec.list[1].n", "2"), (".spec.list[*].n", "1,2"),
    ('.status.conditions[?(@.type=="Ready")].status', "True"), ("{.metadata.name}", "w"),
    (".spec.missing", ""), (".spec.list[9]", ""), ("not a path", ""),
])
def test_jsonpath_cells(path, text):
    assert jsonpath.cell(OBJ, path) == text
