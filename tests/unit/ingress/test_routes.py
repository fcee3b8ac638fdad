"""The routing table: host and path matching per the Ingress spec, table-driven."""
from __future__ import annotations

import pytest

from labkube.ingress.routes import Backend, RouteTable, normal_host, prefix_matches


def ingress(name, rules=(), default=None, created="2026-01-01T00:00:00Z", ns="default"):
    spec = {"rules": [{**({"host": h} if h else {}),
                       "http": {"paths": [{"path": p, "pathType": t,
                                           "backend": {"service": {"name": s, "port": {"number": 80}}}}
                                          for p, t, s in paths]}} for h, paths in rules]}
    if default:
        spec["defaultBackend"] = {"service": {"name": default, "port": {"number": 80}}}
    return {"metadata": {"name": name, "namespace": ns, "creationTimestamp": created}, "spec": spec}


@pytest.mark.parametrize("rule, path, matches", [
    ("/", "/", True),
    ("/", "/anything/at/all", True),
    ("/foo", "/foo", True),
    ("/foo", "/foo/", True),
    ("/foo/", "/foo", True),
    ("/foo", "/foo/bar", True),
    ("/foo", "/foobar", False),
    ("/aaa/bb", "/aaa/bbb", False),
    ("/aaa/bbb", "/aaa/bbb/", True),
    ("/aaa/bbb/", "/aaa/bbb/ccc", True),
    ("/aaa/bbb", "/aaa/bb", False),
    ("/foo", "/Foo", False),
])
def test_prefix_matches_by_path_elements(rule, path, matches):
    assert prefix_matches(rule, path) is matches


@pytest.mark.parametrize("header, host", [
    ("foo.com", "foo.com"), ("Foo.COM:8080", "foo.com"), ("foo.com.", "foo.com"),
    ("10.200.0.11:80", "10.200.0.11"), ("[fd00::1]:80", "fd00::1"), ("", ""), (None, ""),
])
def test_normal_host(header, host):
    assert normal_host(header) == host


COURSE = RouteTable.build([
    ingress("shop", [
        ("foo.com", [("/bar", "Exact", "bar-exact"), ("/bar", "Prefix", "bar-prefix"),
                     ("/bar/baz", "Prefix", "baz"), ("/", "Prefix", "foo-root")]),
        ("*.foo.com", [("/", "Prefix", "wild")]),
        ("only-exact.com", [("/x", "Exact", "x")]),
        ("", [("/any", "Prefix", "anyhost")]),
    ]),
])


@pytest.mark.parametrize("host, path, service", [
    ("foo.com", "/bar", "bar-exact"),             # Exact before Prefix at equal length
    ("foo.com", "/bar/", "bar-prefix"),           # Exact needs the very path
    ("foo.com", "/bar/qux", "bar-prefix"),
    ("foo.com", "/bar/baz/1", "baz"),             # the longest match wins
    ("foo.com", "/barbaz", "foo-root"),           # /bar is not a prefix of /barbaz
    ("FOO.com:80", "/", "foo-root"),              # host matched without case or port
    ("a.foo.com", "/x", "wild"),                  # the wildcard covers one label
    ("b.a.foo.com", "/x", None),                  # ... not two
    ("foo.com", "/any", "foo-root"),              # the exact host's group answers first
    ("only-exact.com", "/any", "anyhost"),        # no match in the host's rules: hostless rules
    ("only-exact.com", "/x", "x"),
    ("only-exact.com", "/y", None),
    ("unknown.org", "/any/thing", "anyhost"),
    ("unknown.org", "/", None),                   # no rule, no default backend: 404
    ("*.foo.com", "/", None),                     # a literal wildcard Host is no host
])
def test_lookup(host, path, service):
    got = COURSE.lookup(host, path)
    assert (got.service if got else None) == service


def test_default_backend_of_the_oldest_ingress_answers_when_no_rule_matches():
    table = RouteTable.build([
        ingress("newer", [("foo.com", [("/", "Prefix", "foo")])], default="newer-default", created="2026-02-01T00:00:00Z"),
        ingress("older", default="older-default", created="2026-01-01T00:00:00Z", ns="team"),
    ])
    assert table.lookup("foo.com", "/x") == Backend("default", "foo", 80)
    assert table.lookup("bar.com", "/x") == Backend("team", "older-default", 80)


def test_a_path_claimed_twice_goes_to_the_older_ingress():
    table = RouteTable.build([
        ingress("b", [("foo.com", [("/", "Prefix", "second")])], created="2026-02-01T00:00:00Z"),
        ingress("a", [("foo.com", [("/", "Prefix", "first")])], created="2026-01-01T00:00:00Z"),
    ])
    assert table.lookup("foo.com", "/").service == "first"


def test_implementation_specific_is_a_prefix_and_a_missing_path_is_the_root():
    ing = {"metadata": {"name": "i", "namespace": "default"}, "spec": {"rules": [{"host": "h", "http": {"paths": [
        {"pathType": "ImplementationSpecific", "backend": {"service": {"name": "s", "port": {"name": "http"}}}}]}}]}}
    table = RouteTable.build([ing])
    assert table.lookup("h", "/deep/path") == Backend("default", "s", "http")


def test_backends_without_a_service_or_port_are_skipped():
    ing = {"metadata": {"name": "i", "namespace": "default"}, "spec": {
        "defaultBackend": {"resource": {"kind": "StorageBucket", "name": "b"}},
        "rules": [{"http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "s"}}}]}}]}}
    table = RouteTable.build([ing])
    assert table.lookup("h", "/") is None and table.backends() == set()
