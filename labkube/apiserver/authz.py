"""RBAC authorization as Kubernetes does it: request attributes, rule matching, and the
authorizer that answers from Roles, ClusterRoles and their bindings.

`Attributes` is what a request asks (user, groups, verb, API group, resource, subresource,
namespace, name - or a non-resource path), derived from the URL as the Kubernetes apiserver
derives its RequestInfo (`attributes`). `Rule` is one compiled PolicyRule. `RbacIndex` holds
the RBAC objects (fed by `rbaccache.RbacCache` from the apiserver's own store through a watch)
and answers `authorize(attrs)` with (allowed, reason) and `rules_for(...)` (what a subject may
do in a namespace, for SelfSubjectRulesReview). Members of `system:masters` are allowed
everything before any rule is looked at (`MASTERS`), as Kubernetes' privileged-group authorizer.

A request RBAC does not allow is answered with `forbidden(attrs)`: Kubernetes' 403 Status with
its message shape (`pods is forbidden: User "u" cannot create resource "pods" in API group ""
in the namespace "dev"`).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..api import errors
from ..api.selectors import LabelSelector

MASTERS = "system:masters"
SA_PREFIX = "system:serviceaccount:"
_METHOD_VERBS = {"GET": "get", "HEAD": "get", "POST": "create", "PUT": "update", "PATCH": "patch",
                 "DELETE": "delete"}
_NAMESPACE_SUBRESOURCES = ("status", "finalize")
# streaming subresources are authorized as "create" whatever the method (their websocket or SPDY
# upgrade is a GET), as Kubernetes 1.31 does for websocket upgrades
_CREATE_SUBRESOURCES = ("exec", "attach", "portforward")


@dataclass(frozen=True, slots=True)
class Attributes:
    """One authorization question. resource_request False: `path` is a non-resource URL."""
    user: str
    groups: tuple[str, ...]
    verb: str
    resource_request: bool = True
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""


def attributes(user: str, groups: tuple[str, ...], method: str, path: str, watch: bool = False) -> Attributes:
    """The attributes of an HTTP request, with the Kubernetes apiserver's RequestInfo rules:
    /api/v1/... and /apis/<group>/<version>/... are resource requests (a GET of a collection is
    list, or watch with ?watch=true or the /watch/ prefix; DELETE of a collection is
    deletecollection); /api/v1/namespaces/<ns> names the namespace <ns> itself; every other
    path (discovery, /openapi, /healthz...) is a non-resource request."""
    verb = _METHOD_VERBS.get(method, method.lower())
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        group, version, rest = "", parts[1], parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        group, version, rest = parts[1], parts[2], parts[3:]
    else:
        return Attributes(user, groups, verb, False, path=path)
    if rest[0] == "watch":
        watch, rest = True, rest[1:]
        if not rest:
            return Attributes(user, groups, verb, False, path=path)
    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in _NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    if not name:
        if verb == "get":
            verb = "watch" if watch else "list"
        elif verb == "delete":
            verb = "deletecollection"
    elif sub in _CREATE_SUBRESOURCES:
        verb = "create"
    elif watch and verb == "get":
        verb = "watch"
    return Attributes(user, groups, verb, True, group, version, resource, sub, namespace, name)


class Rule:
    """One PolicyRule, matched as Kubernetes' RuleAllows does."""
    __slots__ = ("verbs", "groups", "resources", "names", "urls", "raw")

    def __init__(self, raw: dict):
        self.raw = raw
        self.verbs = frozenset(raw.get("verbs") or ())
        self.groups = frozenset(raw.get("apiGroups") or ())
        self.resources = frozenset(raw.get("resources") or ())
        self.names = frozenset(raw.get("resourceNames") or ())
        self.urls = tuple(raw.get("nonResourceURLs") or ())

    def allows(self, a: Attributes) -> bool:
        if a.verb not in self.verbs and "*" not in self.verbs:
            return False
        if not a.resource_request:
            return any(u == "*" or u == a.path or (u.endswith("*") and a.path.startswith(u[:-1])) for u in self.urls)
        if a.api_group not in self.groups and "*" not in self.groups:
            return False
        res = self.resources
        if a.subresource:
            combined = a.resource + "/" + a.subresource
            if combined not in res and "*" not in res and "*/" + a.subresource not in res:
                return False
        elif a.resource not in res and "*" not in res:
            return False
        return not self.names or a.name in self.names


def forbidden(a: Attributes, reason: str = "") -> errors.ApiError:
    """Kubernetes' 403 for a request RBAC does not allow (responsewriters.Forbidden)."""
    if not a.resource_request:
        msg = f'User "{a.user}" cannot {a.verb} path "{a.path}"'
    else:
        res = a.resource + ("/" + a.subresource if a.subresource else "")
        where = f'in the namespace "{a.namespace}"' if a.namespace else "at the cluster scope"
        msg = f'User "{a.user}" cannot {a.verb} resource "{res}" in API group "{a.api_group}" {where}'
    if reason:
        msg = f"{msg}: {reason}"
    if not a.resource_request or not a.resource:
        return errors.ApiError(403, "Forbidden", f"forbidden: {msg}", {})
    qualified = f"{a.resource}.{a.api_group}" if a.api_group else a.resource
    head = f'{qualified} "{a.name}" is forbidden' if a.name else f"{qualified} is forbidden"
    details = {"name": a.name, "kind": a.resource} if a.name else {"kind": a.resource}
    if a.api_group:
        details["group"] = a.api_group
    return errors.ApiError(403, "Forbidden", f"{head}: {msg}", details)


def service_account_user(namespace: str, name: str) -> str:
    return f"{SA_PREFIX}{namespace}:{name}"


def service_account_groups(namespace: str) -> tuple[str, str]:
    return ("system:serviceaccounts", f"system:serviceaccounts:{namespace}")


def _describe_subject(s: dict, binding_ns: str) -> str:
    if s.get("kind") == "ServiceAccount":
        return f'ServiceAccount "{s.get("name")}/{s.get("namespace") or binding_ns}"'
    return f'{s.get("kind")} "{s.get("name")}"'


@dataclass(frozen=True, slots=True)
class _Grant:
    """A binding's grant to one subject: which role, where (namespace "" = cluster-wide)."""
    namespace: str
    role_kind: str
    role_name: str
    source: str      # how Kubernetes names it in an "allowed by" reason


class RbacIndex:
    """The RBAC objects and, derived from them, who is granted what. Every change bumps
    `generation` and drops the derived tables; they are rebuilt on the next question."""

    def __init__(self):
        self.roles: dict[tuple[str, str], dict] = {}          # (namespace, name) -> Role
        self.cluster_roles: dict[str, dict] = {}
        self.role_bindings: dict[tuple[str, str], dict] = {}
        self.cluster_role_bindings: dict[str, dict] = {}
        self.generation = 0
        self._by_user: dict[str, list[_Grant]] | None = None
        self._by_group: dict[str, list[_Grant]] = {}
        self._rules_memo: dict[tuple, tuple] = {}
        self._role_rules: dict[tuple[str, str, str], tuple[Rule, ...]] = {}   # (kind, namespace, name)

    # -- changes ----------------------------------------------------------------------------
    def put(self, resource: str, namespace: str, name: str, obj: dict | None) -> None:
        """Store (obj) or forget (None) one Role/ClusterRole/RoleBinding/ClusterRoleBinding."""
        table, k = {"roles": (self.roles, (namespace, name)),
                    "clusterroles": (self.cluster_roles, name),
                    "rolebindings": (self.role_bindings, (namespace, name)),
                    "clusterrolebindings": (self.cluster_role_bindings, name)}[resource]
        if obj is None:
            table.pop(k, None)
        else:
            table[k] = obj
        self.changed()

    def changed(self) -> None:
        self.generation += 1
        self._by_user = None
        self._by_group = {}
        self._rules_memo.clear()
        self._role_rules.clear()

    def _index(self) -> None:
        by_user: dict[str, list[_Grant]] = {}
        by_group: dict[str, list[_Grant]] = {}
        bindings = [("ClusterRoleBinding", "", b) for b in self.cluster_role_bindings.values()] + \
                   [("RoleBinding", ns, b) for (ns, _), b in self.role_bindings.items()]
        for kind, ns, b in bindings:
            ref = b.get("roleRef") or {}
            bname = (b.get("metadata") or {}).get("name", "")
            for s in b.get("subjects") or []:
                if not isinstance(s, dict):
                    continue
                sk = s.get("kind")
                if sk == "ServiceAccount":
                    sa_ns = s.get("namespace") or ns
                    if not sa_ns:
                        continue
                    table, key = by_user, service_account_user(sa_ns, s.get("name", ""))
                elif sk in ("User", "Group"):
                    table, key = (by_user if sk == "User" else by_group), s.get("name", "")
                else:
                    continue
                described = f'{bname}/{ns}' if ns else bname
                source = (f'{kind} "{described}" of {ref.get("kind")} "{ref.get("name")}" to '
                          f'{_describe_subject(s, ns)}')
                table.setdefault(key, []).append(_Grant(ns, ref.get("kind", ""), ref.get("name", ""), source))
        self._by_user, self._by_group = by_user, by_group

    # -- roles ------------------------------------------------------------------------------
    def role_rules(self, kind: str, namespace: str, name: str) -> tuple[Rule, ...]:
        """The compiled rules of a Role (namespace, name) or ClusterRole (name); a ClusterRole
        with an aggregationRule has the rules of every ClusterRole its selectors match."""
        if kind not in ("Role", "ClusterRole"):
            return ()
        k = (kind, namespace if kind == "Role" else "", name)
        hit = self._role_rules.get(k)
        if hit is not None:
            return hit
        if kind == "Role":
            raw = (self.roles.get((namespace, name)) or {}).get("rules") or []
        else:
            raw = self.cluster_role_raw_rules(name)
        rules = self._role_rules[k] = tuple(Rule(r) for r in raw if isinstance(r, dict))
        return rules

    def cluster_role_raw_rules(self, name: str, seen: frozenset = frozenset()) -> list[dict]:
        """A ClusterRole's rules as dicts (aggregated ones from the roles their selectors match)."""
        role = self.cluster_roles.get(name)
        if role is None:
            return []
        agg = role.get("aggregationRule")
        if not isinstance(agg, dict):
            return [r for r in role.get("rules") or [] if isinstance(r, dict)]
        selectors = [LabelSelector.from_spec(s) for s in agg.get("clusterRoleSelectors") or [] if isinstance(s, dict)]
        out: list[dict] = []
        seen = seen | {name}
        for other in sorted(self.cluster_roles):
            if other in seen:
                continue
            labels = (self.cluster_roles[other].get("metadata") or {}).get("labels") or {}
            if any(not sel.empty() and sel.matches(labels) for sel in selectors):
                for r in self.cluster_role_raw_rules(other, seen):
                    if r not in out:
                        out.append(r)
        return out

    # -- questions --------------------------------------------------------------------------
    def grants(self, user: str, groups: tuple[str, ...]) -> list[_Grant]:
        if self._by_user is None:
            self._index()
        out = list(self._by_user.get(user, ()))
        for g in groups:
            out.extend(self._by_group.get(g, ()))
        return out

    def rules_for(self, user: str, groups: tuple[str, ...], namespace: str) -> tuple[tuple[Rule, str], ...]:
        """(rule, source) pairs that apply to the subject in `namespace` ("" = cluster-wide only):
        its ClusterRoleBindings' roles, then its RoleBindings' roles in that namespace."""
        key = (user, groups, namespace)
        hit = self._rules_memo.get(key)
        if hit is not None:
            return hit
        out = []
        for g in self.grants(user, groups):
            if g.namespace and g.namespace != namespace:
                continue
            if g.role_kind == "Role" and not g.namespace:
                continue  # a ClusterRoleBinding cannot refer to a Role
            for r in self.role_rules(g.role_kind, g.namespace, g.role_name):
                out.append((r, g.source))
        # cluster-wide grants first, as Kubernetes visits them
        out.sort(key=lambda rs: not rs[1].startswith("ClusterRoleBinding"))
        result = tuple(out)
        if len(self._rules_memo) > 4096:
            self._rules_memo.clear()
        self._rules_memo[key] = result
        return result

    def authorize(self, a: Attributes) -> tuple[bool, str]:
        """(allowed, reason); system:masters are allowed without a reason, as upstream."""
        if MASTERS in a.groups:
            return True, ""
        ns = a.namespace if a.resource_request else ""
        for rule, source in self.rules_for(a.user, a.groups, ns):
            if rule.allows(a):
                return True, f"RBAC: allowed by {source}"
        return False, ""
