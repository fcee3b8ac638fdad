"""The walking skeleton end to end: `labctl up` on the default inventory, the real kubectl
against the cluster, smoke tests, status and ssh, a no-change re-run (site.yml, then
smoke.yml), and `labctl down` leaving nothing behind. The steps share one lab and run in order."""
import json
import re
import subprocess
from pathlib import Path

import pytest

from labtools import kubectl, labctl, wait_for


@pytest.fixture(scope="module")
def env(env):
    # mount points the lab creates on the host; ones that existed before are not its to remove
    env["_NEW_MOUNT_POINTS"] = ",".join(p for p in ("/etc/labkube", "/var/lib/labkube") if not Path(p).exists())
    return env


@pytest.fixture(scope="module")
def lab(env):
    up = labctl("up", env=env)
    assert up.returncode == 0, f"labctl up failed:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}"
    assert "export KUBECONFIG=$(labctl kubeconfig" in up.stderr + up.stdout
    kubeconfig = labctl("kubeconfig", env=env).stdout.strip()
    assert Path(kubeconfig).is_file()
    assert not (Path(env["HOME"]) / ".kube" / "config").exists()
    return dict(env, KUBECONFIG=kubeconfig)


def test_three_nodes_ready_and_master_tainted(lab):
    nodes = json.loads(kubectl("get", "nodes", "-o", "json", env=lab).stdout)["items"]
    by_name = {n["metadata"]["name"]: n for n in nodes}
    assert sorted(by_name) == ["m-k8s", "w1-k8s", "w2-k8s"]
    for n in nodes:
        ready = [c for c in n["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True", n["metadata"]["name"]
    master = by_name["m-k8s"]
    assert master["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] == ""
    assert {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"} in master["spec"]["taints"]
    table = kubectl("get", "nodes", env=lab).stdout
    assert re.search(r"m-k8s\s+Ready\s+control-plane", table), table


def test_a_pod_runs_in_a_real_container_and_logs(lab):
    kubectl("run", "hello", "--image=busybox", "--", "sh", "-c", "echo hello; sleep 3600", env=lab)

    def running():
        pod = json.loads(kubectl("get", "pod", "hello", "-o", "json", env=lab).stdout)
        return pod if pod["status"].get("phase") == "Running" and pod["status"].get("podIP") else None
    pod = wait_for("pod hello Running", running)
    assert pod["spec"]["nodeName"] in ("w1-k8s", "w2-k8s")
    assert pod["status"]["podIP"].startswith("10.244.")
    assert pod["status"]["containerStatuses"][0]["containerID"].startswith("crun://")
    wait_for("the log of hello", lambda: "hello" in kubectl("logs", "hello", env=lab, check=False).stdout)
    kubectl("delete", "pod", "hello", "--grace-period=1", "--wait=false", env=lab)


def test_a_deployment_keeps_its_replicas(lab):
    kubectl("create", "deployment", "web", "--image=busybox", "--replicas=2", "--", "sleep", "3600", env=lab)

    def running_pods():
        pods = json.loads(kubectl("get", "pods", "-l", "app=web", "-o", "json", env=lab).stdout)["items"]
        live = [p for p in pods if p["status"].get("phase") == "Running" and not p["metadata"].get("deletionTimestamp")]
        return live if len(live) == 2 else None
    pods = wait_for("2 running web pods", running_pods)
    owners = {p["metadata"]["ownerReferences"][0]["kind"] for p in pods}
    assert owners == {"ReplicaSet"}
    victim = pods[0]["metadata"]["name"]
    kubectl("delete", "pod", victim, "--grace-period=1", "--wait=false", env=lab)
    replaced = wait_for("a replacement pod", lambda: (p := running_pods()) and
                        victim not in [x["metadata"]["name"] for x in p] and p)
    assert len(replaced) == 2
    kubectl("delete", "deployment", "web", env=lab)


def test_smoke_status_and_ssh(lab):
    smoke = labctl("smoke", env=lab)
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    status = labctl("status", env=lab)
    assert status.returncode == 0, status.stdout + status.stderr
    for node, address in [("m-k8s", "10.200.0.10"), ("w1-k8s", "10.200.0.11"), ("w2-k8s", "10.200.0.12")]:
        assert re.search(rf"{node}\s+{re.escape(address)}", status.stdout)
    assert "labkube-apiserver=active" in status.stdout
    assert "labkube-kubelet=active" in status.stdout
    ssh = labctl("ssh", "w1-k8s", "--", "hostname", env=lab)
    assert ssh.returncode == 0 and ssh.stdout.strip() == "w1-k8s"
    store = labctl("storage", "ls", "/registry/namespaces", env=lab)
    assert store.returncode == 0, store.stderr
    assert "/registry/namespaces/default" in store.stdout


def test_second_up_changes_nothing(lab):
    again = labctl("up", env=lab)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-2000:]
    site, smoke = again.stdout.split("PLAY RECAP")[1:]      # site.yml's recap, then smoke.yml's
    recap = lambda text: re.findall(r"^(\S+)\s*:\s*ok=\d+\s+changed=(\d+)", text, re.M)
    assert sorted(h for h, _ in recap(site)) == ["m-k8s", "w1-k8s", "w2-k8s"]
    assert [h for h, _ in recap(smoke)] == ["m-k8s"]
    assert all(int(changed) == 0 for _, changed in recap(site) + recap(smoke)), recap(site) + recap(smoke)


def test_down_leaves_nothing_behind(lab):
    down = labctl("down", env=lab)
    assert down.returncode == 0, down.stderr
    assert "labctl-" not in subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    assert subprocess.run(["ip", "link", "show", "labctl0"], capture_output=True).returncode != 0
    # the lab's processes: node supervisors, services from the nodes' virtualenv, containers
    # (not labkube processes of unit tests that others run on the machine meanwhile)
    for pattern in ("labctl.providers.netns.supervisor", "/var/lib/labkube/venv", "/etc/labkube/", "crun"):
        assert subprocess.run(["pgrep", "-f", pattern], capture_output=True).returncode == 1, pattern
    mounts = Path("/proc/mounts").read_text()
    assert "labctl" not in mounts and "labkube" not in mounts
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True).stdout
    assert "KUBE-" not in rules and "CNI-" not in rules
    assert not Path(lab["LABCTL_STATE_DIR"]).exists()
    for mount_point in filter(None, lab["_NEW_MOUNT_POINTS"].split(",")):
        assert not Path(mount_point).exists(), mount_point
