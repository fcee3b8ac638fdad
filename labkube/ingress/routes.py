"""The routing table: which Service backend an HTTP request goes to, from the Ingresses' rules.

`RouteTable.build(ingresses)` is pure and `lookup(host, path)` answers with a `Backend` (namespace,
service name, port number or name) or None (404). Matching follows the Ingress spec:

- hosts: an exact host (`foo.com`) before a wildcard (`*.foo.com`, exactly one more label:
  `bar.foo.com`, not `foo.com` nor `baz.bar.foo.com`) before rules without a host (any host);
  the first of these groups with a matching path wins;
- paths: `Exact` matches the path as it is (case-sensitive); `Prefix` matches by elements split
  on `/` (`/foo` matches `/foo`, `/foo/` and `/foo/bar`, not `/foobar`; a trailing slash of
  either side is ignored); `ImplementationSpecific` is treated as `Prefix` here. Within a host
  group the longest path wins, `Exact` before `Prefix` at equal length;
- no rule matches: the `spec.defaultBackend` of the oldest Ingress that has one, else 404.

Equal paths of several Ingresses go to the oldest Ingress (then by namespace/name), as
controllers resolve such conflicts.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Backend:
    namespace: str
    service: str
    port: int | str            # spec port number, or its name

    def __str__(self) -> str:
        return f"{self.namespace}/{self.service}:{self.port}"


@dataclass(frozen=True)
class PathRule:
    path: str
    exact: bool
    backend: Backend

    def matches(self, path: str) -> bool:
        if self.exact:
            return path == self.path
        return prefix_matches(self.path, path)

    def rank(self) -> tuple:
        """Sort key: the longest path first, Exact before Prefix at equal length."""
        return (-len(self.path.rstrip("/")), not self.exact)


def elements(path: str) -> list[str]:
    return [e for e in path.split("/") if e]


def prefix_matches(rule_path: str, path: str) -> bool:
    """Ingress `Prefix` matching: rule_path's elements are the first elements of path."""
    want = elements(rule_path)
    return elements(path)[:len(want)] == want


def normal_host(host: str | None) -> str:
    """The Host header without port, lower-cased, without a trailing dot ("" for none)."""
    host = (host or "").strip().lower()
    if host.startswith("["):                       # [v6]:port
        host = host[1:host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.rstrip(".")


def wildcard_of(host: str) -> str | None:
    """`*.foo.com` for `bar.foo.com`; None when host has fewer than two labels."""
    parts = host.split(".", 1)
    return f"*.{parts[1]}" if len(parts) == 2 and parts[0] and parts[1] else None


def ingress_backend(ns: str, b: dict | None) -> Backend | None:
    svc = (b or {}).get("service") or {}
    port = svc.get("port") or {}
    number, name = port.get("number"), port.get("name")
    if not svc.get("name") or (not number and not name):
        return None
    return Backend(ns, svc["name"], number if number else name)


def age_key(ing: dict) -> tuple:
    md = ing.get("metadata") or {}
    return (md.get("creationTimestamp") or "", md.get("namespace") or "", md.get("name") or "")


@dataclass
class RouteTable:
    hosts: dict[str, list[PathRule]] = field(default_factory=dict)   # "" = rules without a host
    default: Backend | None = None

    @classmethod
    def build(cls, ingresses: list[dict]) -> "RouteTable":
        table = cls()
        for ing in sorted(ingresses, key=age_key):
            ns = (ing.get("metadata") or {}).get("namespace") or "default"
            spec = ing.get("spec") or {}
            if table.default is None:
                table.default = ingress_backend(ns, spec.get("defaultBackend"))
            for rule in spec.get("rules") or []:
                host = (rule.get("host") or "").lower()
                rules = table.hosts.setdefault(host, [])
                for p in (rule.get("http") or {}).get("paths") or []:
                    backend = ingress_backend(ns, p.get("backend"))
                    path = p.get("path") or "/"
                    exact = p.get("pathType") == "Exact"
                    if backend is None or any(r.path == path and r.exact == exact for r in rules):
                        continue                   # an older Ingress has this path already
                    rules.append(PathRule(path, exact, backend))
        for rules in table.hosts.values():
            rules.sort(key=PathRule.rank)          # stable: the older Ingress first among equals
        return table

    def lookup(self, host: str | None, path: str) -> Backend | None:
        host = normal_host(host)
        for key in (host, wildcard_of(host), ""):
            if key is None or (key == host and "*" in host):
                continue
            for rule in self.hosts.get(key) or ():
                if rule.matches(path):
                    return rule.backend
        return self.default

    def backends(self) -> set[Backend]:
        out = {r.backend for rules in self.hosts.values() for r in rules}
        return out | ({self.default} if self.default else set())
