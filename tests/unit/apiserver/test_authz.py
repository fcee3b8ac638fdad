"""RBAC as the apiserver enforces it (labkube.apiserver.authz): request attributes from URLs,
PolicyRule matching, which bindings apply to whom and where, aggregated ClusterRoles, and the
403 message Kubernetes prints."""
import pytest

from labkube.apiserver.authz import Attributes, RbacIndex, Rule, attributes, forbidden

U, G = "jane", ("devs", "system:authenticated")


@pytest.mark.parametrize("method,path,watch,want", [
    ("GET", "/api/v1/namespaces/dev/pods", False, ("list", "", "pods", "", "dev", "")),
    ("GET", "/api/v1/namespaces/dev/pods", True, ("watch", "", "pods", "", "dev", "")),
    ("GET", "/api/v1/watch/namespaces/dev/pods", False, ("watch", "", "pods", "", "dev", "")),
    ("GET", "/api/v1/namespaces/dev/pods/web", False, ("get", "", "pods", "", "dev", "web")),
    ("GET", "/api/v1/namespaces/dev/pods/web/log", False, ("get", "", "pods", "log", "dev", "web")),
    ("POST", "/api/v1/namespaces/dev/pods/web/exec", False, ("create", "", "pods", "exec", "dev", "web")),
    ("GET", "/api/v1/namespaces/dev/pods/web/exec", False, ("create", "", "pods", "exec", "dev", "web")),
    ("POST", "/api/v1/namespaces/dev/pods", False, ("create", "", "pods", "", "dev", "")),
    ("PUT", "/api/v1/namespaces/dev/pods/web/status", False, ("update", "", "pods", "status", "dev", "web")),
    ("PATCH", "/apis/apps/v1/namespaces/dev/deployments/web/scale", False,
     ("patch", "apps", "deployments", "scale", "dev", "web")),
    ("DELETE", "/api/v1/namespaces/dev/pods/web", False, ("delete", "", "pods", "", "dev", "web")),
    ("DELETE", "/api/v1/namespaces/dev/pods", False, ("deletecollection", "", "pods", "", "dev", "")),
    ("GET", "/api/v1/nodes", False, ("list", "", "nodes", "", "", "")),
    ("GET", "/api/v1/namespaces", False, ("list", "", "namespaces", "", "", "")),
    # a namespace is in itself: a RoleBinding in "dev" can grant `get namespaces` for "dev"
    ("GET", "/api/v1/namespaces/dev", False, ("get", "", "namespaces", "", "dev", "dev")),
    ("PUT", "/api/v1/namespaces/dev/finalize", False, ("update", "", "namespaces", "finalize", "dev", "dev")),
    ("POST", "/api/v1/namespaces/dev/serviceaccounts/sa/token", False,
     ("create", "", "serviceaccounts", "token", "dev", "sa")),
    ("GET", "/apis/rbac.authorization.k8s.io/v1/clusterroles/view", False,
     ("get", "rbac.authorization.k8s.io", "clusterroles", "", "", "view")),
])
def test_resource_request_attributes(method, path, watch, want):
    a = attributes(U, G, method, path, watch)
    assert a.resource_request
    assert (a.verb, a.api_group, a.resource, a.subresource, a.namespace, a.name) == want


@pytest.mark.parametrize("path", ["/api", "/api/v1", "/apis", "/apis/apps", "/apis/apps/v1", "/openapi/v3",
                                  "/metrics", "/logs/x"])
def test_non_resource_requests(path):
    a = attributes(U, G, "GET", path)
    assert not a.resource_request and a.path == path and a.verb == "get"


def res(verb, resource, group="", sub="", ns="dev", name=""):
    return Attributes(U, G, verb, True, group, "v1", resource, sub, ns, name)


def url(verb, path):
    return Attributes(U, G, verb, False, path=path)


@pytest.mark.parametrize("rule,request_,allowed", [
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, res("get", "pods"), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, res("list", "pods"), False),
    ({"verbs": ["*"], "apiGroups": [""], "resources": ["pods"]}, res("delete", "pods"), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, res("get", "deployments", "apps"), False),
    ({"verbs": ["get"], "apiGroups": ["*"], "resources": ["deployments"]}, res("get", "deployments", "apps"), True),
    ({"verbs": ["get"], "apiGroups": ["apps"], "resources": ["*"]}, res("get", "replicasets", "apps"), True),
    # subresources are separate resources: pods does not give pods/log, nor the other way round
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, res("get", "pods", sub="log"), False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]}, res("get", "pods", sub="log"), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/log"]}, res("get", "pods"), False),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["*/log"]}, res("get", "pods", sub="log"), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["*"]}, res("get", "pods", sub="log"), True),
    ({"verbs": ["get"], "apiGroups": [""], "resources": ["*/status"]}, res("get", "pods", sub="log"), False),
    # resourceNames limit to the named objects (a list has no name: not allowed)
    ({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"]},
     res("get", "configmaps", name="a"), True),
    ({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"]},
     res("get", "configmaps", name="b"), False),
    ({"verbs": ["get", "list"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["a"]},
     res("list", "configmaps"), False),
    # nonResourceURLs: exact, a trailing * as prefix, "*"; never for resource requests
    ({"verbs": ["get"], "nonResourceURLs": ["/healthz"]}, url("get", "/healthz"), True),
    ({"verbs": ["get"], "nonResourceURLs": ["/healthz"]}, url("get", "/healthz/etcd"), False),
    ({"verbs": ["get"], "nonResourceURLs": ["/healthz/*"]}, url("get", "/healthz/etcd"), True),
    ({"verbs": ["get"], "nonResourceURLs": ["*"]}, url("get", "/metrics"), True),
    ({"verbs": ["get"], "nonResourceURLs": ["/metrics"]}, url("post", "/metrics"), False),
    ({"verbs": ["get"], "nonResourceURLs": ["*"]}, res("get", "pods"), False),
    ({"verbs": ["get"], "apiGroups": ["*"], "resources": ["*"]}, url("get", "/metrics"), False),
])
def test_rule_matching(rule, request_, allowed):
    assert Rule(rule).allows(request_) is allowed


def _index(*objs) -> RbacIndex:
    ix = RbacIndex()
    plural = {"Role": "roles", "ClusterRole": "clusterroles", "RoleBinding": "rolebindings",
              "ClusterRoleBinding": "clusterrolebindings"}
    for o in objs:
        md = o["metadata"]
        ix.put(plural[o["kind"]], md.get("namespace", ""), md["name"], o)
    return ix


def role(name, rules, ns=None, labels=None, aggregate=None):
    md = {"name": name, **({"namespace": ns} if ns else {}), **({"labels": labels} if labels else {})}
    o = {"kind": "Role" if ns else "ClusterRole", "metadata": md, "rules": rules}
    if aggregate:
        o["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": aggregate}]}
    return o


def binding(name, ref_kind, ref_name, subjects, ns=None):
    return {"kind": "RoleBinding" if ns else "ClusterRoleBinding",
            "metadata": {"name": name, **({"namespace": ns} if ns else {})},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": ref_kind, "name": ref_name},
            "subjects": [dict(zip(("kind", "name", "namespace"), s)) for s in subjects]}


READ_PODS = [{"verbs": ["get", "list"], "apiGroups": [""], "resources": ["pods"]}]
WORLD = _index(
    role("pod-reader", READ_PODS, ns="dev"),
    role("pod-reader", READ_PODS),
    role("secret-admin", [{"verbs": ["*"], "apiGroups": [""], "resources": ["secrets"]}]),
    binding("jane-reads", "Role", "pod-reader", [("User", "jane")], ns="dev"),
    binding("devs-read", "ClusterRole", "pod-reader", [("Group", "devs")], ns="qa"),
    binding("sa-reads", "Role", "pod-reader", [("ServiceAccount", "reader", "dev")], ns="dev"),
    binding("sa-local", "ClusterRole", "pod-reader", [("ServiceAccount", "bot")], ns="ops"),  # namespace defaulted
    binding("ops-secrets", "ClusterRole", "secret-admin", [("Group", "ops")]),
    binding("bad", "Role", "pod-reader", [("User", "mallory")]),  # a ClusterRoleBinding cannot use a Role
)


@pytest.mark.parametrize("user,groups,verb,resource,ns,allowed", [
    ("jane", (), "list", "pods", "dev", True),        # her RoleBinding in dev
    ("jane", (), "list", "pods", "qa", False),        # ... only in dev
    ("jane", (), "list", "pods", "", False),          # ... not cluster-wide
    ("jane", (), "create", "pods", "dev", False),
    ("bob", ("devs",), "get", "pods", "qa", True),    # a ClusterRole bound in one namespace
    ("bob", ("devs",), "get", "pods", "dev", False),
    ("bob", (), "get", "pods", "qa", False),          # not in the group
    ("system:serviceaccount:dev:reader", (), "get", "pods", "dev", True),
    ("system:serviceaccount:qa:reader", (), "get", "pods", "dev", False),
    ("system:serviceaccount:ops:bot", (), "get", "pods", "ops", True),
    ("eve", ("ops",), "delete", "secrets", "anywhere", True),   # ClusterRoleBinding: every namespace
    ("eve", ("ops",), "list", "secrets", "", True),             # and cluster-wide
    ("mallory", (), "get", "pods", "dev", False),
    ("root", ("system:masters",), "delete", "nodes", "", True),  # no rule needed
])
def test_bindings(user, groups, verb, resource, ns, allowed):
    a = Attributes(user, groups, verb, True, "", "v1", resource, "", ns, "")
    assert WORLD.authorize(a)[0] is allowed


def test_allowed_reason_names_binding_role_and_subject():
    a = Attributes("system:serviceaccount:dev:reader", (), "get", True, "", "v1", "pods", "", "dev", "")
    assert WORLD.authorize(a) == (True, 'RBAC: allowed by RoleBinding "sa-reads/dev" of Role "pod-reader" to '
                                        'ServiceAccount "reader/dev"')
    a = Attributes("eve", ("ops",), "get", True, "", "v1", "secrets", "", "x", "")
    assert WORLD.authorize(a) == (True, 'RBAC: allowed by ClusterRoleBinding "ops-secrets" of ClusterRole '
                                        '"secret-admin" to Group "ops"')


def test_changes_take_effect_and_deleted_bindings_stop_granting():
    ix = _index(role("pod-reader", READ_PODS, ns="dev"))
    a = Attributes("jane", (), "get", True, "", "v1", "pods", "", "dev", "")
    assert not ix.authorize(a)[0]
    ix.put("rolebindings", "dev", "rb", binding("rb", "Role", "pod-reader", [("User", "jane")], ns="dev"))
    assert ix.authorize(a)[0]
    ix.put("roles", "dev", "pod-reader", role("pod-reader", [], ns="dev"))   # rules emptied
    assert not ix.authorize(a)[0]
    ix.put("roles", "dev", "pod-reader", role("pod-reader", READ_PODS, ns="dev"))
    ix.put("rolebindings", "dev", "rb", None)
    assert not ix.authorize(a)[0]


def test_aggregated_cluster_roles_follow_their_selectors():
    agg = "rbac.authorization.k8s.io/aggregate-to-"
    ix = _index(
        role("admin", [], aggregate={agg + "admin": "true"}),
        role("edit", [], labels={agg + "admin": "true"}, aggregate={agg + "edit": "true"}),
        role("view", [], labels={agg + "edit": "true"}, aggregate={agg + "view": "true"}),
        role("to-view", READ_PODS, labels={agg + "view": "true"}),
        role("to-edit", [{"verbs": ["create"], "apiGroups": [""], "resources": ["pods"]}], labels={agg + "edit": "true"}),
        binding("v", "ClusterRole", "view", [("User", "viewer")]),
        binding("a", "ClusterRole", "admin", [("User", "boss")]))
    get = Attributes("viewer", (), "get", True, "", "v1", "pods", "", "dev", "")
    create = Attributes("viewer", (), "create", True, "", "v1", "pods", "", "dev", "")
    assert ix.authorize(get)[0] and not ix.authorize(create)[0]
    boss = Attributes("boss", (), "create", True, "", "v1", "pods", "", "dev", "")
    assert ix.authorize(boss)[0]          # admin <- edit <- view, nested
    assert ix.cluster_role_raw_rules("admin") == ix.cluster_role_raw_rules("edit")
    ix.put("clusterroles", "", "to-view", None)
    assert not ix.authorize(get)[0]


@pytest.mark.parametrize("a,message,details", [
    (Attributes("system:serviceaccount:dev:reader", (), "create", True, "", "v1", "pods", "", "dev", ""),
     'pods is forbidden: User "system:serviceaccount:dev:reader" cannot create resource "pods" in API group "" '
     'in the namespace "dev"', {"kind": "pods"}),
    (Attributes("jane", (), "get", True, "", "v1", "pods", "log", "dev", "web"),
     'pods "web" is forbidden: User "jane" cannot get resource "pods/log" in API group "" in the namespace "dev"',
     {"name": "web", "kind": "pods"}),
    (Attributes("jane", (), "list", True, "apps", "v1", "deployments", "", "", ""),
     'deployments.apps is forbidden: User "jane" cannot list resource "deployments" in API group "apps" at the '
     'cluster scope', {"kind": "deployments", "group": "apps"}),
    (Attributes("jane", (), "get", False, path="/metrics"),
     'forbidden: User "jane" cannot get path "/metrics"', {}),
])
def test_forbidden_status(a, message, details):
    e = forbidden(a)
    s = e.status()
    assert (e.code, s["reason"], s["message"], s["details"]) == (403, "Forbidden", message, details)
