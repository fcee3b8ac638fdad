"""Discovery documents: legacy (/api, /api/v1, /apis, /apis/<g>[/<v>]) and aggregated
(apidiscovery.k8s.io/v2, only when the Accept header asks for it)."""
from __future__ import annotations

from aiohttp import web

from ..api.resources import Resource, all_resources, group_versions
from .aggregator import aggregated_items, legacy_groups
from .httputil import dumps, reply

AGGREGATED_CT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"

# subresources whose kind/group differ from the parent, and their verbs
_SUB = {
    "scale": ("autoscaling", "v1", "Scale", ["get", "patch", "update"]),
    "eviction": ("policy", "v1", "Eviction", ["create"]),
    "binding": ("", "v1", "Binding", ["create"]),
    "log": (None, None, None, ["get"]),
    "exec": ("", "v1", "PodExecOptions", ["create", "get"]),
    "attach": ("", "v1", "PodAttachOptions", ["create", "get"]),
    "portforward": ("", "v1", "PodPortForwardOptions", ["create", "get"]),
    "proxy": ("", "v1", "NodeProxyOptions", ["create", "delete", "get", "patch", "update"]),
    "status": (None, None, None, ["get", "patch", "update"]),
    "finalize": (None, None, None, ["update"]),
    "ephemeralcontainers": (None, None, None, ["get", "patch", "update"]),
}


def _wants_aggregated(request: web.Request) -> bool:
    return "as=APIGroupDiscoveryList" in request.headers.get("Accept", "").replace(" ", "")


def _sub_info(r: Resource, sub: str):
    g, v, kind, verbs = _SUB.get(sub, (None, None, None, ["get"]))
    return (r.group if g is None else g), (r.version if v is None else v), (kind or r.kind), verbs


def resource_list(gv: str) -> dict:
    out = []
    for r in all_resources():
        if r.group_version != gv:
            continue
        entry = {"name": r.name, "singularName": r.singular or r.kind.lower(), "namespaced": r.namespaced,
                 "kind": r.kind, "verbs": list(r.verbs)}
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        out.append(entry)
        for sub in r.subresources:
            g, v, kind, verbs = _sub_info(r, sub)
            e = {"name": f"{r.name}/{sub}", "singularName": "", "namespaced": r.namespaced, "kind": kind, "verbs": verbs}
            if (g, v) != (r.group, r.version):
                e["group"], e["version"] = g, v
            out.append(e)
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}


def _group_entry(group: str) -> dict:
    versions = [gv.split("/")[1] for gv in group_versions() if gv.startswith(group + "/")]
    vs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": vs, "preferredVersion": vs[0]}


def groups() -> list[str]:
    out = []
    for gv in group_versions():
        if "/" in gv and gv.split("/")[0] not in out:
            out.append(gv.split("/")[0])
    return out


def _aggregated(items_for: list[str]) -> dict:
    items = []
    for group in items_for:
        by_version: dict[str, list] = {}
        for r in all_resources():
            if r.group != group:
                continue
            subs = []
            for sub in r.subresources:
                g, v, kind, verbs = _sub_info(r, sub)
                subs.append({"subresource": sub, "responseKind": {"group": g, "version": v, "kind": kind}, "verbs": verbs})
            entry = {"resource": r.name, "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
                     "scope": "Namespaced" if r.namespaced else "Cluster", "singularResource": r.singular or r.kind.lower(),
                     "verbs": list(r.verbs), "subresources": subs}
            if r.short_names:
                entry["shortNames"] = list(r.short_names)
            if r.categories:
                entry["categories"] = list(r.categories)
            by_version.setdefault(r.version, []).append(entry)
        items.append({"metadata": {"name": group}, "versions": [
            {"version": v, "resources": rs, "freshness": "Current"} for v, rs in by_version.items()]})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}


def _agg_reply(doc: dict) -> web.Response:
    return web.Response(body=dumps(doc), headers={"Content-Type": AGGREGATED_CT, "Vary": "Accept"})


async def api_root(request: web.Request) -> web.Response:
    if _wants_aggregated(request):
        return _agg_reply(_aggregated([""]))
    host = request.host or "127.0.0.1:6443"
    return reply({"kind": "APIVersions", "versions": ["v1"],
                  "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}]})


async def apis_root(request: web.Request) -> web.Response:
    if _wants_aggregated(request):
        doc = _aggregated(groups())
        doc["items"] += aggregated_items(request.app)       # APIServices' groups (aggregator.py)
        return _agg_reply(doc)
    return reply({"kind": "APIGroupList", "apiVersion": "v1",
                  "groups": [_group_entry(g) for g in groups()] + legacy_groups(request.app)})


async def api_v1(request: web.Request) -> web.Response:
    return reply(resource_list("v1"))


async def api_group(request: web.Request) -> web.Response:
    group = request.match_info["group"]
    if group not in groups():
        raise web.HTTPNotFound()
    e = _group_entry(group)
    return reply({"kind": "APIGroup", "apiVersion": "v1", **e})


async def api_group_version(request: web.Request) -> web.Response:
    gv = f"{request.match_info['group']}/{request.match_info['version']}"
    if gv not in group_versions():
        raise web.HTTPNotFound()
    return reply(resource_list(gv))
