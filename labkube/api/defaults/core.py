"""Defaults for core kinds other than Pod: Namespace, Service, Secret, Node, ConfigMap ..."""
from __future__ import annotations

import base64


def default_namespace(obj: dict) -> None:
    md = obj.setdefault("metadata", {})
    labels = md.get("labels") or {}
    labels["kubernetes.io/metadata.name"] = md.get("name", "")
    md["labels"] = labels
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    spec.setdefault("finalizers", ["kubernetes"])
    obj["spec"] = spec
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    status.setdefault("phase", "Active")
    obj["status"] = status


def default_service(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    if not isinstance(spec, dict):
        return
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    for p in spec.get("ports") or []:
        if isinstance(p, dict):
            if not p.get("protocol"):
                p["protocol"] = "TCP"
            if p.get("targetPort") in (None, 0, "") and p.get("port") is not None:
                p["targetPort"] = p["port"]
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    status.setdefault("loadBalancer", {})
    obj["status"] = status


def default_secret(obj: dict) -> None:
    obj.setdefault("type", "Opaque")
    sd = obj.pop("stringData", None)
    if isinstance(sd, dict) and sd:
        data = obj.get("data") or {}
        for k, v in sd.items():
            data[k] = base64.b64encode(str(v).encode()).decode()
        obj["data"] = data


def default_node(obj: dict) -> None:
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    obj["status"] = status
    if isinstance(status.get("capacity"), dict) and not isinstance(status.get("allocatable"), dict):
        status["allocatable"] = dict(status["capacity"])
