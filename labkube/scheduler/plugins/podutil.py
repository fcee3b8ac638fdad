"""Helpers for plugins that look at other pods: label-selector terms, namespaces, topology domains."""
from __future__ import annotations

from labkube.client.selectors import selector_matches

from ..framework import NodeInfo


def term_matches(term: dict, pod_ns: str, other: dict) -> bool:
    """Does `other` match an affinity term (labelSelector within its namespaces) of a pod in pod_ns?"""
    namespaces = term.get("namespaces") or [pod_ns]
    if term.get("namespaceSelector") == {}:
        namespaces = None                 # an empty namespaceSelector means every namespace
    if namespaces is not None and other["metadata"].get("namespace") not in namespaces:
        return False
    if term.get("labelSelector") is None:
        return False
    return selector_matches(term["labelSelector"], other["metadata"].get("labels"))


def topology_value(ni: NodeInfo, key: str) -> str | None:
    return ((ni.node.get("metadata") or {}).get("labels") or {}).get(key)


def same_domain(a: NodeInfo, b: NodeInfo, key: str) -> bool:
    va = topology_value(a, key)
    return va is not None and va == topology_value(b, key)


def pods_on(nodes: list[NodeInfo]):
    for ni in nodes:
        for p in ni.pods:
            yield ni, p
