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


def _earlier_takes(forms: dict, method, path, headers, max_body):
    """takes as it was before the shape lookup came first: every (method, path) kept in `forms`,
    its form read by _form."""
    k = (method, path)
    try:
        form = forms[k]
    except KeyError:
        form = forms[k] = fastwrite._form(method, path)
    if form is None:
        return None
    ct = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if ct not in fastwrite.PATCHES if form[0] == "status" else ct != "application/json":
        return None
    if "Expect" in headers or "Transfer-Encoding" in headers:
        return None
    length = headers.get("Content-Length", "")
    if not length.isdigit() or int(length) > max_body:
        return None
    return fastwrite.Write(form[0], form[1], method, path, ct)


HEADERS = [
    {"Content-Type": "application/json", "Content-Length": "9"},
    {"Content-Type": "application/merge-patch+json; charset=utf-8", "Content-Length": "9"},
    {"Content-Type": "application/strategic-merge-patch+json", "Content-Length": "9"},
    {"Content-Type": "application/json-patch+json", "Content-Length": "2000000"},
    {"Content-Type": "application/yaml", "Content-Length": "9"},
    {"Content-Length": "9"},
    {"Content-Type": "application/json", "Content-Length": "9", "Expect": "100-continue"},
    {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
]
METHODS = ["POST", "PATCH", "PUT", "GET"]


def _same(w):
    return None if w is None else (w.kind, w.target.res, w.target.namespace, w.target.name, w.target.sub,
                                   w.method, w.path, w.media_type)


@pytest.mark.parametrize("method", METHODS)
def test_takes_answers_as_the_earlier_takes(method):
    """Every template (and each with the other methods) x every name x every header set, each path
    twice and in two orders (a shape's first path plain or not): the same Write or None as the
    earlier takes, whatever came before; paths their shape answers are not kept per path."""
    earlier: dict = {}
    seen = []
    for order in (NAMES, NAMES[::-1]):
        fastwrite._SHAPES.clear()
        fastwrite._FORMS.clear()
        for _, template in TEMPLATES:
            for name in order:
                path = template.format(name)
                for headers in HEADERS:
                    for _ in range(2):
                        got = fastwrite.takes(method, path, headers, 1 << 20)
                        assert _same(got) == _same(_earlier_takes(earlier, method, path, headers, 1 << 20)), \
                            (method, path, headers)
                        seen.append(got is not None)
        for m, path in fastwrite._FORMS:
            assert fastwrite._shape_hit(m, path) is None, path
    assert any(seen) == (method != "GET")


def test_pod_write_paths_are_not_kept_one_by_one():
    headers = {"Content-Type": "application/merge-patch+json", "Content-Length": "9"}
    for i in range(50):
        assert fastwrite.takes("PATCH", f"/api/v1/namespaces/bench/pods/p{i}/status", headers, 1 << 20) is not None
        assert fastwrite.takes("POST", f"/api/v1/namespaces/bench/pods/p{i}/binding",
                               {"Content-Type": "application/json", "Content-Length": "9"}, 1 << 20) is not None
    # the first of each shape was read in full, but its shape answers it from then on
    assert fastwrite._FORMS == {}
    assert len(fastwrite._SHAPES) == 2


def test_forms_bound(monkeypatch):
    monkeypatch.setattr(fastwrite, "_FORMS_MAX", 3)
    headers = {"Content-Type": "application/json", "Content-Length": "9"}
    for i in range(7):
        assert fastwrite.takes("POST", f"/api/v1/namespaces/n{i}/events", headers, 1 << 20).target.namespace == f"n{i}"
        assert len(fastwrite._FORMS) <= 3
