"""The default ClusterRoles and ClusterRoleBindings the apiserver ensures at start (created when
missing, missing rules/subjects added to existing ones as upstream's reconciliation does),
named and shaped as Kubernetes' bootstrap policy: cluster-admin (group system:masters), the
user-facing aggregated roles admin / edit / view, system:discovery, system:basic-user and
system:public-info-viewer for every authenticated user, and the roles of the lab's own
components.

How the lab's components authenticate (client certificates from labctl/pki.py; roles/*/tasks):
  - the admin kubeconfig: CN kubernetes-admin, O system:masters -> allowed everything before
    any rule is read (authz.MASTERS);
  - controller-manager: CN system:kube-controller-manager, no group. It runs every controller
    under this one identity (Kubernetes gives each controller its own ServiceAccount), so its
    role allows the eight object verbs on every resource;
  - scheduler: CN system:kube-scheduler -> system:kube-scheduler (reads, binding, status,
    preemption's deletes, claims and volumes for VolumeBinding, events, leases);
  - kubelet, kube-proxy and DNS all use the node's certificate: CN system:node:<node>, O
    system:nodes. There is no Node authorizer here: the group is bound to system:node, a role
    with what these three do on any node's behalf.
"""
from __future__ import annotations

import asyncio
import copy
import logging

from ..api.errors import ApiError
from ..api.resources import resource
from .registry import Registry

log = logging.getLogger(__name__)
READ = ["get", "list", "watch"]
WRITE = ["create", "update", "patch", "delete", "deletecollection"]
READ_WRITE = READ + WRITE
AGG = "rbac.authorization.k8s.io/aggregate-to-"
BOOTSTRAP_LABEL = {"kubernetes.io/bootstrapping": "rbac-defaults"}


def rule(verbs, groups=None, resources=None, names=None, urls=None) -> dict:
    r: dict = {"verbs": list(verbs)}
    if urls is not None:
        r["nonResourceURLs"] = list(urls)
        return r
    r["apiGroups"] = list(groups)
    r["resources"] = list(resources)
    if names:
        r["resourceNames"] = list(names)
    return r


def _role(name: str, rules: list[dict] | None = None, labels: dict | None = None,
          aggregate_from: str | None = None) -> dict:
    md = {"name": name, "labels": {**BOOTSTRAP_LABEL, **(labels or {})},
          "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}}
    out = {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": md,
           "rules": rules or []}
    if aggregate_from:
        out["aggregationRule"] = {"clusterRoleSelectors": [{"matchLabels": {AGG + aggregate_from: "true"}}]}
    return out


def _binding(name: str, role: str, subjects: list[tuple[str, str]]) -> dict:
    return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": dict(BOOTSTRAP_LABEL),
                         "annotations": {"rbac.authorization.kubernetes.io/autoupdate": "true"}},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": n} for kind, n in subjects]}


EVENTS = rule(["create", "update", "patch"], ["", "events.k8s.io"], ["events"])
_VIEW = [
    rule(READ, [""], ["pods", "replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
                      "services/status", "endpoints", "persistentvolumeclaims", "persistentvolumeclaims/status",
                      "configmaps"]),
    rule(READ, [""], ["limitranges", "resourcequotas", "bindings", "events", "pods/status", "resourcequotas/status",
                      "namespaces/status", "replicationcontrollers/status", "pods/log"]),
    rule(READ, [""], ["namespaces"]),
    rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
    rule(READ, ["apps"], ["controllerrevisions", "statefulsets", "statefulsets/scale", "statefulsets/status",
                          "daemonsets", "daemonsets/status", "deployments", "deployments/scale", "deployments/status",
                          "replicasets", "replicasets/scale", "replicasets/status"]),
    rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
    rule(READ, ["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
    rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
    rule(READ, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
]
_EDIT = [
    rule(["impersonate"], [""], ["serviceaccounts"]),
    rule(WRITE, [""], ["pods", "pods/attach", "pods/proxy", "pods/exec", "pods/portforward"]),
    rule(["create"], [""], ["pods/eviction"]),
    rule(WRITE, [""], ["replicationcontrollers", "replicationcontrollers/scale", "serviceaccounts", "services",
                       "services/proxy", "persistentvolumeclaims", "configmaps", "secrets", "events"]),
    rule(["create"], [""], ["serviceaccounts/token"]),
    rule(WRITE, ["apps"], ["statefulsets", "statefulsets/scale", "daemonsets", "deployments", "deployments/scale",
                           "deployments/rollback", "replicasets", "replicasets/scale"]),
    rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
    rule(WRITE, ["batch"], ["jobs", "cronjobs"]),
    rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
    rule(WRITE, ["networking.k8s.io"], ["networkpolicies", "ingresses"]),
    rule(READ, [""], ["pods/attach", "pods/proxy", "pods/exec", "pods/portforward", "secrets", "services/proxy"]),
]
_ADMIN = [
    rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
    rule(READ_WRITE, ["rbac.authorization.k8s.io"], ["rolebindings", "roles"]),
]
DISCOVERY_URLS = ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi", "/openapi/*", "/readyz",
                  "/version", "/version/"]
PUBLIC_URLS = ["/healthz", "/livez", "/readyz", "/version", "/version/"]
ALL_OBJECT_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

CLUSTER_ROLES = [
    _role("cluster-admin", [rule(["*"], ["*"], ["*"]), rule(["*"], urls=["*"])]),
    _role("admin", aggregate_from="admin"),
    _role("edit", labels={AGG + "admin": "true"}, aggregate_from="edit"),
    _role("view", labels={AGG + "edit": "true"}, aggregate_from="view"),
    _role("system:aggregate-to-admin", _ADMIN, {AGG + "admin": "true"}),
    _role("system:aggregate-to-edit", _EDIT, {AGG + "edit": "true"}),
    _role("system:aggregate-to-view", _VIEW, {AGG + "view": "true"}),
    _role("system:discovery", [rule(["get"], urls=DISCOVERY_URLS)]),
    _role("system:public-info-viewer", [rule(["get"], urls=PUBLIC_URLS)]),
    _role("system:basic-user", [
        rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
        rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"])]),
    _role("system:auth-delegator", [
        rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
        rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"])]),
    _role("system:kube-controller-manager", [rule(ALL_OBJECT_VERBS, ["*"], ["*"]), EVENTS]),
    _role("system:kube-scheduler", [
        EVENTS,
        rule(READ, ["*"], ["*"]),
        rule(["delete", "patch", "update"], [""], ["pods"]),
        rule(["create"], [""], ["pods/binding", "bindings"]),
        rule(["patch", "update"], [""], ["pods/status"]),
        rule(["patch", "update"], [""], ["persistentvolumeclaims", "persistentvolumes"]),   # VolumeBinding's PreBind
        rule(["create", "get", "update", "patch"], ["coordination.k8s.io"], ["leases"]),
        rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
        rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"])]),
    _role("system:node", [
        EVENTS,
        rule(READ, ["*"], ["*"]),
        rule(["create", "update", "patch", "delete"], [""], ["nodes", "nodes/status"]),
        rule(["create", "update", "patch", "delete"], [""], ["pods", "pods/status"]),
        rule(["create"], [""], ["pods/eviction", "serviceaccounts/token"]),
        rule(["update", "patch"], [""], ["persistentvolumeclaims/status"]),
        rule(["create", "update", "patch", "delete"], ["coordination.k8s.io"], ["leases"]),
        # the lab's DNS (running as the node) keeps its own Service and Endpoints in kube-system
        rule(["create", "update", "patch"], [""], ["services", "endpoints"]),
        rule(["create", "update", "patch"], ["discovery.k8s.io"], ["endpointslices"]),
        # the lab's ingress controller (inside kube-proxy) writes where Ingresses are served
        rule(["update", "patch"], ["networking.k8s.io"], ["ingresses/status"]),
        rule(["create"], ["networking.k8s.io"], ["ingressclasses"])]),
    # the lab's metrics-server (labkube/metrics): reads nodes and pods, registers its Service,
    # Endpoints and APIService; everyone who may view may read the metrics (upstream's manifest)
    _role("system:metrics-server", [
        rule(READ, [""], ["nodes", "pods"]),
        rule(["get", "create", "update", "patch"], [""], ["services", "endpoints"]),
        rule(["get", "create", "update", "patch"], ["apiregistration.k8s.io"], ["apiservices"])]),
    _role("system:aggregated-metrics-reader", [rule(READ, ["metrics.k8s.io"], ["pods", "nodes"])],
          {AGG + "view": "true", AGG + "edit": "true", AGG + "admin": "true"}),
    _role("system:node-proxier", [
        rule(["list", "watch"], [""], ["services", "endpoints"]),
        rule(["list", "watch"], ["discovery.k8s.io"], ["endpointslices"]),
        rule(["get", "list", "watch"], [""], ["nodes"]), EVENTS]),
]
CLUSTER_ROLE_BINDINGS = [
    _binding("cluster-admin", "cluster-admin", [("Group", "system:masters")]),
    _binding("system:discovery", "system:discovery", [("Group", "system:authenticated")]),
    _binding("system:basic-user", "system:basic-user", [("Group", "system:authenticated")]),
    _binding("system:public-info-viewer", "system:public-info-viewer",
             [("Group", "system:authenticated"), ("Group", "system:unauthenticated")]),
    _binding("system:kube-controller-manager", "system:kube-controller-manager",
             [("User", "system:kube-controller-manager")]),
    _binding("system:kube-scheduler", "system:kube-scheduler", [("User", "system:kube-scheduler")]),
    _binding("system:node", "system:node", [("Group", "system:nodes")]),
    _binding("system:node-proxier", "system:node-proxier", [("User", "system:kube-proxy")]),
    _binding("system:metrics-server", "system:metrics-server", [("User", "system:metrics-server")]),
]


AUTOUPDATE = "rbac.authorization.kubernetes.io/autoupdate"


def reconciled(stored: dict, default: dict) -> dict | None:
    """`stored` with what `default` has and it lacks (rules of a role that is not aggregated,
    subjects of a binding), as Kubernetes reconciles its bootstrap policy at start; None when
    nothing is missing or the stored object opted out (annotation autoupdate other than "true")."""
    if ((stored.get("metadata") or {}).get("annotations") or {}).get(AUTOUPDATE, "true") != "true":
        return None
    field = "subjects" if "roleRef" in default else "rules"
    if field == "rules" and default.get("aggregationRule"):
        return None  # its rules are the aggregation's (rbaccache)
    have = stored.get(field) or []
    missing = [x for x in default.get(field) or [] if x not in have]
    if not missing:
        return None
    return {**stored, field: have + copy.deepcopy(missing)}


async def _ensure(reg: Registry, res_name: str, obj: dict) -> None:
    res = resource(res_name)
    name = obj["metadata"]["name"]
    try:
        stored = await reg.get(res, None, name, latest=True)
    except ApiError as e:
        if e.code != 404:
            raise
        await reg.create(res, None, copy.deepcopy(obj))
        log.info("created %s %s", res_name, name)
        return
    if reconciled(stored, obj) is not None:
        await reg.guaranteed_update(res, None, name, lambda cur: reconciled(cur, obj) or cur)
        log.info("reconciled %s %s (added what the default has)", res_name, name)


async def bootstrap_rbac(reg: Registry) -> None:
    """Create the default ClusterRoles and ClusterRoleBindings that are missing, and add to
    existing ones the rules or subjects a newer default has (an admin's additions stay; an object
    annotated rbac.authorization.kubernetes.io/autoupdate: "false" is left alone)."""
    await asyncio.gather(*(_ensure(reg, "clusterroles", r) for r in CLUSTER_ROLES))
    await asyncio.gather(*(_ensure(reg, "clusterrolebindings", b) for b in CLUSTER_ROLE_BINDINGS))
