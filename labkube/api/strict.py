"""Unknown-field detection for `fieldValidation=Strict|Warn` (what kubectl sends by default).

Only the parts of objects whose field sets are certain are checked: the top level of
each kind, ObjectMeta, PodSpec and Container (also inside workload templates), and the
specs of Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs, Services. Keys
starting with `$` (patch directives) are ignored. Anything else is accepted as is.
"""
from __future__ import annotations

_COMMON = {"apiVersion", "kind", "metadata"}
_SPEC_STATUS = _COMMON | {"spec", "status"}
TOP = {
    "configmaps": _COMMON | {"data", "binaryData", "immutable"},
    "secrets": _COMMON | {"data", "stringData", "type", "immutable"},
    "serviceaccounts": _COMMON | {"secrets", "imagePullSecrets", "automountServiceAccountToken"},
    "endpoints": _COMMON | {"subsets"},
    "roles": _COMMON | {"rules"},
    "clusterroles": _COMMON | {"rules", "aggregationRule"},
    "rolebindings": _COMMON | {"subjects", "roleRef"},
    "clusterrolebindings": _COMMON | {"subjects", "roleRef"},
    "priorityclasses": _COMMON | {"value", "globalDefault", "description", "preemptionPolicy"},
    "podtemplates": _COMMON | {"template"},
    "controllerrevisions": _COMMON | {"data", "revision"},
}
for _r in ("pods", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs", "services",
           "namespaces", "nodes", "persistentvolumes", "persistentvolumeclaims", "leases", "resourcequotas",
           "limitranges", "ingresses", "networkpolicies", "poddisruptionbudgets", "ingressclasses",
           "horizontalpodautoscalers"):
    TOP[_r] = _SPEC_STATUS

META = {"name", "generateName", "namespace", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
        "deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations", "ownerReferences", "finalizers",
        "managedFields"}
POD_SPEC = {"volumes", "initContainers", "containers", "ephemeralContainers", "restartPolicy",
            "terminationGracePeriodSeconds", "activeDeadlineSeconds", "dnsPolicy", "nodeSelector", "serviceAccountName",
            "serviceAccount", "automountServiceAccountToken", "nodeName", "hostNetwork", "hostPID", "hostIPC",
            "shareProcessNamespace", "securityContext", "imagePullSecrets", "hostname", "subdomain", "affinity",
            "schedulerName", "tolerations", "hostAliases", "priorityClassName", "priority", "dnsConfig", "readinessGates",
            "runtimeClassName", "enableServiceLinks", "preemptionPolicy", "overhead", "topologySpreadConstraints",
            "setHostnameAsFQDN", "os", "hostUsers", "schedulingGates", "resourceClaims", "resources"}
CONTAINER = {"name", "image", "command", "args", "workingDir", "ports", "envFrom", "env", "resources", "resizePolicy",
             "restartPolicy", "volumeMounts", "volumeDevices", "livenessProbe", "readinessProbe", "startupProbe",
             "lifecycle", "terminationMessagePath", "terminationMessagePolicy", "imagePullPolicy", "securityContext",
             "stdin", "stdinOnce", "tty"}
SPECS = {
    "deployments": {"replicas", "selector", "template", "strategy", "minReadySeconds", "revisionHistoryLimit", "paused",
                    "progressDeadlineSeconds"},
    "replicasets": {"replicas", "minReadySeconds", "selector", "template"},
    "statefulsets": {"replicas", "selector", "template", "volumeClaimTemplates", "serviceName", "podManagementPolicy",
                     "updateStrategy", "revisionHistoryLimit", "minReadySeconds", "persistentVolumeClaimRetentionPolicy",
                     "ordinals"},
    "daemonsets": {"selector", "template", "updateStrategy", "minReadySeconds", "revisionHistoryLimit"},
    "jobs": {"parallelism", "completions", "activeDeadlineSeconds", "podFailurePolicy", "successPolicy", "backoffLimit",
             "backoffLimitPerIndex", "maxFailedIndexes", "selector", "manualSelector", "template", "ttlSecondsAfterFinished",
             "completionMode", "suspend", "podReplacementPolicy", "managedBy"},
    "services": {"ports", "selector", "clusterIP", "clusterIPs", "type", "externalIPs", "sessionAffinity",
                 "loadBalancerIP", "loadBalancerSourceRanges", "externalName", "externalTrafficPolicy",
                 "healthCheckNodePort", "publishNotReadyAddresses", "sessionAffinityConfig", "ipFamilies",
                 "ipFamilyPolicy", "allocateLoadBalancerNodePorts", "loadBalancerClass", "internalTrafficPolicy",
                 "trafficDistribution"},
}
TEMPLATE = {"metadata", "spec"}


def _extra(obj, allowed: set, path: str) -> list[str]:
    if not isinstance(obj, dict):
        return []
    return [f"{path}{k}" for k in obj if k not in allowed and not k.startswith("$")]


def _pod_spec(spec, path: str) -> list[str]:
    if not isinstance(spec, dict):
        return []
    out = _extra(spec, POD_SPEC, path + ".")
    for key in ("initContainers", "containers"):
        for i, c in enumerate(spec.get(key) or []):
            out += _extra(c, CONTAINER, f"{path}.{key}[{i}].")
    return out


def _template(t, path: str) -> list[str]:
    if not isinstance(t, dict):
        return []
    return _extra(t, TEMPLATE, path + ".") + _extra(t.get("metadata"), META, path + ".metadata.") + \
        _pod_spec(t.get("spec"), path + ".spec")


def unknown_fields(resource_name: str, obj) -> list[str]:
    """Dotted paths of fields this server does not know for the kind ([] when all known)."""
    if not isinstance(obj, dict) or resource_name not in TOP:
        return []
    out = _extra(obj, TOP[resource_name], "")
    out += _extra(obj.get("metadata"), META, "metadata.")
    spec = obj.get("spec")
    if resource_name == "pods":
        out += _pod_spec(spec, "spec")
    elif resource_name in SPECS and isinstance(spec, dict):
        out += _extra(spec, SPECS[resource_name], "spec.")
        if "template" in spec:
            out += _template(spec.get("template"), "spec.template")
    elif resource_name == "cronjobs" and isinstance(spec, dict):
        jt = spec.get("jobTemplate")
        if isinstance(jt, dict) and isinstance(jt.get("spec"), dict):
            out += _extra(jt["spec"], SPECS["jobs"], "spec.jobTemplate.spec.")
            out += _template(jt["spec"].get("template"), "spec.jobTemplate.spec.template")
    return out
