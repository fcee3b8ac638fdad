"""Endpoints controller: keep one Endpoints object per Service with a selector.

Addresses are the pods matching the service's selector that have a pod IP and are not
being deleted: ready pods (or all, with publishNotReadyAddresses) under `addresses`, the
others under `notReadyAddresses`. A targetPort given by name is resolved per pod from its
container ports; pods with the same resolved ports share a subset. Services without a
selector are left alone (their Endpoints are managed by hand); a deleted Service's
Endpoints are deleted.
"""
from __future__ import annotations

import copy

from labkube.client.errors import ApiError

from .base import Controller
from .util import is_ready, is_terminal


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


def desired_subsets(svc: dict, pods: list[dict]) -> list[dict]:
    spec = svc.get("spec") or {}
    publish = bool(spec.get("publishNotReadyAddresses"))
    groups: dict[tuple, dict] = {}
    for pod in sorted(pods, key=lambda p: (p.get("status") or {}).get("podIP") or ""):
        ip = (pod.get("status") or {}).get("podIP")
        if not ip or is_terminal(pod) or pod["metadata"].get("deletionTimestamp"):
            continue
        ports = []
        for sp in spec.get("ports") or []:
            target = resolve_port(pod, sp.get("targetPort", sp.get("port")))
            if target is None:
                continue
            port = {"port": target, "protocol": sp.get("protocol") or "TCP"}
            if sp.get("name"):
                port["name"] = sp["name"]
            ports.append(port)
        if spec.get("ports") and not ports:
            continue
        addr = {"ip": ip, "targetRef": {"kind": "Pod", "namespace": pod["metadata"]["namespace"],
                                        "name": pod["metadata"]["name"], "uid": pod["metadata"].get("uid")}}
        if (pod.get("spec") or {}).get("nodeName"):
            addr["nodeName"] = pod["spec"]["nodeName"]
        pspec = pod.get("spec") or {}
        if pspec.get("hostname") and pspec.get("subdomain") == svc["metadata"]["name"]:
            addr["hostname"] = pspec["hostname"]       # DNS: <hostname>.<service>.<ns>.svc records
        sig = tuple((p.get("name", ""), p["port"], p["protocol"]) for p in ports)
        subset = groups.setdefault(sig, {"ports": ports} if ports else {})
        subset.setdefault("addresses" if publish or is_ready(pod) else "notReadyAddresses", []).append(addr)
    return [groups[k] for k in sorted(groups)]


class EndpointsController(Controller):
    name = "endpoints"

    def setup(self) -> None:
        self.services = self.informer("services")
        self.pods = self.informer("pods")
        self.endpoints = self.informer("endpoints")
        self.services.add_handlers(self.enqueue, lambda o, n: self.enqueue(n), self.enqueue)
        self.pods.add_handlers(self._pod, lambda o, n: (self._pod(o), self._pod(n)), self._pod)

    def _pod(self, pod: dict) -> None:
        ns, labels = pod["metadata"].get("namespace"), pod["metadata"].get("labels") or {}
        for svc in self.services.items():
            sel = (svc.get("spec") or {}).get("selector")
            if svc["metadata"].get("namespace") == ns and sel and all(labels.get(k) == v for k, v in sel.items()):
                self.enqueue(svc)

    async def sync(self, key: str) -> None:
        ns, name = key.split("/", 1)
        svc = self.services.get(key)
        if svc is None:
            try:
                await self.client.delete("endpoints", name, namespace=ns)
            except ApiError as e:
                if e.code != 404:
                    raise
            return
        sel = (svc.get("spec") or {}).get("selector")
        if not sel:
            return
        pods = [p for p in self.pods.items() if p["metadata"].get("namespace") == ns
                and all((p["metadata"].get("labels") or {}).get(k) == v for k, v in sel.items())]
        subsets = desired_subsets(svc, pods)
        labels = dict(svc["metadata"].get("labels") or {})
        cur = self.endpoints.get(key)
        if cur is None:
            body = {"apiVersion": "v1", "kind": "Endpoints",
                    "metadata": {"name": name, "namespace": ns, "labels": labels}, "subsets": subsets}
            try:
                await self.client.create("endpoints", body, namespace=ns)
                return
            except ApiError as e:
                if e.code != 409:
                    raise
                cur = await self.client.get("endpoints", name, namespace=ns)
        if (cur.get("subsets") or []) == subsets and (cur["metadata"].get("labels") or {}) == labels:
            return
        body = copy.deepcopy(cur)
        body["subsets"] = subsets
        body["metadata"]["labels"] = labels
        await self.client.replace("endpoints", name, body, namespace=ns)
