"""The lab's IngressClass and which Ingresses belong to this controller.

The class `labkube` (controller `labkube.io/ingress`) is the cluster's default
(annotation `ingressclass.kubernetes.io/is-default-class: "true"`); the apiserver creates it at
start (labkube/apiserver/bootstrap.py) and the controller creates it when missing.
An Ingress is ours when `spec.ingressClassName` names a class of our controller; without a class
name, when the legacy annotation `kubernetes.io/ingress.class` names one, or, with neither, when
one of our classes is the default. Ingresses of other classes are left alone.
"""
from __future__ import annotations

CLASS_NAME = "labkube"
CONTROLLER = "labkube.io/ingress"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"
LEGACY_CLASS_ANNOTATION = "kubernetes.io/ingress.class"


def lab_ingress_class() -> dict:
    return {"apiVersion": "networking.k8s.io/v1", "kind": "IngressClass",
            "metadata": {"name": CLASS_NAME, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"},
                         "labels": {"addonmanager.kubernetes.io/mode": "EnsureExists"}},
            "spec": {"controller": CONTROLLER}}


def is_default(ic: dict) -> bool:
    return ((ic.get("metadata") or {}).get("annotations") or {}).get(DEFAULT_CLASS_ANNOTATION) == "true"


def our_classes(classes: list[dict]) -> dict[str, dict]:
    return {c["metadata"]["name"]: c for c in classes if (c.get("spec") or {}).get("controller") == CONTROLLER}


def is_ours(ingress: dict, ours: dict[str, dict]) -> bool:
    name = (ingress.get("spec") or {}).get("ingressClassName")
    if name:
        return name in ours
    legacy = ((ingress.get("metadata") or {}).get("annotations") or {}).get(LEGACY_CLASS_ANNOTATION)
    if legacy:
        return legacy in ours
    return any(is_default(c) for c in ours.values())
