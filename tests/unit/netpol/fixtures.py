"""A small cluster for the policy tests: namespaces `default` and `prod` (team=blue), pods on
nodes w1 and w2, and a policy builder."""
from __future__ import annotations


def ns(name, **labels):
    return {"metadata": {"name": name, "labels": labels}}


def pod(name, ip, node="w1", namespace="default", ports=(), host_network=False, phase="Running", **labels):
    return {"metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"nodeName": node, "hostNetwork": host_network,
                     "containers": [{"name": "c", "ports": [dict(p) for p in ports]}]},
            "status": {"phase": phase, "podIP": ip, "podIPs": [{"ip": ip}] if ip else []}}


def policy(name, namespace="default", selector=None, **spec):
    return {"metadata": {"name": name, "namespace": namespace},
            "spec": {"podSelector": selector or {}, **spec}}


NAMESPACES = [ns("default"), ns("prod", team="blue"), ns("kube-system")]
WEB_PORTS = [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
PODS = [
    pod("web", "10.244.1.10", app="web", ports=WEB_PORTS),
    pod("client", "10.244.1.11", role="client"),
    pod("other", "10.244.2.12", node="w2", role="other"),
    pod("api", "10.244.2.20", node="w2", namespace="prod", app="api", ports=WEB_PORTS),
    pod("prod-client", "10.244.1.21", namespace="prod", role="client"),
    pod("hostnet", "10.200.0.11", host_network=True, role="client"),
    pod("done", "10.244.1.30", phase="Succeeded", role="client"),
]
