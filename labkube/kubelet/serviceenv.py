"""The Service environment variables a container gets, as the kubelet's getServiceEnvVarMap:

- the master Service `kubernetes` of namespace default, always (even with enableServiceLinks
  false), so in-cluster clients find the apiserver (KUBERNETES_SERVICE_HOST/PORT);
- with enableServiceLinks (the default), every Service of the pod's own namespace, a Service
  named `kubernetes` there winning over the master one;
- only Services with a cluster IP (not headless "None", not ExternalName); the kubelet sees them
  through its informer, so a Service created after the container started is not in its env.

Per Service NAME (upper-cased, '-' -> '_'): NAME_SERVICE_HOST, NAME_SERVICE_PORT (first port),
NAME_SERVICE_PORT_<PORTNAME> for each named port, and the Docker-links ones: NAME_PORT
(first port as proto://ip:port), NAME_PORT_<port>_<PROTO> with _PROTO, _PORT and _ADDR.
The container's envFrom and env override them (labkube/kubelet/containers.py).
"""
from __future__ import annotations

MASTER_NAMESPACE = "default"
MASTER_SERVICES = frozenset({"kubernetes"})


def service_view(svc: dict) -> dict:
    """What the kubelet's Service informer keeps of a Service: its name and address."""
    md, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    return {"metadata": {k: md[k] for k in ("name", "namespace", "resourceVersion") if k in md},
            "spec": {"clusterIP": spec.get("clusterIP"),
                     "ports": [{k: p[k] for k in ("name", "port", "protocol") if k in p}
                               for p in spec.get("ports") or []]}}


def has_cluster_ip(svc: dict) -> bool:
    ip = (svc.get("spec") or {}).get("clusterIP")
    return bool(ip) and ip != "None"


def env_name(name: str) -> str:
    return name.upper().replace("-", "_")


def _host_port(ip: str, port) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def service_env(svc: dict) -> dict:
    """The variables of one Service ({} without a cluster IP or ports)."""
    spec = svc.get("spec") or {}
    ip, ports = spec.get("clusterIP"), spec.get("ports") or []
    if not has_cluster_ip(svc) or not ports:
        return {}
    name = env_name(svc["metadata"]["name"])
    out = {f"{name}_SERVICE_HOST": ip, f"{name}_SERVICE_PORT": str(ports[0]["port"])}
    for p in ports:
        if p.get("name"):
            out[f"{name}_SERVICE_PORT_{env_name(p['name'])}"] = str(p["port"])
    for i, p in enumerate(ports):
        proto = p.get("protocol") or "TCP"
        url = f"{proto.lower()}://{_host_port(ip, p['port'])}"
        if i == 0:
            out[f"{name}_PORT"] = url
        pre = f"{name}_PORT_{p['port']}_{proto.upper()}"
        out.update({pre: url, pre + "_PROTO": proto.lower(), pre + "_PORT": str(p["port"]), pre + "_ADDR": ip})
    return out


def pod_service_env(pod: dict, services) -> dict:
    """The variables for a container of ``pod`` from ``services`` (every Service the kubelet knows,
    or at least those of namespace default and of the pod's namespace)."""
    ns = (pod.get("metadata") or {}).get("namespace")
    links = (pod.get("spec") or {}).get("enableServiceLinks") is not False
    chosen: dict[str, dict] = {}
    for svc in services:
        if not has_cluster_ip(svc):
            continue
        md = svc.get("metadata") or {}
        name = md.get("name")
        if md.get("namespace") == MASTER_NAMESPACE and name in MASTER_SERVICES:
            chosen.setdefault(name, svc)
        elif md.get("namespace") == ns and links:
            chosen[name] = svc
    out: dict[str, str] = {}
    for name in sorted(chosen):
        out.update(service_env(chosen[name]))
    return out
