"""The VM lab end to end: box (built if needed), 1 master + 2 workers as VMs, the cluster
from site.yml, `labctl smoke`, a worker halted and its pods back on the other worker,
the worker booted again, and `labctl down` leaving no VM, volume or network behind.
The steps share one lab and run in order (slow under QEMU emulation)."""
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from labctl.providers.vagrant import libvirt

ROOT = Path(__file__).resolve().parents[2]
INVENTORY = str(ROOT / "inventories" / "vagrant")
LABCTL = [sys.executable, "-m", "labctl.cli.main"]


def labctl(*args, env, timeout=3600):
    return subprocess.run([*LABCTL, *args, "-i", INVENTORY] if args[0] != "box" else [*LABCTL, *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


def wait_for(what, probe, timeout=300, every=3):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(every)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def env():
    # not under pytest's basetemp: the VM disks live in the state dir, and every pytest
    # session on the machine resets /tmp/pytest-of-<user> to 0700 (QEMU then cannot
    # reach them when a halted VM boots again)
    base = Path(tempfile.mkdtemp(prefix="labctl-vagrant-test-", dir="/var/tmp"))
    e = dict(os.environ, LABCTL_STATE_DIR=str(base / "lab"), CI="true")
    labctl("down", env=e)
    yield e
    labctl("down", env=e)
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def lab(env):
    box = labctl("box", "build", env=env)               # no-op when the box is installed
    assert box.returncode == 0, box.stderr[-2000:]
    up = labctl("up", env=env)
    assert up.returncode == 0, f"labctl up failed:\n{up.stdout[-3000:]}\n{up.stderr[-3000:]}"
    kubeconfig = labctl("kubeconfig", env=env).stdout.strip()
    return dict(env, KUBECONFIG=kubeconfig)


def api(lab):
    from kubernetes import client, config
    return client.CoreV1Api(config.new_client_from_config(lab["KUBECONFIG"]))


def apps(lab):
    from kubernetes import client, config
    return client.AppsV1Api(config.new_client_from_config(lab["KUBECONFIG"]))


def test_vms_run_and_answer_ssh(lab):
    for name in ("m-k8s", "w1-k8s", "w2-k8s"):
        ssh = subprocess.run([*LABCTL, "ssh", "-i", INVENTORY, name, "--", "hostname; systemctl is-system-running || true"],
                             cwd=ROOT, env=lab, capture_output=True, text=True, timeout=60)
        assert ssh.returncode == 0, ssh.stderr
        assert ssh.stdout.splitlines()[0] == name


def test_smoke(lab):
    smoke = labctl("smoke", "--timeout", "600", env=lab, timeout=900)   # pods start slowly under TCG
    assert smoke.returncode == 0, smoke.stdout[-2000:] + smoke.stderr[-2000:]


def _running(lab, selector):
    pods = api(lab).list_namespaced_pod("default", label_selector=selector).items
    return [p for p in pods if p.status.phase == "Running" and not p.metadata.deletion_timestamp]


def test_pods_of_a_stopped_worker_come_back_on_the_other(lab):
    from kubernetes import client
    body = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="heal"),
        spec=client.V1DeploymentSpec(
            replicas=2, selector=client.V1LabelSelector(match_labels={"app": "heal"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "heal"}),
                spec=client.V1PodSpec(containers=[client.V1Container(
                    name="c", image="busybox", command=["sleep", "3600"])]))))
    apps(lab).create_namespaced_deployment("default", body)
    pods = wait_for("2 running heal pods", lambda: (p := _running(lab, "app=heal")) and len(p) == 2 and p)
    victim_node = pods[0].spec.node_name
    other = {"w1-k8s": "w2-k8s", "w2-k8s": "w1-k8s"}[victim_node]
    stop = labctl("node", "stop", victim_node, env=lab)
    assert stop.returncode == 0, stop.stderr
    try:
        wait_for(f"both heal pods running on {other}",
                 lambda: (p := _running(lab, "app=heal")) and len(p) == 2
                 and all(x.spec.node_name == other for x in p), timeout=600)
    finally:
        start = labctl("node", "start", victim_node, env=lab)
        assert start.returncode == 0, start.stderr
    wait_for(f"{victim_node} Ready again", lambda: any(
        c.type == "Ready" and c.status == "True" for c in api(lab).read_node(victim_node).status.conditions),
        timeout=600)
    apps(lab).delete_namespaced_deployment("heal", "default")


def test_down_leaves_no_vm_volume_or_network(lab):
    down = labctl("down", env=lab, timeout=600)
    assert down.returncode == 0, down.stderr
    assert libvirt.leftovers("vagrant") == []
    # nothing of the lab anywhere in libvirt: no VM, no network, no volume in any pool
    assert not [d for d in libvirt._names("list", "--all", "--name") if "labctl" in d]
    assert not [n for n in libvirt._names("net-list", "--all", "--name") if "labctl" in n]
    for pool in libvirt._names("pool-list", "--all", "--name"):
        assert not [v for v in libvirt.volumes(pool) if "labctl" in v], pool
    assert subprocess.run(["pgrep", "-f", "qemu-system.*labctl-vagrant"], capture_output=True).returncode == 1
    assert not Path(lab["LABCTL_STATE_DIR"]).exists()
