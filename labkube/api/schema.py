"""OpenAPI v3 schemas for each kind, built from the type table in `shape` (so `kubectl explain`
can walk into `spec.containers` etc.). Types only; fields outside the table are not listed."""
from __future__ import annotations

from . import shape


def to_schema(node) -> dict:
    if isinstance(node, list):
        return {"type": "array", "items": to_schema(node[0])}
    if isinstance(node, dict):
        return {"type": "object", "properties": {k: to_schema(v) for k, v in node.items()}}
    if node == shape.S:
        return {"type": "string"}
    if node == shape.I:
        return {"type": "integer", "format": "int64"}
    if node == shape.B:
        return {"type": "boolean"}
    if node == shape.MAP:
        return {"type": "object", "additionalProperties": {"type": "string"}}
    if node == shape.QMAP:
        return {"type": "object", "additionalProperties": {"x-kubernetes-int-or-string": True}}
    if node == shape.INTSTR:
        return {"x-kubernetes-int-or-string": True}
    return {"type": "object"}


def kind_schema(resource_name: str, kind: str, gv: str) -> dict:
    props = {"apiVersion": {"type": "string", "description": "APIVersion defines the versioned schema of this "
                            "representation of an object."},
             "kind": {"type": "string", "description": "Kind is a string value representing the REST resource "
                      "this object represents."},
             "metadata": {**to_schema(shape.META), "description": "Standard object's metadata."}}
    for k, v in shape.TOP.get(resource_name, {}).items():
        props[k] = to_schema(v)
    if resource_name in shape.SPEC:
        props["spec"] = {**to_schema(shape.SPEC[resource_name]), "description": f"The desired state of the {kind}."}
        props["status"] = {"type": "object", "description": f"The observed state of the {kind}, set by the system."}
    return {"type": "object", "description": f"{kind} ({gv}) as served by labkube.", "properties": props}
