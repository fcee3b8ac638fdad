"""The authorizer's view of the store: Roles, ClusterRoles, their bindings and the
ServiceAccounts (uids, for token checks), listed once and kept current by watches on the
apiserver's own storage - no store read per request.

`RbacCache.start(reg)` lists the five prefixes and then follows one watch per prefix; a watch
that ends (the watcher fell behind, or its history expired) is replaced by a fresh list and
watch. After each change the stored rules of aggregated ClusterRoles (`aggregationRule`) are
brought in line with the roles their selectors match, as Kubernetes' clusterrole-aggregation
controller does, so `kubectl describe clusterrole view` shows what `view` allows.
"""
from __future__ import annotations

import asyncio
import logging

from ..api.errors import ApiError
from ..api.resources import resource
from ..storage import Expired
from .authz import RbacIndex

log = logging.getLogger(__name__)
RBAC_RESOURCES = ("roles", "clusterroles", "rolebindings", "clusterrolebindings")


def _split(key: str) -> tuple[str, str, str]:
    """/registry/<res>/<ns>/<name> or /registry/<res>/<name> -> (res, ns, name)."""
    parts = key.split("/")[2:]
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else (parts[0], "", parts[1])


class RbacCache:
    """RbacIndex fed from storage, plus ServiceAccount uids by (namespace, name)."""

    def __init__(self):
        self.index = RbacIndex()
        self.service_accounts: dict[tuple[str, str], str] = {}
        self._tasks: list[asyncio.Task] = []
        self._reg = None
        self._aggregating: asyncio.Task | None = None
        self._again = False

    def apply(self, key: str, obj: dict | None) -> None:
        res, ns, name = _split(key)
        if res == "serviceaccounts":
            if obj is None:
                self.service_accounts.pop((ns, name), None)
            else:
                self.service_accounts[(ns, name)] = (obj.get("metadata") or {}).get("uid", "")
            return
        self.index.put(res, ns, name, obj)
        if res == "clusterroles":
            self._aggregate_soon()

    async def start(self, reg) -> None:
        """Load everything now; follow changes in background tasks until `stop`."""
        self._reg = reg
        for res in RBAC_RESOURCES + ("serviceaccounts",):
            rev = await self._load(f"/registry/{res}/")
            self._tasks.append(asyncio.create_task(self._follow(f"/registry/{res}/", rev)))
        self._aggregate_soon()

    async def stop(self) -> None:
        for t in self._tasks + ([self._aggregating] if self._aggregating else []):
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _load(self, prefix: str) -> int:
        storage = self._reg.storage
        items, rev = await storage.list(prefix, latest=True)
        for k in [k for k in self._keys() if k.startswith(prefix)]:
            self.apply(k, None)
        for k, value, _ in items:
            self.apply(k, value)
        return rev

    def _keys(self) -> list[str]:
        ix = self.index
        return ([f"/registry/roles/{ns}/{n}" for ns, n in ix.roles] +
                [f"/registry/clusterroles/{n}" for n in ix.cluster_roles] +
                [f"/registry/rolebindings/{ns}/{n}" for ns, n in ix.role_bindings] +
                [f"/registry/clusterrolebindings/{n}" for n in ix.cluster_role_bindings] +
                [f"/registry/serviceaccounts/{ns}/{n}" for ns, n in self.service_accounts])

    async def _follow(self, prefix: str, rev: int) -> None:
        storage = self._reg.storage
        while True:
            try:
                w = storage.watch(prefix, rev)
            except Expired:
                rev = await self._load(prefix)
                continue
            try:
                async for ev in w:
                    self.apply(ev.key, None if ev.type == "DELETED" else ev.obj)
                    rev = ev.rev
            finally:
                w.close()
            if w.closed_reason is None:  # ended by the server (shutdown: end_watches)
                return
            log.info("rbac cache: watch on %s ended (%s); relisting", prefix, w.closed_reason)
            rev = await self._load(prefix)

    # -- clusterrole aggregation ---------------------------------------------------------------
    def _aggregate_soon(self) -> None:
        if self._reg is None:
            return
        if self._aggregating is not None and not self._aggregating.done():
            self._again = True
            return
        self._aggregating = asyncio.create_task(self._aggregate())

    async def _aggregate(self) -> None:
        await asyncio.sleep(0)  # let a burst of changes land first
        while True:
            self._again = False
            for name, role in list(self.index.cluster_roles.items()):
                if not isinstance(role.get("aggregationRule"), dict):
                    continue
                want = self.index.cluster_role_raw_rules(name)
                if (role.get("rules") or []) == want:
                    continue
                try:
                    await self._reg.guaranteed_update(resource("clusterroles"), None, name,
                                                      lambda cur, want=want: {**cur, "rules": want})
                except ApiError as e:
                    log.info("aggregating clusterrole %s: %s", name, e.message)
                except Exception:  # noqa: BLE001 - a failed write is retried on the next change
                    log.exception("aggregating clusterrole %s", name)
            if not self._again:
                return
