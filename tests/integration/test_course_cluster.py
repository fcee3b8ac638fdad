"""More of a Kubernetes course's exercises, with the real kubectl on a real netns lab (the
first part is test_course.py): `nslookup` of short names from a busybox pod as it answers on
a cluster with CoreDNS; claims and the scheduler (a volume pinned to a node draws its pod
there, an unbound claim of an Immediate class keeps the pod Pending, a WaitForFirstConsumer
class provisions on the node the scheduler picked); `kubectl debug` with an ephemeral
container. Traffic goes only to the lab."""
import json
import os
import shutil

from labtools import finished, get_json, gone, kubectl, on_host, phase, pod_report, wait_for
from terminal import ATTACHED, on_a_terminal

SLOW = 240      # a shared, loaded machine: wait generously, assert on what happens


# ---- cluster DNS as the course shows it --------------------------------------------------------

LOOKUPS = ["kubernetes.default", "kubernetes", "kubernetes.default.svc.cluster.local", "nosuch-svc",
           "nosuch-svc.default", "example.com"]


def sections(out, marker="== "):
    """{title: text} of output cut at lines starting with ``marker``."""
    found, title = {}, None
    for line in out.splitlines():
        if line.startswith(marker):
            title = line[len(marker):].strip()
            found[title] = ""
        elif title is not None:
            found[title] += line + "\n"
    return found


def test_nslookup_from_a_pod_answers_as_on_a_cluster_with_coredns(lab):
    """busybox's nslookup asks a name with a dot as it is and a bare name along the search path:
    `nslookup kubernetes.default` says NXDOMAIN as it does with CoreDNS (the lab once said
    REFUSED), `nslookup kubernetes` finds the Service through the search path, a missing
    Service is NXDOMAIN on every try; a name of the outside world is refused, never forwarded.
    (Programs resolving short names through the search path: test_services.py.)"""
    script = "; ".join(f"echo '== {n}'; nslookup {n}" for n in LOOKUPS)
    script += "; echo '== end'"
    out = kubectl("run", "-i", "--rm", "dns", "--image=busybox", "--restart=Never", "--", "sh", "-c", script,
                  input="", env=lab, timeout=SLOW).stdout
    got = sections(out)
    assert "end" in got, out
    assert got["kubernetes.default"].count("can't find kubernetes.default: NXDOMAIN") == 2, out    # A and AAAA
    assert "REFUSED" not in got["kubernetes.default"], out
    assert "Name:\tkubernetes.default.svc.cluster.local\nAddress: 10.96.0.1" in got["kubernetes"], out
    assert "can't find kubernetes.svc.cluster.local: NXDOMAIN" in got["kubernetes"], out
    assert "Address: 10.96.0.1" in got["kubernetes.default.svc.cluster.local"], out
    for suffix in ("default.svc.cluster.local", "svc.cluster.local", "cluster.local"):
        assert f"can't find nosuch-svc.{suffix}: NXDOMAIN" in got["nosuch-svc"], out
    assert "can't find nosuch-svc.default: NXDOMAIN" in got["nosuch-svc.default"], out
    assert "can't find example.com: REFUSED" in got["example.com"], out
    wait_for("the pod removed", lambda: gone("pod/dns", lab), SLOW)


# ---- claims and the scheduler -------------------------------------------------------------------

LOCAL_STORAGE = """
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: local-storage}
provisioner: kubernetes.io/no-provisioner
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: PersistentVolume
metadata: {name: local-w2}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: Retain
  storageClassName: local-storage
  local: {path: /var/lib/labkube-volumes/course-local-w2}
  nodeAffinity:
    required:
      nodeSelectorTerms:
      - matchExpressions: [{key: kubernetes.io/hostname, operator: In, values: [w2-k8s]}]
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: local-claim}
spec:
  storageClassName: local-storage
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 500Mi}}
"""


def claim_pod(name, claim, command="echo stored > /data/file && cat /data/file"):
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim}}],
        "containers": [{"name": "c", "image": "busybox", "command": ["sh", "-c", command],
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}})


def events_of(name, reason, env):
    return [e["message"] for e in get_json("events", "--field-selector",
                                           f"involvedObject.name={name},reason={reason}", env=env)["items"]]


def test_a_local_volume_pinned_to_a_node_draws_its_pod_there(lab):
    """The docs' local-storage class (no provisioner, WaitForFirstConsumer) and a local PV with
    nodeAffinity to w2: the claim waits for its consumer; the pod, which names no node, is
    scheduled to w2 and the claim is bound to that volume."""
    local_dir = on_host("/var/lib/labkube-volumes/course-local-w2", lab)
    os.makedirs(local_dir, exist_ok=True)         # a local volume's directory exists before its PV
    kubectl("apply", "-f", "-", input=LOCAL_STORAGE, env=lab)
    try:
        wait_for("the claim waiting for its consumer", lambda: events_of("local-claim", "WaitForFirstConsumer", lab),
                 SLOW)
        assert phase("pvc/local-claim", lab) == "Pending"
        kubectl("apply", "-f", "-", input=claim_pod("pinned", "local-claim"), env=lab)
        assert finished("pinned", lab) == "Succeeded", pod_report("pinned", lab)
        assert get_json("pod/pinned", env=lab)["spec"]["nodeName"] == "w2-k8s"
        assert kubectl("logs", "pinned", env=lab).stdout == "stored\n"
        assert open(os.path.join(local_dir, "file")).read() == "stored\n"
        claim = get_json("pvc/local-claim", env=lab)
        assert claim["status"]["phase"] == "Bound" and claim["spec"]["volumeName"] == "local-w2"
    finally:
        kubectl("delete", "pod/pinned", "pvc/local-claim", "pv/local-w2", "storageclass/local-storage",
                "--ignore-not-found", "--wait=true", env=lab, timeout=SLOW)
        shutil.rmtree(local_dir, ignore_errors=True)


UNBOUND_CLAIM = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: waiting-claim}
spec:
  storageClassName: ""
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 100Mi}}
"""

ITS_VOLUME = """
apiVersion: v1
kind: PersistentVolume
metadata: {name: late-pv}
spec:
  storageClassName: ""
  capacity: {storage: 100Mi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /var/lib/labkube-volumes/course-late-pv}
"""


def test_a_pod_with_an_unbound_immediate_claim_waits_until_a_volume_comes(lab):
    """A claim without class and no volume for it: the pod stays Pending with the scheduler's
    FailedScheduling 'pod has unbound immediate PersistentVolumeClaims' (kubectl describe
    shows it); once an administrator adds a volume, the claim binds and the pod runs."""
    kubectl("apply", "-f", "-", input=UNBOUND_CLAIM, env=lab)
    kubectl("apply", "-f", "-", input=claim_pod("patient", "waiting-claim"), env=lab)
    try:
        said = wait_for("FailedScheduling", lambda: events_of("patient", "FailedScheduling", lab), SLOW)
        assert "pod has unbound immediate PersistentVolumeClaims" in said[0], said
        assert "pod has unbound immediate PersistentVolumeClaims" in kubectl("describe", "pod", "patient",
                                                                             env=lab).stdout
        assert phase("pod/patient", lab) == "Pending" and not get_json("pod/patient", env=lab)["spec"].get("nodeName")
        kubectl("apply", "-f", "-", input=ITS_VOLUME, env=lab)
        assert finished("patient", lab) == "Succeeded", pod_report("patient", lab)
        assert get_json("pvc/waiting-claim", env=lab)["spec"]["volumeName"] == "late-pv"
    finally:
        kubectl("delete", "pod/patient", "pvc/waiting-claim", "--ignore-not-found", "--wait=true", env=lab,
                timeout=SLOW)
        kubectl("delete", "pv/late-pv", "--ignore-not-found", env=lab, timeout=SLOW)
        shutil.rmtree(on_host("/var/lib/labkube-volumes/course-late-pv", lab), ignore_errors=True)


WAITING_CLASS = """
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: wait-for-pod}
provisioner: labkube.io/hostpath
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: late-claim}
spec:
  storageClassName: wait-for-pod
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 100Mi}}
"""


def test_wait_for_first_consumer_provisions_on_the_node_the_scheduler_picked(lab):
    """A provisioning class with WaitForFirstConsumer: no volume until a pod uses the claim;
    then the scheduler's node is written on the claim (volume.kubernetes.io/selected-node) and
    the volume is provisioned with nodeAffinity to that node."""
    kubectl("apply", "-f", "-", input=WAITING_CLASS, env=lab)
    try:
        wait_for("the claim waiting for its consumer", lambda: events_of("late-claim", "WaitForFirstConsumer", lab),
                 SLOW)
        assert phase("pvc/late-claim", lab) == "Pending"
        kubectl("apply", "-f", "-", input=claim_pod("consumer", "late-claim"), env=lab)
        assert finished("consumer", lab) == "Succeeded", pod_report("consumer", lab)
        node = get_json("pod/consumer", env=lab)["spec"]["nodeName"]
        claim = get_json("pvc/late-claim", env=lab)
        assert claim["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == node
        assert claim["status"]["phase"] == "Bound"
        pv = get_json(f"pv/{claim['spec']['volumeName']}", env=lab)
        assert pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"] == [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]
        assert "ProvisioningSucceeded" in kubectl("describe", "pvc", "late-claim", env=lab).stdout
    finally:
        kubectl("delete", "pod/consumer", "pvc/late-claim", "--ignore-not-found", "--wait=true", env=lab,
                timeout=SLOW)
        kubectl("delete", "storageclass/wait-for-pod", "--ignore-not-found", env=lab)


# ---- kubectl debug -----------------------------------------------------------------------------------

def test_kubectl_debug_attaches_a_shell_that_sees_the_target_containers_processes(lab):
    """`kubectl debug -it POD --image=busybox --target=CONTAINER`: an ephemeral container joins
    the pod (spec.ephemeralContainers), shares the target's process namespace (busybox's ps
    lists nginx), and the terminal is attached to it; once it exits it is not restarted and
    the pod runs on untouched."""
    kubectl("run", "shop", "--image=nginx", env=lab)
    try:
        kubectl("wait", "--for=condition=Ready", "pod/shop", "--timeout=240s", env=lab, timeout=SLOW)
        rc, out = on_a_terminal(["kubectl", "debug", "-it", "shop", "--image=busybox", "--target=shop", "--", "sh"],
                                b"ps; echo debugging-$((6*7)); exit 3\n", lab, after=ATTACHED, timeout=SLOW)
        assert "debugging-42" in out and "nginx: master process" in out, out
        assert "Session ended, the ephemeral container will not be restarted" in out, out
        assert rc == 0, out                # attach, as upstream, does not pass the exit code on
        pod = get_json("pod/shop", env=lab)
        [debugger] = pod["spec"]["ephemeralContainers"]
        assert debugger["name"].startswith("debugger-") and debugger["targetContainerName"] == "shop"
        assert debugger["image"] == "busybox" and debugger["tty"] is True and debugger["stdin"] is True
        [status] = wait_for("the debugger's exit in the pod status", lambda: [
            s for s in get_json("pod/shop", env=lab)["status"].get("ephemeralContainerStatuses") or []
            if "terminated" in s["state"]], SLOW)
        assert status["name"] == debugger["name"] and status["state"]["terminated"]["exitCode"] == 3
        pod = get_json("pod/shop", env=lab)
        assert pod["status"]["phase"] == "Running" and pod["status"]["containerStatuses"][0]["restartCount"] == 0
        logs = kubectl("logs", "shop", "-c", debugger["name"], env=lab).stdout
        assert "debugging-42" in logs, logs
    finally:
        kubectl("delete", "pod", "shop", "--grace-period=1", "--ignore-not-found", env=lab, timeout=SLOW)


def test_kubectl_debug_node_gives_a_shell_on_the_node(lab):
    """`kubectl debug node/w1-k8s -it --image=busybox`: a pod on that node with the node's
    network and process namespaces and its root filesystem under /host (the node's own
    kubelet config is there, its kubelet shows in ps); the pod stays for kubectl to attach
    again, as upstream, until it is deleted."""
    rc, out = on_a_terminal(["kubectl", "debug", "node/w1-k8s", "-it", "--image=busybox", "--", "sh"],
                            b"ps; grep node_name /host/etc/labkube/kubelet.yaml; ip -o -4 addr; exit\n", lab,
                            after=ATTACHED, timeout=SLOW)
    debuggers = [p for p in get_json("pods", env=lab)["items"]
                 if p["metadata"]["name"].startswith("node-debugger-w1-k8s-")]
    try:
        assert rc == 0, out
        assert "node_name: w1-k8s" in out, out
        assert "labkube.kubelet" in out, out                  # the node's processes: hostPID
        assert "10.200.0.11/" in out, out                      # the node's address: hostNetwork
        [pod] = debuggers
        spec = pod["spec"]
        assert spec["nodeName"] == "w1-k8s" and spec["hostPID"] and spec["hostNetwork"]
        assert any((v.get("hostPath") or {}).get("path") == "/" for v in spec["volumes"])
    finally:
        for p in debuggers:
            kubectl("delete", "pod", p["metadata"]["name"], "--grace-period=1", "--ignore-not-found", env=lab,
                    timeout=SLOW)
