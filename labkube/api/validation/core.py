"""Validation of core kinds other than Pod: Namespace, Service, ConfigMap, Secret, Node, Event, Lease."""
from __future__ import annotations

import re

from .field import FieldError, Path, duplicate, invalid, required, unsupported
from .names import check_labels

SERVICE_TYPES = ("ClusterIP", "ExternalName", "LoadBalancer", "NodePort")
_KEY = re.compile(r"^[-._a-zA-Z0-9]+$")


def _port(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 65535


def validate_service(obj: dict) -> list[FieldError]:
    p = Path("spec")
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [required(p)]
    errs: list[FieldError] = []
    st = spec.get("type", "ClusterIP")
    if st not in SERVICE_TYPES:
        errs.append(unsupported(p.child("type"), st, SERVICE_TYPES))
    ports = spec.get("ports") or []
    if not ports and st != "ExternalName" and spec.get("clusterIP") != "None":
        errs.append(required(p.child("ports")))
    names = set()
    for i, port in enumerate(ports):
        pp = p.child("ports").index(i)
        port = port or {}
        if not port.get("name") and len(ports) > 1:
            errs.append(required(pp.child("name")))
        elif port.get("name"):
            if port["name"] in names:
                errs.append(duplicate(pp.child("name"), port["name"]))
            names.add(port["name"])
        if port.get("port") is None:
            errs.append(required(pp.child("port")))
        elif not _port(port["port"]):
            errs.append(invalid(pp.child("port"), port["port"], "must be between 1 and 65535, inclusive"))
        tp = port.get("targetPort")
        if isinstance(tp, int) and not _port(tp):
            errs.append(invalid(pp.child("targetPort"), tp, "must be between 1 and 65535, inclusive"))
        proto = port.get("protocol")
        if proto is not None and proto not in ("SCTP", "TCP", "UDP"):
            errs.append(unsupported(pp.child("protocol"), proto, ("SCTP", "TCP", "UDP")))
        np_ = port.get("nodePort")
        if np_ is not None and st not in ("NodePort", "LoadBalancer") and np_ != 0:
            errs.append(FieldError("forbidden", pp.child("nodePort"), detail="may not be used when `type` is 'ClusterIP'"))
    errs += check_labels(spec.get("selector"), p.child("selector"))
    aff = spec.get("sessionAffinity")
    if aff is not None and aff not in ("ClientIP", "None"):
        errs.append(unsupported(p.child("sessionAffinity"), aff, ("ClientIP", "None")))
    if st == "ExternalName" and not spec.get("externalName"):
        errs.append(required(p.child("externalName")))
    if st == "ExternalName" and spec.get("clusterIP"):
        errs.append(FieldError("forbidden", p.child("clusterIP"), detail="may not be set for ExternalName services"))
    hc = spec.get("healthCheckNodePort")
    if hc and not (st == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"):
        errs.append(invalid(p.child("healthCheckNodePort"), hc,
                            "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
    return errs


def validate_service_update(new: dict, old: dict) -> list[FieldError]:
    o = (old.get("spec") or {}).get("clusterIP")
    n = (new.get("spec") or {}).get("clusterIP")
    if o and n and o != n:
        return [invalid(Path("spec.clusterIP"), n, "field is immutable")]
    return []


def _data_keys(data, p: Path) -> list[FieldError]:
    errs = []
    if data is None:
        return errs
    if not isinstance(data, dict):
        return [invalid(p, data, "must be a map")]
    for k, v in data.items():
        if not _KEY.match(k) or len(k) > 253:
            errs.append(invalid(p, k, "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')"))
        if not isinstance(v, str):
            errs.append(invalid(p.key(k), v, "must be a string"))
    return errs


def validate_configmap(obj: dict) -> list[FieldError]:
    errs = _data_keys(obj.get("data"), Path("data"))
    errs += _data_keys(obj.get("binaryData"), Path("binaryData"))
    both = set(obj.get("data") or {}) & set(obj.get("binaryData") or {})
    errs += [duplicate(Path("data").key(k), k) for k in sorted(both)]
    return errs


def validate_secret(obj: dict) -> list[FieldError]:
    errs = _data_keys(obj.get("data"), Path("data"))
    errs += _data_keys(obj.get("stringData"), Path("stringData"))
    return errs


def validate_event(obj: dict) -> list[FieldError]:
    io = obj.get("involvedObject")
    if not isinstance(io, dict):
        return [required(Path("involvedObject"))]
    ns = (obj.get("metadata") or {}).get("namespace")
    if io.get("namespace") and ns and io["namespace"] != ns and ns != "default":
        return [invalid(Path("involvedObject.namespace"), io["namespace"], "does not match event.namespace")]
    return []


def validate_lease(obj: dict) -> list[FieldError]:
    v = (obj.get("spec") or {}).get("leaseDurationSeconds")
    if v is not None and (not isinstance(v, int) or v <= 0):
        return [invalid(Path("spec.leaseDurationSeconds"), v, "must be greater than 0")]
    return []


def validate_node(obj: dict) -> list[FieldError]:
    errs = []
    for i, t in enumerate((obj.get("spec") or {}).get("taints") or []):
        tp = Path("spec.taints").index(i)
        if not (t or {}).get("key"):
            errs.append(required(tp.child("key")))
        eff = (t or {}).get("effect")
        if eff not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            errs.append(unsupported(tp.child("effect"), eff, ("NoExecute", "NoSchedule", "PreferNoSchedule")))
    return errs
