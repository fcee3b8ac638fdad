"""The authorizer's view of the store: Roles, ClusterRoles, their bindings, the
ServiceAccounts (uids, for token checks) and the ServiceAccount token Secrets, listed once and
kept current by watches on the apiserver's own storage - no store read per request.

`RbacCache.start(reg)` lists the five prefixes and then follows one watch per prefix; a watch
that ends (the watcher fell behind, or its history expired) is replaced by a fresh list and
watch. After each change the stored rules of aggregated ClusterRoles (`aggregationRule`) are
brought in line with the roles their selectors match, as Kubernetes' clusterrole-aggregation
controller does, so `kubectl describe clusterrole view` shows what `view` allows. And a Secret of
type kubernetes.io/service-account-token naming an existing ServiceAccount gets its token, ca.crt,
namespace and the account's uid annotation written, as Kubernetes' tokens controller does.
"""
from __future__ import annotations

import asyncio
import base64
import logging

from ..api.errors import ApiError
from ..api.resources import resource
from ..storage import Expired
from .authz import RbacIndex
from .satokens import LEGACY_TYPE, SA_NAME_ANNOTATION, SA_UID_ANNOTATION

log = logging.getLogger(__name__)
RBAC_RESOURCES = ("roles", "clusterroles", "rolebindings", "clusterrolebindings")


def _split(key: str) -> tuple[str, str, str]:
    """/registry/<res>/<ns>/<name> or /registry/<res>/<name> -> (res, ns, name)."""
    parts = key.split("/")[2:]
    return (parts[0], parts[1], parts[2]) if len(parts) == 3 else (parts[0], "", parts[1])


class _Rerun:
    """A coroutine function run soon in a task of its own; asked again while it runs, it runs
    once more after that, so a burst of changes costs one or two runs."""

    def __init__(self, run):
        self._run = run
        self.task: asyncio.Task | None = None
        self._again = False

    def soon(self) -> None:
        if self.task is not None and not self.task.done():
            self._again = True
            return
        self.task = asyncio.create_task(self._loop())

    async def _loop(self) -> None:
        await asyncio.sleep(0)  # let a burst of changes land first
        self._again = True
        while self._again:
            self._again = False
            await self._run()


class RbacCache:
    """RbacIndex fed from storage, plus ServiceAccount uids by (namespace, name)."""

    def __init__(self, issuer=None, ca_file: str | None = None):
        self.index = RbacIndex()
        self.service_accounts: dict[tuple[str, str], str] = {}
        self.secret_tokens: dict[tuple[str, str], str] = {}   # token Secret (namespace, name) -> its token
        self._issuer, self._ca_file = issuer, ca_file
        self._unfilled: dict[tuple[str, str], str] = {}     # token Secrets to fill -> their account
        self._tasks: list[asyncio.Task] = []
        self._reg = None
        self._aggregation = _Rerun(self._aggregate)
        self._filling = _Rerun(self._fill)

    def apply(self, key: str, obj: dict | None) -> None:
        res, ns, name = _split(key)
        if res == "serviceaccounts":
            if obj is None:
                self.service_accounts.pop((ns, name), None)
            else:
                self.service_accounts[(ns, name)] = (obj.get("metadata") or {}).get("uid", "")
                if (ns, name) in {(k[0], sa) for k, sa in self._unfilled.items()}:
                    self._fill_soon()
            return
        if res == "secrets":
            self._secret(ns, name, obj)
            return
        self.index.put(res, ns, name, obj)
        if res == "clusterroles":
            self._aggregate_soon()

    async def start(self, reg) -> None:
        """Load everything now; follow changes in background tasks until `stop`."""
        self._reg = reg
        for res in RBAC_RESOURCES + ("serviceaccounts", "secrets"):
            rev = await self._load(f"/registry/{res}/")
            self._tasks.append(asyncio.create_task(self._follow(f"/registry/{res}/", rev)))
        self._aggregate_soon()

    async def stop(self) -> None:
        for t in self._tasks + [t for t in (self._aggregation.task, self._filling.task) if t]:
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
                [f"/registry/serviceaccounts/{ns}/{n}" for ns, n in self.service_accounts] +
                [f"/registry/secrets/{ns}/{n}" for ns, n in self.secret_tokens | self._unfilled])

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
        if self._reg is not None:
            self._aggregation.soon()

    async def _aggregate(self) -> None:
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

    # -- ServiceAccount token Secrets -----------------------------------------------------------
    def _secret(self, ns: str, name: str, obj: dict | None) -> None:
        k = (ns, name)
        self.secret_tokens.pop(k, None)
        self._unfilled.pop(k, None)
        if obj is None or obj.get("type") != LEGACY_TYPE:
            return
        token = (obj.get("data") or {}).get("token")
        if token:
            try:
                self.secret_tokens[k] = base64.b64decode(token).decode()
            except (ValueError, UnicodeDecodeError):
                pass
            return
        sa = ((obj.get("metadata") or {}).get("annotations") or {}).get(SA_NAME_ANNOTATION)
        if sa and self._issuer is not None:
            self._unfilled[k] = sa
            if (ns, sa) in self.service_accounts:
                self._fill_soon()

    def _fill_soon(self) -> None:
        if self._reg is not None:
            self._filling.soon()

    async def _fill(self) -> None:
        ca = b""
        if self._ca_file:
            try:
                with open(self._ca_file, "rb") as f:
                    ca = f.read()
            except OSError as e:
                log.warning("service account token secrets: cannot read %s: %s", self._ca_file, e)
        for (ns, name), sa in sorted(self._unfilled.items()):
            if (ns, sa) not in self.service_accounts:
                continue  # filled when the account appears
            try:
                await self._reg.guaranteed_update(resource("secrets"), ns, name,
                                                  lambda cur, ns=ns, name=name: self._with_token(cur, ns, name, ca))
            except ApiError as e:
                log.info("token secret %s/%s: %s", ns, name, e.message)
            except Exception:  # noqa: BLE001 - retried on the next change of the Secret or its account
                log.exception("token secret %s/%s", ns, name)

    def _with_token(self, cur: dict, ns: str, name: str, ca: bytes) -> dict:
        md = cur.setdefault("metadata", {})
        ann = md.setdefault("annotations", {})
        sa = ann.get(SA_NAME_ANNOTATION, "")
        uid = self.service_accounts.get((ns, sa))
        data = cur.get("data") or {}
        if uid is None or data.get("token") or cur.get("type") != LEGACY_TYPE:
            return cur  # no such account (yet), or filled meanwhile: unchanged
        ann[SA_UID_ANNOTATION] = uid
        token = self._issuer.issue_legacy(ns, sa, uid, name)
        cur["data"] = {**data, "token": base64.b64encode(token.encode()).decode(),
                       "namespace": base64.b64encode(ns.encode()).decode(),
                       **({"ca.crt": base64.b64encode(ca).decode()} if ca else {})}
        return cur
