"""OpenAPI v3 schemas for each kind, built from the type table in `shape` (so `kubectl explain`
can walk into `spec.containers` etc.), with the descriptions of `explain_docs`. Fields outside
the type table (and outside explain_docs' detail) are not listed."""
from __future__ import annotations

from . import explain_docs, shape


def to_schema(node) -> dict:
    if isinstance(node, list):
        return {"type": "array", "items": to_schema(node[0])}
    if isinstance(node, dict):
        texts = explain_docs.FIELDS.get(id(node), {})
        props = {}
        for k, v in node.items():
            props[k] = to_schema(explain_docs.DETAIL.get((id(node), k), v))
            if k in texts:
                props[k]["description"] = texts[k]
        return {"type": "object", "properties": props}
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
    if node == "quantity":   # labkube.api.autoscaling.types.QTY
        return {"type": "string", "description": "A quantity, e.g. 500m or 256Mi."}
    if node == shape.INTSTR:
        return {"x-kubernetes-int-or-string": True}
    return {"type": "object"}


def kind_schema(resource_name: str, kind: str, gv: str) -> dict:
    props = {"apiVersion": {"type": "string", "description": "The API group and version this object is "
                            "written in, e.g. v1 or apps/v1."},
             "kind": {"type": "string", "description": "The object's kind, e.g. Pod or Deployment."},
             "metadata": {**to_schema(shape.META), "description": "Name, namespace, labels, annotations and "
                          "the server's bookkeeping of the object."}}
    for k, v in shape.TOP.get(resource_name, {}).items():
        props[k] = to_schema(v)
        text = explain_docs.FIELDS.get(id(shape.TOP[resource_name]), {}).get(k)
        if text:
            props[k]["description"] = text
    spec = shape.VERSIONED_SPEC.get((gv, resource_name), shape.SPEC.get(resource_name))
    if spec is not None:
        props["spec"] = {**to_schema(spec), "description": f"What the {kind} should be: "
                         "the desired state you write."}
        props["status"] = {"type": "object", "description": f"What the {kind} is: the observed state the "
                           "system reports (read-only)."}
    summary = explain_docs.KINDS.get(kind, f"{kind} as served by labkube.")
    return {"type": "object", "description": summary, "properties": props}
