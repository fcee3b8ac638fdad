"""Table columns for nodes, namespaces, events, services, configmaps, secrets, leases, cs ..."""
from __future__ import annotations

from .age import age
from .base import AGE, NAME, Column, Printer, age_of, name_of


def node_roles(node: dict) -> str:
    roles = set()
    for k, v in ((node.get("metadata") or {}).get("labels") or {}).items():
        if k.startswith("node-role.kubernetes.io/"):
            roles.add(k.split("/", 1)[1])
        elif k == "kubernetes.io/role" and v:
            roles.add(v)
    return ",".join(sorted(r for r in roles if r)) or "<none>"


def node_status(node: dict) -> str:
    conds = (node.get("status") or {}).get("conditions") or []
    ready = next((c for c in conds if (c or {}).get("type") == "Ready"), None)
    out = "Unknown" if ready is None else ("Ready" if ready.get("status") == "True" else "NotReady")
    if (node.get("spec") or {}).get("unschedulable"):
        out += ",SchedulingDisabled"
    return out


def _addr(node: dict, kind: str) -> str:
    for a in (node.get("status") or {}).get("addresses") or []:
        if (a or {}).get("type") == kind:
            return a.get("address", "")
    return "<none>"


def _node_cells(n: dict) -> list:
    info = (n.get("status") or {}).get("nodeInfo") or {}
    return [name_of(n), node_status(n), node_roles(n), age_of(n), info.get("kubeletVersion", ""),
            _addr(n, "InternalIP"), _addr(n, "ExternalIP"), info.get("osImage") or "<unknown>",
            info.get("kernelVersion") or "<unknown>", info.get("containerRuntimeVersion") or "<unknown>"]


NODES = Printer((NAME, Column("Status"), Column("Roles"), AGE, Column("Version"), Column("Internal-IP", 1),
                 Column("External-IP", 1), Column("OS-Image", 1), Column("Kernel-Version", 1),
                 Column("Container-Runtime", 1)), _node_cells)

NAMESPACES = Printer((NAME, Column("Status"), AGE),
                     lambda o: [name_of(o), (o.get("status") or {}).get("phase", ""), age_of(o)])


def _event_cells(e: dict) -> list:
    io = e.get("involvedObject") or {}
    src = e.get("source") or {}
    last = e.get("lastTimestamp") or e.get("eventTime") or (e.get("metadata") or {}).get("creationTimestamp")
    first = e.get("firstTimestamp") or e.get("eventTime") or last
    source = src.get("component") or e.get("reportingComponent") or ""
    if src.get("host"):
        source += ", " + src["host"]
    return [age(last), e.get("type", ""), e.get("reason", ""),
            f"{str(io.get('kind', '')).lower()}/{io.get('name', '')}", io.get("fieldPath", ""), source,
            (e.get("message") or "").strip(), age(first), e.get("count") or 1, name_of(e)]


EVENTS = Printer((Column("Last Seen"), Column("Type"), Column("Reason"), Column("Object"), Column("Subobject", 1),
                  Column("Source", 1), Column("Message"), Column("First Seen", 1), Column("Count", 1),
                  Column("Name", 1)), _event_cells)


def _ports(svc: dict) -> str:
    out = []
    for p in (svc.get("spec") or {}).get("ports") or []:
        s = str(p.get("port"))
        if p.get("nodePort"):
            s += f":{p['nodePort']}"
        out.append(f"{s}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def _svc_cells(s: dict) -> list:
    spec = s.get("spec") or {}
    ext = spec.get("externalIPs") or []
    ing = [i.get("ip") or i.get("hostname") for i in ((s.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []]
    if spec.get("type") == "ExternalName":
        external = spec.get("externalName", "")
    elif ext or ing:
        external = ",".join([x for x in ing + ext if x])
    else:
        external = "<pending>" if spec.get("type") == "LoadBalancer" else "<none>"
    sel = spec.get("selector") or {}
    return [name_of(s), spec.get("type", "ClusterIP"), spec.get("clusterIP") or "<none>", external,
            _ports(s), age_of(s), ",".join(f"{k}={v}" for k, v in sorted(sel.items())) or "<none>"]


SERVICES = Printer((NAME, Column("Type"), Column("Cluster-IP"), Column("External-IP"), Column("Port(s)"), AGE,
                    Column("Selector", 1)), _svc_cells)

CONFIGMAPS = Printer((NAME, Column("Data", type="integer"), AGE),
                     lambda o: [name_of(o), len(o.get("data") or {}) + len(o.get("binaryData") or {}), age_of(o)])
SECRETS = Printer((NAME, Column("Type"), Column("Data", type="integer"), AGE),
                  lambda o: [name_of(o), o.get("type", "Opaque"), len(o.get("data") or {}), age_of(o)])
SERVICEACCOUNTS = Printer((NAME, Column("Secrets", type="integer"), AGE),
                          lambda o: [name_of(o), len(o.get("secrets") or []), age_of(o)])
LEASES = Printer((NAME, Column("Holder"), AGE),
                 lambda o: [name_of(o), (o.get("spec") or {}).get("holderIdentity") or "", age_of(o)])


def _endpoints(o: dict) -> str:
    eps = []
    for sub in o.get("subsets") or []:
        for a in sub.get("addresses") or []:
            for p in sub.get("ports") or [{}]:
                eps.append(f"{a.get('ip')}:{p.get('port')}" if p.get("port") else a.get("ip", ""))
    if not eps:
        return "<none>"
    return ",".join(eps[:3]) + (f" + {len(eps) - 3} more..." if len(eps) > 3 else "")


ENDPOINTS = Printer((NAME, Column("Endpoints"), AGE), lambda o: [name_of(o), _endpoints(o), age_of(o)])


def _cs_cells(o: dict) -> list:
    cond = next((c for c in o.get("conditions") or [] if c.get("type") == "Healthy"), {})
    ok = cond.get("status") == "True"
    return [name_of(o), "Healthy" if ok else "Unhealthy", cond.get("message", ""), cond.get("error", "")]


COMPONENTSTATUSES = Printer((NAME, Column("Status"), Column("Message"), Column("Error")), _cs_cells)
