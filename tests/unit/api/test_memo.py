"""labkube.api.memo and its users: a pod's defaults, validation and spec FieldsV1 kept per spec
text give exactly what the uncached code gives, and what a caller gets is its own to mutate."""
import copy
import datetime

import pytest

from labkube import jsonio
from labkube.api import managedfields
from labkube.api.defaults import pod as pod_defaults
from labkube.api.managedfields import Manager
from labkube.api.memo import JsonMemo, clone, text_of
from labkube.api.validation import pod as pod_validation


class Str(str):
    pass


KEY_CASES = [  # (what, value, keyed: its JSON text stands for it alone)
    ("plain values", {"a": [1, 1.5, True, "x"], "b": {}}, True),
    ("a JSON null", {"a": None}, True),
    ("NaN is written as null", {"a": float("nan")}, False),
    ("Infinity is written as null", {"a": [float("inf")]}, False),
    ("a YAML timestamp would read back as a string", {"a": datetime.date(2026, 12, 2)}, False),
    ("a str subclass would read back as str", {"a": Str("x")}, False),
    ("an integer beyond 64 bits", {"a": 2 ** 70}, False),
    ("a non-string key", {1: "x"}, False),
]


@pytest.mark.parametrize("what,value,keyed", KEY_CASES, ids=[c[0] for c in KEY_CASES])
def test_keys_are_exact(what, value, keyed):
    key = JsonMemo.key(value)
    assert (key is not None) == keyed, what
    if keyed:
        assert jsonio.loads(key) == value


def test_text_of_refuses_what_would_read_back_different():
    assert text_of({"a": [1, None]}) == b'{"a":[1,null]}'
    assert text_of({"a": float("nan")}) is None
    assert text_of({"n": 1234567890123456789}) is None  # jsonio parses such runs with the standard library


def test_least_recently_used_entry_goes_first():
    m = JsonMemo(size=2)
    m.put(b"a", 1)
    m.put(b"b", 2)
    assert m.get(b"a") == 1          # a is now the most recent
    m.put(b"c", 3)                   # evicts b
    assert (m.get(b"a"), m.get(b"b"), m.get(b"c")) == (1, None, 3)
    assert len(m) == 2 and (m.hits, m.misses) == (3, 1)
    m.put(None, 4)                   # no key: nothing kept
    m.put(b"d", None)
    assert len(m) == 2


SPECS = [  # (what, pod spec as a client sends it)
    ("one container", {"containers": [{"name": "c", "image": "busybox:1.36", "command": ["sleep", "3600"],
                                       "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}),
    ("guaranteed, ports, env, probes", {"containers": [{
        "name": "web", "image": "nginx", "ports": [{"containerPort": 80}, {"containerPort": 53, "protocol": "UDP"}],
        "env": [{"name": "N", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}],
        "readinessProbe": {"httpGet": {"port": 80}},
        "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}]}),
    ("init container, volumes, own tolerations", {
        "initContainers": [{"name": "i", "image": "busybox@sha256:" + "ab12" * 16}],
        "containers": [{"name": "c", "image": "busybox:latest", "volumeMounts": [{"name": "v", "mountPath": "/v"}]}],
        "volumes": [{"name": "v", "emptyDir": None}, {"name": "cm", "configMap": {"name": "x"}}],
        "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists"}],
        "restartPolicy": "Never", "securityContext": None}),
]


def _pod(spec: dict) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": copy.deepcopy(spec), "status": {}}


def _uncached_defaults(spec: dict) -> dict:
    pod = _pod(spec)
    pod_defaults._default_pod_spec(pod["spec"])
    pod["status"] = {"phase": "Pending", "qosClass": pod_defaults.qos_class(pod["spec"])}
    return pod


@pytest.mark.parametrize("what,spec", SPECS, ids=[c[0] for c in SPECS])
def test_pod_defaults_from_the_memo_equal_the_uncached_ones(what, spec):
    pod_defaults.SPEC_MEMO.clear()
    want = _uncached_defaults(spec)
    first, second = _pod(spec), _pod(spec)
    pod_defaults.default_pod(first)              # computed (and kept)
    pod_defaults.default_pod(second)             # from the memo
    assert pod_defaults.SPEC_MEMO.hits == 1, what
    for got in (first, second):
        assert jsonio.dumps(got) == jsonio.dumps(want), what   # same values in the same key order
    second["spec"]["containers"][0]["image"] = "changed"       # the caller's own copy
    second["spec"]["tolerations"].clear()
    third = _pod(spec)
    pod_defaults.default_pod(third)
    assert jsonio.dumps(third) == jsonio.dumps(want)



@pytest.mark.parametrize("what,spec", SPECS, ids=[c[0] for c in SPECS])
def test_pod_defaults_without_the_memo_equal_the_memo_ones_and_leave_it_alone(what, spec):
    """A status write defaults the stored spec with memo=False: the same pod, nothing looked up or kept."""
    pod_defaults.SPEC_MEMO.clear()
    want = _uncached_defaults(spec)
    stored = _pod(spec)
    pod_defaults.default_pod(stored)              # as on create: computed and kept
    stored["spec"]["nodeName"] = "n1"             # as the binding leaves it: a spec the memo has not seen
    pod_defaults.SPEC_MEMO.hits = pod_defaults.SPEC_MEMO.misses = 0
    for memo in (True, False):
        got = copy.deepcopy(stored)
        got["status"] = {"phase": "Running"}
        pod_defaults.default_pod(got, memo=memo)
        expect = copy.deepcopy(want)
        expect["spec"]["nodeName"] = "n1"
        expect["status"] = {"phase": "Running", "qosClass": want["status"]["qosClass"]}
        assert jsonio.dumps(got) == jsonio.dumps(expect), (what, memo)
    assert (pod_defaults.SPEC_MEMO.hits, pod_defaults.SPEC_MEMO.misses, len(pod_defaults.SPEC_MEMO)) == (0, 1, 2)

def test_default_tolerations_are_not_shared_between_pods():
    pod_defaults.SPEC_MEMO.clear()
    a, b = _pod({"containers": [{"name": "c", "image": "x", "x": float("nan")}]}), _pod({"containers": []})
    pod_defaults.default_pod(a)                   # NaN: not kept, defaulted in place
    pod_defaults.default_pod(b)
    a["spec"]["tolerations"][0]["tolerationSeconds"] = 1
    assert b["spec"]["tolerations"][0]["tolerationSeconds"] == 300
    assert pod_defaults._NOT_READY[0]["tolerationSeconds"] == 300


def test_only_specs_that_passed_validation_are_remembered():
    pod_validation.VALID_SPECS.clear()
    good = _uncached_defaults(SPECS[0][1])
    bad = copy.deepcopy(good)
    del bad["spec"]["containers"][0]["image"]
    for _ in range(2):
        assert pod_validation.validate_pod(good) == []
        assert [str(e) for e in pod_validation.validate_pod(bad)] == ["spec.containers[0].image: Required value"]
    assert len(pod_validation.VALID_SPECS) == 1 and pod_validation.VALID_SPECS.hits == 1


@pytest.mark.parametrize("what,spec", SPECS, ids=[c[0] for c in SPECS])
def test_created_managed_fields_from_the_memo_equal_the_uncached_ones(what, spec, monkeypatch):
    pod = _uncached_defaults(spec)
    m = Manager(name="kubectl-create", operation="Update")
    monkeypatch.setattr(managedfields, "_spec_trie", lambda s: managedfields._trie(s, "spec"))
    want = managedfields.fields_v1_of(pod, False)
    monkeypatch.undo()
    managedfields.SPEC_TRIES.clear()
    first = managedfields.created(pod, m, "v1", True)
    second = managedfields.created(pod, m, "v1", True)
    assert managedfields.SPEC_TRIES.hits == 1
    for got in (first, second):
        assert jsonio.dumps(got[0]["fieldsV1"]) == jsonio.dumps(want), what
    second[0]["fieldsV1"]["f:spec"].clear()       # the caller's own copy
    assert managedfields.created(pod, m, "v1", True)[0]["fieldsV1"] == want


CLONE_CASES = [  # (what, value): clone gives an equal value that shares nothing with it
    ("a pod-like object", {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "ports": [{"n": 1}]}]}}),
    ("NaN: copy.deepcopy", {"a": [float("nan")], "b": {"c": 1}}),
    ("a date (YAML): copy.deepcopy", {"a": datetime.date(2026, 12, 2), "b": {"c": [1]}}),
    ("an integer beyond 64 bits", {"n": 2 ** 70, "b": {"c": [1]}}),
]


@pytest.mark.parametrize("what,value", CLONE_CASES, ids=[c[0] for c in CLONE_CASES])
def test_clone_is_a_deep_copy(what, value):
    out = clone(value)
    assert repr(out) == repr(value), what          # equal, NaN and types included
    out["b" if "b" in out else "spec"].clear()
    assert value.get("b") or value.get("spec"), what   # the original is untouched
