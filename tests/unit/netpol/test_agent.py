"""The NetworkPolicy agent on the FakeApi with a recording backend: its first sync after the
caches fill, a re-sync when a policy, a pod's labels or a namespace's labels change, none for a
pod status write that changes nothing the rules use; the bridge sysctl."""
from __future__ import annotations

import asyncio

from labkube.client.fake import FakeApi
from labkube.netpol.agent import NetworkPolicyAgent, ensure_bridge_netfilter, pod_facts, remove_chains

from .fixtures import ns, pod, policy


class Backend:
    """Stands in for labkube.proxy.iptables: remembers what was restored."""

    def __init__(self):
        self.restored: list[str] = []
        self.applied = asyncio.Event()

    async def save(self, binary, tables=("nat", "filter")):
        return ""

    async def restore(self, text, binary):
        self.restored.append(text)
        self.applied.set()


async def _next(backend: Backend) -> str:
    await asyncio.wait_for(backend.applied.wait(), 5)
    backend.applied.clear()
    return backend.restored[-1]


async def test_rules_follow_policies_pods_and_namespaces(tmp_path):
    api, backend = FakeApi(), Backend()
    await api.create("namespaces", ns("prod"))              # `default` is there from the start
    await api.create("pods", pod("web", "10.244.1.10", app="web"), "default")
    await api.create("pods", pod("friend", "10.244.2.5", node="w2", namespace="prod"), "prod")
    sysctl = tmp_path / "bridge-nf-call-iptables"
    sysctl.write_text("0\n")
    agent = NetworkPolicyAgent(api, "w1", backend=backend, sync_period=3600, min_sync_period=0,
                               bridge_sysctl=str(sysctl))
    task = asyncio.create_task(agent.run())
    try:
        text = await _next(backend)
        assert "KUBE-NP-IN-" not in text and sysctl.read_text() == "1\n"
        await api.create("networkpolicies", policy("web", selector={"matchLabels": {"app": "web"}}, ingress=[
            {"from": [{"namespaceSelector": {"matchLabels": {"team": "blue"}}}]}]), "default")
        text = await _next(backend)
        assert "-d 10.244.1.10/32" in text and "10.244.2.5" not in text
        prod = await api.get("namespaces", "prod")
        prod["metadata"]["labels"] = {"team": "blue"}
        await api.replace("namespaces", "prod", prod)
        text = await _next(backend)
        assert "-s 10.244.2.5/32 -j RETURN" in text
        web = await api.get("pods", "web", "default")
        web["metadata"]["labels"] = {"app": "other"}
        await api.replace("pods", "web", web, "default")
        text = await _next(backend)
        assert "10.244.1.10" not in text
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def test_pod_status_writes_that_change_nothing_the_rules_use_are_ignored():
    a = pod("web", "10.244.1.10", app="web")
    written = {**a, "status": {**a["status"], "conditions": [{"type": "Ready", "status": "True"}]}}
    assert pod_facts(a) == pod_facts(written)
    assert pod_facts(a) != pod_facts(pod("web", "10.244.1.11", app="web"))
    assert pod_facts(a) != pod_facts(pod("web", "10.244.1.10", app="web", phase="Succeeded"))


def test_bridge_netfilter_missing_is_a_warning_not_a_crash(tmp_path):
    assert ensure_bridge_netfilter(str(tmp_path / "missing" / "bridge-nf-call-iptables")) is False


async def test_a_failing_sync_does_not_end_the_agent(tmp_path):
    """It shares kube-proxy's process: an unexpected error is logged and the next change syncs."""
    api, backend = FakeApi(), Backend()
    fail = [True]
    real_restore = backend.restore

    async def restore(text, binary):
        if fail.pop() if fail else False:
            raise ValueError("a bug")
        await real_restore(text, binary)
    backend.restore = restore
    agent = NetworkPolicyAgent(api, "w1", backend=backend, sync_period=3600, min_sync_period=0,
                               bridge_sysctl=str(tmp_path / "absent"))
    task = asyncio.create_task(agent.run())
    try:
        await asyncio.wait_for(_until(lambda: agent.syncs == 0 and not fail), 5)
        await api.create("pods", pod("web", "10.244.1.10", app="web"), "default")
        await api.create("networkpolicies", policy("deny"), "default")
        await asyncio.wait_for(_until(lambda: any("-d 10.244.1.10/32" in t for t in backend.restored)), 5)
        assert not task.done()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _until(pred):
    while not pred():
        await asyncio.sleep(0.01)


async def test_changes_that_leave_this_nodes_rules_as_they_were_write_nothing(tmp_path):
    """Pod churn on other nodes wakes the agent but costs no iptables-save/restore; the periodic
    resync writes anyway (it repairs hand-made damage)."""
    api, backend = FakeApi(), Backend()
    await api.create("pods", pod("web", "10.244.1.10", app="web"), "default")
    await api.create("networkpolicies", policy("deny"), "default")
    agent = NetworkPolicyAgent(api, "w1", backend=backend, bridge_sysctl=str(tmp_path / "absent"))
    agent.policies.start()
    try:
        await agent.policies.wait_synced()
        assert await agent.sync(repair=False) is True
        await api.create("pods", pod("elsewhere", "10.244.2.9", node="w2"), "default")
        await asyncio.wait_for(_until(lambda: agent.pods.get("default/elsewhere")), 5)
        assert await agent.sync(repair=False) is False and len(backend.restored) == 1
        assert await agent.sync(repair=True) is True and len(backend.restored) == 2
        await api.create("pods", pod("client", "10.244.1.11"), "default")
        await asyncio.wait_for(_until(lambda: agent.pods.get("default/client")), 5)
        assert await agent.sync(repair=False) is True and "-d 10.244.1.11/32" in backend.restored[-1]
    finally:
        for inf in agent._informers():
            await inf.stop()


async def test_with_enforcement_off_an_earlier_agents_chains_are_removed_once():
    backend = Backend()
    saved = "*filter\n:FORWARD ACCEPT [0:0]\n:KUBE-NP-FORWARD - [0:0]\n-A FORWARD -j KUBE-NP-FORWARD\nCOMMIT\n"
    backend.save = lambda binary, tables: asyncio.sleep(0, saved)
    assert await remove_chains(backend) is True and "-X KUBE-NP-FORWARD" in backend.restored[-1]
    backend.save = lambda binary, tables: asyncio.sleep(0, "*filter\n:FORWARD ACCEPT [0:0]\nCOMMIT\n")
    assert await remove_chains(backend) is False and len(backend.restored) == 1


async def test_pods_and_namespaces_are_watched_only_while_a_policy_exists(tmp_path):
    api, backend = FakeApi(), Backend()
    await api.create("pods", pod("web", "10.244.1.10", app="web"), "default")
    agent = NetworkPolicyAgent(api, "w1", backend=backend, sync_period=3600, min_sync_period=0,
                               bridge_sysctl=str(tmp_path / "absent"))
    task = asyncio.create_task(agent.run())
    try:
        await _next(backend)
        assert agent.pods is None and agent.namespaces is None
        await api.create("networkpolicies", policy("deny"), "default")
        await asyncio.wait_for(_until(lambda: any("-d 10.244.1.10/32" in t for t in backend.restored)), 5)
        assert agent.pods is not None and agent.pods.get("default/web")
        await api.delete("networkpolicies", "deny", "default")
        await asyncio.wait_for(_until(lambda: "10.244.1.10" not in backend.restored[-1]), 5)
        assert agent.pods is None and agent.namespaces is None       # stopped before that sync
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
