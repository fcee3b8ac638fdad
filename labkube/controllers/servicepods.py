"""The pods behind a Service and the addresses they give it: what the Endpoints and the
EndpointSlice controllers share.

`desired_subsets` groups the selected pods by their resolved ports, as Endpoints subsets:
pods with a pod IP that are not terminal or being deleted; ready ones (or all, with
publishNotReadyAddresses) under `addresses`, the others under `notReadyAddresses`. A
targetPort given by name is resolved per pod from its container ports. `ServicePodsController`
is the base of both controllers: a Service informer and a pod informer whose events enqueue
every Service (namespace/name) that selects the pod.
"""
from __future__ import annotations

from .base import Controller
from .util import is_ready, is_terminal


def selects(svc: dict, pod: dict) -> bool:
    """Whether the Service's (non-empty) selector picks the pod, in the same namespace."""
    sel = (svc.get("spec") or {}).get("selector")
    labels = pod["metadata"].get("labels") or {}
    return (bool(sel) and svc["metadata"].get("namespace") == pod["metadata"].get("namespace")
            and all(labels.get(k) == v for k, v in sel.items()))


def resolve_port(pod: dict, target) -> int | None:
    if isinstance(target, int):
        return target
    if isinstance(target, str) and target.isdigit():
        return int(target)
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == target:
                return int(p["containerPort"])
    return None


def _ports(spec: dict, pod: dict) -> list[dict]:
    ports = []
    for sp in spec.get("ports") or []:
        target = resolve_port(pod, sp.get("targetPort", sp.get("port")))
        if target is None:
            continue
        port = {"port": target, "protocol": sp.get("protocol") or "TCP"}
        if sp.get("name"):
            port["name"] = sp["name"]
        ports.append(port)
    return ports


def _address(svc: dict, pod: dict, ip: str) -> dict:
    addr = {"ip": ip, "targetRef": {"kind": "Pod", "namespace": pod["metadata"]["namespace"],
                                    "name": pod["metadata"]["name"], "uid": pod["metadata"].get("uid")}}
    pspec = pod.get("spec") or {}
    if pspec.get("nodeName"):
        addr["nodeName"] = pspec["nodeName"]
    if pspec.get("hostname") and pspec.get("subdomain") == svc["metadata"]["name"]:
        addr["hostname"] = pspec["hostname"]       # DNS: <hostname>.<service>.<ns>.svc records
    return addr


def desired_subsets(svc: dict, pods: list[dict]) -> list[dict]:
    spec = svc.get("spec") or {}
    publish = bool(spec.get("publishNotReadyAddresses"))
    groups: dict[tuple, dict] = {}
    for pod in sorted(pods, key=lambda p: (p.get("status") or {}).get("podIP") or ""):
        ip = (pod.get("status") or {}).get("podIP")
        if not ip or is_terminal(pod) or pod["metadata"].get("deletionTimestamp"):
            continue
        ports = _ports(spec, pod)
        if spec.get("ports") and not ports:
            continue
        sig = tuple((p.get("name", ""), p["port"], p["protocol"]) for p in ports)
        subset = groups.setdefault(sig, {"ports": ports} if ports else {})
        kind = "addresses" if publish or is_ready(pod) else "notReadyAddresses"
        subset.setdefault(kind, []).append(_address(svc, pod, ip))
    return [groups[k] for k in sorted(groups)]


class ServicePodsController(Controller):
    """A controller keyed by Service that follows the pods each Service selects."""

    def setup(self) -> None:
        self.services = self.informer("services")
        self.pods = self.informer("pods")
        self.services.add_handlers(self.enqueue, lambda o, n: self.enqueue(n), self.enqueue)
        self.pods.add_handlers(self._pod, self._pod_updated, self._pod)

    def _pod(self, pod: dict) -> None:
        for svc in self.services.cache.values():
            if selects(svc, pod):
                self.enqueue(svc)

    def _pod_updated(self, old: dict, new: dict) -> None:
        """The Services selecting the old pod and those selecting the new one. Which Services select
        a pod depends on its namespace and labels alone: when the update keeps both, the two sets
        are one (and adding a key twice to the queue is adding it once)."""
        o, n = old["metadata"], new["metadata"]
        if o.get("namespace") != n.get("namespace") or o.get("labels") != n.get("labels"):
            self._pod(old)
        self._pod(new)

    def selected_pods(self, svc: dict) -> list[dict]:
        return [p for p in self.pods.items() if selects(svc, p)]
