"""Integration: a throwaway lab node running a busybox container through the kubelet's
crun runtime, image store and CNI code (root + crun required).

The test creates a node the way the lab does — `ip netns add lktest-...`, then
`ip netns exec NS unshare --uts --mount --pid --fork --mount-proc` with a private tmpfs
/run, a tmpfs /sys/fs/cgroup (with the v1 hierarchies when the host has them) and a
private /var/lib/labkube — and runs this file inside it (`--inside`), which prints one
JSON report. All traffic stays inside namespaces created here (10.244.77.0/24).
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest

HERE = os.path.abspath(__file__)
REPO = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
POD_CIDR = "10.244.77.0/24"
CONTROLLERS = ("cpu", "cpuacct", "cpuset", "memory", "devices", "freezer", "blkio", "pids")


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "needs root (creates network namespaces and mounts)"
    for tool in ("crun", "ip", "unshare"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not os.path.exists("/usr/lib/cni/bridge"):
        return "containernetworking-plugins (/usr/lib/cni) is not installed"
    if not os.path.exists("/bin/busybox"):
        return "busybox-static is not installed"
    return None


NODE_SETUP = """set -e
mount -t tmpfs -o mode=755 run /run
mkdir -p /run/netns
mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
for c in {controllers}; do
  mkdir -p /sys/fs/cgroup/$c
  mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c 2>/dev/null || rmdir /sys/fs/cgroup/$c
done
mkdir -p /var/lib/labkube
mount --bind {state} /var/lib/labkube
ip link set lo up
ip link add eth0 type veth peer name eth0p && ip link set eth0p up && ip addr add 10.200.77.11/24 dev eth0 && ip link set eth0 up
sysctl -qw net.ipv4.ip_forward=1
exec {python} {test} --inside {scenario} {node}
"""


def run_in_node(tmp_path, scenario: str) -> dict:
    """Create a throwaway node, run ``scenario`` inside it, return its JSON report."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    node = "lktest-" + uuid.uuid4().hex[:8]
    state = tmp_path / "state"
    state.mkdir()
    script = NODE_SETUP.format(controllers=" ".join(CONTROLLERS), state=state, python=sys.executable,
                               test=HERE, node=node, scenario=scenario)
    created_mountpoint = not os.path.exists("/var/lib/labkube")
    subprocess.run(["ip", "netns", "add", node], check=True)
    try:
        # --kill-child: if the test is interrupted, the node's PID 1 (and every container) dies with it
        proc = subprocess.run(["ip", "netns", "exec", node, "unshare", "--uts", "--mount", "--pid", "--fork",
                               "--kill-child", "--mount-proc", "sh", "-c", script], capture_output=True, text=True, timeout=600,
                              env={**os.environ, "PYTHONPATH": REPO})
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
        assert lines, f"no report from inside the node (rc {proc.returncode}): {proc.stderr[-3000:]}"
        report = json.loads(lines[-1])
        print(json.dumps(report, indent=1))
        if report.get("error"):
            print(proc.stderr[-6000:])
        assert report.get("error") is None, report.get("error")
        return report
    finally:
        subprocess.run(["ip", "netns", "del", node], capture_output=True)
        if created_mountpoint:
            try:
                os.rmdir("/var/lib/labkube")          # the empty mount point made inside the node
            except OSError:
                pass
        assert node not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout


@pytest.mark.integration
def test_busybox_pod_on_a_throwaway_node(tmp_path):
    report = run_in_node(tmp_path, "runtime")
    assert report["pod_ip"].startswith("10.244.77."), report
    assert "hello from busybox" in report["log"], report
    assert report["pod_ip"] in report["log"], "the container should see its own IP on eth0"
    assert report["hostname_in_log"], report
    assert report["exit_code_after_kill"] == 137, report
    assert report["quick_exit_codes"] == [[3, "Error"]] * 100, report
    assert report["netns_left"] == [], report
    assert report["mounts_left"] == [], report
    assert report["crun_left"] == [], report
    assert report["bundles_left"] == [], report
    assert report["ipam_leases_left"] == [], report




@pytest.mark.integration
def test_kubelet_runs_pods_with_crun(tmp_path):
    """The whole kubelet (pod workers, status, logs server) on crun against an in-memory API."""
    r = run_in_node(tmp_path, "kubelet")
    assert r["web_phase"] == "Running", r
    assert r["web_ip"].startswith("10.244.77."), r
    assert all(cid.startswith("crun://") for cid in r["web_container_ids"]), r
    assert "Welcome to nginx" in r["sidecar_log"], r
    assert "Welcome to nginx" in r["sidecar_log_via_http"], r
    assert r["once_phase"] == "Failed" and r["once_exit_code"] == 3, r
    assert r["crash_waiting_reason"] == "CrashLoopBackOff" and r["crash_restarts"] >= 1, r
    assert r["crash_last_exit_code"] == 7, r
    assert r["once_message"] == "goodbye\n", "terminationMessagePath content"
    assert r["crash_last_message"] == "crashing", "FallbackToLogsOnError uses the log tail"
    assert r["never_pull_reason"] == "ErrImageNeverPull", r
    assert r["badcmd_terminated"]["reason"] == "StartError" and r["badcmd_terminated"]["exitCode"] == 128, r
    assert "nonexistent" in r["badcmd_terminated"]["message"], r
    if "hog_terminated" in r:
        assert r["hog_terminated"]["reason"] == "OOMKilled" and r["hog_terminated"]["exitCode"] == 137, r
    assert r["mem_mount"].startswith("tmpfs /cache tmpfs") and "size=8192k" in r["mem_mount"], r
    assert r["priv_state"] == ["running"], "a privileged container may create interfaces (NET_ADMIN)"
    assert r["hostnet_ip"] == "10.200.77.11", "hostNetwork pods report the node IP"
    assert r["via_pod_ip"] == "ok\n" and r["via_host_port"] == "ok\n", "pod IP and hostPort (portmap) reach nginx"
    assert r["sick_restarted"] >= 1, "a failing exec liveness probe restarts the container"
    assert r["adopted_same_containers"] and r["restart_counts_after_restart"] == [0, 0], r
    assert r["recreated_restart_count"] == 1 and r["recreated_ip"].startswith("10.244.77."), r
    assert r["web_deleted_from_api"], r
    assert r["nginx_exit_code"] == 0, "nginx exits 0 on its stop signal (SIGQUIT)"
    assert r["left_after_delete"] == {"netns": [], "mounts": [], "crun": [], "bundles": [], "sandboxes": [],
                                      "portmap_rules": []}, r


# --------------------------------------------------------------------------------------------
# inside the node


async def _inside(node: str) -> dict:
    from labctl.images import build_busybox
    from labkube.kubelet.config import parse_config
    from labkube.kubelet.images.store import ImageStore
    from labkube.kubelet.runtime.base import ContainerConfig, SandboxConfig
    from labkube.kubelet.runtime.crun import CrunRuntime

    root = "/var/lib/labkube"
    cfg = parse_config({"kubeconfig": "/dev/null", "node_name": node, "node_ip": "10.200.77.11",
                        "pod_cidr": POD_CIDR, "root_dir": f"{root}/kubelet", "image_dir": f"{root}/images"})
    os.makedirs(f"{cfg.image_dir}/preload", exist_ok=True)
    build_busybox(f"{cfg.image_dir}/preload/busybox.tar")
    store = ImageStore(cfg.image_dir)
    store.import_preload()
    image = store.ensure("busybox", "IfNotPresent")
    rt = CrunRuntime(cfg)
    await rt.start()
    report: dict = {"error": None, "cgroups": rt.use_cgroups}
    uid = str(uuid.uuid4())
    pod_dir = f"{cfg.root_dir}/pods/{uid}"
    sb = await rt.run_pod_sandbox(SandboxConfig(uid=uid, name="bb", namespace="default", hostname="bb",
                                                pod_dir=pod_dir))
    report["pod_ip"] = sb.ip
    log_path = f"{pod_dir}/logs/main/0.log"
    cc = ContainerConfig(name="main", pod_uid=uid, image_ref=image.ref, image_id=image.image_id,
                         rootfs=image.rootfs,
                         args=["sh", "-c", "echo hello from busybox; hostname; ip -4 addr show eth0; "
                                           "echo ready; exec sleep 1000"],
                         env=["PATH=/bin:/sbin:/usr/bin:/usr/sbin"], log_path=log_path,
                         memory_limit=64 << 20 if rt.use_cgroups else None)
    cid = await rt.create_container(sb, cc)
    await rt.start_container(cid)
    for _ in range(1200):
        with open(log_path) as f:
            text = f.read()
        if "ready" in text:
            break
        await asyncio.sleep(0.05)
    report["log"] = text
    report["hostname_in_log"] = "\nbb\n" in text
    await rt.stop_container(cid, timeout=1)          # sh as PID 1 ignores TERM -> KILL
    st = await rt.container_status(cid)
    report["exit_code_after_kill"] = st.exit_code
    await rt.remove_container(cid)
    # commands that end at once: each exit code reaches the runtime (with `crun run -d` about one
    # in twenty was lost: the process could be gone before the kubelet waited for it)
    report["quick_exit_codes"] = []
    for i in range(100):
        quick = ContainerConfig(name=f"quick{i}", pod_uid=uid, image_ref=image.ref, image_id=image.image_id,
                                rootfs=image.rootfs, args=["sh", "-c", "exit 3"],
                                env=["PATH=/bin"], log_path=f"{pod_dir}/logs/quick{i}/0.log")
        qid = await rt.create_container(sb, quick)
        await rt.start_container(qid)
        st = await rt.wait_container(qid, 30)
        report["quick_exit_codes"].append((st.exit_code, st.reason) if st else None)
        await rt.remove_container(qid)
    await rt.stop_pod_sandbox(sb.id)
    await rt.remove_pod_sandbox(sb.id)
    report["netns_left"] = sorted(os.listdir("/run/netns"))
    with open("/proc/self/mounts") as f:
        report["mounts_left"] = [ln.split()[1] for ln in f if cfg.root_dir in ln.split()[1]]
    out = subprocess.run([cfg.crun, "--root", rt.crun_root, "list", "-q"], capture_output=True, text=True)
    report["crun_left"] = out.stdout.split()
    report["bundles_left"] = os.listdir(f"{cfg.root_dir}/containers")
    leases = f"{cfg.root_dir}/cni/networks/podnet"
    report["ipam_leases_left"] = [n for n in (os.listdir(leases) if os.path.isdir(leases) else [])
                                  if n[0].isdigit()]
    return report


async def _inside_kubelet(node: str) -> dict:
    from labctl.images import build_busybox, build_nginx
    from labkube.client.fake import FakeApi
    from labkube.kubelet.config import parse_config
    from labkube.kubelet.kubelet import Kubelet

    root = "/var/lib/labkube"
    cfg = parse_config({"kubeconfig": "/dev/null", "node_name": node, "node_ip": "10.200.77.11",
                        "pod_cidr": POD_CIDR, "root_dir": f"{root}/kubelet", "image_dir": f"{root}/images",
                        "port": 10250, "node_status_update_frequency": 1})
    os.makedirs(f"{cfg.image_dir}/preload", exist_ok=True)
    build_busybox(f"{cfg.image_dir}/preload/busybox.tar")
    build_nginx(f"{cfg.image_dir}/preload/nginx.tar")
    api = FakeApi()
    kl = Kubelet(cfg, client=api)
    await kl.start()
    r: dict = {"error": None}

    def get(name):
        for p in api.all("pods", "default"):
            if p["metadata"]["name"] == name:
                return p
        return None

    async def until(fn, what, tries=2400):      # generous: a bound for hangs, not a timing check
        for _ in range(tries):
            v = fn()
            if v:
                return v
            await asyncio.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}: {json.dumps(api.all('pods', 'default'))[:3000]}")

    def phase(name):
        return ((get(name) or {}).get("status") or {}).get("phase")

    def cstatus(name, i=0):
        return (((get(name) or {}).get("status") or {}).get("containerStatuses") or [{}] * (i + 1))[i]

    spec = lambda name, containers, **kw: {"metadata": {"name": name, "namespace": "default"},  # noqa: E731
                                           "spec": {"nodeName": node, "containers": containers, **kw}}
    await api.create("pods", spec("web", [
        {"name": "nginx", "image": "nginx", "imagePullPolicy": "IfNotPresent",
         "ports": [{"name": "http", "containerPort": 80, "hostPort": 8080}],
         "readinessProbe": {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1},
         "livenessProbe": {"tcpSocket": {"port": 80}, "periodSeconds": 1}},
        {"name": "sidecar", "image": "busybox:latest", "imagePullPolicy": "IfNotPresent",
         "command": ["sh", "-c", "until wget -q -O - http://127.0.0.1/; do sleep 0.1; done; exec sleep 1000"]}],
        terminationGracePeriodSeconds=5))
    await api.create("pods", spec("once", [{"name": "main", "image": "busybox",
                                            "command": ["sh", "-c", "echo goodbye > /dev/termination-log; exit 3"]}],
                                  restartPolicy="Never"))
    await api.create("pods", spec("crash", [{"name": "main", "image": "busybox", "command": ["sh", "-c", "echo crashing; exit 7"],
                                             "terminationMessagePolicy": "FallbackToLogsOnError"}]))
    await api.create("pods", spec("sick", [{"name": "main", "image": "busybox", "command": ["sleep", "1000"],
                                            "livenessProbe": {"exec": {"command": ["cat", "/nonexistent"]},
                                                              "periodSeconds": 1, "failureThreshold": 1}}],
                                  terminationGracePeriodSeconds=1))
    await api.create("pods", spec("hostnet", [{"name": "main", "image": "busybox", "command": ["sleep", "1000"]}],
                                  hostNetwork=True, terminationGracePeriodSeconds=0))
    await api.create("pods", spec("badcmd", [{"name": "main", "image": "busybox", "command": ["/nonexistent"]}],
                                  restartPolicy="Never"))
    await api.create("pods", spec("hog", [{"name": "main", "image": "busybox", "resources": {"limits": {"memory": "16Mi"}},
                                           "command": ["dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1"]}],
                                  restartPolicy="Never"))
    await api.create("pods", spec("priv", [{"name": "main", "image": "busybox", "securityContext": {"privileged": True},
                                            "command": ["sh", "-c", "ip link add v0 type veth peer name v1 && sleep 1000"]}],
                                  terminationGracePeriodSeconds=0))
    await api.create("pods", spec("mem", [{"name": "main", "image": "busybox", "volumeMounts": [
                                            {"name": "cache", "mountPath": "/cache"}],
                                           "command": ["sh", "-c", "grep ' /cache ' /proc/mounts; sleep 1000"]}],
                                  volumes=[{"name": "cache", "emptyDir": {"medium": "Memory", "sizeLimit": "8Mi"}}],
                                  terminationGracePeriodSeconds=0))
    await api.create("pods", spec("never", [{"name": "main", "image": "missing:1", "imagePullPolicy": "Never"}]))
    await until(lambda: phase("web") == "Running" and all(c.get("ready") for c in
                get("web")["status"]["containerStatuses"]), "web running")
    w = kl.pods.find("default", "web")
    await until(lambda: "Welcome" in open(w.current("sidecar").log_path).read(), "sidecar log")
    r["web_phase"] = phase("web")
    r["web_ip"] = get("web")["status"]["podIP"]
    r["web_container_ids"] = [c["containerID"] for c in get("web")["status"]["containerStatuses"]]
    r["sidecar_log"] = open(w.current("sidecar").log_path).read()
    import aiohttp
    async with aiohttp.ClientSession() as s:
        async with s.get("http://127.0.0.1:10250/containerLogs/default/web/sidecar?tailLines=50") as resp:
            r["sidecar_log_via_http"] = await resp.text()
    import urllib.request

    def fetch(url):
        with urllib.request.urlopen(url, timeout=5) as resp:     # noqa: S310 - inside the test node
            return resp.read().decode()
    r["via_pod_ip"] = await asyncio.to_thread(fetch, f"http://{r['web_ip']}/healthz")
    r["via_host_port"] = await asyncio.to_thread(fetch, "http://10.200.77.11:8080/healthz")
    await until(lambda: phase("once") == "Failed", "once failed")
    r["once_phase"] = phase("once")
    r["once_exit_code"] = cstatus("once")["state"]["terminated"]["exitCode"]
    r["once_message"] = cstatus("once")["state"]["terminated"].get("message")
    await until(lambda: (cstatus("crash").get("state") or {}).get("waiting", {}).get("reason") == "CrashLoopBackOff",
                "crash loop")
    r["crash_waiting_reason"] = "CrashLoopBackOff"
    r["crash_restarts"] = cstatus("crash")["restartCount"]
    r["crash_last_exit_code"] = cstatus("crash")["lastState"]["terminated"]["exitCode"]
    r["crash_last_message"] = cstatus("crash")["lastState"]["terminated"].get("message")
    await until(lambda: (cstatus("never").get("state") or {}).get("waiting", {}).get("reason"), "never pull")
    r["never_pull_reason"] = cstatus("never")["state"]["waiting"]["reason"]
    await until(lambda: phase("badcmd") == "Failed", "badcmd failed")
    r["badcmd_terminated"] = cstatus("badcmd")["state"]["terminated"]
    if kl.runtime.use_cgroups:
        await until(lambda: phase("hog") == "Failed", "hog OOM-killed")
        r["hog_terminated"] = cstatus("hog")["state"]["terminated"]
    await until(lambda: phase("mem") == "Running" and "tmpfs" in
                open(kl.pods.find("default", "mem").current("main").log_path).read(), "memory emptyDir")
    r["mem_mount"] = open(kl.pods.find("default", "mem").current("main").log_path).read().strip()
    await until(lambda: phase("priv") == "Running", "privileged pod running")
    await asyncio.sleep(0.5)
    r["priv_state"] = list(cstatus("priv")["state"])
    await until(lambda: phase("hostnet") == "Running", "hostNetwork pod running")
    r["hostnet_ip"] = get("hostnet")["status"]["podIP"]
    await until(lambda: cstatus("sick").get("restartCount", 0) >= 1, "liveness restart")
    r["sick_restarted"] = cstatus("sick")["restartCount"]

    # restart the kubelet: running containers are adopted, not restarted
    before = r["web_container_ids"]
    await kl.stop()
    kl = Kubelet(cfg, client=api)
    await kl.start()
    await until(lambda: kl.pods.find("default", "web") is not None, "adoption")
    await asyncio.sleep(0.5)
    after = [c["containerID"] for c in get("web")["status"]["containerStatuses"]]
    r["adopted_same_containers"] = before == after and phase("web") == "Running"
    r["restart_counts_after_restart"] = [c["restartCount"] for c in get("web")["status"]["containerStatuses"]]

    # the node "restarts" under a stopped kubelet: containers and the pod netns are gone
    await kl.stop()
    w = kl.pods.find("default", "web")
    for name in ("nginx", "sidecar"):
        subprocess.run([cfg.crun, "--root", kl.runtime.crun_root, "kill", w.current(name).id, "KILL"], check=True)
    subprocess.run(["ip", "netns", "del", os.path.basename(w.sandbox.netns)], check=True)
    for _ in range(200):
        if not any(os.path.exists(f"/proc/{w.current(n).pid}/status") and "zombie" not in
                   open(f"/proc/{w.current(n).pid}/status").read() for n in ("nginx", "sidecar")):
            break
        await asyncio.sleep(0.05)
    kl = Kubelet(cfg, client=api)
    await kl.start()
    await until(lambda: phase("web") == "Running" and cstatus("web").get("restartCount") == 1
                and cstatus("web").get("ready"), "web recreated after the node restart")
    r["recreated_restart_count"] = cstatus("web")["restartCount"]
    r["recreated_ip"] = get("web")["status"]["podIP"]

    # graceful delete -> containers stopped -> final DELETE -> nothing left
    w = kl.pods.find("default", "web")
    nginx_id = w.current("nginx").id
    nginx = kl.runtime.containers[nginx_id]
    for name in ("web", "once", "crash", "never", "sick", "hostnet", "badcmd", "hog", "priv", "mem"):
        await api.delete("pods", name, namespace="default")
    await until(lambda: not api.all("pods", "default"), "all pods deleted")
    await until(lambda: not kl.pods.workers, "workers done")
    r["web_deleted_from_api"] = get("web") is None
    r["nginx_exit_code"] = nginx.exit_code
    with open("/proc/self/mounts") as f:
        mounts = [ln.split()[1] for ln in f if cfg.root_dir in ln.split()[1]]
    crun = subprocess.run([cfg.crun, "--root", kl.runtime.crun_root, "list", "-q"], capture_output=True, text=True)
    r["left_after_delete"] = {"netns": sorted(os.listdir("/run/netns")), "mounts": mounts,
                              "crun": crun.stdout.split(), "bundles": os.listdir(f"{cfg.root_dir}/containers"),
                              "sandboxes": os.listdir(f"{cfg.root_dir}/sandboxes"),
                              "portmap_rules": [ln for ln in subprocess.run(["iptables-save", "-t", "nat"],
                                                capture_output=True, text=True).stdout.splitlines() if "CNI-DN-" in ln]}
    await kl.stop()
    return r


if __name__ == "__main__" and len(sys.argv) == 4 and sys.argv[1] == "--inside":
    import logging
    import traceback
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    try:
        scenarios = {"runtime": _inside, "kubelet": _inside_kubelet}
        result = asyncio.run(scenarios[sys.argv[2]](sys.argv[3]))
    except Exception:  # noqa: BLE001 - report it to the outer test
        result = {"error": traceback.format_exc()}
    print(json.dumps(result), flush=True)
