"""fastwrite._shaped: the form of a write path taken from one read before at a path of the same
shape (the same path but for the object's name) gives what _form reads from the path itself (kind,
resource, namespace, name, subresource), on a table of path templates and names, whichever path of
the shape came first; names that could change the reading, and paths whose form is None, are read
as before."""
import itertools

import pytest

from labkube.apiserver import fastwrite

PLAIN = ["web", "backlog-7d9c8b6f5-x2k4q", "a.b.c", "n_1", "0", "A-b", "status", "binding", "namespaces", "pods",
         "leases", "events"]
ODD = ["", ".", "..", ".hidden", "a?b", "a%2Fb", "a#b", "a\nb", "a b", "-lead", "_lead", "é"]
NAMES = PLAIN + ODD

# (method, path template with {} for the name)
TEMPLATES = [
    ("POST", "/api/v1/namespaces/bench/pods/{}/binding"),
    ("PATCH", "/api/v1/namespaces/bench/pods/{}/status"),
    ("PATCH", "/api/v1/namespaces/other/pods/{}/status"),
    ("PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{}"),
    ("PUT", "/apis/coordination.k8s.io/v1/namespaces/{}"),
    ("PUT", "/apis/coordination.k8s.io/v1/namespaces/{}/leases"),
    ("PUT", "/apis/coordination.k8s.io/v1/namespaces/{}/leases/n1"),
    ("PUT", "/apis/coordination.k8s.io/v1/{}"),
    ("PUT", "/apis/coordination.k8s.io/v1/leases/{}"),
    ("PUT", "/apis/coordination.k8s.io/v2/namespaces/x/leases/{}"),
    ("PUT", "/apis/coordination.k8s.io/v1/namespaces/x/leases/{}/status"),
    ("PUT", "/apis/coordination.k8s.io/v1/namespaces/x/leases/{}/other"),
    ("POST", "/api/v1/namespaces/{}/events"),
    ("POST", "/api/v1/namespaces/default/{}"),
    ("POST", "/api/v1/namespaces/{}/pods/web/binding"),
    ("POST", "/api/v1/{}/binding"),
    ("POST", "/api/v1/namespaces/{}/binding"),
    ("POST", "/api/v1/namespaces/x/{}/binding"),
    ("POST", "/api/v1/namespaces/x/pods/{}/status"),
    ("PATCH", "/api/v1/namespaces/x/pods/{}/binding"),
    ("PATCH", "/api/v1/namespaces/{}/status"),
    ("PATCH", "/api/v1/nodes/{}/status"),
    ("PATCH", "/api/v1/namespaces/x/services/{}/status"),
    ("PATCH", "/apis/apps/v1/namespaces/x/deployments/{}/status"),
    ("POST", "/api/v1/namespaces/x/pods/{}/eviction"),
    ("PATCH", "/api/v1/namespaces/x/pods/{}"),
    ("PATCH", "/api/v1/namespaces/x/pods/{}/status?dryRun=All"),
    ("POST", "/api/v1/namespaces/x/pods/{}/binding/"),
    ("POST", "/api/v1/namespaces/x/pods//{}/binding"),
    ("GET", "/api/v1/namespaces/x/pods/{}/status"),
]


def _plain(form):
    if form is None:
        return None
    kind, t = form
    return kind, t.res, t.namespace, t.name, t.sub


@pytest.fixture(autouse=True)
def fresh_caches(monkeypatch):
    monkeypatch.setattr(fastwrite, "_SHAPES", {})
    monkeypatch.setattr(fastwrite, "_FORMS", {})


@pytest.mark.parametrize("method,template", TEMPLATES, ids=[f"{m} {t}" for m, t in TEMPLATES])
def test_a_shape_read_before_gives_the_form_of_the_path_itself(method, template):
    for first, second in itertools.product(NAMES, NAMES):
        fastwrite._SHAPES.clear()
        for name in (first, second, first):
            path = template.format(name)
            assert _plain(fastwrite._shaped(method, path)) == _plain(fastwrite._form(method, path)), (first, path)


def test_the_shapes_taken_are_direct_writes_named_in_the_names_place():
    """Every shape kept is one where _form finds a direct write whose Target's name is the name
    put in its place; the pod and Lease templates' shapes are among them."""
    for method, template in TEMPLATES:
        for name in NAMES:
            fastwrite._shaped(method, template.format(name))
    for method, head, after in fastwrite._SHAPES:
        form = fastwrite._form(method, head + "/zz" + (f"/{after}" if after else ""))
        assert form is not None and form[1].name == "zz" and form[1].sub == after
    assert {("POST", "/api/v1/namespaces/bench/pods", "binding"), ("PATCH", "/api/v1/namespaces/bench/pods", "status"),
            ("PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", None)} <= set(fastwrite._SHAPES)


def test_a_shape_gives_each_path_its_own_target():
    a = fastwrite._shaped("POST", "/api/v1/namespaces/bench/pods/a/binding")
    b = fastwrite._shaped("POST", "/api/v1/namespaces/bench/pods/b/binding")
    assert (a[1].name, b[1].name) == ("a", "b") and a[1] is not b[1]


@pytest.mark.parametrize("method,path,headers,expected", [
    ("POST", "/api/v1/namespaces/bench/pods/p1/binding", {"Content-Type": "application/json", "Content-Length": "9"},
     ("binding", "p1", "binding")),
    ("PATCH", "/api/v1/namespaces/bench/pods/p1/status",
     {"Content-Type": "application/merge-patch+json", "Content-Length": "9"}, ("status", "p1", "status")),
    ("PUT", "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/n7",
     {"Content-Type": "application/json", "Content-Length": "9"}, ("replace", "n7", None)),
    ("POST", "/api/v1/namespaces/bench/pods/p1/binding", {"Content-Type": "application/yaml", "Content-Length": "9"},
     None),
])
def test_takes_after_a_sibling_path(method, path, headers, expected):
    sibling = path.replace("/p1/", "/p0/").replace("/n7", "/n6")
    fastwrite.takes(method, sibling, headers, 1 << 20)
    w = fastwrite.takes(method, path, headers, 1 << 20)
    assert (None if w is None else (w.kind, w.target.name, w.target.sub)) == expected
    assert len(fastwrite._SHAPES) == 1
