"""Decode Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) for the
few kinds kubectl 1.31 still POSTs that way (`kubectl create rolebinding`).

Body = magic `k8s\\0` + runtime.Unknown {1 typeMeta {1 apiVersion, 2 kind}, 2 raw}; raw is
the kind's message. Field numbers follow the upstream generated.proto files; the schema
table below lists only the messages needed. Empty strings and zero times are dropped.
"""
from __future__ import annotations

import datetime as _dt

MAGIC = b"k8s\x00"

# message -> {field number: (json name, type, repeated)}; type is a scalar name or a message
SCHEMAS: dict[str, dict[int, tuple[str, str, bool]]] = {
    "Unknown": {1: ("typeMeta", "TypeMeta", False), 2: ("raw", "bytes", False),
                3: ("contentEncoding", "string", False), 4: ("contentType", "string", False)},
    "TypeMeta": {1: ("apiVersion", "string", False), 2: ("kind", "string", False)},
    "ObjectMeta": {1: ("name", "string", False), 2: ("generateName", "string", False),
                   3: ("namespace", "string", False), 5: ("uid", "string", False),
                   6: ("resourceVersion", "string", False), 7: ("generation", "int", False),
                   8: ("creationTimestamp", "Time", False), 9: ("deletionTimestamp", "Time", False),
                   10: ("deletionGracePeriodSeconds", "int", False), 11: ("labels", "map", True),
                   12: ("annotations", "map", True), 13: ("ownerReferences", "OwnerReference", True),
                   14: ("finalizers", "string", True)},
    "OwnerReference": {1: ("kind", "string", False), 3: ("name", "string", False), 4: ("uid", "string", False),
                       5: ("apiVersion", "string", False), 6: ("controller", "bool", False),
                       7: ("blockOwnerDeletion", "bool", False)},
    "Time": {1: ("seconds", "int", False), 2: ("nanos", "int", False)},
    "MapEntry": {1: ("key", "string", False), 2: ("value", "string", False)},
    "RoleBinding": {1: ("metadata", "ObjectMeta", False), 2: ("subjects", "Subject", True),
                    3: ("roleRef", "RoleRef", False)},
    "Subject": {1: ("kind", "string", False), 2: ("apiGroup", "string", False), 3: ("name", "string", False),
                4: ("namespace", "string", False)},
    "RoleRef": {1: ("apiGroup", "string", False), 2: ("kind", "string", False), 3: ("name", "string", False)},
}
SCHEMAS["ClusterRoleBinding"] = SCHEMAS["RoleBinding"]
KINDS = {"RoleBinding", "ClusterRoleBinding"}


class ProtobufError(ValueError):
    """A body that is not a protobuf message this server can decode."""


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        if i >= len(buf):
            raise ProtobufError("truncated varint")
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _fields(buf: bytes):
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        num, wire = key >> 3, key & 7
        if wire == 0:
            val, i = _varint(buf, i)
        elif wire == 2:
            n, i = _varint(buf, i)
            val, i = buf[i:i + n], i + n
        elif wire == 1:
            val, i = buf[i:i + 8], i + 8
        elif wire == 5:
            val, i = buf[i:i + 4], i + 4
        else:
            raise ProtobufError(f"unsupported wire type {wire}")
        yield num, wire, val


def decode(buf: bytes, message: str):
    schema = SCHEMAS[message]
    out: dict = {}
    for num, wire, val in _fields(buf):
        if num not in schema:
            continue
        name, typ, repeated = schema[num]
        if typ == "string":
            v = val.decode()
        elif typ == "bytes":
            v = val
        elif typ == "int":
            v = val - (1 << 64) if val >= 1 << 63 else val
        elif typ == "bool":
            v = bool(val)
        elif typ == "map":
            e = decode(val, "MapEntry")
            out.setdefault(name, {})[e.get("key", "")] = e.get("value", "")
            continue
        elif typ == "Time":
            t = decode(val, "Time")
            v = (_dt.datetime.fromtimestamp(t.get("seconds", 0), _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
                 if t.get("seconds") else None)
        else:
            v = decode(val, typ)
        if repeated:
            out.setdefault(name, []).append(v)
        else:
            out[name] = v
    return {k: v for k, v in out.items() if v not in ("", None)}


def decode_body(body: bytes) -> dict:
    """The JSON form of a protobuf-encoded object; ProtobufError for kinds not known here."""
    if not body.startswith(MAGIC):
        raise ProtobufError("missing k8s protobuf magic")
    unknown = decode(body[len(MAGIC):], "Unknown")
    tm = unknown.get("typeMeta") or {}
    kind = tm.get("kind", "")
    if kind not in KINDS:
        raise ProtobufError(f"protobuf bodies of kind {kind or '?'} are not supported; send JSON")
    obj = decode(unknown.get("raw", b""), kind)
    obj["apiVersion"], obj["kind"] = tm.get("apiVersion", ""), kind
    return obj
