"""The metrics-server registers itself, as the lab's DNS keeps its own Service: a selector-less
Service `kube-system/metrics-server` (port 443 -> `secure_port`), its Endpoints pointing at the
addresses it serves on, and the APIService `v1beta1.metrics.k8s.io` naming that Service, which
makes the apiserver's aggregation layer (labkube/apiserver/aggregator.py) proxy the group here.
Idempotent: objects are created when missing and repaired when they differ.
"""
from __future__ import annotations

import base64
import logging

from labkube.client.errors import ApiError

from .api import GROUP, VERSION
from .config import MetricsConfig

log = logging.getLogger(__name__)
NAME, NAMESPACE = "metrics-server", "kube-system"
LABELS = {"k8s-app": "metrics-server"}
APISERVICE = f"{VERSION}.{GROUP}"


def desired_service() -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": LABELS},
            "spec": {"type": "ClusterIP", "ports": [{"name": "https", "port": 443, "protocol": "TCP",
                                                     "targetPort": "https"}]}}


def desired_subsets(cfg: MetricsConfig) -> list[dict]:
    return [{"addresses": [{"ip": a} for a in cfg.endpoint_addresses or [cfg.bind_address]],
             "ports": [{"name": "https", "port": cfg.secure_port, "protocol": "TCP"}]}]


def desired_apiservice(ca_pem: bytes) -> dict:
    return {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
            "metadata": {"name": APISERVICE, "labels": LABELS},
            "spec": {"group": GROUP, "version": VERSION, "groupPriorityMinimum": 100, "versionPriority": 100,
                     "service": {"namespace": NAMESPACE, "name": NAME, "port": 443},
                     "caBundle": base64.b64encode(ca_pem).decode()}}


async def _ensure(client, res: str, want: dict, differs, namespace: str | None = None) -> None:
    name = want["metadata"]["name"]
    try:
        cur = await client.get(res, name, namespace=namespace)
    except ApiError as e:
        if e.code != 404:
            raise
        await client.create(res, want, namespace=namespace)
        log.info("created %s %s", res, name)
        return
    if differs(cur):
        body = dict(cur, **{k: v for k, v in want.items() if k not in ("metadata", "apiVersion", "kind")})
        await client.replace(res, name, body, namespace=namespace)
        log.info("repaired %s %s", res, name)


async def ensure(client, cfg: MetricsConfig) -> None:
    with open(cfg.client_ca_file, "rb") as f:
        ca = f.read()
    await _ensure(client, "services", desired_service(),
                  lambda cur: (cur.get("spec") or {}).get("ports") != desired_service()["spec"]["ports"]
                  and not (cur.get("spec") or {}).get("ports"), NAMESPACE)
    ep = {"apiVersion": "v1", "kind": "Endpoints", "metadata": {"name": NAME, "namespace": NAMESPACE,
                                                                 "labels": LABELS},
          "subsets": desired_subsets(cfg)}
    await _ensure(client, "endpoints", ep, lambda cur: cur.get("subsets") != ep["subsets"], NAMESPACE)
    want = desired_apiservice(ca)
    await _ensure(client, "apiservices", want, lambda cur: any(
        (cur.get("spec") or {}).get(k) != v for k, v in want["spec"].items()))
