"""Defaults for Pods and pod templates, as the upstream apiserver applies them.

A Pod's spec defaults are a function of its spec alone: `default_pod` keeps them per spec text
(`labkube.api.memo`), so pods from one template are defaulted by one JSON parse.
"""
from __future__ import annotations

from ..memo import JsonMemo, fresh, text_of

SPEC_MEMO = JsonMemo()  # a pod's spec text -> (its defaulted spec text, its QoS class)


def _pull_policy(image: str) -> str:
    """Always for ':latest' or no tag (digest pins count as a tag), else IfNotPresent."""
    if "@" in image:
        return "IfNotPresent"
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return "Always"
    return "Always" if last.rsplit(":", 1)[1] == "latest" else "IfNotPresent"


def default_container(c: dict) -> None:
    if not isinstance(c, dict):
        return
    if isinstance(c.get("image"), str) and not c.get("imagePullPolicy"):
        c["imagePullPolicy"] = _pull_policy(c["image"])
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    if c.get("resources") is None:
        c["resources"] = {}
    for p in c.get("ports") or []:
        if isinstance(p, dict) and not p.get("protocol"):
            p["protocol"] = "TCP"
    for e in c.get("env") or []:
        fr = ((e or {}).get("valueFrom") or {}).get("fieldRef")
        if isinstance(fr, dict):
            fr.setdefault("apiVersion", "v1")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        pr = c.get(probe)
        if isinstance(pr, dict):
            for k, v in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1), ("failureThreshold", 3)):
                pr.setdefault(k, v)
            if isinstance(pr.get("httpGet"), dict):
                pr["httpGet"].setdefault("path", "/")
                pr["httpGet"].setdefault("scheme", "HTTP")


def default_pod_spec(spec: dict) -> None:
    if not isinstance(spec, dict):
        return
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    spec.setdefault("enableServiceLinks", True)
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        default_container(c)
    for v in spec.get("volumes") or []:
        if isinstance(v, dict):
            for src in ("configMap", "secret"):
                if isinstance(v.get(src), dict):
                    v[src].setdefault("defaultMode", 420)
            if "emptyDir" in v and v["emptyDir"] is None:
                v["emptyDir"] = {}


_NOT_READY = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300},
]


def qos_class(spec: dict) -> str:
    """The pod QoS class from its containers' requests and limits."""
    cs = spec.get("containers") or []
    res = [(c or {}).get("resources") or {} for c in cs]
    if not any(r.get("requests") or r.get("limits") for r in res):
        return "BestEffort"
    for r in res:
        lim, req = r.get("limits") or {}, r.get("requests") or {}
        if not ("cpu" in lim and "memory" in lim):
            return "Burstable"
        if any(req.get(k, lim[k]) != lim[k] for k in ("cpu", "memory")):
            return "Burstable"
    return "Guaranteed"


def default_pod(obj: dict, memo: bool = True) -> None:
    """Defaults for a new Pod (status.phase Pending, priority 0, default tolerations).

    memo False: the spec is defaulted by the walk itself, neither looked up nor kept (the same
    result): for a spec that is unlikely to come again, where a miss's bookkeeping (the key, and
    the defaulted text with its check parse) costs several times the walk."""
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    key = SPEC_MEMO.key(spec) if memo else None
    hit = SPEC_MEMO.get(key)
    if hit is not None:
        obj["spec"] = fresh(hit[0])
        qos = hit[1]
    else:
        _default_pod_spec(spec)
        qos = qos_class(spec)
        text = text_of(spec) if key is not None else None
        if text is not None:
            SPEC_MEMO.put(key, (text, qos))
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    status.setdefault("phase", "Pending")
    status["qosClass"] = qos
    obj["status"] = status


def _default_pod_spec(spec: dict) -> None:
    """A Pod's own spec defaults (a template's are default_pod_spec's)."""
    default_pod_spec(spec)
    spec.setdefault("serviceAccountName", "default")
    spec.setdefault("serviceAccount", spec["serviceAccountName"])
    spec.setdefault("priority", 0)
    spec.setdefault("preemptionPolicy", "PreemptLowerPriority")
    tol = spec.get("tolerations") or []
    keys = {(t or {}).get("key") for t in tol}
    spec["tolerations"] = tol + [dict(t) for t in _NOT_READY if t["key"] not in keys]
