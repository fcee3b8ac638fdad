"""JSON type checks for the well-known fields of each kind, before defaults and validation.

A body whose fields have the wrong JSON type (a string where a list of containers
belongs, a number for an image, YAML's `y` arriving as `true`) is answered 400 the way
the upstream decoder does: `json: cannot unmarshal string into Go struct field
spec.containers of type []object`. Nulls are accepted anywhere (they mean "unset").
"""
from __future__ import annotations

from .autoscaling import types as autoscaling
from .memo import JsonMemo

S, I, B, O = "string", "int", "bool", "object"
MAP = "map[string]string"
QMAP = "map[string]quantity"
INTSTR = "intstr"

OWNER = {"apiVersion": S, "kind": S, "name": S, "uid": S, "controller": B, "blockOwnerDeletion": B}
META = {"name": S, "generateName": S, "namespace": S, "uid": S, "resourceVersion": S, "generation": I,
        "labels": MAP, "annotations": MAP, "finalizers": [S], "ownerReferences": [OWNER],
        "deletionGracePeriodSeconds": I}
RESOURCES = {"limits": QMAP, "requests": QMAP}
CONTAINER = {"name": S, "image": S, "command": [S], "args": [S], "workingDir": S, "imagePullPolicy": S,
             "ports": [{"containerPort": I, "hostPort": I, "protocol": S, "name": S, "hostIP": S}],
             "env": [{"name": S, "value": S, "valueFrom": O}], "envFrom": [O], "resources": RESOURCES,
             "volumeMounts": [{"name": S, "mountPath": S, "readOnly": B, "subPath": S}],
             "livenessProbe": O, "readinessProbe": O, "startupProbe": O, "lifecycle": O, "securityContext": O,
             "terminationMessagePath": S, "terminationMessagePolicy": S, "stdin": B, "stdinOnce": B, "tty": B}
POD_SPEC = {"containers": [CONTAINER], "initContainers": [CONTAINER], "volumes": [{"name": S}],
            "restartPolicy": S, "terminationGracePeriodSeconds": I, "activeDeadlineSeconds": I, "dnsPolicy": S,
            "nodeSelector": MAP, "serviceAccountName": S, "serviceAccount": S, "nodeName": S, "hostNetwork": B,
            "hostPID": B, "hostIPC": B, "schedulerName": S, "priority": I, "priorityClassName": S,
            "tolerations": [{"key": S, "operator": S, "value": S, "effect": S, "tolerationSeconds": I}],
            "securityContext": O, "affinity": O, "imagePullSecrets": [O], "readinessGates": [O], "hostname": S,
            "subdomain": S, "enableServiceLinks": B, "automountServiceAccountToken": B, "preemptionPolicy": S}
TEMPLATE = {"metadata": META, "spec": POD_SPEC}
SELECTOR = {"matchLabels": MAP, "matchExpressions": [{"key": S, "operator": S, "values": [S]}]}
JOB_SPEC = {"parallelism": I, "completions": I, "backoffLimit": I, "activeDeadlineSeconds": I, "suspend": B,
            "selector": SELECTOR, "manualSelector": B, "template": TEMPLATE, "ttlSecondsAfterFinished": I,
            "completionMode": S}
WORKLOAD_SPEC = {"replicas": I, "selector": SELECTOR, "template": TEMPLATE, "minReadySeconds": I,
                 "revisionHistoryLimit": I, "paused": B, "progressDeadlineSeconds": I, "serviceName": S,
                 "strategy": {"type": S, "rollingUpdate": {"maxSurge": INTSTR, "maxUnavailable": INTSTR}},
                 "updateStrategy": {"type": S, "rollingUpdate": O}, "podManagementPolicy": S,
                 "volumeClaimTemplates": [O]}
SPEC = {
    "horizontalpodautoscalers": autoscaling.V2_SPEC,   # the stored version; v1 bodies are converted first
    "pods": POD_SPEC, "deployments": WORKLOAD_SPEC, "replicasets": WORKLOAD_SPEC, "statefulsets": WORKLOAD_SPEC,
    "daemonsets": WORKLOAD_SPEC, "jobs": JOB_SPEC,
    "cronjobs": {"schedule": S, "timeZone": S, "concurrencyPolicy": S, "suspend": B, "successfulJobsHistoryLimit": I,
                 "failedJobsHistoryLimit": I, "jobTemplate": {"metadata": META, "spec": JOB_SPEC}},
    "services": {"type": S, "clusterIP": S, "clusterIPs": [S], "selector": MAP, "sessionAffinity": S,
                 "externalIPs": [S], "externalName": S,
                 "ports": [{"port": I, "targetPort": INTSTR, "nodePort": I, "protocol": S, "name": S}]},
    "nodes": {"taints": [{"key": S, "value": S, "effect": S}], "unschedulable": B, "podCIDR": S, "podCIDRs": [S]},
    "namespaces": {"finalizers": [S]},
    "leases": {"holderIdentity": S, "leaseDurationSeconds": I, "leaseTransitions": I, "acquireTime": S, "renewTime": S},
    "resourcequotas": {"hard": QMAP},
    "limitranges": {"limits": [{"type": S, "default": QMAP, "defaultRequest": QMAP, "max": QMAP, "min": QMAP}]},
    "persistentvolumeclaims": {"accessModes": [S], "resources": RESOURCES, "storageClassName": S, "volumeName": S},
    "persistentvolumes": {"accessModes": [S], "capacity": QMAP, "persistentVolumeReclaimPolicy": S, "claimRef": O},
    "ingresses": {"ingressClassName": S, "tls": [O],
                  "rules": [{"host": S, "http": {"paths": [{"path": S, "pathType": S, "backend": O}]}}]},
}
# specs of a version other than the stored one (for the OpenAPI schemas of that version)
VERSIONED_SPEC = {("autoscaling/v1", "horizontalpodautoscalers"): autoscaling.V1_SPEC}
TOP = {
    "configmaps": {"data": MAP, "binaryData": MAP, "immutable": B},
    "secrets": {"data": MAP, "stringData": MAP, "type": S, "immutable": B},
    "roles": {"rules": [{"verbs": [S], "resources": [S], "apiGroups": [S], "resourceNames": [S], "nonResourceURLs": [S]}]},
    "rolebindings": {"roleRef": {"apiGroup": S, "kind": S, "name": S},
                     "subjects": [{"kind": S, "name": S, "namespace": S, "apiGroup": S}]},
    "priorityclasses": {"value": I, "globalDefault": B, "description": S, "preemptionPolicy": S},
    "events": {"involvedObject": {"kind": S, "name": S, "namespace": S, "uid": S}, "reason": S, "message": S,
               "type": S, "count": I, "source": O},
    "endpoints": {"subsets": [{"addresses": [{"ip": S}], "ports": [{"port": I, "name": S, "protocol": S}]}]},
    "serviceaccounts": {"secrets": [O], "imagePullSecrets": [O], "automountServiceAccountToken": B},
}
TOP["clusterroles"] = TOP["roles"]
TOP["clusterrolebindings"] = TOP["rolebindings"]


def _kind(v) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, (int, float)):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _want(schema) -> str:
    if isinstance(schema, list):
        return "[]" + _want(schema[0])
    if isinstance(schema, dict):
        return O
    return schema


def _ok(v, schema) -> bool:
    if isinstance(schema, list):
        return isinstance(v, list)
    if isinstance(schema, dict) or schema in (O, MAP, QMAP):
        return isinstance(v, dict)
    if schema == S:
        return isinstance(v, str)
    if schema == I:
        return isinstance(v, int) and not isinstance(v, bool)
    if schema == B:
        return isinstance(v, bool)
    if schema == INTSTR:
        return isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool))
    return True


def check(v, schema, path: str) -> str | None:
    """The first type error under v as a decoder message, or None."""
    if v is None:
        return None
    if not _ok(v, schema):
        return f"json: cannot unmarshal {_kind(v)} into Go struct field {path} of type {_want(schema)}"
    if isinstance(schema, list):
        for i, item in enumerate(v):
            err = check(item, schema[0], f"{path}[{i}]")
            if err:
                return err
    elif isinstance(schema, dict):
        for k, sub in schema.items():
            if k in v:
                err = check(v[k], sub, f"{path}.{k}" if path else k)
                if err:
                    return err
    elif schema in (MAP, QMAP):
        for k, item in v.items():
            bad = not isinstance(item, str) if schema == MAP else \
                (isinstance(item, bool) or not isinstance(item, (str, int, float)))
            if item is not None and bad:
                return f"json: cannot unmarshal {_kind(item)} into Go struct field {path}[{k}] of type string"
    return None


def _valid(v, schema) -> bool:
    """True exactly when check(v, schema, ...) finds nothing: the same rules without building
    paths or messages, walking the object's own (few) keys instead of every key the schema
    knows. Every create and update passes here, nearly always well typed."""
    if v is None:
        return True
    if type(schema) is dict:
        if not isinstance(v, dict):
            return False
        for k, item in v.items():
            sub = schema.get(k)
            if sub is None or item is None:
                continue
            # the scalar members (most of them) checked here, as _ok would, without two calls each
            if sub == S:
                if not isinstance(item, str):
                    return False
            elif sub == I:
                if not isinstance(item, int) or isinstance(item, bool):
                    return False
            elif sub == B:
                if not isinstance(item, bool):
                    return False
            elif not _valid(item, sub):
                return False
        return True
    if type(schema) is list:
        if not isinstance(v, list):
            return False
        sub = schema[0]
        for item in v:
            if item is not None and not _valid(item, sub):
                return False
        return True
    if schema == MAP:
        return isinstance(v, dict) and all(item is None or isinstance(item, str) for item in v.values())
    if schema == QMAP:
        return isinstance(v, dict) and all(item is None or (isinstance(item, (str, int, float))
                                                            and not isinstance(item, bool)) for item in v.values())
    return _ok(v, schema)


_SCHEMAS: dict[tuple[str, bool], dict] = {}


def _schema(resource_name: str, has_spec: bool) -> dict:
    sk = (resource_name, has_spec)
    schema = _SCHEMAS.get(sk)
    if schema is None:
        schema = {"metadata": META, "status": O, **TOP.get(resource_name, {})}
        if resource_name in SPEC:
            schema["spec"] = SPEC[resource_name]
        elif has_spec and resource_name not in TOP:
            schema["spec"] = O
        _SCHEMAS[sk] = schema
    return schema


# per kind, the spec texts that passed: objects from one template (and every update of an
# object whose spec did not change: status writes, bindings...) skip the spec's walk. Only
# kinds whose specs are pod specs or templates: small specs that differ on every write
# (a Lease's renewTime) would pay the key and never hit
WELL_TYPED_SPECS: dict[str, JsonMemo] = {}
MEMO_KINDS = frozenset({"pods", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs"})


def _valid_members(obj: dict, schema: dict, skip: frozenset) -> bool:
    """_valid(obj, schema) for an object's members, but for those named in `skip`."""
    for k, item in obj.items():
        if item is None or k in skip:
            continue
        sub = schema.get(k)
        if sub is not None and not _valid(item, sub):
            return False
    return True


_META, _SPEC, _SPEC_META = frozenset({"metadata"}), frozenset({"spec"}), frozenset({"spec", "metadata"})


def _valid_object(resource_name: str, obj: dict, schema: dict, spec_kept: bool = False,
                  meta_kept: bool = False) -> bool:
    """_valid(obj, schema), the spec looked up by its JSON text first (not at all when spec_kept), the
    metadata not walked when meta_kept."""
    spec, spec_schema = obj.get("spec"), schema.get("spec")
    if type(spec) is not dict or type(spec_schema) is not dict or resource_name not in MEMO_KINDS:
        return _valid_members(obj, schema, _META) if meta_kept else _valid(obj, schema)
    if not _valid_members(obj, schema, _SPEC_META if meta_kept else _SPEC):
        return False
    if spec_kept:
        return True
    memo = WELL_TYPED_SPECS.get(resource_name)
    if memo is None:
        memo = WELL_TYPED_SPECS[resource_name] = JsonMemo()
    key = memo.key(spec)
    if memo.get(key):
        return True
    if not _valid(spec, spec_schema):
        return False
    memo.put(key, True)
    return True


def shape_error(resource_name: str, obj, spec_kept: bool = False, meta_kept: bool = False) -> str | None:
    """A decoder-style message for the first wrongly typed field of obj, or None. spec_kept: obj's
    spec is the stored object's, as stored (well typed: every write path checked it or built it);
    meta_kept: so is its metadata (the stored object's, as stored, but for the resourceVersion,
    name and namespace strings the registry puts in)."""
    if not isinstance(obj, dict):
        return f"json: cannot unmarshal {_kind(obj)} into Go value of type object"
    schema = _schema(resource_name, "spec" in obj)
    if _valid_object(resource_name, obj, schema, spec_kept, meta_kept):
        return None
    return check(obj, schema, "")
