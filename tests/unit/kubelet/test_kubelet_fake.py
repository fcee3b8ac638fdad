"""The kubelet end to end on the fake runtime and FakeApi: registration, lease, pod
lifecycle, restart policies, graceful deletion protocol."""
from __future__ import annotations

import asyncio

from labkube import KUBE_VERSION

from .conftest import eventually, pod


def _pod(api, name):
    for p in api.all("pods", "default"):
        if p["metadata"]["name"] == name:
            return p
    return None


async def test_node_registration_and_lease(kubelet):
    api = kubelet.client
    node = await eventually(lambda: api.all("nodes"))
    node = node[0]
    assert node["metadata"]["name"] == "w1"
    assert node["metadata"]["labels"]["role"] == "worker"
    assert node["metadata"]["labels"]["kubernetes.io/hostname"] == "w1"
    assert node["spec"]["podCIDR"] == "10.244.1.0/24"
    assert node["spec"]["taints"] == [{"key": "dedicated", "value": "lab", "effect": "NoSchedule"}]
    st = node["status"]
    assert st["nodeInfo"]["kubeletVersion"] == KUBE_VERSION
    assert st["nodeInfo"]["containerRuntimeVersion"].startswith("crun://")
    assert st["capacity"]["pods"] == "110" and int(st["capacity"]["cpu"]) >= 1
    assert st["daemonEndpoints"]["kubeletEndpoint"]["Port"] == kubelet.cfg.port
    assert {"type": "InternalIP", "address": "10.200.0.11"} in st["addresses"]
    ready = [c for c in st["conditions"] if c["type"] == "Ready"][0]
    assert ready["status"] == "True"
    lease = await eventually(lambda: api.all("leases", "kube-node-lease"))
    assert lease[0]["spec"]["holderIdentity"] == "w1"
    assert lease[0]["metadata"]["ownerReferences"][0]["kind"] == "Node"


async def test_pod_runs_and_graceful_delete(kubelet):
    api = kubelet.client
    await api.create("pods", pod("web"), namespace="default")
    p = await eventually(lambda: (x := _pod(api, "web")) and x["status"].get("phase") == "Running" and x)
    st = p["status"]
    assert st["podIP"].startswith("10.244.1.")
    assert st["hostIP"] == "10.200.0.11"
    cs = st["containerStatuses"][0]
    assert cs["containerID"].startswith("crun://") and cs["ready"] and "running" in cs["state"]
    assert cs["image"] == "docker.io/library/busybox:latest"
    conds = {c["type"]: c["status"] for c in st["conditions"]}
    assert conds["Ready"] == "True" and conds["PodScheduled"] == "True" and conds["Initialized"] == "True"
    await api.delete("pods", "web", namespace="default")
    await eventually(lambda: _pod(api, "web") is None)
    deletes = [a for a in api.actions if a[0] == "delete" and a[1] == "pods"]
    assert len(deletes) == 2          # the user's graceful delete, then the kubelet's final one
    assert not await kubelet.runtime.list_containers()
    assert not kubelet.runtime.sandboxes


async def test_restart_policy_never_fails(kubelet):
    api = kubelet.client
    await api.create("pods", pod("once", restart_policy="Never", containers=[
        {"name": "main", "image": "busybox", "command": ["exit", "3"]}]), namespace="default")
    p = await eventually(lambda: (x := _pod(api, "once")) and x["status"].get("phase") == "Failed" and x)
    term = p["status"]["containerStatuses"][0]["state"]["terminated"]
    assert term["exitCode"] == 3 and term["reason"] == "Error"


async def test_restart_policy_onfailure_succeeds(kubelet):
    api = kubelet.client
    await api.create("pods", pod("job", restart_policy="OnFailure", containers=[
        {"name": "main", "image": "busybox", "command": ["exit", "0"]}]), namespace="default")
    p = await eventually(lambda: (x := _pod(api, "job")) and x["status"].get("phase") == "Succeeded" and x)
    assert p["status"]["containerStatuses"][0]["restartCount"] == 0


async def test_crashloop_backoff(kubelet):
    api = kubelet.client
    await api.create("pods", pod("crash", containers=[
        {"name": "main", "image": "busybox", "command": ["exit", "1"]}]), namespace="default")

    def crashlooping():
        x = _pod(api, "crash")
        cs = (x or {}).get("status", {}).get("containerStatuses") or [{}]
        w = (cs[0].get("state") or {}).get("waiting") or {}
        return w.get("reason") == "CrashLoopBackOff" and cs[0]

    cs = await eventually(crashlooping)
    assert cs["restartCount"] == 1
    assert cs["lastState"]["terminated"]["exitCode"] == 1
    assert "back-off 10s restarting failed container=main" in cs["state"]["waiting"]["message"]
    p = _pod(api, "crash")
    assert p["status"]["phase"] == "Running"


async def test_init_containers_run_first(kubelet):
    api = kubelet.client
    await api.create("pods", pod("init", initContainers=[{"name": "setup", "image": "busybox",
                                                          "command": ["exit", "0"]}]), namespace="default")
    p = await eventually(lambda: (x := _pod(api, "init")) and x["status"].get("phase") == "Running" and x)
    assert p["status"]["initContainerStatuses"][0]["state"]["terminated"]["exitCode"] == 0
    order = [c[1] for c in kubelet.runtime.calls if c[0] == "start_container"]
    assert order[:2] == ["setup", "main"]


async def test_other_nodes_pods_ignored(kubelet):
    api = kubelet.client
    await api.create("pods", pod("elsewhere", node="w2"), namespace="default")
    await api.create("pods", pod("here"), namespace="default")
    await eventually(lambda: (x := _pod(api, "here")) and x["status"].get("phase") == "Running")
    assert _pod(api, "elsewhere")["status"]["phase"] == "Pending"
    assert "containerStatuses" not in _pod(api, "elsewhere")["status"]


async def test_host_network_pod_gets_the_node_ip(kubelet):
    api = kubelet.client
    await api.create("pods", pod("hostnet", hostNetwork=True), namespace="default")
    p = await eventually(lambda: (x := _pod(api, "hostnet")) and x["status"].get("phase") == "Running" and x)
    assert p["status"]["podIP"] == "10.200.0.11"


async def test_configmap_env_and_volume(kubelet):
    api = kubelet.client
    await api.create("configmaps", {"metadata": {"name": "app"}, "data": {"greeting": "hello"}}, namespace="default")
    await api.create("pods", pod("cm", containers=[{
        "name": "main", "image": "busybox",
        "env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "app", "key": "greeting"}}}],
        "volumeMounts": [{"name": "conf", "mountPath": "/etc/app"}]}],
        volumes=[{"name": "conf", "configMap": {"name": "app"}}]), namespace="default")
    await eventually(lambda: (x := _pod(api, "cm")) and x["status"].get("phase") == "Running")
    cfg = next(c for c in kubelet.runtime.configs.values() if c.name == "main")
    assert "GREETING=hello" in cfg.env
    src = cfg.mounts[0]["source"]
    assert open(f"{src}/greeting").read() == "hello"


async def test_envfrom_and_a_configmap_update_reaching_the_volume(kubelet, monkeypatch):
    from labkube.kubelet import podworker
    monkeypatch.setattr(podworker, "VOLUME_REFRESH", 0.6)
    monkeypatch.setattr(podworker, "RESYNC", 0.1)
    api = kubelet.client
    await api.create("configmaps", {"metadata": {"name": "live"}, "data": {"k": "v1"}}, namespace="default")
    await api.create("secrets", {"metadata": {"name": "pw"}, "data": {"p": "czNjcmV0"}}, namespace="default")
    await api.create("pods", pod("live", containers=[{
        "name": "main", "image": "busybox", "envFrom": [{"configMapRef": {"name": "live"}, "prefix": "CM_"},
                                                       {"secretRef": {"name": "pw"}}],
        "volumeMounts": [{"name": "conf", "mountPath": "/etc/live"}]}],
        volumes=[{"name": "conf", "configMap": {"name": "live"}}]), namespace="default")
    await eventually(lambda: (x := _pod(api, "live")) and x["status"].get("phase") == "Running")
    cfg = next(c for c in kubelet.runtime.configs.values() if c.name == "main" and "CM_k=v1" in c.env)
    assert "p=s3cret" in cfg.env
    await api.patch("configmaps", "live", {"data": {"k": "v2"}}, namespace="default")
    await eventually(lambda: open(f"{cfg.mounts[0]['source']}/k").read() == "v2")


async def test_startup_timings_of_a_pod(kubelet):
    api = kubelet.client
    await api.create("pods", pod("timed"), namespace="default")
    await eventually(lambda: (x := _pod(api, "timed")) and x["status"].get("phase") == "Running")
    rec = await eventually(lambda: next((r for r in kubelet.startup.as_list("default")
                                         if r["name"] == "timed" and r["ready_sent"]), None))
    assert set(rec["steps"]) == {"sandbox", "volumes", "image", "create", "start"}
    assert all(v >= 0 for v in rec["steps"].values())
    assert rec["seen"] <= rec["running_sent"] <= rec["ready_sent"]


async def test_missing_configmap_reports_config_error(kubelet):
    api = kubelet.client
    await api.create("pods", pod("nocm", containers=[{
        "name": "main", "image": "busybox",
        "env": [{"name": "X", "valueFrom": {"configMapKeyRef": {"name": "absent", "key": "k"}}}]}]),
        namespace="default")

    def waiting():
        cs = ((_pod(api, "nocm") or {}).get("status") or {}).get("containerStatuses") or [{}]
        return ((cs[0].get("state") or {}).get("waiting") or {})
    w = await eventually(lambda: waiting().get("reason") and waiting())
    assert w == {"reason": "CreateContainerConfigError", "message": 'configmap "absent" not found'}


async def test_terminal_pods_stay_terminal_after_restart(kcfg):
    from labkube.client.fake import FakeApi
    from labkube.kubelet.kubelet import Kubelet
    from labkube.kubelet.runtime.fake import FakeImages, FakeRuntime
    api = FakeApi()
    await api.create("pods", pod("done", restart_policy="Never"), namespace="default")
    await api.patch("pods", "done", {"status": {"phase": "Succeeded"}}, namespace="default", subresource="status")
    kl = Kubelet(kcfg, client=api, runtime=FakeRuntime(kcfg), images=FakeImages())
    await kl.start()
    try:
        w = await eventually(lambda: kl.pods.find("default", "done"))
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert w.phase == "Succeeded" and _pod(api, "done")["status"]["phase"] == "Succeeded"
        assert not kl.runtime.calls
    finally:
        await kl.stop()


async def test_lifecycle_hooks(kubelet):
    api = kubelet.client
    await api.create("pods", pod("hooks", containers=[
        {"name": "main", "image": "busybox", "lifecycle": {"preStop": {"exec": {"command": ["drain"]}}}},
        {"name": "bad", "image": "busybox", "lifecycle": {"postStart": {"exec": {"command": ["false"]}}}}]),
        namespace="default")

    def bad_restarted():
        cs = ((_pod(api, "hooks") or {}).get("status") or {}).get("containerStatuses") or []
        return any(c["name"] == "bad" and c["restartCount"] >= 1 for c in cs)
    await eventually(bad_restarted)
    await api.delete("pods", "hooks", namespace="default")
    await eventually(lambda: _pod(api, "hooks") is None)
    calls = kubelet.runtime.calls
    drain = calls.index(("exec", "main", ["drain"]))
    assert ("stop_container", "main") in calls[drain:]


async def test_projected_configmap_is_fetched(kubelet):
    api = kubelet.client
    await api.create("configmaps", {"metadata": {"name": "proj"}, "data": {"x": "1"}}, namespace="default")
    await api.create("pods", pod("pj", containers=[{"name": "main", "image": "busybox",
                                                    "volumeMounts": [{"name": "p", "mountPath": "/p"}]}],
                                 volumes=[{"name": "p", "projected": {"sources": [{"configMap": {"name": "proj"}}]}}]),
                     namespace="default")
    await eventually(lambda: (x := _pod(api, "pj")) and x["status"].get("phase") == "Running")
    cfg = next(c for c in kubelet.runtime.configs.values() if c.name == "main" and c.mounts)
    assert open(f"{cfg.mounts[0]['source']}/x").read() == "1"


async def test_claim_volume_waits_until_bound_then_mounts_the_volume(kubelet, tmp_path):
    api = kubelet.client
    await api.create("persistentvolumeclaims", {"metadata": {"name": "www"}, "spec": {
        "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
        "status": {"phase": "Pending"}}, namespace="default")
    await api.create("pods", pod("web", volumes=[{"name": "www", "persistentVolumeClaim": {"claimName": "www"}}],
                                 containers=[{"name": "main", "image": "busybox", "volumeMounts": [
                                     {"name": "www", "mountPath": "/data"}]}]), namespace="default")

    def waiting():
        cs = ((_pod(api, "web") or {}).get("status") or {}).get("containerStatuses") or [{}]
        return ((cs[0].get("state") or {}).get("waiting") or {})
    w = await eventually(lambda: waiting().get("message") and waiting())
    assert w == {"reason": "ContainerCreating", "message": 'persistentvolumeclaim "www" not bound (volume www)'}
    target = str(tmp_path / "pv-www")
    await api.create("persistentvolumes", {"metadata": {"name": "pv-www"}, "spec": {
        "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
        "hostPath": {"path": target, "type": "DirectoryOrCreate"}}})
    await api.patch("persistentvolumeclaims", "www", {"spec": {"volumeName": "pv-www"}}, "default")
    await api.patch("persistentvolumeclaims", "www", {"status": {"phase": "Bound"}}, "default", subresource="status")
    await eventually(lambda: (x := _pod(api, "web")) and x["status"].get("phase") == "Running", tries=500, step=0.05)
    mounts = [m for cfg in kubelet.runtime.configs.values() for m in cfg.mounts if m["destination"] == "/data"]
    assert mounts == [{"destination": "/data", "source": target, "readonly": False}]


async def test_an_ephemeral_container_starts_once_in_its_targets_pid_namespace(kubelet):
    """What `kubectl debug --target` asks: added to a running pod, started once (never
    restarted) sharing the target's PID namespace, reported in ephemeralContainerStatuses."""
    api = kubelet.client
    await api.create("pods", pod("dbg"), namespace="default")
    await eventually(lambda: (x := _pod(api, "dbg")) and x["status"].get("phase") == "Running")
    debugger = {"name": "debugger-1", "image": "busybox", "stdin": True, "tty": True, "targetContainerName": "main"}
    await api.patch("pods", "dbg", {"spec": {"ephemeralContainers": [debugger]}}, namespace="default")
    st = await eventually(lambda: (x := _pod(api, "dbg")) and [
        s for s in x["status"].get("ephemeralContainerStatuses") or [] if "running" in s["state"]])
    assert st[0]["name"] == "debugger-1" and st[0]["image"] == "docker.io/library/busybox:latest"
    rt = kubelet.runtime
    cid = next(c for c, s in rt.containers.items() if s.name == "debugger-1")
    main = next(s for s in rt.containers.values() if s.name == "main")
    assert rt.configs[cid].pid_namespace == f"/proc/{main.pid}/ns/pid" and rt.configs[cid].tty
    rt.finish(cid, 0)
    st = await eventually(lambda: (x := _pod(api, "dbg")) and [
        s for s in x["status"].get("ephemeralContainerStatuses") or [] if "terminated" in s["state"]])
    assert st[0]["state"]["terminated"]["exitCode"] == 0
    await asyncio.sleep(0.3)
    assert [c for c in rt.calls if c == ("start_container", "debugger-1")] == [("start_container", "debugger-1")]
    p = _pod(api, "dbg")
    assert p["status"]["phase"] == "Running" and p["status"]["containerStatuses"][0]["ready"]


async def test_an_ephemeral_container_waits_for_its_target_to_run(kubelet):
    api = kubelet.client
    await api.create("pods", pod("tgt", restart_policy="Never", containers=[
        {"name": "main", "image": "busybox"}, {"name": "short", "image": "busybox", "command": ["exit", "0"]}]),
        namespace="default")
    await eventually(lambda: (x := _pod(api, "tgt")) and x["status"].get("phase") == "Running")
    await api.patch("pods", "tgt", {"spec": {"ephemeralContainers": [
        {"name": "debugger-2", "image": "busybox", "targetContainerName": "short"}]}}, namespace="default")
    st = await eventually(lambda: (x := _pod(api, "tgt")) and x["status"].get("ephemeralContainerStatuses"))
    assert st[0]["state"]["waiting"] == {"reason": "CreateContainerConfigError",
                                         "message": "target container short is not running"}
