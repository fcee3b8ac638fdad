"""Label and field selectors: parsing and matching, table-driven."""
import pytest

from labkube.api.errors import ApiError
from labkube.api.selectors import FieldSelector, LabelSelector, selector_string

LABELS = {"app": "web", "tier": "fe", "env": ""}


@pytest.mark.parametrize("sel,match", [
    ("", True), ("app=web", True), ("app==web", True), ("app=db", False), ("app!=db", True),
    ("app!=web", False), ("missing!=x", True), ("app in (web,db)", True), ("app in (db)", False),
    ("app notin (db)", True), ("app notin (web)", False), ("tier", True), ("!tier", False),
    ("!missing", True), ("app=web,tier=fe", True), ("app=web,tier=be", False), ("env=", True),
    ("app in (web, db), !missing", True),
])
def test_label_selector(sel, match):
    assert LabelSelector.parse(sel).matches(LABELS) is match


@pytest.mark.parametrize("bad", ["=x", "app in web", "a b", "app=web,,"])
def test_bad_label_selector_is_400(bad):
    with pytest.raises(ApiError) as e:
        LabelSelector.parse(bad)
    assert e.value.code == 400


@pytest.mark.parametrize("spec,labels,match", [
    ({"matchLabels": {"a": "b"}}, {"a": "b", "c": "d"}, True),
    ({"matchLabels": {"a": "b"}}, {"a": "c"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "In", "values": ["x", "y"]}]}, {"a": "y"}, True),
    ({"matchExpressions": [{"key": "a", "operator": "DoesNotExist"}]}, {"a": "y"}, False),
    ({"matchExpressions": [{"key": "a", "operator": "Exists"}]}, {"a": ""}, True),
])
def test_label_selector_spec(spec, labels, match):
    assert LabelSelector.from_spec(spec).matches(labels) is match


def test_selector_string():
    assert selector_string({"matchLabels": {"b": "2", "a": "1"}}) == "a=1,b=2"
    assert selector_string({"matchExpressions": [{"key": "k", "operator": "In", "values": ["y", "x"]}]}) == "k in (x,y)"


POD = {"metadata": {"name": "web", "namespace": "default"}, "spec": {"nodeName": "node-1"},
       "status": {"phase": "Running"}, "involvedObject": {"uid": "u1"}}


@pytest.mark.parametrize("sel,match", [
    ("metadata.name=web", True), ("metadata.name==web", True), ("metadata.name=x", False),
    ("spec.nodeName=node-1", True), ("spec.nodeName!=node-1", False), ("spec.nodeName=", False),
    ("status.phase!=Succeeded,status.phase!=Failed", True), ("status.phase=Running,metadata.namespace=default", True),
    ("involvedObject.uid=u1", True), ("spec.schedulerName=", True),
])
def test_field_selector(sel, match):
    assert FieldSelector.parse(sel).matches(POD) is match


def test_field_selector_rejects_garbage():
    with pytest.raises(ApiError):
        FieldSelector.parse("nonsense")
