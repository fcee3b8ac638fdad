"""Table columns for pods, deployments and replicasets (upstream column sets)."""
from __future__ import annotations

import datetime as _dt

from ..meta import parse_time
from ..selectors import selector_string
from .age import human_duration
from .base import AGE, NAME, Column, Printer, age_of, name_of


def _restarts(statuses: list) -> str:
    total = sum(int((c or {}).get("restartCount") or 0) for c in statuses)
    last = None
    for c in statuses:
        fin = parse_time((((c or {}).get("lastState") or {}).get("terminated") or {}).get("finishedAt"))
        if fin and (last is None or fin > last):
            last = fin
    if total and last:
        ago = human_duration((_dt.datetime.now(_dt.timezone.utc) - last).total_seconds())
        return f"{total} ({ago} ago)"
    return str(total)


def pod_reason(pod: dict) -> str:
    status = pod.get("status") or {}
    reason = status.get("reason") or status.get("phase") or "Pending"
    spec = pod.get("spec") or {}
    init_total = len(spec.get("initContainers") or [])
    initializing = False
    for i, c in enumerate(status.get("initContainerStatuses") or []):
        st = (c or {}).get("state") or {}
        term, wait = st.get("terminated"), st.get("waiting")
        if term and term.get("exitCode") == 0:
            continue
        initializing = True
        if term:
            reason = "Init:" + (term.get("reason") or f"ExitCode:{term.get('exitCode')}")
        elif wait and wait.get("reason") and wait["reason"] != "PodInitializing":
            reason = "Init:" + wait["reason"]
        else:
            reason = f"Init:{i}/{init_total}"
        break
    if not initializing:
        has_running = False
        for c in reversed(status.get("containerStatuses") or []):
            st = (c or {}).get("state") or {}
            wait, term = st.get("waiting"), st.get("terminated")
            if wait and wait.get("reason"):
                reason = wait["reason"]
            elif term and term.get("reason"):
                reason = term["reason"]
            elif term:
                reason = f"Signal:{term['signal']}" if term.get("signal") else f"ExitCode:{term.get('exitCode')}"
            elif st.get("running") and c.get("ready"):
                has_running = True
        if reason == "Completed" and has_running:
            reason = "Running"
    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        reason = "Unknown" if status.get("reason") == "NodeLost" else "Terminating"
    return reason


def _pod_cells(pod: dict) -> list:
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    cs = status.get("containerStatuses") or []
    ready = sum(1 for c in cs if (c or {}).get("ready"))
    total = len(spec.get("containers") or [])
    gates = spec.get("readinessGates") or []
    conds = {c.get("type"): c.get("status") for c in status.get("conditions") or [] if isinstance(c, dict)}
    gate_cell = "<none>" if not gates else f"{sum(1 for g in gates if conds.get(g.get('conditionType')) == 'True')}/{len(gates)}"
    return [name_of(pod), f"{ready}/{total}", pod_reason(pod), _restarts(cs), age_of(pod),
            status.get("podIP") or "<none>", spec.get("nodeName") or "<none>",
            status.get("nominatedNodeName") or "<none>", gate_cell]


PODS = Printer((NAME, Column("Ready"), Column("Status"), Column("Restarts", type="string"), AGE,
                Column("IP", 1), Column("Node", 1), Column("Nominated Node", 1), Column("Readiness Gates", 1)),
               _pod_cells)


def _containers(tmpl: dict) -> tuple[str, str]:
    cs = ((tmpl or {}).get("spec") or {}).get("containers") or []
    return ",".join(c.get("name", "") for c in cs), ",".join(c.get("image", "") for c in cs)


def _deploy_cells(d: dict) -> list:
    spec, st = d.get("spec") or {}, d.get("status") or {}
    names, images = _containers(spec.get("template"))
    return [name_of(d), f"{st.get('readyReplicas') or 0}/{spec.get('replicas', 0)}",
            st.get("updatedReplicas") or 0, st.get("availableReplicas") or 0, age_of(d),
            names, images, selector_string(spec.get("selector"))]


DEPLOYMENTS = Printer((NAME, Column("Ready"), Column("Up-to-date", type="integer"),
                       Column("Available", type="integer"), AGE, Column("Containers", 1),
                       Column("Images", 1), Column("Selector", 1)), _deploy_cells)


def _rs_cells(r: dict) -> list:
    spec, st = r.get("spec") or {}, r.get("status") or {}
    names, images = _containers(spec.get("template"))
    return [name_of(r), spec.get("replicas", 0), st.get("replicas") or 0, st.get("readyReplicas") or 0,
            age_of(r), names, images, selector_string(spec.get("selector"))]


REPLICASETS = Printer((NAME, Column("Desired", type="integer"), Column("Current", type="integer"),
                       Column("Ready", type="integer"), AGE, Column("Containers", 1), Column("Images", 1),
                       Column("Selector", 1)), _rs_cells)
