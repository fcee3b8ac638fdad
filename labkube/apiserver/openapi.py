"""OpenAPI v3 documents good enough for kubectl's validation step: a root listing each
group-version, and per group-version a `patch` operation per kind that carries
x-kubernetes-group-version-kind and a `fieldValidation` query parameter, plus component
schemas with field types (labkube.api.schema) for `kubectl explain`. /openapi/v2 is an empty
document: kubectl falls back to it for a group-version v3 does not list (apps/v1beta1 from an
old course), finds no schema there and goes on to say `no matches for kind` as Kubernetes
does (a 404 made it fail with "error validating data: the server could not find the
requested resource")."""
from __future__ import annotations

import hashlib

from aiohttp import web

from ..api.resources import all_resources, group_versions
from ..api import crschema
from ..api.schema import kind_schema
from .httputil import reply


def _gv_path(gv: str) -> str:
    return f"api/{gv}" if "/" not in gv else f"apis/{gv}"


def _hash(gv: str) -> str:
    return hashlib.sha256(gv.encode()).hexdigest()[:32].upper()


async def root(request: web.Request) -> web.Response:
    paths = {_gv_path(gv): {"serverRelativeURL": f"/openapi/v3/{_gv_path(gv)}?hash={_hash(gv)}"}
             for gv in group_versions()}
    return reply({"paths": paths})


V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"     # what clients accept
V2_PROTOBUF_REPLY = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"  # what they can parse back


async def v2(request: web.Request) -> web.Response:
    """An OpenAPI v2 document without definitions: empty bytes are an empty protobuf Document.
    The reply's media type has no `@` (Go's mime parser, in kubectl, rejects it)."""
    if V2_PROTOBUF in request.headers.get("Accept", ""):
        return web.Response(body=b"", content_type=V2_PROTOBUF_REPLY)
    return reply({"swagger": "2.0", "info": {"title": "Kubernetes", "version": "v1.31.0"}, "paths": {},
                  "definitions": {}})


_PARAMS = [{"name": n, "in": "query", "schema": {"type": "string"}, "uniqueItems": True}
           for n in ("dryRun", "fieldManager", "fieldValidation")]


def document(gv: str) -> dict:
    paths, schemas = {}, {}
    for r in all_resources():
        if r.group_version != gv:
            continue
        gvk = {"group": r.group, "version": r.version, "kind": r.kind}
        base = f"/{_gv_path(gv)}/" + ("namespaces/{namespace}/" if r.namespaced else "")
        schema_name = f"io.k8s.labkube.{r.group or 'core'}.{r.version}.{r.kind}"
        ref = {"$ref": f"#/components/schemas/{schema_name}"}
        op = {"x-kubernetes-group-version-kind": gvk, "parameters": _PARAMS,
              "responses": {"200": {"content": {"application/json": {"schema": ref}}}}}
        paths[base + r.name + "/{name}"] = {"get": {**op, "x-kubernetes-action": "get"},
                                            "patch": {**op, "x-kubernetes-action": "patch"},
                                            "put": {**op, "x-kubernetes-action": "put"}}
        paths[base + r.name] = {"post": {**op, "x-kubernetes-action": "post"}}
        if r.custom:
            base_schema = crschema.schema_for(r.group, r.version, r.name) or {
                "type": "object", "x-kubernetes-preserve-unknown-fields": True}
        else:
            base_schema = kind_schema(r.name, r.kind, gv)
        schemas[schema_name] = {**base_schema, "x-kubernetes-group-version-kind": [gvk]}
    return {"openapi": "3.0.0", "info": {"title": "labkube", "version": gv}, "paths": paths,
            "components": {"schemas": schemas}}


async def group_version(request: web.Request) -> web.Response:
    rest = request.match_info["rest"]
    gv = rest[4:] if rest.startswith("api/") else rest[5:] if rest.startswith("apis/") else ""
    if gv not in group_versions():
        raise web.HTTPNotFound()
    return reply(document(gv))
