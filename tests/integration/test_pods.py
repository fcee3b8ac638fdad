"""Pods on a real netns lab, the kubelet's side of them: readiness probes taking a pod out of
its Service's endpoints and back, liveness probes restarting a container (restartCount,
lastState, `kubectl logs --previous`), ConfigMaps and Secrets as env (valueFrom, envFrom) and
as volumes (following an update), `kubectl logs -f`, and init containers running first, in
order. Services, DNS, images, exec/cp/port-forward are in test_services.py and
test_images_exec.py. One lab for the module; traffic only to lab addresses."""
import json
import select
import subprocess
import time

import pytest

from labtools import apply, get_json, kubectl, wait_for


def condition(pod, kind):
    return next((c["status"] for c in pod["status"].get("conditions") or [] if c["type"] == kind), None)


def ready_pod(env, name):
    def probe():
        p = get_json("pod", name, env=env)
        return p if condition(p, "Ready") == "True" else None
    return wait_for(f"pod {name} Ready", probe)


def endpoint_ips(env, service):
    """(ready addresses, not-ready addresses) of a Service's Endpoints."""
    subsets = get_json("endpoints", service, env=env).get("subsets") or []
    return ({a["ip"] for s in subsets for a in s.get("addresses") or []},
            {a["ip"] for s in subsets for a in s.get("notReadyAddresses") or []})


def exec_(env, pod, *cmd, check=True):
    return kubectl("exec", pod, "--", *cmd, env=env, check=check)


READINESS = """
apiVersion: v1
kind: Pod
metadata: {name: gate, labels: {app: gate}}
spec:
  containers:
  - name: httpd
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo gate > /www/index.html && touch /tmp/ready && exec httpd -f -p 80 -h /www"]
    ports: [{containerPort: 80}]
    readinessProbe:
      exec: {command: ["test", "-f", "/tmp/ready"]}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata: {name: gate}
spec:
  selector: {app: gate}
  ports: [{port: 80}]
"""


def test_readiness_probe_takes_the_pod_out_of_the_endpoints_and_back(lab):
    apply(READINESS, lab)
    ip = ready_pod(lab, "gate")["status"]["podIP"]
    wait_for("the ready pod in the endpoints", lambda: endpoint_ips(lab, "gate") == ({ip}, set()))

    exec_(lab, "gate", "rm", "/tmp/ready")
    wait_for("the pod listed as not ready", lambda: endpoint_ips(lab, "gate") == (set(), {ip}))
    pod = get_json("pod", "gate", env=lab)
    assert condition(pod, "Ready") == "False" and condition(pod, "ContainersReady") == "False"
    assert pod["status"]["phase"] == "Running"
    assert pod["status"]["containerStatuses"][0]["ready"] is False
    assert pod["status"]["containerStatuses"][0]["restartCount"] == 0     # readiness never restarts

    exec_(lab, "gate", "touch", "/tmp/ready")
    wait_for("the pod back in the endpoints", lambda: endpoint_ips(lab, "gate") == ({ip}, set()))
    assert condition(get_json("pod", "gate", env=lab), "Ready") == "True"


LIVENESS = """
apiVersion: v1
kind: Pod
metadata: {name: heart}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "touch /tmp/alive; echo run $(cat /proc/sys/kernel/random/uuid); exec sleep 3600"]
    livenessProbe:
      exec: {command: ["test", "-f", "/tmp/alive"]}
      initialDelaySeconds: 1
      periodSeconds: 1
      failureThreshold: 2
"""


def container_status(env, pod):
    return get_json("pod", pod, env=env)["status"]["containerStatuses"][0]


def test_liveness_probe_failure_restarts_the_container(lab):
    apply(LIVENESS, lab)
    first = wait_for("heart running", lambda: (s := container_status(lab, "heart")).get("state", {}).get("running")
                     and s)
    assert first["restartCount"] == 0 and not first.get("lastState")
    first_log = kubectl("logs", "heart", env=lab).stdout
    assert first_log.startswith("run ")

    exec_(lab, "heart", "rm", "/tmp/alive")
    again = wait_for("a restart after the liveness probe failed",
                     lambda: (s := container_status(lab, "heart"))["restartCount"] >= 1
                     and s.get("state", {}).get("running") and s)
    assert again["restartCount"] == 1                 # the new container is healthy: one restart only
    term = again["lastState"]["terminated"]
    assert term["exitCode"] in (137, 143) and term["reason"] == "Error", term
    assert again["containerID"] != first["containerID"]
    events = kubectl("get", "events", "--field-selector", "involvedObject.name=heart", env=lab).stdout
    assert "Liveness probe failed" in events and "Killing" in events, events

    previous = kubectl("logs", "heart", "--previous", env=lab).stdout
    current = wait_for("the new container's log", lambda: kubectl("logs", "heart", env=lab).stdout)
    assert previous == first_log
    assert current.startswith("run ") and current != previous


CONFIG = """
apiVersion: v1
kind: ConfigMap
metadata: {name: app-config}
data: {MODE: prod, greeting: hello}
---
apiVersion: v1
kind: Secret
metadata: {name: app-secret}
stringData: {password: s3cret, user: admin}
---
apiVersion: v1
kind: Pod
metadata: {name: configured}
spec:
  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", "env | sort; exec sleep 3600"]
    env:
    - {name: MODE, valueFrom: {configMapKeyRef: {name: app-config, key: MODE}}}
    - {name: DB_PASSWORD, valueFrom: {secretKeyRef: {name: app-secret, key: password}}}
    - {name: OPTIONAL, valueFrom: {configMapKeyRef: {name: no-such-config, key: x, optional: true}}}
    envFrom:
    - {configMapRef: {name: app-config}, prefix: CFG_}
    - {secretRef: {name: app-secret}}
    volumeMounts:
    - {name: cfg, mountPath: /etc/app}
    - {name: sec, mountPath: /etc/secret, readOnly: true}
  volumes:
  - {name: cfg, configMap: {name: app-config}}
  - {name: sec, secret: {secretName: app-secret, defaultMode: 0400}}
"""


def test_configmap_and_secret_as_env(lab):
    apply(CONFIG, lab)
    wait_for("configured running", lambda: get_json("pod", "configured", env=lab)["status"].get("phase") == "Running")
    env = set(wait_for("the env in the log", lambda: kubectl("logs", "configured", env=lab).stdout).splitlines())
    assert {"MODE=prod", "DB_PASSWORD=s3cret", "CFG_MODE=prod", "CFG_greeting=hello",
            "password=s3cret", "user=admin"} <= env, env
    assert not any(line.startswith("OPTIONAL=") for line in env)


def test_configmap_and_secret_as_volumes_follow_updates(lab):
    wait_for("configured running", lambda: get_json("pod", "configured", env=lab)["status"].get("phase") == "Running")
    assert exec_(lab, "configured", "cat", "/etc/app/greeting").stdout == "hello"
    assert exec_(lab, "configured", "ls", "/etc/app").stdout.split() == ["MODE", "greeting"]
    assert exec_(lab, "configured", "cat", "/etc/secret/password").stdout == "s3cret"
    assert exec_(lab, "configured", "stat", "-c", "%a", "/etc/secret/password").stdout.strip() == "400"

    kubectl("patch", "configmap", "app-config", "-p", '{"data": {"greeting": "hi again", "extra": "x"}}', env=lab)
    wait_for("the update in the volume",
             lambda: exec_(lab, "configured", "cat", "/etc/app/greeting", check=False).stdout == "hi again")
    assert exec_(lab, "configured", "cat", "/etc/app/extra").stdout == "x"
    # the environment is fixed when the container starts, as in Kubernetes
    assert exec_(lab, "configured", "sh", "-c", "echo $CFG_greeting").stdout.strip() == "hello"


def test_missing_configmap_is_reported(lab):
    kubectl("run", "unconfigured", "--image=busybox", "--overrides", json.dumps({"spec": {"containers": [{
        "name": "unconfigured", "image": "busybox", "command": ["sleep", "3600"],
        "envFrom": [{"configMapRef": {"name": "no-such-config"}}]}]}}), env=lab)

    def waiting():
        st = get_json("pod", "unconfigured", env=lab)["status"].get("containerStatuses") or []
        return st and (st[0].get("state") or {}).get("waiting")
    w = wait_for("the pod waiting", lambda: (w := waiting()) and w.get("reason") == "CreateContainerConfigError" and w)
    assert 'configmap "no-such-config" not found' in w["message"]


def read_lines(proc, count, timeout=60):
    """The next ``count`` lines of a process's stdout (fails after ``timeout`` seconds)."""
    lines, deadline = [], time.monotonic() + timeout
    while len(lines) < count:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
            pytest.fail(f"only {lines} after {timeout}s")
        line = proc.stdout.readline()
        if not line:
            pytest.fail(f"the stream ended after {lines}: {proc.stderr.read()}")
        lines.append(line.decode().rstrip("\n"))
    return lines


def test_logs_follow_new_lines(lab):
    kubectl("run", "counter", "--image=busybox", "--", "sh", "-c",
            "i=0; while true; do echo line $i; i=$((i+1)); sleep 0.5; done", env=lab)
    wait_for("a few lines", lambda: kubectl("logs", "counter", env=lab, check=False).stdout.count("\n") >= 3)
    proc = subprocess.Popen(["kubectl", "logs", "-f", "--tail=1", "counter"], env=lab,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        lines = read_lines(proc, 5)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    numbers = [int(line.split()[1]) for line in lines]
    assert numbers == list(range(numbers[0], numbers[0] + 5)), lines


INIT = """
apiVersion: v1
kind: Pod
metadata: {name: staged}
spec:
  initContainers:
  - {name: first, image: busybox, command: ["sh", "-c", "echo first >> /work/order"],
     volumeMounts: [{name: work, mountPath: /work}]}
  - {name: second, image: busybox, command: ["sh", "-c", "test -s /work/order && echo second >> /work/order"],
     volumeMounts: [{name: work, mountPath: /work}]}
  containers:
  - {name: main, image: busybox, command: ["sh", "-c", "echo main >> /work/order; cat /work/order; exec sleep 3600"],
     volumeMounts: [{name: work, mountPath: /work}]}
  volumes: [{name: work, emptyDir: {}}]
---
apiVersion: v1
kind: Pod
metadata: {name: blocked}
spec:
  restartPolicy: Never
  initContainers:
  - {name: fails, image: busybox, command: ["sh", "-c", "exit 4"]}
  containers:
  - {name: main, image: busybox, command: ["sleep", "3600"]}
"""


def test_init_containers_run_first_in_order(lab):
    apply(INIT, lab)
    assert wait_for("main's log", lambda: kubectl("logs", "staged", "-c", "main", env=lab, check=False).stdout) \
        == "first\nsecond\nmain\n"
    pod = get_json("pod", "staged", env=lab)
    assert condition(pod, "Initialized") == "True"
    inits = pod["status"]["initContainerStatuses"]
    assert [s["name"] for s in inits] == ["first", "second"]
    for s in inits:
        assert s["state"]["terminated"]["exitCode"] == 0 and s["state"]["terminated"]["reason"] == "Completed"
    assert inits[0]["state"]["terminated"]["finishedAt"] <= inits[1]["state"]["terminated"]["startedAt"]
    assert inits[1]["state"]["terminated"]["finishedAt"] <= \
        pod["status"]["containerStatuses"][0]["state"]["running"]["startedAt"]


def test_a_failing_init_container_keeps_the_app_from_starting(lab):
    pod = wait_for("blocked to fail", lambda: (p := get_json("pod", "blocked", env=lab))["status"].get("phase")
                   == "Failed" and p)
    init = pod["status"]["initContainerStatuses"][0]
    assert init["state"]["terminated"]["exitCode"] == 4
    assert condition(pod, "Initialized") == "False"
    main = pod["status"]["containerStatuses"][0]
    assert "running" not in main["state"] and "terminated" not in main["state"], main
