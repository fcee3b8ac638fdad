"""The real scheduler and controller-manager (`python -m ...`) against the real apiserver on 127.0.0.1.

No root, no nodes: the test registers fake Nodes (a tainted control plane and two workers)
and plays the kubelet itself (marks bound pods Running/Ready, finishes graceful deletes).
Checks scheduling and its events, deployment rollout + kubectl rollout status/history/undo,
ReplicaSet self-healing, garbage collection and namespace deletion.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request

import pytest
import yaml

from labkube.client import ApiError, Client, KubeConfig
from labkube.testing import free_port, make_pki



CP_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    d = tmp_path_factory.mktemp("cluster")
    pki = make_pki(str(d))
    port = free_port()
    (d / "apiserver.yaml").write_text(yaml.safe_dump({
        "bind_address": "127.0.0.1", "secure_port": port, "tls_cert_file": pki["server.crt"],
        "tls_private_key_file": pki["server.key"], "client_ca_file": pki["ca.crt"],
        "storage": {"backend": "sqlite", "path": str(d / "registry.db")},
        "watch_history": 30}))        # small: informers must survive 410 Expired and relist
    kc = d / "admin.kubeconfig"
    kc.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "lab",
        "clusters": [{"name": "lab", "cluster": {"server": f"https://127.0.0.1:{port}", "certificate-authority": "ca.crt"}}],
        "users": [{"name": "admin", "user": {"client-certificate": "client.crt", "client-key": "client.key"}}],
        "contexts": [{"name": "lab", "context": {"cluster": "lab", "user": "admin"}}]}))
    (d / "scheduler.yaml").write_text(yaml.safe_dump({"kubeconfig": str(kc), "scheduler_name": "default-scheduler",
                                                      "leader_elect": True}))
    (d / "controllers.yaml").write_text(yaml.safe_dump({
        "kubeconfig": str(kc), "controllers": ["replicaset", "deployment", "garbagecollector", "namespace", "nodelifecycle",
                                             "endpoints", "serviceaccount", "job", "daemonset", "statefulset",
                                             "cronjob"],
        "node_monitor_grace_period": 40, "pod_eviction_timeout": 300, "concurrent_syncs": 5, "leader_elect": True}))
    procs, logs = [], []
    ctx = ssl.create_default_context(cafile=pki["ca.crt"])

    def start(module, cfg, slot=None):
        log = open(d / f"{module}.log", "a")
        logs.append((module, log))
        p = subprocess.Popen([sys.executable, "-m", module, "--config", str(cfg)], stdout=log, stderr=subprocess.STDOUT)
        if slot is None:
            procs.append(p)
        else:
            procs[slot] = p

    def wait_ready():
        for _ in range(300):
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{port}/readyz", context=ctx, timeout=2):
                    return
            except OSError:
                if procs[0].poll() is not None:
                    pytest.fail("apiserver exited: " + (d / "labkube.apiserver.log").read_text())
                time.sleep(0.1)
        pytest.fail("apiserver never became ready")

    def restart_apiserver():
        """Stop and start the apiserver (same port, same database): every watch breaks."""
        procs[0].terminate()
        assert procs[0].wait(timeout=30) == 0
        start("labkube.apiserver", d / "apiserver.yaml", slot=0)
        wait_ready()

    start("labkube.apiserver", d / "apiserver.yaml")
    wait_ready()
    start("labkube.scheduler", d / "scheduler.yaml")
    start("labkube.controllers", d / "controllers.yaml")
    yield d, str(kc), restart_apiserver
    for p in reversed(procs):
        p.terminate()
    rcs = [p.wait(timeout=30) for p in procs]
    for module, log in logs:
        log.close()
    for module in ("labkube.scheduler", "labkube.controllers"):
        text = (d / f"{module}.log").read_text()
        assert "Traceback" not in text, text
    assert rcs[1:] == [0, 0]


async def eventually(fn, timeout=30.0, what=""):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = await fn()
            if last:
                return last
        except ApiError as e:
            last = e
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


def node(name, cpu="2", taints=()):
    return {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
            "spec": {"taints": list(taints)},
            "status": {"capacity": {"cpu": cpu, "memory": "4Gi", "pods": "110"},
                       "allocatable": {"cpu": cpu, "memory": "4Gi", "pods": "110"},
                       "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}]}}


async def fake_kubelet(c: Client):
    """Bound pods become Running+Ready; pods being deleted are finished (grace 0)."""
    now = lambda: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())  # noqa: E731
    while True:
        try:
            pods = await c.list("pods")
        except Exception:  # noqa: BLE001 - the apiserver is restarting
            await asyncio.sleep(0.2)
            continue
        for p in pods:
            md, ns = p["metadata"], p["metadata"]["namespace"]
            try:
                if md.get("deletionTimestamp"):
                    await c.delete("pods", md["name"], namespace=ns, grace_period_seconds=0)
                elif p["spec"].get("nodeName") and p["status"].get("phase") not in ("Running", "Succeeded", "Failed"):
                    p["status"] = {"phase": "Running", "podIP": "10.244.1.9", "conditions": [
                        {"type": "Ready", "status": "True", "lastTransitionTime": now()}]}
                    await c.replace("pods", md["name"], p, namespace=ns, subresource="status")
            except Exception:  # noqa: BLE001 - gone meanwhile, or the apiserver is restarting
                pass
        await asyncio.sleep(0.2)


def kubectl(kc, *args, check=True):
    home = os.path.dirname(kc)
    r = subprocess.run(["kubectl", "--kubeconfig", kc, "--cache-dir", os.path.join(home, "kcache"), *args],
                       capture_output=True, text=True, timeout=90, env={**os.environ, "HOME": home})
    if check:
        assert r.returncode == 0, r.stderr
    return r


async def test_scheduler_and_controllers_against_apiserver(cluster):
    d, kc, restart_apiserver = cluster
    async with Client(KubeConfig.load(kc)) as c:
        await c.create("nodes", node("m-k8s", taints=[CP_TAINT]))
        await c.create("nodes", node("w1-k8s"))
        await c.create("nodes", node("w2-k8s"))
        kubelet = asyncio.create_task(fake_kubelet(c))
        try:
            # pod admission needs the ServiceAccount controller's `default` (it waits ~1.5 s for it,
            # less than the controller-manager may take to start here)
            await eventually(lambda: c.get("serviceaccounts", "default", namespace="default"),
                             what="default serviceaccount")
            await _scheduling(c)
            await _deployment(c, kc)
            await asyncio.to_thread(restart_apiserver)     # informers must reconnect (and relist)
            await _workloads(c)
            await _gc_and_namespace(c)
            for name in ("kube-scheduler", "kube-controller-manager"):
                lease = await c.get("leases", name, namespace="kube-system")
                assert lease["spec"]["holderIdentity"] and lease["spec"]["renewTime"]
        finally:
            kubelet.cancel()


async def _scheduling(c):
    await c.create("pods", {"metadata": {"name": "x"}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}},
                   namespace="default")
    p = await eventually(lambda: _bound(c, "x"), what="pod x bound")
    assert p["spec"]["nodeName"] in ("w1-k8s", "w2-k8s")

    async def scheduled_event():
        evs = await c.list("events", namespace="default", field_selector="involvedObject.name=x")
        return [e for e in evs if e["reason"] == "Scheduled"]
    (ev,) = await eventually(scheduled_event, what="Scheduled event")
    assert ev["message"] == f"Successfully assigned default/x to {p['spec']['nodeName']}"
    assert ev["source"]["component"] == "default-scheduler" and ev["involvedObject"]["uid"] == p["metadata"]["uid"]
    await c.create("pods", {"metadata": {"name": "big"}, "spec": {"containers": [
        {"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "3"}}}]}}, namespace="default")

    async def failed():
        evs = await c.list("events", namespace="default", field_selector="involvedObject.name=big")
        return [e for e in evs if e["reason"] == "FailedScheduling"]
    (ev,) = await eventually(failed, what="FailedScheduling")
    assert ev["message"] == ("0/3 nodes are available: 1 node(s) had untolerated taint "
                             "{node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu.")
    await c.create("nodes", node("w3-k8s", cpu="8"))
    p = await eventually(lambda: _bound(c, "big"), timeout=40, what="pod big bound after a node appeared")
    assert p["spec"]["nodeName"] == "w3-k8s"


async def _bound(c, name, ns="default"):
    p = await c.get("pods", name, namespace=ns)
    return p if p["spec"].get("nodeName") else None


def _deploy(name, image, replicas=2):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "web", "image": image}]}}}}


async def _deployment(c, kc):
    await c.create("deployments", _deploy("web", "nginx:1"), namespace="default")

    async def available():
        d = await c.get("deployments", "web", namespace="default")
        st = d.get("status") or {}
        return d if st.get("availableReplicas") == 2 and st.get("updatedReplicas") == 2 else None
    await eventually(available, what="deployment available")
    await c.create("services", {"metadata": {"name": "web"}, "spec": {"selector": {"app": "web"},
                                                                      "ports": [{"port": 80}]}}, namespace="default")

    async def endpoints():
        ep = await c.get("endpoints", "web", namespace="default")
        addrs = [a for s in ep.get("subsets") or [] for a in s.get("addresses") or []]
        return len(addrs) == 2
    await eventually(endpoints, what="endpoints of service web")
    await eventually(lambda: c.get("serviceaccounts", "default", namespace="default"), what="default serviceaccount")
    if shutil.which("kubectl"):
        assert "successfully rolled out" in kubectl(kc, "rollout", "status", "deployment/web", "--timeout=30s").stdout
    pods = await c.list("pods", namespace="default", label_selector="app=web")
    victim = pods[0]["metadata"]["name"]
    await c.delete("pods", victim, namespace="default")

    async def replaced():
        ps = await c.list("pods", namespace="default", label_selector="app=web")
        live = [p for p in ps if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]
        return len(live) == 2 and victim not in [p["metadata"]["name"] for p in ps]
    await eventually(replaced, what="deleted pod replaced")
    await c.patch("deployments", "web", {"spec": {"template": {"spec": {"containers": [
        {"name": "web", "image": "nginx:2"}]}}}}, namespace="default")

    async def rolled():
        d = await c.get("deployments", "web", namespace="default")
        st = d.get("status") or {}
        ok = (st.get("observedGeneration") == d["metadata"]["generation"] and st.get("updatedReplicas") == 2
              and st.get("replicas") == 2 and st.get("availableReplicas") == 2)
        return d if ok else None
    d = await eventually(rolled, what="rollout to nginx:2")
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "2"
    if not shutil.which("kubectl"):
        return
    hist = kubectl(kc, "rollout", "history", "deployment/web").stdout
    assert [l.split()[0] for l in hist.splitlines()[2:] if l.strip()] == ["1", "2"], hist
    kubectl(kc, "rollout", "undo", "deployment/web")
    d = await eventually(rolled, what="undo to nginx:1")
    rss = await c.list("replicasets", namespace="default", label_selector="app=web")
    assert len(rss) == 2, [r["metadata"]["name"] for r in rss]
    assert d["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1"
    assert d["metadata"]["annotations"]["deployment.kubernetes.io/revision"] == "3"
    assert "successfully rolled out" in kubectl(kc, "rollout", "status", "deployment/web", "--timeout=30s").stdout


async def _workloads(c):
    tmpl = {"metadata": {"labels": {"app": "wl"}}, "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
    await c.create("daemonsets", {"metadata": {"name": "agent"}, "spec": {
        "selector": {"matchLabels": {"app": "wl"}}, "template": tmpl}}, namespace="default")
    await c.create("statefulsets", {"metadata": {"name": "db"}, "spec": {
        "replicas": 2, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
        "template": {**tmpl, "metadata": {"labels": {"app": "db"}}}}}, namespace="default")
    await c.create("jobs", {"metadata": {"name": "once"}, "spec": {"template": {
        "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox"}]}}}}, namespace="default")

    async def ds_ready():
        st = (await c.get("daemonsets", "agent", namespace="default")).get("status") or {}
        return st.get("desiredNumberScheduled") == 3 and st.get("numberAvailable") == 3
    await eventually(ds_ready, what="daemonset on the three workers")
    nodes = sorted(p["spec"]["nodeName"] for p in await c.list("pods", namespace="default", label_selector="app=wl"))
    assert nodes == ["w1-k8s", "w2-k8s", "w3-k8s"]

    async def sts_ready():
        st = (await c.get("statefulsets", "db", namespace="default")).get("status") or {}
        return st.get("readyReplicas") == 2
    await eventually(sts_ready, what="statefulset ready")
    assert sorted(p["metadata"]["name"] for p in await c.list("pods", namespace="default", label_selector="app=db")) == \
        ["db-0", "db-1"]

    async def job_pod():
        ps = await c.list("pods", namespace="default", label_selector="job-name=once")
        return [p for p in ps if p["status"].get("phase") == "Running"]
    (p,) = await eventually(job_pod, what="job pod running")
    p["status"]["phase"] = "Succeeded"
    await c.replace("pods", p["metadata"]["name"], p, namespace="default", subresource="status")

    async def job_done():
        j = await c.get("jobs", "once", namespace="default")
        return any(cd["type"] == "Complete" for cd in (j.get("status") or {}).get("conditions") or [])
    await eventually(job_done, what="job complete")


async def _gc_and_namespace(c):
    await c.delete("deployments", "web", namespace="default")

    async def collected():
        return (not await c.list("replicasets", namespace="default", label_selector="app=web")
                and not await c.list("pods", namespace="default", label_selector="app=web"))
    await eventually(collected, what="replicasets and pods of a deleted deployment collected")
    await c.create("namespaces", {"metadata": {"name": "scratch"}})
    await c.create("deployments", _deploy("tmp", "busybox", 1), namespace="scratch")
    await eventually(lambda: c.list("pods", namespace="scratch"), what="pod in scratch")
    await c.delete("namespaces", "scratch")

    async def ns_gone():
        try:
            await c.get("namespaces", "scratch")
            return False
        except ApiError as e:
            return e.code == 404
    await eventually(ns_gone, timeout=40, what="namespace scratch removed")
