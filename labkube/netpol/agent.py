"""The per-node NetworkPolicy agent: informers on NetworkPolicies, Pods and Namespaces mark
the node's rules dirty; the sync loop computes them (model.py), renders the whole filter
ruleset (rules.py) and applies it with one `iptables-restore --noflush` — unless the rules
came out as the last ones applied (a pod elsewhere that no policy here refers to changed). It
also resyncs every `sync_period` seconds, which repairs chains changed by hand. Pods and
Namespaces are watched only while the cluster has a NetworkPolicy. Runs inside kube-proxy
(`network_policy: true` in proxy.yaml) and shares its client and iptables tools. A failed
sync is retried (an iptables error after 1 s, anything else at the next change or resync):
the agent never takes kube-proxy down with it.

Bridged traffic between pods of one node reaches iptables only with
`net.bridge.bridge-nf-call-iptables = 1` (per network namespace, module br_netfilter): the
agent turns it on at start and warns when the module is missing.
"""
from __future__ import annotations

import asyncio
import logging
import time

from labkube.client.informer import Informer
from labkube.proxy import iptables
from labkube.proxy.chains import Snapshot

from .model import node_rules, pod_ip
from .rules import cleanup, render

log = logging.getLogger("labkube.netpol")
BRIDGE_SYSCTL = "/proc/sys/net/bridge/bridge-nf-call-iptables"


def pod_facts(pod: dict) -> tuple:
    """What of a pod the rules depend on (status writes that change none of it are ignored)."""
    md, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    ports = tuple((p.get("name"), p.get("protocol"), p.get("containerPort"))
                  for c in spec.get("containers") or [] for p in c.get("ports") or [])
    return pod_ip(pod), spec.get("nodeName"), tuple(sorted((md.get("labels") or {}).items())), ports


def namespace_facts(ns: dict) -> tuple:
    return tuple(sorted(((ns.get("metadata") or {}).get("labels") or {}).items()))


def ensure_bridge_netfilter(path: str = BRIDGE_SYSCTL) -> bool:
    """Make bridged IPv4 traffic traverse iptables; False when the kernel cannot."""
    try:
        with open(path) as f:
            if f.read().strip() == "1":
                return True
        with open(path, "w") as f:
            f.write("1\n")
        log.info("turned on %s", path)
        return True
    except OSError as e:
        log.warning("cannot turn on %s (%s): traffic between pods of this node is not policed; "
                    "load the br_netfilter module", path, e)
        return False


class NetworkPolicyAgent:
    def __init__(self, client, node_name: str, *, backend=iptables, iptables_save: str = "iptables-save",
                 iptables_restore: str = "iptables-restore", sync_period: float = 15.0,
                 min_sync_period: float = 0.1, bridge_sysctl: str = BRIDGE_SYSCTL):
        self.node_name = node_name
        self.backend = backend
        self.save_tool, self.restore_tool = iptables_save, iptables_restore
        self.sync_period, self.min_sync_period = sync_period, min_sync_period
        self.bridge_sysctl = bridge_sysctl
        self.client = client
        self.policies = Informer(client, "networkpolicies")
        self.pods: Informer | None = None          # watched only while some policy exists
        self.namespaces: Informer | None = None
        self.changed = asyncio.Event()
        self.syncs = 0
        self.last_pods: list | None = None       # the rules last applied (None: nothing yet)
        self.last_ruleset = ""
        self.policies.add_handlers(self._dirty, self._if_changed(lambda obj: obj.get("spec")), self._dirty)

    def _informers(self) -> list:
        return [self.policies] + ([self.pods, self.namespaces] if self.pods is not None else [])

    async def _watch_peers(self, wanted: bool) -> None:
        """Pods and Namespaces are watched only while some NetworkPolicy exists: a cluster
        without policies costs no watch of every pod from every node."""
        if wanted and self.pods is None:
            self.pods, self.namespaces = Informer(self.client, "pods"), Informer(self.client, "namespaces")
            for informer, facts in ((self.pods, pod_facts), (self.namespaces, namespace_facts)):
                informer.add_handlers(self._dirty, self._if_changed(facts), self._dirty)
                informer.start()
            await asyncio.gather(self.pods.wait_synced(), self.namespaces.wait_synced())
            log.info("watching pods and namespaces: the cluster has network policies")
        elif not wanted and self.pods is not None:
            informers, self.pods, self.namespaces = [self.pods, self.namespaces], None, None
            for informer in informers:
                await informer.stop()
            log.info("no network policies left: stopped watching pods and namespaces")

    def _dirty(self, _obj=None) -> None:
        self.changed.set()

    def _if_changed(self, facts):
        """An update handler that marks the rules dirty only when `facts` of the object differ."""
        def on_update(old: dict, new: dict) -> None:
            if facts(old) != facts(new):
                self.changed.set()
        return on_update

    async def sync(self, repair: bool = True) -> bool:
        """Compute this node's rules from the caches and apply them. Unless `repair` (the
        periodic resync), rules equal to the last ones applied are not written again: pod
        churn elsewhere in the cluster costs no iptables-save/restore. True if applied."""
        start = time.monotonic()
        policies = self.policies.items()
        await self._watch_peers(bool(policies))
        pods = node_rules(policies, self.pods.items() if self.pods else [],
                          self.namespaces.items() if self.namespaces else [], self.node_name)
        if not repair and pods == self.last_pods:
            return False
        current = Snapshot(await self.backend.save(self.save_tool, tables=("filter",)))
        text = render(pods, current)
        await self.backend.restore(text, self.restore_tool)
        self.syncs += 1
        if pods != self.last_pods:
            log.info("%d pods of %s isolated by network policies", len(pods), self.node_name)
        self.last_pods, self.last_ruleset = pods, text
        log.debug("network policy sync in %.0f ms", (time.monotonic() - start) * 1000)
        return True

    async def run(self) -> None:
        await asyncio.to_thread(ensure_bridge_netfilter, self.bridge_sysctl)
        self.policies.start()
        try:
            await self.policies.wait_synced()
            log.info("caches synced; enforcing network policies on %s", self.node_name)
            self.changed.set()
            while True:
                try:
                    await asyncio.wait_for(self.changed.wait(), self.sync_period)
                    repair = False
                except asyncio.TimeoutError:
                    repair = True
                self.changed.clear()
                try:
                    await self.sync(repair)
                except (iptables.IptablesError, OSError) as e:
                    log.warning("network policy sync failed, retrying: %s", e)
                    self.changed.set()
                    await asyncio.sleep(1)
                except Exception:                  # noqa: BLE001 - never take kube-proxy down with us
                    log.exception("network policy sync failed, retrying in %.0f s", self.sync_period)
                await asyncio.sleep(self.min_sync_period)
        finally:
            for inf in self._informers():
                await inf.stop()


async def remove_chains(backend=iptables, iptables_save: str = "iptables-save",
                        iptables_restore: str = "iptables-restore") -> bool:
    """With enforcement switched off: take away the hooks and chains an earlier agent left
    (they would keep dropping by policies nobody updates). True if there were any."""
    try:
        text = cleanup(Snapshot(await backend.save(iptables_save, tables=("filter",))))
        if text:
            await backend.restore(text, iptables_restore)
            log.info("network policy enforcement is off: removed its chains")
    except (iptables.IptablesError, OSError) as e:
        log.warning("network policy enforcement is off, but its chains could not be removed: %s", e)
        return False
    return bool(text)
