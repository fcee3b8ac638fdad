"""labkube.smoke against an in-process cluster: FakeApi + the real scheduler and controllers + a
simulated kubelet, on a fake clock (no sockets, no real waiting)."""
from __future__ import annotations

import asyncio
import random

from labkube.client.clock import FakeClock
from labkube.client.fake import FakeApi
from labkube.client.factory import InformerFactory
from labkube.controllers.manager import controller_class
from labkube.scheduler.plugins import default_profile
from labkube.scheduler.scheduler import Scheduler
from labkube.smoke import CheckResult, Smoke, format_result, main

CP = "node-role.kubernetes.io/control-plane"


class StepClock(FakeClock):
    """sleep() advances fake time and lets the in-process cluster run for a while."""

    async def sleep(self, seconds):
        self.advance(seconds)
        for _ in range(30):
            await asyncio.sleep(0)


def node(name, ready="True", cp=False):
    n = {"metadata": {"name": name, "labels": {CP: ""} if cp else {}},
         "spec": {"taints": [{"key": CP, "effect": "NoSchedule"}] if cp else []},
         "status": {"allocatable": {"cpu": "2", "memory": "2Gi", "pods": "110"},
                    "conditions": [{"type": "Ready", "status": ready}]}}
    return n


async def kubelet(api: FakeApi, broken: bool, hold=lambda pods: False):
    """Runs every scheduled pod at once, unless broken; while hold(pods) is true it runs none."""
    while True:
        if hold(api.all("pods")):
            await asyncio.sleep(0)
            continue
        for p in api.all("pods"):
            md = p["metadata"]
            if md.get("deletionTimestamp"):
                await api.delete("pods", md["name"], md["namespace"], grace_period_seconds=0)
            elif p["spec"].get("nodeName") and p["status"].get("phase") != "Running" and not broken:
                p["status"] = {"phase": "Running", "podIP": "10.244.1.7",
                               "conditions": [{"type": "Ready", "status": "True"}]}
                await api.replace("pods", md["name"], p, md["namespace"], subresource="status")
                if "smoke-ok" in " ".join(p["spec"]["containers"][0].get("command", [])):
                    api.pod_logs[(md["namespace"], md["name"])] = "smoke-ok\n"
        await asyncio.sleep(0)


CONTROLLERS = ("replicaset", "deployment", "garbagecollector", "namespace", "serviceaccount")


async def cluster(nodes, broken=False, hold=lambda pods: False, controllers=CONTROLLERS):
    clock = StepClock()
    api = FakeApi(clock=clock)
    for n in nodes:
        await api.create("nodes", n)
    factory = InformerFactory(api)
    ctls = [controller_class(n)(api, factory, clock, {}) for n in controllers]
    sched = Scheduler(api, clock=clock, profile=default_profile(random.Random(0)))
    factory.start()
    await factory.wait_synced()
    tasks = [asyncio.create_task(c.run(2)) for c in ctls]
    tasks.append(asyncio.create_task(sched.run()))
    tasks.append(asyncio.create_task(kubelet(api, broken, hold)))
    return api, clock, tasks


async def stop(tasks):
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_healthy_cluster_passes_every_check():
    api, clock, tasks = await cluster([node("m-k8s", cp=True), node("w1-k8s"), node("w2-k8s")])
    try:
        results = await Smoke(api, "labctl-smoke", 120, clock=clock).run()
    finally:
        await stop(tasks)
    assert [(r.name, r.ok) for r in results] == [
        ("nodes-ready", True), ("namespace", True), ("pod-runs-on-worker", True), ("pod-logs", True),
        ("deployment-available", True), ("deployment-self-heals", True), ("cleanup", True)], results
    assert results[2].detail.startswith("on w") and "IP 10.244.1.7" in results[2].detail
    assert [n["metadata"]["name"] for n in api.all("namespaces")] == ["default", "kube-node-lease",
                                                                      "kube-public", "kube-system"]


async def test_the_lone_pod_and_the_deployment_are_checked_side_by_side():
    """A kubelet that runs nothing until the lone pod and both deployment pods exist: checks
    run one after the other would wait for the lone pod with no deployment created yet."""
    def hold(pods):
        return len([p for p in pods if p["metadata"].get("namespace") == "labctl-smoke"]) < 3
    api, clock, tasks = await cluster([node("m-k8s", cp=True), node("w1-k8s"), node("w2-k8s")], hold=hold)
    try:
        results = await Smoke(api, "labctl-smoke", 60, clock=clock).run()
    finally:
        await stop(tasks)
    assert [(r.name, r.ok) for r in results] == [
        ("nodes-ready", True), ("namespace", True), ("pod-runs-on-worker", True), ("pod-logs", True),
        ("deployment-available", True), ("deployment-self-heals", True), ("cleanup", True)], results


async def test_broken_cluster_reports_failures_within_the_budget():
    api, clock, tasks = await cluster([node("m-k8s", cp=True), node("w1-k8s", ready="False")], broken=True)
    start = clock.monotonic()
    try:
        results = await Smoke(api, "labctl-smoke", 60, clock=clock).run()
    finally:
        await stop(tasks)
    by = {r.name: r for r in results}
    assert not by["nodes-ready"].ok and by["nodes-ready"].detail == "not Ready: w1-k8s (False)"
    assert not by["pod-runs-on-worker"].ok and by["pod-logs"].detail == "skipped: pod not running"
    assert not by["deployment-available"].ok
    assert clock.monotonic() - start < 60 + 31
    api2, clock2, tasks2 = await cluster([node("w1-k8s")])
    try:
        r = await Smoke(api2, "labctl-smoke", 10, clock=clock2, min_nodes=3).nodes_ready()
    finally:
        await stop(tasks2)
    assert r == (False, "1/3 nodes registered: w1-k8s")
    assert format_result(CheckResult("x", False, "why", 1.25)) == "FAIL x (1.2 s): why"


def test_command_exit_2_on_bad_kubeconfig(tmp_path, capsys):
    assert main(["--kubeconfig", str(tmp_path / "nope")]) == 2
    assert "cannot read kubeconfig" in capsys.readouterr().err


def _hollow():
    import importlib.util
    import os
    path = os.path.join(os.path.dirname(__file__), "controllers", "hollow.py")
    spec = importlib.util.spec_from_file_location("labkube_test_hollow", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.HollowCluster


async def test_smoke_against_a_hollow_cluster_of_real_processes(tmp_path):
    """The real apiserver, scheduler, controller-manager and three kubelets on the fake runtime.
    The fake runtime writes no container logs, so only pod-logs is allowed to fail here."""
    from labkube.client import Client, KubeConfig
    cluster = _hollow()(tmp_path).start()
    try:
        async with Client(KubeConfig.load(cluster.kubeconfig)) as c:
            for _ in range(300):                  # the three kubelets register in their own time
                if len(await c.list("nodes")) == 3:
                    break
                await asyncio.sleep(0.1)
            results = await Smoke(c, "labctl-smoke", 60, log_wait=2, min_nodes=3).run()
    finally:
        rcs = cluster.stop()
    by = {r.name: r for r in results}
    assert list(by) == ["nodes-ready", "namespace", "pod-runs-on-worker", "pod-logs", "deployment-available",
                        "deployment-self-heals", "cleanup"]
    assert all(r.ok for r in results if r.name != "pod-logs"), results
    assert by["nodes-ready"].detail == "3/3 Ready: m-k8s, w1-k8s, w2-k8s"
    assert by["pod-runs-on-worker"].detail.startswith(("on w1-k8s", "on w2-k8s"))
    assert rcs["scheduler"] == 0 and rcs["controllers"] == 0
    for name in ("scheduler", "controllers"):
        assert "Traceback" not in cluster.log(name), cluster.log(name)


async def test_the_pod_checks_wait_for_the_namespaces_default_service_account():
    """Pods name the `default` ServiceAccount: the namespace check passes once the
    controller-manager made it, and says so when nothing made it within the budget (the pod
    checks then report the apiserver's refusal)."""
    api, clock, tasks = await cluster([node("m-k8s", cp=True), node("w1-k8s")])
    try:
        smoke = Smoke(api, "labctl-smoke", 60, clock=clock)
        assert await smoke.namespace() == (True, "labctl-smoke")
        assert (await api.get("serviceaccounts", "default", namespace="labctl-smoke"))["metadata"]["name"] == "default"
    finally:
        await stop(tasks)
    without = tuple(c for c in CONTROLLERS if c != "serviceaccount")
    api, clock, tasks = await cluster([node("m-k8s", cp=True), node("w1-k8s")], controllers=without)
    try:
        ok, detail = await Smoke(api, "labctl-smoke", 5, clock=clock).namespace()
    finally:
        await stop(tasks)
    assert (ok, detail) == (True, "labctl-smoke (no default ServiceAccount yet: is the controller-manager running?)")


async def test_an_api_error_in_a_check_is_a_failed_check_not_a_crash():
    from labkube.client import ApiError

    async def refused():
        raise ApiError(403, "Forbidden", 'pods "smoke-pod" is forbidden: error looking up service account')
    r = await Smoke(None, "labctl-smoke", 10, clock=StepClock()).measure("pod-runs-on-worker", refused())
    assert r == CheckResult("pod-runs-on-worker", False,
                            'API error 403 Forbidden: pods "smoke-pod" is forbidden: error looking up service account',
                            0.0, False)


async def test_leftover_namespace_is_replaced():
    api, clock, tasks = await cluster([node("m-k8s", cp=True), node("w1-k8s")])
    await api.create("namespaces", {"metadata": {"name": "labctl-smoke"}})
    await api.create("pods", {"metadata": {"name": "smoke-pod"}, "spec": {"containers": [{"name": "c"}]}},
                     namespace="labctl-smoke")
    try:
        results = await Smoke(api, "labctl-smoke", 120, clock=clock).run()
    finally:
        await stop(tasks)
    assert all(r.ok for r in results), results


def test_command_exit_3_when_the_apiserver_is_unreachable(tmp_path, capsys):
    import socket
    import yaml
    with socket.socket() as s:            # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    kc = tmp_path / "k"
    kc.write_text(yaml.safe_dump({"current-context": "x", "contexts": [{"name": "x", "context": {"cluster": "c"}}],
                                  "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}]}))
    assert main(["--kubeconfig", str(kc), "--timeout", "5"]) == 3
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("FAIL nodes-ready") and "Connect" in out[0]
