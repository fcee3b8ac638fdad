"""A Kubernetes course's exercises as a student types them, with the real kubectl, on a real
netns lab: `kubectl run -it --rm` into a shell, `kubectl run -i` fed from a pipe, `kubectl
attach -it` to a terminal pod; create deployment + expose (ClusterIP, NodePort), describe
service and ingress, port-forward to a service and a deployment, `get all`; ConfigMaps and
Secrets from files, env files and literals, labels and annotations with and without
--overwrite; a namespace with a quota and a LimitRange; a Job made from a CronJob and a
parallel Job; force deletion seen by a watch; `kubectl autoscale` without metrics; persistent
volumes (the default StorageClass, a hand-made hostPath PV, the docs' StatefulSet with claim
templates); and the common mistakes of course YAML and
commands, each answered with a clear error. What other modules already cover (rollouts,
drain, probes, DNS, exec/cp on a pod) is not repeated here; test_course_cluster.py has more.
Traffic goes only to the lab and to loopback (port-forward)."""
import json
import os
import queue
import socket
import subprocess
import shutil
import threading
import time
import urllib.request

import pytest

import terminal
from labtools import finished, get_json, gone, kubectl, on_host, phase, pod_report, wait_for

SLOW = 240      # a shared, loaded machine: wait generously, assert on what happens


def on_a_terminal(argv, keystrokes: bytes, env, timeout=120):
    """Run argv on a pseudo-terminal as a student would, type ``keystrokes`` once kubectl says it
    is attached; (exit code, all output)."""
    return terminal.on_a_terminal(argv, keystrokes, env, after=terminal.ATTACHED, timeout=timeout)


# ---- interactive pods -------------------------------------------------------------------------

def test_run_it_rm_gives_a_shell_and_removes_the_pod_after(lab):
    rc, out = on_a_terminal(["kubectl", "run", "-it", "--rm", "shell", "--image=busybox", "--restart=Never",
                             "--", "sh"], b"echo inside-$((6*7)); tty; exit 4\n", lab)
    assert "inside-42" in out and "/dev/pts/" in out, out
    assert rc == 4, out                                   # the shell's exit code, as with Kubernetes
    assert 'pod "shell" deleted' in out, out
    wait_for("the pod removed", lambda: gone("pod/shell", lab), SLOW)


def test_run_i_feeds_the_pipe_to_the_command(lab):
    out = kubectl("run", "-i", "--rm", "upper", "--image=busybox", "--restart=Never", "--", "tr", "a-z", "A-Z",
                  input="hello from a pipe\n", env=lab, timeout=SLOW)
    assert "HELLO FROM A PIPE" in out.stdout, out.stdout + out.stderr
    wait_for("the pod removed", lambda: gone("pod/upper", lab), SLOW)


def test_attach_it_to_a_terminal_pod_then_it_restarts(lab):
    kubectl("run", "box", "--image=busybox", "--stdin", "--tty", "--attach=false", "--", "sh", env=lab)
    try:
        kubectl("wait", "--for=condition=Ready", "pod/box", "--timeout=240s", env=lab, timeout=SLOW)
        rc, out = on_a_terminal(["kubectl", "attach", "-it", "box"], b"echo attached-$((2*21)); exit\n", lab)
        assert rc == 0 and "attached-42" in out, out
        assert "Session ended" in out, out
        pod = wait_for("the shell restarted (restartPolicy Always)", lambda: (
            p := get_json("pod", "box", env=lab))["status"]["containerStatuses"][0]["restartCount"] >= 1 and p, SLOW)
        assert pod["spec"]["containers"][0]["tty"] is True
        assert "attached-42" in kubectl("logs", "box", "--previous", env=lab).stdout
    finally:
        kubectl("delete", "pod", "box", "--grace-period=1", "--ignore-not-found", env=lab)


# ---- deployment, services, ingress ------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def through_port_forward(target, env):
    """The page nginx serves, fetched through `kubectl port-forward TARGET PORT:80`."""
    port = free_port()
    pf = subprocess.Popen(["kubectl", "port-forward", target, f"{port}:80"], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "Forwarding from" in pf.stdout.readline()

        def fetch():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
                    return r.read().decode()
            except OSError:
                return None
        return wait_for(f"a page through port-forward {target}", fetch, 60)
    finally:
        pf.terminate()
        pf.wait(timeout=10)


@pytest.fixture(scope="module")
def web(lab):
    kubectl("create", "deployment", "web", "--image=nginx", "--replicas=3", "--port=80", env=lab)
    kubectl("expose", "deployment", "web", env=lab)
    kubectl("expose", "deployment", "web", "--type=NodePort", "--name=web-np", env=lab)
    kubectl("create", "ingress", "web", "--rule=web.lab/*=web:80", env=lab)
    kubectl("rollout", "status", "deployment/web", "--timeout=240s", env=lab, timeout=SLOW)
    yield
    kubectl("delete", "ingress/web", "service/web", "service/web-np", "deployment/web", "--ignore-not-found", env=lab)


def endpoint_count(env):
    return sum(len(s.get("addresses") or []) for s in get_json("endpoints", "web", env=env).get("subsets") or [])


def test_expose_a_deployment_and_describe_its_services(lab, web):
    wait_for("3 endpoints", lambda: endpoint_count(lab) == 3, SLOW)
    svc = get_json("svc", "web", env=lab)
    assert svc["spec"]["selector"] == {"app": "web"} and svc["spec"]["ports"][0]["port"] == 80
    np = get_json("svc", "web-np", env=lab)["spec"]["ports"][0]["nodePort"]
    assert 30000 <= np <= 32767
    described = kubectl("describe", "svc", "web", env=lab).stdout            # kubectl once crashed here
    endpoints = next(line for line in described.splitlines() if line.startswith("Endpoints:"))
    assert endpoints.count(":80") == 3, described
    assert f"{np}/TCP" in kubectl("describe", "svc", "web-np", env=lab).stdout
    ingress = kubectl("describe", "ingress", "web", env=lab).stdout
    assert "web.lab" in ingress and "web:80" in ingress, ingress
    apiserver = kubectl("describe", "svc", "kubernetes", env=lab).stdout
    assert "10.200.0.10:6443" in apiserver, apiserver
    everything = kubectl("get", "all", env=lab).stdout
    for name in ("deployment.apps/web", "replicaset.apps/web-", "service/web ", "service/web-np", "pod/web-"):
        assert name in everything, everything


@pytest.mark.parametrize("target", ["service/web", "deployment/web"])
def test_port_forward_to_a_service_and_a_deployment(lab, web, target):
    assert "Welcome to nginx" in through_port_forward(target, lab)


class WatchedLines:
    """The lines of a running `kubectl get -w`, read by a thread as they come."""

    def __init__(self, proc):
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=lambda: [self.lines.put(ln) for ln in proc.stdout], daemon=True).start()

    def first(self, wanted, timeout=60):
        """The first line (from here on) for which wanted(line) holds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                continue
            if wanted(line):
                return line
        pytest.fail("the watch did not show the expected event")


def test_scale_then_a_forced_delete_is_seen_by_a_watch(lab, web):
    kubectl("scale", "deployment/web", "--replicas=4", env=lab)
    wait_for("4 endpoints", lambda: endpoint_count(lab) == 4, SLOW)
    victim = get_json("pods", "-l", "app=web", env=lab)["items"][0]["metadata"]["name"]
    watch = subprocess.Popen(["kubectl", "get", "pods", "-l", "app=web", "-w", "--output-watch-events"], env=lab,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        lines = WatchedLines(watch)
        lines.first(lambda ln: ln.startswith("ADDED") and victim in ln)
        out = kubectl("delete", "pod", victim, "--grace-period=0", "--force", env=lab)
        assert f'pod "{victim}" force deleted' in out.stdout
        lines.first(lambda ln: ln.startswith("DELETED") and victim in ln)
    finally:
        watch.terminate()
        watch.wait(timeout=10)
    wait_for("the ReplicaSet to replace the pod", lambda: endpoint_count(lab) == 4, SLOW)
    kubectl("scale", "deployment/web", "--replicas=3", env=lab)


def test_autoscale_keeps_a_deployment_within_its_bounds_without_metrics(lab):
    """As in a cluster without metrics-server: the bounds apply, CPU targets stay unknown."""
    kubectl("create", "deployment", "auto", "--image=busybox", "--replicas=1", "--", "sleep", "3600", env=lab)
    try:
        kubectl("autoscale", "deployment", "auto", "--min=2", "--max=4", "--cpu-percent=50", env=lab)
        wait_for("scaled up to the minimum", lambda: get_json("deploy", "auto", env=lab)["spec"]["replicas"] == 2, SLOW)
        row = kubectl("get", "hpa", "auto", "--no-headers", env=lab).stdout.split()
        assert row[:3] == ["auto", "Deployment/auto", "cpu:"] and row[3:6] == ["<unknown>/50%", "2", "4"], row
        events = get_json("events", "--field-selector", "involvedObject.name=auto,reason=SuccessfulRescale", env=lab)
        assert "New size: 2; reason: Current number of replicas below Spec.MinReplicas" in [
            e["message"] for e in events["items"]]
        kubectl("scale", "deployment", "auto", "--replicas=9", env=lab)
        wait_for("scaled back down to the maximum", lambda: get_json("deploy", "auto", env=lab)["spec"]["replicas"]
                 == 4, SLOW)
    finally:
        kubectl("delete", "hpa/auto", "deployment/auto", "--ignore-not-found", env=lab)


# ---- ConfigMaps, Secrets, labels --------------------------------------------------------------

def test_configmaps_and_secrets_from_files_env_files_and_literals(lab, tmp_path):
    (tmp_path / "app.properties").write_text("color=blue\nmode=dark\n")
    (tmp_path / "nginx.conf").write_text("server { listen 8080; }\n")
    kubectl("create", "configmap", "app-config", f"--from-file={tmp_path / 'app.properties'}",
            f"--from-file={tmp_path / 'nginx.conf'}", "--from-literal=LEVEL=debug", env=lab)
    kubectl("create", "configmap", "app-env", f"--from-env-file={tmp_path / 'app.properties'}", env=lab)
    kubectl("create", "secret", "generic", "db", "--from-literal=user=admin", "--from-literal=password=s3cr3t!",
            env=lab)
    try:
        assert get_json("cm", "app-config", env=lab)["data"] == {
            "app.properties": "color=blue\nmode=dark\n", "nginx.conf": "server { listen 8080; }\n", "LEVEL": "debug"}
        assert get_json("cm", "app-env", env=lab)["data"] == {"color": "blue", "mode": "dark"}
        secret = get_json("secret", "db", env=lab)
        assert secret["type"] == "Opaque" and secret["data"] == {"user": "YWRtaW4=", "password": "czNjcjN0IQ=="}
        pod = """
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  restartPolicy: Never
  containers:
  - name: c
    image: busybox
    command: [sh, -c, 'echo "$color $LEVEL $DB_PASSWORD"; cat /etc/app/nginx.conf']
    envFrom: [{configMapRef: {name: app-env}}]
    env:
    - {name: LEVEL, valueFrom: {configMapKeyRef: {name: app-config, key: LEVEL}}}
    - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: db, key: password}}}
    volumeMounts: [{name: conf, mountPath: /etc/app}]
  volumes: [{name: conf, configMap: {name: app-config}}]
"""
        kubectl("apply", "-f", "-", input=pod, env=lab)
        wait_for("reader done", lambda: get_json("pod", "reader", env=lab)["status"].get("phase") == "Succeeded", SLOW)
        assert kubectl("logs", "reader", env=lab).stdout == "blue debug s3cr3t!\nserver { listen 8080; }\n"
    finally:
        kubectl("delete", "pod/reader", "cm/app-config", "cm/app-env", "secret/db", "--ignore-not-found",
                "--grace-period=1", env=lab)


def test_label_and_annotate_need_overwrite_to_change_a_value(lab):
    kubectl("run", "tagged", "--image=busybox", "--labels=tier=frontend", "--", "sleep", "3600", env=lab)
    try:
        again = kubectl("label", "pod", "tagged", "tier=backend", env=lab, check=False)
        assert again.returncode != 0 and "'tier' already has a value (frontend), and --overwrite is false" \
            in again.stderr
        kubectl("label", "pod", "tagged", "tier=backend", "--overwrite", env=lab)
        kubectl("annotate", "pod", "tagged", "owner=me", env=lab)
        kubectl("annotate", "pod", "tagged", "owner=you", "--overwrite", env=lab)
        pod = get_json("pod", "tagged", env=lab)
        assert pod["metadata"]["labels"]["tier"] == "backend" and pod["metadata"]["annotations"]["owner"] == "you"
        names = kubectl("get", "pods", "-l", "tier in (backend,db),tier!=frontend", "-o", "name", env=lab).stdout.split()
        assert names == ["pod/tagged"]
        kubectl("label", "pod", "tagged", "tier-", env=lab)
        assert "tier" not in get_json("pod", "tagged", env=lab)["metadata"]["labels"]
    finally:
        kubectl("delete", "pod", "tagged", "--grace-period=1", "--ignore-not-found", env=lab)


# ---- namespaces, quotas, LimitRanges ----------------------------------------------------------

LIMITS = """
apiVersion: v1
kind: LimitRange
metadata: {name: defaults, namespace: team}
spec:
  limits:
  - type: Container
    default: {cpu: 200m, memory: 128Mi}
    defaultRequest: {cpu: 100m, memory: 64Mi}
    max: {cpu: "1", memory: 512Mi}
"""


def test_a_namespace_with_a_quota_and_a_limitrange(lab):
    kubectl("create", "namespace", "team", env=lab)
    try:
        kubectl("create", "quota", "q", "-n", "team",
                "--hard=pods=2,requests.cpu=1,requests.memory=1Gi,limits.cpu=2,limits.memory=2Gi", env=lab)
        bare = kubectl("run", "p1", "-n", "team", "--image=busybox", "--", "sleep", "3600", env=lab, check=False)
        assert bare.returncode != 0 and "failed quota: q: must specify limits.cpu" in bare.stderr, bare.stderr
        kubectl("apply", "-f", "-", input=LIMITS, env=lab)
        kubectl("run", "p1", "-n", "team", "--image=busybox", "--", "sleep", "3600", env=lab)
        resources = get_json("pod", "p1", "-n", "team", env=lab)["spec"]["containers"][0]["resources"]
        assert resources == {"limits": {"cpu": "200m", "memory": "128Mi"}, "requests": {"cpu": "100m", "memory": "64Mi"}}
        big = kubectl("run", "big", "-n", "team", "--image=busybox", "--overrides",
                      '{"spec":{"containers":[{"name":"big","image":"busybox","resources":{"limits":{"cpu":"2"}}}]}}',
                      env=lab, check=False)
        assert big.returncode != 0 and "maximum cpu usage per Container is 1, but limit is 2" in big.stderr
        kubectl("run", "p2", "-n", "team", "--image=busybox", "--", "sleep", "3600", env=lab)
        third = kubectl("run", "p3", "-n", "team", "--image=busybox", "--", "sleep", "3600", env=lab, check=False)
        assert third.returncode != 0 and "exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2" \
            in third.stderr, third.stderr
        used = wait_for("the quota's usage", lambda: (u := get_json("quota", "q", "-n", "team", env=lab)["status"]
                                                         .get("used") or {}).get("pods") == "2" and u, SLOW)
        assert used["requests.cpu"] == "200m" and used["limits.memory"] == "256Mi"
    finally:
        kubectl("delete", "namespace", "team", "--wait=true", "--timeout=240s", env=lab, timeout=SLOW)


# ---- Jobs and CronJobs -------------------------------------------------------------------------

PARALLEL_JOB = """
apiVersion: batch/v1
kind: Job
metadata: {name: par}
spec:
  completions: 4
  parallelism: 2
  template:
    spec:
      restartPolicy: Never
      containers: [{name: c, image: busybox, command: [sh, -c, 'echo work done by $(hostname)']}]
"""


def test_a_job_from_a_cronjob_and_a_parallel_job(lab):
    kubectl("create", "cronjob", "hello", "--image=busybox", "--schedule=0 0 1 1 *", "--", "echo", "hello from cron",
            env=lab)
    kubectl("apply", "-f", "-", input=PARALLEL_JOB, env=lab)
    try:
        kubectl("create", "job", "manual", "--from=cronjob/hello", env=lab)
        job = get_json("job", "manual", env=lab)
        assert job["metadata"]["ownerReferences"][0]["kind"] == "CronJob"
        assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
        kubectl("wait", "--for=condition=complete", "job/manual", "job/par", "--timeout=240s", env=lab, timeout=SLOW)
        assert kubectl("logs", "job/manual", env=lab).stdout == "hello from cron\n"
        par = get_json("job", "par", env=lab)
        assert par["status"]["succeeded"] == 4
        pods = get_json("pods", "-l", "job-name=par", env=lab)["items"]
        phases = sorted((p["metadata"]["name"], p["status"]["phase"]) for p in pods)
        assert [phase for _, phase in phases] == ["Succeeded"] * 4, (phases, par["status"])
    finally:
        kubectl("delete", "cronjob/hello", "job/manual", "job/par", "--ignore-not-found", env=lab)


DOCS_STATEFULSET = """
apiVersion: v1
kind: Service
metadata: {name: nginx, labels: {app: nginx}}
spec:
  ports: [{port: 80, name: web}]
  clusterIP: None
  selector: {app: nginx}
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  selector: {matchLabels: {app: nginx}}
  serviceName: nginx
  replicas: 2
  template:
    metadata: {labels: {app: nginx}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: nginx
        image: nginx
        ports: [{containerPort: 80, name: web}]
        volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
"""


def test_the_docs_statefulset_runs_with_bound_claims_that_outlive_its_pods(lab):
    """The Kubernetes docs' StatefulSet: each pod gets its claim www-web-<n> from the default
    class, Bound to a provisioned volume; a pod deleted and recreated finds its data again; a
    claim deleted while its pod runs stays Terminating (pvc-protection) until the pod is gone."""
    kubectl("apply", "-f", "-", input=DOCS_STATEFULSET, env=lab)
    try:
        kubectl("rollout", "status", "statefulset/web", "--timeout=240s", env=lab, timeout=SLOW)
        for n in (0, 1):
            claim = get_json(f"pvc/www-web-{n}", env=lab)
            assert claim["status"]["phase"] == "Bound" and claim["spec"]["storageClassName"] == "standard"
            assert phase(f"pv/{claim['spec']['volumeName']}", lab) == "Bound"
            assert phase(f"pod/web-{n}", lab) == "Running"
        kubectl("exec", "web-0", "--", "sh", "-c", "echo page of web-0 > /usr/share/nginx/html/index.html", env=lab)
        old_uid = get_json("pod/web-0", env=lab)["metadata"]["uid"]
        kubectl("delete", "pod", "web-0", env=lab, timeout=SLOW)
        wait_for("web-0 recreated and running", lambda: (p := get_json("pods", env=lab)) and any(
            x["metadata"]["name"] == "web-0" and x["metadata"]["uid"] != old_uid
            and x["status"].get("phase") == "Running" for x in p["items"]), SLOW)
        out = kubectl("exec", "web-0", "--", "cat", "/usr/share/nginx/html/index.html", env=lab).stdout
        assert out == "page of web-0\n"
        kubectl("delete", "pvc", "www-web-1", "--wait=false", env=lab)        # still used by web-1: protected
        claim = get_json("pvc/www-web-1", env=lab)
        assert claim["metadata"]["deletionTimestamp"] and claim["status"]["phase"] == "Bound"
        assert claim["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
        assert phase("pod/web-1", lab) == "Running"
    finally:
        kubectl("delete", "statefulset/web", "service/nginx", "--ignore-not-found", "--wait=true", env=lab,
                timeout=SLOW)
        kubectl("delete", "pvc", "www-web-0", "www-web-1", "--ignore-not-found", "--wait=true", env=lab, timeout=SLOW)
    assert gone("pvc/www-web-1", lab)                 # released once its pod was deleted


SHARED_CLAIM = """
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: shared}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 100Mi}}
"""


def claim_pod(name, node, script, read_only=False, claim="shared"):
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {
        "restartPolicy": "Never", "nodeSelector": {"kubernetes.io/hostname": node},
        "terminationGracePeriodSeconds": 1,
        "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim, "readOnly": read_only}}],
        "containers": [{"name": "c", "image": "busybox", "command": ["sh", "-c", script],
                        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}})


def test_a_claim_of_the_default_class_carries_a_file_from_one_pod_to_the_next(lab):
    """`kubectl get sc` shows the default class; a claim without class gets it and is Bound to
    a provisioned hostPath volume; what a pod on w1 writes, a pod on w2 reads (read-only)."""
    assert "standard (default)" in kubectl("get", "sc", env=lab).stdout
    kubectl("apply", "-f", "-", input=SHARED_CLAIM, env=lab)
    try:
        wait_for("the claim bound", lambda: phase("pvc/shared", lab) == "Bound", SLOW)
        claim = get_json("pvc/shared", env=lab)
        assert claim["spec"]["storageClassName"] == "standard"
        pv = get_json(f"pv/{claim['spec']['volumeName']}", env=lab)
        assert pv["spec"]["hostPath"]["path"] == f"/var/lib/labkube-volumes/{pv['metadata']['name']}"
        assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete" and pv["spec"]["claimRef"]["name"] == "shared"
        kubectl("apply", "-f", "-", input=claim_pod("writer", "w1-k8s", "echo written on w1 > /data/msg"), env=lab)
        assert finished("writer", lab) == "Succeeded", pod_report("writer", lab)
        kubectl("apply", "-f", "-", env=lab, input=claim_pod(
            "reader", "w2-k8s", "cat /data/msg; touch /data/other 2>/dev/null || echo read-only", read_only=True))
        assert finished("reader", lab) == "Succeeded", pod_report("reader", lab)
        assert kubectl("logs", "reader", env=lab).stdout == "written on w1\nread-only\n"
    finally:
        kubectl("delete", "pod", "writer", "reader", "--ignore-not-found", "--wait=true", env=lab, timeout=SLOW)
        kubectl("delete", "pvc", "shared", "--ignore-not-found", "--wait=true", env=lab, timeout=SLOW)
    wait_for("the provisioned volume deleted with its claim (reclaimPolicy Delete)",
             lambda: gone(f"pv/{pv['metadata']['name']}", lab), SLOW)
    assert not os.path.exists(on_host(pv["spec"]["hostPath"]["path"], lab))


MANUAL_VOLUME = """
apiVersion: v1
kind: PersistentVolume
metadata: {name: manual-pv, labels: {type: local}}
spec:
  storageClassName: ""
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: /var/lib/labkube-volumes/course-manual-pv}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: manual-claim}
spec:
  storageClassName: ""
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 500Mi}}
"""


def test_a_hand_made_hostpath_volume_and_a_claim_without_class_bind(lab):
    """The course's PV + PVC pair: they bind to each other, a pod's file lands in the
    volume's directory on the host, and deleting the claim leaves the volume Released."""
    path = on_host("/var/lib/labkube-volumes/course-manual-pv", lab)
    kubectl("apply", "-f", "-", input=MANUAL_VOLUME, env=lab)
    try:
        wait_for("the claim bound", lambda: phase("pvc/manual-claim", lab) == "Bound", SLOW)
        assert get_json("pvc/manual-claim", env=lab)["spec"]["volumeName"] == "manual-pv"
        assert get_json("pvc/manual-claim", env=lab)["status"]["capacity"] == {"storage": "1Gi"}
        row = kubectl("get", "pv", "manual-pv", "--no-headers", env=lab).stdout.split()
        assert row[:6] == ["manual-pv", "1Gi", "RWO", "Retain", "Bound", "default/manual-claim"], row
        kubectl("apply", "-f", "-", env=lab,
                input=claim_pod("hostpath-writer", "w1-k8s", "echo kept > /data/kept.txt", claim="manual-claim"))
        assert finished("hostpath-writer", lab) == "Succeeded", pod_report("hostpath-writer", lab)
        with open(os.path.join(path, "kept.txt")) as f:
            assert f.read() == "kept\n"
        kubectl("delete", "pod", "hostpath-writer", "--wait=true", env=lab, timeout=SLOW)
        kubectl("delete", "pvc", "manual-claim", "--wait=true", env=lab, timeout=SLOW)
        wait_for("the volume released", lambda: phase("pv/manual-pv", lab) == "Released", SLOW)
    finally:
        kubectl("delete", "pod", "hostpath-writer", "--ignore-not-found", env=lab, timeout=SLOW)
        kubectl("delete", "pvc", "manual-claim", "--ignore-not-found", env=lab, timeout=SLOW)
        kubectl("delete", "pv", "manual-pv", "--ignore-not-found", env=lab, timeout=SLOW)
        shutil.rmtree(path, ignore_errors=True)


# ---- mistakes get clear errors -------------------------------------------------------------------

def deployment(api_version="apps/v1", selector="  selector: {matchLabels: {app: one}}\n", labels="{app: one}"):
    return (f"apiVersion: {api_version}\nkind: Deployment\nmetadata: {{name: oops}}\nspec:\n{selector}"
            f"  template:\n    metadata: {{labels: {labels}}}\n"
            "    spec: {containers: [{name: c, image: busybox}]}\n")


MISTAKES = [
    # (id, manifest, what the error says)
    ("old-api-version", deployment(api_version="apps/v1beta1"),
     'no matches for kind "Deployment" in version "apps/v1beta1"'),
    ("no-selector", deployment(selector=""), 'The Deployment "oops" is invalid: spec.selector: Required value'),
    ("selector-not-matching", deployment(labels="{app: two}"), "`selector` does not match template `labels`"),
    ("bad-indentation", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: oops\n spec:\n  containers: []\n",
     "error converting YAML to JSON"),
    ("no-image", "apiVersion: v1\nkind: Pod\nmetadata: {name: oops}\nspec: {containers: [{name: c}]}\n",
     'The Pod "oops" is invalid: spec.containers[0].image: Required value'),
    ("capital-name", "apiVersion: v1\nkind: Pod\nmetadata: {name: Oops}\nspec: {containers: [{name: c, image: x}]}\n",
     'metadata.name: Invalid value: "Oops": a lowercase RFC 1123 subdomain'),
    ("restart-policy", "apiVersion: v1\nkind: Pod\nmetadata: {name: oops}\n"
     "spec: {restartPolicy: Sometimes, containers: [{name: c, image: x}]}\n",
     'spec.restartPolicy: Unsupported value: "Sometimes"'),
    ("node-port-range", "apiVersion: v1\nkind: Service\nmetadata: {name: oops}\n"
     "spec: {type: NodePort, selector: {app: x}, ports: [{port: 80, nodePort: 80}]}\n",
     "spec.ports[0].nodePort: Invalid value: 80: provided port is not in the valid range"),
    ("misspelt-field", "apiVersion: v1\nkind: Pod\nmetadata: {name: oops}\n"
     "spec: {containers: [{name: c, image: x, imagePullPolice: Always}]}\n",
     'unknown field "spec.containers[0].imagePullPolice"'),
]


@pytest.mark.parametrize("manifest,says", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_a_mistake_in_course_yaml_gets_a_clear_error(lab, manifest, says):
    out = kubectl("apply", "-f", "-", input=manifest, env=lab, check=False)
    assert out.returncode != 0 and says in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and "panic" not in out.stderr
    assert gone("pod/oops", lab) and gone("deployment/oops", lab) and gone("service/oops", lab)


COMMAND_MISTAKES = [
    # (id, command, what the error says)
    ("no-such-pod", ["get", "pod", "nosuch"], 'pods "nosuch" not found'),
    ("undo-to-nowhere", ["rollout", "undo", "deployment/web", "--to-revision=99"],
     "unable to find specified revision 99 in history"),
    ("expose-nothing", ["expose", "pod", "nosuch", "--port=80"], 'pods "nosuch" not found'),
    ("negative-scale", ["scale", "deployment/web", "--replicas=-1"], "must be greater than or equal to 0"),
    ("twice", ["create", "deployment", "web", "--image=nginx"], 'deployments.apps "web" already exists'),
    ("logs-of-nothing", ["logs", "nosuch"], 'pods "nosuch" not found'),
]


@pytest.mark.parametrize("args,says", [m[1:] for m in COMMAND_MISTAKES], ids=[m[0] for m in COMMAND_MISTAKES])
def test_a_mistaken_command_gets_a_clear_error(lab, web, args, says):
    out = kubectl(*args, env=lab, check=False)
    assert out.returncode != 0 and says in out.stderr, out.stderr


def test_explain_and_can_i(lab):
    explained = kubectl("explain", "deployment.spec.strategy.rollingUpdate", env=lab).stdout
    assert "maxSurge" in explained and "maxUnavailable" in explained
    assert kubectl("auth", "can-i", "create", "deployments", env=lab).stdout.strip() == "yes"
