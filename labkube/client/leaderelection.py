"""LeaderElector: coordination.k8s.io/v1 Lease based leader election.

One replica holds the Lease (holderIdentity) and renews renewTime every retry_period; the
others take it over once renewTime + leaseDurationSeconds has passed. A leader that cannot
renew within renew_deadline stops leading (run() raises LeadershipLost: exit and start over). A leader
that is stopped gives the Lease up (empty holder), so its successor need not wait for expiry.
"""
from __future__ import annotations

import asyncio
import datetime
import logging
from typing import Awaitable, Callable

from .clock import Clock
from .errors import ApiError

log = logging.getLogger(__name__)


def micro_time(dt: datetime.datetime) -> str:
    return dt.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_micro(s: str | None) -> datetime.datetime | None:
    if not s:
        return None
    try:
        return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None


class LeadershipLost(RuntimeError):
    """The Lease could not be renewed in time; the process should exit and start over."""


class LeaderElector:
    def __init__(self, client, name: str, identity: str, namespace: str = "kube-system",
                 lease_duration: float = 15, renew_deadline: float = 10, retry_period: float = 2,
                 clock: Clock | None = None):
        self.client = client
        self.name = name
        self.namespace = namespace
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.clock = clock or Clock()
        self.is_leader = False

    async def try_acquire_or_renew(self) -> bool:
        now = self.clock.now()
        spec = {"holderIdentity": self.identity, "leaseDurationSeconds": int(self.lease_duration),
                "acquireTime": micro_time(now), "renewTime": micro_time(now), "leaseTransitions": 0}
        try:
            lease = await self.client.get("leases", self.name, namespace=self.namespace)
        except ApiError as e:
            if e.code != 404:
                return False
            try:
                await self.client.create("leases", {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                                    "metadata": {"name": self.name, "namespace": self.namespace},
                                                    "spec": spec}, namespace=self.namespace)
                return True
            except Exception:  # noqa: BLE001 - conflict or no connection: not leader this round
                return False
        except Exception as e:  # noqa: BLE001 - the apiserver is unreachable: try again later
            log.debug("lease %s/%s: %r", self.namespace, self.name, e)
            return False
        cur = lease.get("spec") or {}
        holder = cur.get("holderIdentity")
        if holder and holder != self.identity:
            renewed = parse_micro(cur.get("renewTime")) or parse_micro(cur.get("acquireTime"))
            dur = cur.get("leaseDurationSeconds") or self.lease_duration
            if renewed and renewed + datetime.timedelta(seconds=dur) > now:
                return False
            spec["leaseTransitions"] = (cur.get("leaseTransitions") or 0) + 1
        elif holder == self.identity:
            spec["acquireTime"] = cur.get("acquireTime") or spec["acquireTime"]
            spec["leaseTransitions"] = cur.get("leaseTransitions") or 0
        else:
            spec["leaseTransitions"] = (cur.get("leaseTransitions") or 0) + 1
        lease["spec"] = spec
        try:
            await self.client.replace("leases", self.name, lease, namespace=self.namespace)
            return True
        except Exception:  # noqa: BLE001 - conflict or no connection
            return False

    async def release(self) -> None:
        try:
            lease = await self.client.get("leases", self.name, namespace=self.namespace)
            if (lease.get("spec") or {}).get("holderIdentity") != self.identity:
                return
            lease["spec"].update({"holderIdentity": None, "leaseDurationSeconds": 1,
                                  "renewTime": micro_time(self.clock.now())})
            await self.client.replace("leases", self.name, lease, namespace=self.namespace)
            log.info("%s released %s/%s", self.identity, self.namespace, self.name)
        except Exception as e:  # noqa: BLE001 - best effort on the way out
            log.debug("cannot release %s/%s: %s", self.namespace, self.name, e)

    async def run(self, lead: Callable[[], Awaitable[None]]) -> None:
        """Wait to become leader, then run lead() while renewing; LeadershipLost when renewals fail."""
        while not await self.try_acquire_or_renew():
            await self.clock.sleep(self.retry_period)
        self.is_leader = True
        log.info("%s became leader of %s/%s", self.identity, self.namespace, self.name)
        task = asyncio.create_task(lead())
        last_ok = self.clock.monotonic()
        try:
            while not task.done():
                await self.clock.sleep(self.retry_period)
                if await self.try_acquire_or_renew():
                    last_ok = self.clock.monotonic()
                elif self.clock.monotonic() - last_ok > self.renew_deadline:
                    raise LeadershipLost(f"lost leadership of {self.namespace}/{self.name} "
                                         f"(no renewal for {self.renew_deadline:g} s)")
        finally:
            self.is_leader = False
            if not task.done():
                task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            await asyncio.shield(self.release())
