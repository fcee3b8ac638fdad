"""Table columns for the kinds of issue 4: statefulsets, daemonsets, jobs, cronjobs, PV/PVC,
priorityclasses, storageclasses, ingresses, ingress classes, PDBs, quotas, limit ranges and RBAC."""
from __future__ import annotations

import datetime as _dt

from ..meta import parse_time
from ..selectors import selector_string
from .age import age, human_duration
from .base import AGE, NAME, Column, Printer, age_of, name_of
from .workloads import _containers

WIDE = (Column("Containers", 1), Column("Images", 1), Column("Selector", 1))


def _wide(spec: dict) -> list:
    names, images = _containers(spec.get("template"))
    return [names, images, selector_string(spec.get("selector"))]


def _sts(o):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    names, images = _containers(spec.get("template"))
    return [name_of(o), f"{st.get('readyReplicas') or 0}/{spec.get('replicas', 0)}", age_of(o), names, images]


STATEFULSETS = Printer((NAME, Column("Ready"), AGE, Column("Containers", 1), Column("Images", 1)), _sts)


def _ds(o):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    ns = (((spec.get("template") or {}).get("spec") or {}).get("nodeSelector")) or {}
    return [name_of(o), st.get("desiredNumberScheduled") or 0, st.get("currentNumberScheduled") or 0,
            st.get("numberReady") or 0, st.get("updatedNumberScheduled") or 0, st.get("numberAvailable") or 0,
            ",".join(f"{k}={v}" for k, v in sorted(ns.items())) or "<none>", age_of(o)] + _wide(spec)


DAEMONSETS = Printer((NAME, Column("Desired", type="integer"), Column("Current", type="integer"),
                      Column("Ready", type="integer"), Column("Up-to-date", type="integer"),
                      Column("Available", type="integer"), Column("Node Selector"), AGE) + WIDE, _ds)


def _job_status(st: dict) -> str:
    for c in st.get("conditions") or []:
        if c.get("status") == "True" and c.get("type") in ("Complete", "Failed", "Suspended", "FailureTarget"):
            return {"FailureTarget": "FailureTarget"}.get(c["type"], c["type"])
    return "Running"


def _job(o):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    comp = spec.get("completions")
    completions = f"{st.get('succeeded') or 0}/{comp}" if comp is not None else f"{st.get('succeeded') or 0}/1 of {spec.get('parallelism', 1)}"
    start, end = parse_time(st.get("startTime")), parse_time(st.get("completionTime"))
    if start is None:
        duration = ""
    else:
        duration = human_duration(((end or _dt.datetime.now(_dt.timezone.utc)) - start).total_seconds())
    return [name_of(o), _job_status(st), completions, duration, age_of(o)] + _wide(spec)


JOBS = Printer((NAME, Column("Status"), Column("Completions"), Column("Duration"), AGE) + WIDE, _job)


def _cj(o):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    jspec = ((spec.get("jobTemplate") or {}).get("spec")) or {}
    last = st.get("lastScheduleTime")
    return [name_of(o), spec.get("schedule", ""), spec.get("timeZone") or "<none>",
            "True" if spec.get("suspend") else "False", len(st.get("active") or []),
            age(last) if last else "<none>", age_of(o)] + _wide(jspec)


CRONJOBS = Printer((NAME, Column("Schedule"), Column("Timezone"), Column("Suspend"), Column("Active", type="integer"),
                    Column("Last Schedule"), AGE) + WIDE, _cj)


def _modes(modes) -> str:
    short = {"ReadWriteOnce": "RWO", "ReadOnlyMany": "ROX", "ReadWriteMany": "RWX", "ReadWriteOncePod": "RWOP"}
    return ",".join(short.get(m, m) for m in modes or [])


def _pvc(o):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    return [name_of(o), st.get("phase", ""), spec.get("volumeName", ""), (st.get("capacity") or {}).get("storage", ""),
            _modes(st.get("accessModes")), spec.get("storageClassName") or "<unset>",
            spec.get("volumeAttributesClassName") or "<unset>", age_of(o), spec.get("volumeMode", "")]


PVCS = Printer((NAME, Column("Status"), Column("Volume"), Column("Capacity"), Column("Access Modes"),
                Column("StorageClass"), Column("VolumeAttributesClass"), AGE, Column("VolumeMode", 1)), _pvc)


def _pv(o):
    spec, st = o.get("spec") or {}, o.get("status") or {}
    ref = spec.get("claimRef") or {}
    claim = f"{ref.get('namespace')}/{ref.get('name')}" if ref else ""
    return [name_of(o), (spec.get("capacity") or {}).get("storage", ""), _modes(spec.get("accessModes")),
            spec.get("persistentVolumeReclaimPolicy", ""), st.get("phase", ""), claim,
            spec.get("storageClassName", ""), spec.get("volumeAttributesClassName") or "<unset>",
            st.get("reason", ""), age_of(o), spec.get("volumeMode", "")]


PVS = Printer((NAME, Column("Capacity"), Column("Access Modes"), Column("Reclaim Policy"), Column("Status"),
               Column("Claim"), Column("StorageClass"), Column("VolumeAttributesClass"), Column("Reason"), AGE,
               Column("VolumeMode", 1)), _pv)

PRIORITYCLASSES = Printer((NAME, Column("Value", type="integer"), Column("Global-Default"), AGE,
                           Column("PreemptionPolicy")),
                          lambda o: [name_of(o), o.get("value", 0), "true" if o.get("globalDefault") else "false",
                                     age_of(o), o.get("preemptionPolicy", "")])
def _sc_name(o) -> str:
    """`standard (default)` for the default class, as kubectl shows it."""
    anns = (o.get("metadata") or {}).get("annotations") or {}
    default = any(anns.get(a) == "true" for a in ("storageclass.kubernetes.io/is-default-class",
                                                   "storageclass.beta.kubernetes.io/is-default-class"))
    return f"{name_of(o)} (default)" if default else name_of(o)


STORAGECLASSES = Printer((NAME, Column("Provisioner"), Column("ReclaimPolicy"), Column("VolumeBindingMode"),
                          Column("AllowVolumeExpansion"), AGE),
                         lambda o: [_sc_name(o), o.get("provisioner", ""), o.get("reclaimPolicy", ""),
                                    o.get("volumeBindingMode", ""), "true" if o.get("allowVolumeExpansion") else "false",
                                    age_of(o)])


def _ing(o):
    spec = o.get("spec") or {}
    hosts = [r.get("host") for r in spec.get("rules") or [] if r.get("host")]
    lb = ((o.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    ports = "80, 443" if spec.get("tls") else "80"
    return [name_of(o), spec.get("ingressClassName") or "<none>", ",".join(hosts) or "*",
            ",".join(i.get("ip") or i.get("hostname", "") for i in lb), ports, age_of(o)]


INGRESSES = Printer((NAME, Column("Class"), Column("Hosts"), Column("Address"), Column("Ports"), AGE), _ing)


def _ic_parameters(o):
    """`Kind[.apiGroup]/name` of spec.parameters, as kubectl prints it."""
    p = (o.get("spec") or {}).get("parameters")
    if not p:
        return "<none>"
    kind = p.get("kind", "") + (f".{p['apiGroup']}" if p.get("apiGroup") else "")
    return f"{kind}/{p.get('name', '')}"


INGRESSCLASSES = Printer((NAME, Column("Controller"), Column("Parameters"), AGE),
                         lambda o: [name_of(o), (o.get("spec") or {}).get("controller", ""), _ic_parameters(o), age_of(o)])
PDBS = Printer((NAME, Column("Min Available"), Column("Max Unavailable"), Column("Allowed Disruptions", type="integer"), AGE),
               lambda o: [name_of(o), str((o.get("spec") or {}).get("minAvailable", "N/A")),
                          str((o.get("spec") or {}).get("maxUnavailable", "N/A")),
                          (o.get("status") or {}).get("disruptionsAllowed") or 0, age_of(o)])


def _quota(o):
    st, spec = o.get("status") or {}, o.get("spec") or {}
    used, hard = st.get("used") or {}, st.get("hard") or spec.get("hard") or {}
    req = [f"{k}: {used.get(k, '0')}/{v}" for k, v in sorted(hard.items()) if not k.startswith("limits.")]
    lim = [f"{k}: {used.get(k, '0')}/{v}" for k, v in sorted(hard.items()) if k.startswith("limits.")]
    return [name_of(o), age_of(o), ", ".join(req), ", ".join(lim)]


QUOTAS = Printer((NAME, AGE, Column("Request"), Column("Limit")), _quota)
CREATED_AT = Printer((NAME, Column("Created At", type="date")),
                     lambda o: [name_of(o), (o.get("metadata") or {}).get("creationTimestamp", "")])


def _rb(o):
    ref = o.get("roleRef") or {}
    subj = o.get("subjects") or []

    def of(kind):
        return ",".join((f"{s.get('namespace')}/{s.get('name')}" if kind == "ServiceAccount" else s.get("name", ""))
                        for s in subj if s.get("kind") == kind)
    return [name_of(o), f"{ref.get('kind')}/{ref.get('name')}", age_of(o), of("User"), of("Group"), of("ServiceAccount")]


BINDINGS = Printer((NAME, Column("Role"), AGE, Column("Users", 1), Column("Groups", 1), Column("ServiceAccounts", 1)), _rb)
