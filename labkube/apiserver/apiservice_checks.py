"""Availability of the aggregated APIServices (upstream's AvailableConditionController) and what
discovery says about them, for aggregator.py.

Every CHECK_INTERVAL seconds each Service-backed APIService's backend is asked for its
group-version's resource list; the answer is kept for discovery and the `Available` condition in
the APIService's status is kept up to date (reasons Passed, ServiceNotFound, MissingEndpoints,
FailedDiscoveryCheck). Legacy `/apis` lists an aggregated group as soon as its APIService exists
(so a stopped backend shows as kubectl's "couldn't get resource list"); aggregated discovery lists
its resources from the last answer, `Stale` when the last check failed.
"""
from __future__ import annotations

import asyncio
import logging
import time

import aiohttp

from .. import jsonio
from ..api.errors import ApiError
from ..api.resources import resource
from . import aggregator

log = logging.getLogger(__name__)
CHECK_INTERVAL = 10.0


async def check(agg, svc: dict) -> tuple[bool, str, str]:
    """(available, reason, message) after asking the backend for its resource list."""
    spec = svc["spec"]
    gv = f"{spec['group']}/{spec['version']}"
    try:
        base, server_name, ctx = await agg.backend(svc)
        async with agg.client_session().get(f"{base}/apis/{gv}", ssl=ctx, timeout=aiohttp.ClientTimeout(total=5),
                                       server_hostname=server_name if ctx is not False else None,
                                       headers={"X-Remote-User": "system:kube-aggregator",
                                                "X-Remote-Group": "system:masters"}) as resp:
            text = await resp.read()
            if resp.status != 200:
                raise aggregator.Unavailable(f"failing or missing response from {base}/apis/{gv}: HTTP {resp.status}")
        agg.resources[gv] = (jsonio.loads(text), True)
        return True, "Passed", "all checks passed"
    except (aggregator.Unavailable, aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as e:
        old = agg.resources.get(gv, (None, False))[0]
        agg.resources[gv] = (old, False)
        reason = "ServiceNotFound" if "not found" in str(e) else \
            "MissingEndpoints" if "endpoint" in str(e) else "FailedDiscoveryCheck"
        return False, reason, str(e) if isinstance(e, (aggregator.Unavailable, ValueError)) \
            else aggregator.connection_error(e)


async def set_condition(reg, svc: dict, available: bool, reason: str, message: str) -> None:
    conds = (svc.get("status") or {}).get("conditions") or []
    cur = next((c for c in conds if c.get("type") == "Available"), {})
    status = "True" if available else "False"
    if cur.get("status") == status and cur.get("reason") == reason and cur.get("message") == message:
        return
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    cond = {"type": "Available", "status": status, "reason": reason, "message": message,
            "lastTransitionTime": now if cur.get("status") != status else cur.get("lastTransitionTime", now)}

    def mutate(obj: dict) -> dict:
        st = obj.setdefault("status", {})
        st["conditions"] = [c for c in st.get("conditions") or [] if c.get("type") != "Available"] + [cond]
        return obj
    try:
        await reg.guaranteed_update(resource("apiservices"), None, svc["metadata"]["name"], mutate,
                                         sub="status")
    except ApiError as e:
        log.debug("APIService %s status not written: %s", svc["metadata"]["name"], e)


async def check_forever(agg) -> None:
    while True:
        try:
            await agg.refresh()
            for svcs in list(agg.by_group.values()):
                for svc in svcs:
                    await set_condition(agg.reg, svc, *await check(agg, svc))
        except Exception:                                       # noqa: BLE001 - checked again
            log.exception("APIService availability check failed")
        await asyncio.sleep(CHECK_INTERVAL)


def legacy_groups(agg) -> list[dict]:
    """APIGroup entries for /apis, one per aggregated group."""
    out = []
    for group, svcs in agg.by_group.items():
        vs = [{"groupVersion": f"{group}/{s['spec']['version']}", "version": s["spec"]["version"]} for s in svcs]
        out.append({"name": group, "versions": vs, "preferredVersion": vs[0]})
    return out


def aggregated_items(agg) -> list[dict]:
    """APIGroupDiscovery entries (apidiscovery.k8s.io/v2) from the backends' last answers."""
    items = []
    for group, svcs in agg.by_group.items():
        versions = []
        for s in svcs:
            v = s["spec"]["version"]
            doc, fresh = agg.resources.get(f"{group}/{v}", (None, False))
            rs = [{"resource": r["name"], "responseKind": {"group": group, "version": v, "kind": r.get("kind", "")},
                   "scope": "Namespaced" if r.get("namespaced") else "Cluster",
                   "singularResource": r.get("singularName") or r.get("kind", "").lower(), "verbs": r.get("verbs") or []}
                  for r in (doc or {}).get("resources") or [] if "/" not in r.get("name", "")]
            versions.append({"version": v, "resources": rs, "freshness": "Current" if fresh else "Stale"})
        items.append({"metadata": {"name": group}, "versions": versions})
    return items
