"""One hollow node: its Node object (built with the real kubelet's `node_object` and
`node_status`, on made-up machine facts), registration, and Lease renewal.

A hollow node costs two writes to become Ready (the Node with its status, then its
Lease), one write per Lease renewal, and one status patch per `status_interval`.
"""
from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass, field

from ..lease import NAMESPACE, lease_object, micro_time
from ..machine import MachineInfo
from ..node import node_object, node_status

log = logging.getLogger(__name__)

HOLLOW_MACHINE = MachineInfo(cpus=32, memory_kib=128 * 1024 * 1024, kernel="5.15.0-hollow", os_image="Hollow Linux",
                             architecture="amd64", machine_id="hollow", boot_id="hollow", system_uuid="hollow",
                             hostname="hollow")
RUNTIME_VERSION = "1.8.1-fake"


@dataclass
class NodeConfig:
    """The subset of the kubelet config that `kubelet.node` reads."""
    node_name: str
    pod_cidr: str
    node_ip: str = "127.0.0.1"
    port: int = 10250
    max_pods: int = 110
    node_lease_duration_seconds: int = 40
    node_labels: dict = field(default_factory=dict)
    register_with_taints: list = field(default_factory=list)


def pod_cidr(index: int) -> str:
    """A /24 per node out of 10.128.0.0/9 (32768 nodes)."""
    return str(ipaddress.ip_network("10.128.0.0/9").network_address + index * 256) + "/24"


class HollowNode:
    def __init__(self, client, cfg: NodeConfig):
        self.client = client
        self.cfg = cfg
        self.name = cfg.node_name
        self.uid: str | None = None
        self.lease: dict | None = None
        self.conditions: list = []
        net = ipaddress.ip_network(cfg.pod_cidr)
        self._base, self._size, self._next = int(net.network_address) + 2, net.num_addresses - 3, 0

    def pod_ip(self) -> str:
        """The next address of the node's pod CIDR (wraps around; nothing listens on them). An IPv4
        address is formatted from its four bytes (ipaddress's object and str were ~3 us per pod)."""
        n = self._base + self._next % self._size
        self._next += 1
        if n < 1 << 32:
            return "%d.%d.%d.%d" % (n >> 24, (n >> 16) & 255, (n >> 8) & 255, n & 255)
        return str(ipaddress.ip_address(n))

    def status(self) -> dict:
        st = node_status(self.cfg, HOLLOW_MACHINE, RUNTIME_VERSION, ready=True, prev_conditions=self.conditions)
        st["nodeInfo"]["containerRuntimeVersion"] = f"fake://{RUNTIME_VERSION}"
        self.conditions = st["conditions"]
        return st

    async def register(self) -> None:
        """Create the Node with its status (one write); an existing one gets its status patched."""
        obj = node_object(self.cfg, HOLLOW_MACHINE)
        obj["status"] = self.status()
        try:
            node = await self.client.create("nodes", obj)
        except Exception as e:  # noqa: BLE001
            if getattr(e, "code", None) != 409:
                raise
            await self.client.patch("nodes", self.name, {"metadata": {"labels": obj["metadata"]["labels"]}})
            node = await self.client.patch("nodes", self.name, {"status": obj["status"]}, subresource="status")
        self.uid = node["metadata"]["uid"]

    async def update_status(self) -> None:
        try:
            await self.client.patch("nodes", self.name, {"status": self.status()}, subresource="status")
        except Exception as e:  # noqa: BLE001
            if getattr(e, "code", None) != 404:
                raise
            log.warning("hollow node %s was deleted; registering again", self.name)
            await self.register()

    async def renew_lease(self) -> None:
        """Create the Lease, or PUT it with a new renewTime (refetched after a conflict)."""
        want = lease_object(self.name, self.cfg.node_lease_duration_seconds, self.uid, micro_time())
        if self.lease is None:
            try:
                self.lease = await self.client.create("leases", want, namespace=NAMESPACE)
                return
            except Exception as e:  # noqa: BLE001
                if getattr(e, "code", None) != 409:
                    raise
                self.lease = await self.client.get("leases", self.name, namespace=NAMESPACE)
        body = {**self.lease, "spec": {**(self.lease.get("spec") or {}), **want["spec"]}}
        try:
            self.lease = await self.client.replace("leases", self.name, body, namespace=NAMESPACE)
        except Exception:
            self.lease = None
            raise
