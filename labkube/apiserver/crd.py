"""Serving CustomResourceDefinitions: each served version of a CRD becomes a resource
(routing, discovery, OpenAPI, tables) with its schema; deleting a CRD deletes its objects.

CRDs are loaded from storage at start-up and re-read after every write to one.
"""
from __future__ import annotations

import logging

from ..api import crschema
from ..api.resources import Resource, clear_custom, crd_resources, register_custom, resource, unregister_custom
from .registry import Registry, prefix

log = logging.getLogger(__name__)
CRDS = resource("customresourcedefinitions")
_SERVED: dict[str, tuple[str, str]] = {}   # CRD name -> (group, plural) currently served


def serve(crd: dict) -> None:
    unserve(crd)
    spec = crd.get("spec") or {}
    for res in crd_resources(crd):
        version = next(v for v in spec["versions"] if v["name"] == res.version)
        crschema.register_schema(res.group, res.version, res.name, (version.get("schema") or {}).get("openAPIV3Schema"),
                                 version.get("additionalPrinterColumns"), (version.get("subresources") or {}).get("scale"))
        register_custom(res)
    _SERVED[crd["metadata"]["name"]] = (spec.get("group"), (spec.get("names") or {}).get("plural"))
    log.info("serving custom resource %s", crd["metadata"]["name"])


def unserve(crd: dict) -> None:
    old = _SERVED.pop(crd["metadata"]["name"], None)
    if old:
        unregister_custom(*old)
        crschema.unregister_schemas(*old)


async def load_all(reg: Registry) -> None:
    clear_custom()
    crschema.clear()
    _SERVED.clear()
    items, _, _ = await reg.list(CRDS, None, latest=True)
    for crd in items:
        try:
            serve(crd)
        except (KeyError, TypeError, StopIteration):
            log.warning("cannot serve CRD %s: malformed", crd["metadata"].get("name"))


async def after_write(reg: Registry, res: Resource, obj: dict, deleted: bool) -> None:
    """Registry hook: keep the served custom resources in step with the stored CRDs."""
    if res.name != CRDS.name or res.group != CRDS.group:
        return
    if not deleted:
        serve(obj)
        return
    custom = crd_resources(obj)
    unserve(obj)
    if custom:  # the objects go with their definition
        items, _ = await reg.storage.list(prefix(custom[0], None), latest=True)
        for k, _obj, _rev in items:
            try:
                await reg.storage.delete(k)
            except Exception:  # noqa: BLE001 - already gone
                pass
