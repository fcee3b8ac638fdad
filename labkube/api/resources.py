"""The table of API resources the cluster serves: group, version, kind, scope, verbs, short names.

Shared by the apiserver (routing, discovery) and the client (building URLs). Adding a
resource here makes it routable; its defaults, validation and table columns live in
their own modules.
"""
from __future__ import annotations

from dataclasses import dataclass, field

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class Resource:
    name: str                 # plural, e.g. "pods"
    kind: str                 # e.g. "Pod"
    group: str                # "" for the core group
    version: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()
    verbs: tuple[str, ...] = ALL_VERBS
    singular: str = field(default="")
    custom: bool = False      # served from a CustomResourceDefinition (see register_custom)
    stored_as: str = ""       # stored in this other version of the group and converted (labkube.api.versions)

    @property
    def converted(self) -> bool:
        """Served in a version other than the stored one: no raw (stored-text) answers."""
        return bool(self.stored_as)

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def api_version(self) -> str:
        return self.group_version

    def path(self, namespace: str | None = None, name: str | None = None,
             subresource: str | None = None) -> str:
        """URL path of a collection or object, e.g. /apis/apps/v1/namespaces/ns/deployments/web."""
        root = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        parts = [root]
        if self.namespaced and namespace:
            parts.append(f"namespaces/{namespace}")
        parts.append(self.name)
        if name is not None:
            parts.append(name)
            if subresource:
                parts.append(subresource)
        return "/".join(parts)


RESOURCES: tuple[Resource, ...] = (
    Resource("namespaces", "Namespace", "", "v1", False, ("ns",), subresources=("status", "finalize")),
    Resource("nodes", "Node", "", "v1", False, ("no",), subresources=("status", "proxy")),
    Resource("pods", "Pod", "", "v1", True, ("po",), ("all",),
             ("status", "binding", "log", "eviction", "exec", "attach", "portforward", "ephemeralcontainers")),
    Resource("services", "Service", "", "v1", True, ("svc",), ("all",), ("status",)),
    Resource("endpoints", "Endpoints", "", "v1", True, ("ep",)),
    Resource("configmaps", "ConfigMap", "", "v1", True, ("cm",)),
    Resource("secrets", "Secret", "", "v1", True),
    Resource("serviceaccounts", "ServiceAccount", "", "v1", True, ("sa",), subresources=("token",)),
    Resource("events", "Event", "", "v1", True, ("ev",)),
    Resource("componentstatuses", "ComponentStatus", "", "v1", False, ("cs",), verbs=("get", "list")),
    Resource("leases", "Lease", "coordination.k8s.io", "v1", True),
    Resource("deployments", "Deployment", "apps", "v1", True, ("deploy",), ("all",), ("status", "scale")),
    Resource("replicasets", "ReplicaSet", "apps", "v1", True, ("rs",), ("all",), ("status", "scale")),
    # more kinds (issue 4): stored, defaulted and validated; controllers for them live elsewhere
    Resource("resourcequotas", "ResourceQuota", "", "v1", True, ("quota",), subresources=("status",)),
    Resource("limitranges", "LimitRange", "", "v1", True, ("limits",)),
    Resource("persistentvolumes", "PersistentVolume", "", "v1", False, ("pv",), subresources=("status",)),
    Resource("persistentvolumeclaims", "PersistentVolumeClaim", "", "v1", True, ("pvc",), subresources=("status",)),
    Resource("podtemplates", "PodTemplate", "", "v1", True),
    Resource("statefulsets", "StatefulSet", "apps", "v1", True, ("sts",), ("all",), ("status", "scale")),
    Resource("daemonsets", "DaemonSet", "apps", "v1", True, ("ds",), ("all",), ("status",)),
    Resource("controllerrevisions", "ControllerRevision", "apps", "v1", True),
    Resource("jobs", "Job", "batch", "v1", True, (), ("all",), ("status",)),
    Resource("cronjobs", "CronJob", "batch", "v1", True, ("cj",), ("all",), ("status",)),
    Resource("ingresses", "Ingress", "networking.k8s.io", "v1", True, ("ing",), subresources=("status",)),
    Resource("ingressclasses", "IngressClass", "networking.k8s.io", "v1", False),
    Resource("networkpolicies", "NetworkPolicy", "networking.k8s.io", "v1", True, ("netpol",)),
    Resource("endpointslices", "EndpointSlice", "discovery.k8s.io", "v1", True),
    Resource("priorityclasses", "PriorityClass", "scheduling.k8s.io", "v1", False, ("pc",)),
    # autoscaling/v2 is stored (and preferred: listed first); v1 is converted (labkube.api.autoscaling)
    Resource("horizontalpodautoscalers", "HorizontalPodAutoscaler", "autoscaling", "v2", True, ("hpa",), ("all",),
             ("status",)),
    Resource("horizontalpodautoscalers", "HorizontalPodAutoscaler", "autoscaling", "v1", True, ("hpa",), ("all",),
             ("status",), stored_as="v2"),
    Resource("poddisruptionbudgets", "PodDisruptionBudget", "policy", "v1", True, ("pdb",), subresources=("status",)),
    Resource("storageclasses", "StorageClass", "storage.k8s.io", "v1", False, ("sc",)),
    Resource("roles", "Role", "rbac.authorization.k8s.io", "v1", True),
    Resource("rolebindings", "RoleBinding", "rbac.authorization.k8s.io", "v1", True),
    Resource("clusterroles", "ClusterRole", "rbac.authorization.k8s.io", "v1", False),
    Resource("clusterrolebindings", "ClusterRoleBinding", "rbac.authorization.k8s.io", "v1", False),
    Resource("selfsubjectaccessreviews", "SelfSubjectAccessReview", "authorization.k8s.io", "v1", False,
             verbs=("create",)),
    Resource("subjectaccessreviews", "SubjectAccessReview", "authorization.k8s.io", "v1", False, verbs=("create",)),
    Resource("localsubjectaccessreviews", "LocalSubjectAccessReview", "authorization.k8s.io", "v1", True,
             verbs=("create",)),
    Resource("selfsubjectrulesreviews", "SelfSubjectRulesReview", "authorization.k8s.io", "v1", False,
             verbs=("create",)),
    Resource("selfsubjectreviews", "SelfSubjectReview", "authentication.k8s.io", "v1", False, verbs=("create",)),
    Resource("tokenreviews", "TokenReview", "authentication.k8s.io", "v1", False, verbs=("create",)),
    # API aggregation: an APIService naming a Service is proxied there (labkube/apiserver/aggregator.py)
    Resource("apiservices", "APIService", "apiregistration.k8s.io", "v1", False, subresources=("status",)),
    Resource("customresourcedefinitions", "CustomResourceDefinition", "apiextensions.k8s.io", "v1", False,
             ("crd", "crds"), subresources=("status",)),
)

_BY_NAME: dict[str, Resource] = {}   # a resource served in several versions: its first (preferred) one
_BY_KIND: dict[str, Resource] = {}
for _r in RESOURCES:
    _BY_NAME.setdefault(_r.name, _r)
    _BY_KIND.setdefault(_r.kind, _r)
_BY_GVR = {(r.group, r.version, r.name): r for r in RESOURCES}
# resources added at run time from CustomResourceDefinitions: (group, version, plural) -> Resource
_CUSTOM: dict[tuple[str, str, str], Resource] = {}


def crd_resources(crd: dict) -> list[Resource]:
    """The resources a CustomResourceDefinition serves, one per served version, in its order
    (KeyError/TypeError for a CRD without names or group)."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    out = []
    for v in spec.get("versions") or []:
        if not v.get("served", True):
            continue
        subs = v.get("subresources") or {}
        out.append(Resource(names["plural"], names["kind"], spec["group"], v["name"], spec.get("scope") == "Namespaced",
                            tuple(names.get("shortNames") or ()), tuple(names.get("categories") or ()),
                            tuple(s for s in ("status", "scale") if s in subs), singular=names.get("singular", ""),
                            custom=True))
    return out


def register_custom(res: Resource) -> None:
    """Serve a custom resource (the apiserver calls this for each served CRD version)."""
    _CUSTOM[(res.group, res.version, res.name)] = res


def unregister_custom(group: str, name: str) -> None:
    """Stop serving every version of <name>.<group>."""
    for k in [k for k in _CUSTOM if k[0] == group and k[2] == name]:
        del _CUSTOM[k]


def clear_custom() -> None:
    """Forget every custom resource (an apiserver starting up re-reads its CRDs)."""
    _CUSTOM.clear()


def all_resources() -> list[Resource]:
    """The built-in resources followed by the custom ones being served."""
    return list(RESOURCES) + list(_CUSTOM.values())


def resource(name: str) -> Resource:
    """Look a resource up by plural name ("pods"), kind ("Pod") or short name ("po")."""
    if name in _BY_NAME:
        return _BY_NAME[name]
    if name in _BY_KIND:
        return _BY_KIND[name]
    for r in all_resources():
        if name in r.short_names or name.lower() == r.kind.lower() or name == r.name:
            return r
    raise KeyError(f"unknown resource {name!r}")


def find(group: str, version: str, name: str) -> Resource | None:
    """The resource served at /api(s)/<group>/<version>/.../<name>, or None."""
    r = _BY_GVR.get((group, version, name))
    return r if r is not None else _CUSTOM.get((group, version, name))


def group_versions() -> list[str]:
    """Every group/version served, core first."""
    seen: list[str] = []
    for r in all_resources():
        if r.group_version not in seen:
            seen.append(r.group_version)
    return seen
