"""The node's heartbeat: Lease kube-node-lease/<node>, renewed every 10 seconds."""
from __future__ import annotations

import asyncio
import datetime
import logging

log = logging.getLogger(__name__)
NAMESPACE = "kube-node-lease"
RENEW_INTERVAL = 10.0


def micro_time(dt: datetime.datetime | None = None) -> str:
    dt = dt or datetime.datetime.now(datetime.timezone.utc)
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def lease_object(node_name: str, duration: int, node_uid: str | None, renew: str) -> dict:
    meta: dict = {"name": node_name, "namespace": NAMESPACE}
    if node_uid:
        meta["ownerReferences"] = [{"apiVersion": "v1", "kind": "Node", "name": node_name, "uid": node_uid}]
    return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta,
            "spec": {"holderIdentity": node_name, "leaseDurationSeconds": int(duration), "renewTime": renew}}


class LeaseRenewer:
    def __init__(self, kl, interval: float = RENEW_INTERVAL):
        self.kl = kl
        self.interval = interval
        self.lease: dict | None = None

    async def renew(self) -> dict:
        cfg, client = self.kl.cfg, self.kl.client
        node_uid = ((self.kl.node_agent.node or {}).get("metadata") or {}).get("uid")
        want = lease_object(cfg.node_name, cfg.node_lease_duration_seconds, node_uid, micro_time())
        if self.lease is None:
            try:
                self.lease = await client.get("leases", cfg.node_name, namespace=NAMESPACE)
            except Exception as e:  # noqa: BLE001
                if getattr(e, "code", None) != 404:
                    raise
                self.lease = await client.create("leases", want, namespace=NAMESPACE)
                return self.lease
        body = dict(self.lease)
        body["metadata"] = {**self.lease["metadata"], **{k: v for k, v in want["metadata"].items()
                                                         if k == "ownerReferences"}}
        body["spec"] = {**(self.lease.get("spec") or {}), **want["spec"]}
        try:
            self.lease = await client.replace("leases", cfg.node_name, body, namespace=NAMESPACE)
        except Exception:
            self.lease = None          # conflict or gone: fetch again next time
            raise
        return self.lease

    async def run(self) -> None:
        while True:
            try:
                await self.renew()
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001
                log.warning("lease renewal failed: %s", e)
                await asyncio.sleep(1)
                continue
            await asyncio.sleep(self.interval)
