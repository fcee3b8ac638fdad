"""Validation of Pods and pod templates (containers, ports, volumes, policies).

A Pod's validation is a function of its spec alone: `validate_pod` remembers the spec texts
that passed (`labkube.api.memo`), so pods from one template are validated once.
"""
from __future__ import annotations

from .field import FieldError, Path, duplicate, forbidden, invalid, not_found, required, unsupported
from .. import quantity
from ..memo import JsonMemo
from .names import check_labels, dns1123_label

RESTART = ("Always", "OnFailure", "Never")
DNS = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
PULL = ("Always", "IfNotPresent", "Never")
PROTOCOLS = ("SCTP", "TCP", "UDP")


def _port(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 65535


def validate_container(c, p: Path, names: set, volumes: set) -> list[FieldError]:
    if not isinstance(c, dict):
        return [invalid(p, c, "must be an object")]
    errs = []
    name = c.get("name")
    if not name:
        errs.append(required(p.child("name")))
    else:
        errs += [invalid(p.child("name"), name, m) for m in dns1123_label(str(name))]
        if name in names:
            errs.append(duplicate(p.child("name"), name))
        names.add(name)
    image = c.get("image")
    if not image or (isinstance(image, str) and not image.strip()):
        errs.append(required(p.child("image")))
    elif not isinstance(image, str):
        errs.append(invalid(p.child("image"), image, "must be a string"))
    pol = c.get("imagePullPolicy")
    if pol is not None and pol not in PULL:
        errs.append(unsupported(p.child("imagePullPolicy"), pol, PULL))
    for f in ("command", "args"):
        v = c.get(f)
        if v is not None and (not isinstance(v, list) or not all(isinstance(x, str) for x in v)):
            errs.append(invalid(p.child(f), v, "must be a list of strings"))
    pnames = set()
    for i, port in enumerate(c.get("ports") or []):
        pp = p.child("ports").index(i)
        port = port or {}
        cp = port.get("containerPort")
        if cp is None:
            errs.append(required(pp.child("containerPort")))
        elif not _port(cp):
            errs.append(invalid(pp.child("containerPort"), cp, "must be between 1 and 65535, inclusive"))
        if port.get("hostPort") is not None and not _port(port["hostPort"]):
            errs.append(invalid(pp.child("hostPort"), port["hostPort"], "must be between 1 and 65535, inclusive"))
        proto = port.get("protocol")
        if proto is not None and proto not in PROTOCOLS:
            errs.append(unsupported(pp.child("protocol"), proto, PROTOCOLS))
        if port.get("name"):
            if port["name"] in pnames:
                errs.append(duplicate(pp.child("name"), port["name"]))
            pnames.add(port["name"])
    errs += validate_resources(c.get("resources"), p.child("resources"))
    for i, e in enumerate(c.get("env") or []):
        if not (e or {}).get("name"):
            errs.append(required(p.child("env").index(i).child("name")))
    for i, m in enumerate(c.get("volumeMounts") or []):
        mp = p.child("volumeMounts").index(i)
        m = m or {}
        if not m.get("name"):
            errs.append(required(mp.child("name")))
        elif m["name"] not in volumes:
            errs.append(not_found(mp.child("name"), m["name"]))
        if not m.get("mountPath"):
            errs.append(required(mp.child("mountPath")))
    return errs


def validate_resources(res, p: Path) -> list[FieldError]:
    if res is None:
        return []
    if not isinstance(res, dict):
        return [invalid(p, res, "must be an object")]
    errs, parsed = [], {}
    for kind in ("limits", "requests"):
        for name, v in (res.get(kind) or {}).items():
            try:
                parsed[(kind, name)] = quantity.parse(v)
            except ValueError as e:
                errs.append(invalid(p.child(kind).key(name), v, str(e)))
                continue
            if parsed[(kind, name)] < 0:
                errs.append(invalid(p.child(kind).key(name), v, "must be greater than or equal to 0"))
    for (kind, name), v in parsed.items():
        lim = parsed.get(("limits", name))
        if kind == "requests" and lim is not None and v > lim:
            errs.append(invalid(p.child("requests"), res["requests"][name],
                                f"must be less than or equal to {name} limit of {res['limits'][name]}"))
    return errs


def validate_pod_spec(spec, p: Path, template: bool = False) -> list[FieldError]:
    if not isinstance(spec, dict):
        return [required(p)]
    errs: list[FieldError] = []
    volumes = set()
    for i, v in enumerate(spec.get("volumes") or []):
        vp = p.child("volumes").index(i)
        n = (v or {}).get("name")
        if not n:
            errs.append(required(vp.child("name")))
            continue
        errs += [invalid(vp.child("name"), n, m) for m in dns1123_label(n)]
        if n in volumes:
            errs.append(duplicate(vp.child("name"), n))
        volumes.add(n)
    containers = spec.get("containers")
    if not containers:
        errs.append(required(p.child("containers")))
    elif not isinstance(containers, list):
        errs.append(invalid(p.child("containers"), containers, "must be a list"))
    names: set = set()
    for i, c in enumerate(spec.get("initContainers") or []):
        errs += validate_container(c, p.child("initContainers").index(i), names, volumes)
    for i, c in enumerate(containers if isinstance(containers, list) else []):
        errs += validate_container(c, p.child("containers").index(i), names, volumes)
    rp = spec.get("restartPolicy")
    if rp is not None and rp not in RESTART:
        errs.append(unsupported(p.child("restartPolicy"), rp, RESTART))
    dp = spec.get("dnsPolicy")
    if dp is not None and dp not in DNS:
        errs.append(unsupported(p.child("dnsPolicy"), dp, DNS))
    for f in ("terminationGracePeriodSeconds", "activeDeadlineSeconds"):
        v = spec.get(f)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < (1 if f == "activeDeadlineSeconds" else 0)):
            errs.append(invalid(p.child(f), v, "must be greater than or equal to " + ("1" if f == "activeDeadlineSeconds" else "0")))
    ns = spec.get("nodeSelector")
    if ns is not None:
        errs += check_labels(ns, p.child("nodeSelector"))
    for i, t in enumerate(spec.get("tolerations") or []):
        op = (t or {}).get("operator")
        if op is not None and op not in ("Exists", "Equal"):
            errs.append(unsupported(p.child("tolerations").index(i).child("operator"), op, ("Equal", "Exists")))
    return errs


VALID_SPECS = JsonMemo()  # pod spec texts that validated without error -> True


def validate_pod(obj: dict) -> list[FieldError]:
    spec = obj.get("spec")
    key = VALID_SPECS.key(spec) if isinstance(spec, dict) else None
    if VALID_SPECS.get(key):
        return []
    errs = validate_pod_spec(spec, Path("spec"))
    if not errs:
        VALID_SPECS.put(key, True)
    return errs


_MUTABLE = ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds")


def _masked(spec: dict) -> dict:
    s = dict(spec or {})
    for f in _MUTABLE:
        s.pop(f, None)
    for key in ("containers", "initContainers"):
        s[key] = [{k: v for k, v in (c or {}).items() if k != "image"} for c in s.get(key) or []]
    return s


def validate_pod_update(new: dict, old: dict) -> list[FieldError]:
    if _masked(new.get("spec")) != _masked(old.get("spec")):
        return [forbidden(Path("spec"), "pod updates may not change fields other than `spec.containers[*].image`,"
                          "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
                          "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
                          "(allow it to be set to 1 if it was previously negative)")]
    return []
