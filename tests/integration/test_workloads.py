"""Workloads and self-healing on a real netns lab, driven with the real kubectl: Deployment
rollout, history, undo and pause; kubernetes.io's Deployment walkthrough, liveness-exec pod and
"Learn Kubernetes Basics" tutorial with their own images; a DaemonSet on every schedulable
node; Jobs that succeed and fail (backoff limit, deadline), indexed Jobs and their TTL; a
CronJob (run by hand and on its schedule); StatefulSet ordering and DNS names; placement by
taints, node labels and pod anti-affinity; priority and preemption; orphan/foreground deletion and namespace deletion;
cordon and drain within a PodDisruptionBudget; and a stopped worker whose pods come back on
the other worker. Every test removes what it made;
the node-stopping test comes last because it disturbs the lab."""
import json
import re
import time

from labtools import apply, get_json, http_get, kubectl, labctl, wait_for

WORKERS = ("w1-k8s", "w2-k8s")
SLOW = 300      # the machine is shared and loaded: wait generously, assert on what happens


def delete(*what, env):
    """Delete and wait until gone (pods get a short grace so this stays quick)."""
    kubectl("delete", *what, "--ignore-not-found", "--wait=true", "--timeout=300s", env=env, timeout=330)


def pods(selector, env):
    return get_json("pods", "-l", selector, env=env)["items"]


def live(items):
    return [p for p in items if not p["metadata"].get("deletionTimestamp")]


def is_ready(pod):
    return any(c["type"] == "Ready" and c["status"] == "True" for c in pod["status"].get("conditions") or [])


def ready_on(selector, env):
    """{pod name: node} of the live, Ready pods matching selector."""
    return {p["metadata"]["name"]: p["spec"].get("nodeName") for p in live(pods(selector, env)) if is_ready(p)}


def condition(obj, kind):
    return next((c for c in (obj.get("status") or {}).get("conditions") or [] if c["type"] == kind), None)


def events_for(name, reason, env):
    items = get_json("events", "--field-selector", f"involvedObject.name={name}", env=env)["items"]
    return [e["message"] for e in items if e.get("reason") == reason]


def rollout_status(kind_name, env):
    """kubectl rollout status until done: Deployments and DaemonSets say "successfully rolled
    out"; a StatefulSet with the default RollingUpdate (partition 0) "partitioned roll out complete"."""
    out = kubectl("rollout", "status", kind_name, "--timeout=300s", env=env, timeout=330)
    assert "successfully rolled out" in out.stdout or "roll out complete" in out.stdout, out.stdout


def busybox_pod_spec(extra=""):
    return ("terminationGracePeriodSeconds: 1\n"
            "      containers:\n"
            "      - name: main\n"
            "        image: busybox\n"
            "        command: [sleep, '3600']\n" + extra)


# ---- Deployment: rollout, history, undo, pause ------------------------------------------------

def template_hashes(env):
    """{pod-template-hash: image} of the ReplicaSets of deployment roll that have replicas."""
    rss = get_json("rs", "-l", "app=roll", env=env)["items"]
    return {rs["metadata"]["labels"]["pod-template-hash"]: rs["spec"]["template"]["spec"]["containers"][0]["image"]
            for rs in rss if rs["spec"].get("replicas")}


def running_images(env):
    """The images of the live pods of roll, once they are all of one template (else None)."""
    ps = live(pods("app=roll", env))
    images = {p["spec"]["containers"][0]["image"] for p in ps}
    hashes = {p["metadata"]["labels"]["pod-template-hash"] for p in ps}
    return (images, hashes) if len(hashes) == 1 and len(ps) == 2 and all(is_ready(p) for p in ps) else None


# kubernetes.io's Deployment page (concepts/workloads/controllers/deployment), its manifest as written
NGINX_DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx-deployment
  labels:
    app: nginx
spec:
  replicas: 3
  selector:
    matchLabels:
      app: nginx
  template:
    metadata:
      labels:
        app: nginx
    spec:
      containers:
      - name: nginx
        image: nginx:1.14.2
        ports:
        - containerPort: 80
"""


# kubernetes.io's probes page (tasks/configure-pod-container/configure-liveness-readiness-startup-probes)
LIVENESS_EXEC = """apiVersion: v1
kind: Pod
metadata:
  labels:
    test: liveness
  name: liveness-exec
spec:
  containers:
  - name: liveness
    image: registry.k8s.io/busybox
    args:
    - /bin/sh
    - -c
    - touch /tmp/healthy; sleep 30; rm -f /tmp/healthy; sleep 600
    livenessProbe:
      exec:
        command:
        - cat
        - /tmp/healthy
      initialDelaySeconds: 5
      periodSeconds: 5
"""


def cannot_pull(pod):
    """Whether a container of the pod waits on an image it could not pull."""
    return any(((c.get("state") or {}).get("waiting") or {}).get("reason") in ("ErrImagePull", "ImagePullBackOff")
               for c in pod["status"].get("containerStatuses") or [])


def nginx_pods(env):
    """{image: (ready pods, pods waiting to pull)} of the walkthrough's live pods."""
    out: dict = {}
    for p in live(pods("app=nginx", env)):
        image = p["spec"]["containers"][0]["image"]
        ready, pulling = out.get(image, (0, 0))
        out[image] = (ready + is_ready(p), pulling + cannot_pull(p))
    return out


def history_revisions(env):
    out = kubectl("rollout", "history", "deployment/roll", env=env).stdout
    return [int(line.split()[0]) for line in out.splitlines() if line[:1].isdigit()]


def revision_of(env):
    return get_json("deployment", "roll", env=env)["metadata"]["annotations"]["deployment.kubernetes.io/revision"]


def test_deployment_rollout_history_undo_and_pause(lab):
    kubectl("create", "deployment", "roll", "--image=busybox", "--replicas=2", "--", "sleep", "3600", env=lab)
    try:
        rollout_status("deployment/roll", lab)
        images, (hash1,) = wait_for("2 ready busybox pods", lambda: running_images(lab), SLOW)
        assert images == {"busybox"}

        kubectl("set", "image", "deployment/roll", "busybox=nginx", env=lab)
        rollout_status("deployment/roll", lab)
        images, (hash2,) = wait_for("2 ready nginx pods", lambda: (r := running_images(lab)) and
                                    r[0] == {"nginx"} and r, SLOW)
        assert hash2 != hash1
        assert template_hashes(lab) == {hash2: "nginx"}          # the old ReplicaSet is scaled to 0
        assert history_revisions(lab) == [1, 2]
        detail = kubectl("rollout", "history", "deployment/roll", "--revision=1", env=lab).stdout
        assert "busybox" in detail and "nginx" not in detail

        kubectl("rollout", "undo", "deployment/roll", env=lab)
        rollout_status("deployment/roll", lab)
        images, hashes = wait_for("the busybox template back", lambda: (r := running_images(lab)) and
                                  r[0] == {"busybox"} and r, SLOW)
        assert hashes == {hash1}                                 # the first ReplicaSet, reused
        assert history_revisions(lab) == [2, 3]                  # revision 1 became revision 3
        assert revision_of(lab) == "3"

        kubectl("rollout", "undo", "deployment/roll", "--to-revision=2", env=lab)
        rollout_status("deployment/roll", lab)
        _, hashes = wait_for("the nginx template back", lambda: (r := running_images(lab)) and
                             r[0] == {"nginx"} and r, SLOW)
        assert hashes == {hash2}
        assert history_revisions(lab) == [3, 4]

        kubectl("rollout", "pause", "deployment/roll", env=lab)
        kubectl("set", "image", "deployment/roll", "busybox=busybox:latest", env=lab)
        dep = wait_for("the paused deployment to see its new generation",
                       lambda: (d := get_json("deployment", "roll", env=lab))["status"].get("observedGeneration")
                       == d["metadata"]["generation"] and d, SLOW)
        assert dep["spec"]["paused"] is True
        assert condition(dep, "Progressing")["reason"] == "DeploymentPaused"
        assert template_hashes(lab) == {hash2: "nginx"}          # no new ReplicaSet while paused
        assert running_images(lab)[0] == {"nginx"}

        kubectl("rollout", "resume", "deployment/roll", env=lab)
        rollout_status("deployment/roll", lab)
        _, (hash3,) = wait_for("busybox:latest pods", lambda: (r := running_images(lab)) and
                               r[0] == {"busybox:latest"} and r, SLOW)
        assert hash3 not in (hash1, hash2)
        assert history_revisions(lab) == [3, 4, 5]
    finally:
        delete("deployment", "roll", env=lab)
    wait_for("roll's ReplicaSets and pods collected",
             lambda: not get_json("rs", "-l", "app=roll", env=lab)["items"] and not pods("app=roll", lab), SLOW)


# ---- DaemonSet --------------------------------------------------------------------------------

DAEMONSET = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec:
      %s
"""
MASTER_TOLERATION = ("tolerations: [{key: node-role.kubernetes.io/control-plane, operator: Exists, "
                     "effect: NoSchedule}]\n      ")



def test_the_documentations_deployment_walkthrough_works_offline(lab):
    """kubernetes.io's Deployment page step by step with its own image tags (the lab registry has
    them): nginx:1.14.2 rolled out, updated to nginx:1.16.1, a rollout stuck on the mistyped
    nginx:1.161 (its new pod cannot pull; maxUnavailable 25 % of 3 keeps all three old pods
    serving), and `kubectl rollout undo` back to nginx:1.16.1."""
    apply(NGINX_DEPLOYMENT, env=lab)
    try:
        rollout_status("deployment/nginx-deployment", lab)
        assert nginx_pods(lab) == {"nginx:1.14.2": (3, 0)}
        kubectl("set", "image", "deployment/nginx-deployment", "nginx=nginx:1.16.1", env=lab)
        rollout_status("deployment/nginx-deployment", lab)
        wait_for("three ready nginx:1.16.1 pods and no others",
                 lambda: nginx_pods(lab) == {"nginx:1.16.1": (3, 0)}, SLOW)

        kubectl("set", "image", "deployment/nginx-deployment", "nginx=nginx:1.161", env=lab)
        stuck = wait_for("a nginx:1.161 pod that cannot pull its image",
                         lambda: (n := nginx_pods(lab)).get("nginx:1.161", (0, 0))[1] >= 1 and n, SLOW)
        assert stuck["nginx:1.16.1"] == (3, 0) and stuck["nginx:1.161"][0] == 0, stuck
        out = kubectl("rollout", "status", "deployment/nginx-deployment", "--timeout=2s", env=lab, check=False)
        assert out.returncode != 0 and "1 out of 3 new replicas have been updated" in out.stdout, out.stdout

        kubectl("rollout", "undo", "deployment/nginx-deployment", env=lab)
        rollout_status("deployment/nginx-deployment", lab)
        wait_for("the nginx:1.16.1 pods alone again",
                 lambda: nginx_pods(lab) == {"nginx:1.16.1": (3, 0)}, SLOW)
    finally:
        delete("deployment", "nginx-deployment", env=lab)


def test_the_documentations_liveness_exec_pod_restarts_offline(lab):
    """The probes page's liveness-exec pod as written: its image, registry.k8s.io/busybox, comes from
    the lab registry; /tmp/healthy is gone after 30 s, the probe fails and the kubelet restarts it."""
    apply(LIVENESS_EXEC, env=lab)
    try:
        pod = wait_for("liveness-exec restarted by its failing probe",
                       lambda: (p := get_json("pod", "liveness-exec", env=lab))["status"].get("containerStatuses")
                       and p["status"]["containerStatuses"][0]["restartCount"] >= 1 and p, SLOW)
        assert pod["status"]["containerStatuses"][0]["image"].endswith("registry.k8s.io/busybox:latest")
        assert any("Liveness probe failed" in m for m in events_for("liveness-exec", "Unhealthy", lab))
    finally:
        delete("pod", "liveness-exec", env=lab)


BOOTCAMP = "deployment/kubernetes-bootcamp"


def bootcamp_answers(url, count=12):
    """What `count` GETs of the tutorial's app answer ({answer line}), None among them when one failed."""
    return {(a or "").strip() or None for a in (http_get(url) for _ in range(count))}


def test_the_learn_kubernetes_basics_tutorial_works_offline(lab):
    """kubernetes.io's "Learn Kubernetes Basics" modules with their own commands and images (from
    the lab registry): the v1 app deployed, reached with curl from inside its pod (bash and curl are
    there, the command starts in the app's directory) and through a NodePort from the host; scaled
    to four replicas that all answer; updated to jocatalin/kubernetes-bootcamp:v2; the update to the
    missing v10 stuck on its pull; `kubectl rollout undo` back to v2."""
    kubectl("create", "deployment", "kubernetes-bootcamp", "--image=gcr.io/google-samples/kubernetes-bootcamp:v1", env=lab)
    try:
        rollout_status(BOOTCAMP, lab)
        pod = live(pods("app=kubernetes-bootcamp", lab))[0]["metadata"]["name"]
        hello = f"Hello Kubernetes bootcamp! | Running on: {pod} | v=1"
        assert kubectl("exec", pod, "--", "curl", "-s", "http://localhost:8080", env=lab).stdout.strip() == hello
        assert kubectl("exec", pod, "--", "bash", "-c", "pwd; ls", env=lab).stdout.split() == ["/app", "server.php",
                                                                                            "start.sh"]
        assert "Kubernetes Bootcamp App Started At:" in kubectl("logs", pod, env=lab).stdout

        kubectl("expose", BOOTCAMP, "--type=NodePort", "--port", "8080", env=lab)
        port = get_json("services/kubernetes-bootcamp", env=lab)["spec"]["ports"][0]["nodePort"]
        url = f"http://10.200.0.11:{port}/"
        wait_for("the app through its NodePort", lambda: bootcamp_answers(url, 1) == {hello}, SLOW)

        kubectl("scale", "deployments/kubernetes-bootcamp", "--replicas=4", env=lab)
        rollout_status(BOOTCAMP, lab)
        names = sorted(ready_on("app=kubernetes-bootcamp", lab))
        assert len(names) == 4
        wait_for("answers from all four pods", lambda: {a.split(" | ")[1] for a in bootcamp_answers(url, 24) if a}
                 == {f"Running on: {n}" for n in names}, SLOW)

        kubectl("set", "image", "deployments/kubernetes-bootcamp",
                "kubernetes-bootcamp=docker.io/jocatalin/kubernetes-bootcamp:v2", env=lab)
        rollout_status(BOOTCAMP, lab)
        wait_for("only v=2 answers", lambda: {a.rsplit("| ", 1)[-1] for a in bootcamp_answers(url) if a} == {"v=2"},
                 SLOW)

        kubectl("set", "image", "deployments/kubernetes-bootcamp",
                "kubernetes-bootcamp=gcr.io/google-samples/kubernetes-bootcamp:v10", env=lab)
        wait_for("a v10 pod that cannot pull its image",
                 lambda: any(cannot_pull(p) for p in live(pods("app=kubernetes-bootcamp", lab))), SLOW)
        kubectl("rollout", "undo", BOOTCAMP, env=lab)
        rollout_status(BOOTCAMP, lab)
        images = {p["spec"]["containers"][0]["image"] for p in live(pods("app=kubernetes-bootcamp", lab))}
        assert images == {"docker.io/jocatalin/kubernetes-bootcamp:v2"}
        assert {a.rsplit("| ", 1)[-1] for a in bootcamp_answers(url) if a} == {"v=2"}
    finally:
        kubectl("delete", BOOTCAMP, "service/kubernetes-bootcamp", "--ignore-not-found", env=lab)


def test_daemonset_runs_one_pod_per_schedulable_node(lab):
    apply(DAEMONSET % busybox_pod_spec(), lab)
    try:
        rollout_status("daemonset/agent", lab)
        on = wait_for("an agent on each worker", lambda: (r := ready_on("app=agent", lab)) and len(r) == 2 and r, SLOW)
        assert sorted(on.values()) == list(WORKERS)                       # the master is tainted
        ds = get_json("daemonset", "agent", env=lab)
        assert ds["status"]["desiredNumberScheduled"] == 2

        apply(DAEMONSET % (MASTER_TOLERATION + busybox_pod_spec()), lab)  # now it tolerates the master
        rollout_status("daemonset/agent", lab)
        on = wait_for("an agent on all three nodes",
                      lambda: (r := ready_on("app=agent", lab)) and sorted(r.values()) ==
                      ["m-k8s", *WORKERS] and r, SLOW)
        ds = get_json("daemonset", "agent", env=lab)
        assert ds["status"]["desiredNumberScheduled"] == 3
        assert ds["status"]["updatedNumberScheduled"] == 3
    finally:
        delete("daemonset", "agent", env=lab)
    wait_for("the agents gone", lambda: not pods("app=agent", lab), SLOW)


# ---- Job and CronJob --------------------------------------------------------------------------

JOB = """
apiVersion: batch/v1
kind: Job
metadata: {name: %(name)s}
spec:
  completions: %(completions)d
  parallelism: %(parallelism)d
  backoffLimit: %(backoff)d
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox
        command: [sh, -c, %(script)r]
"""


def finished_job(name, env):
    job = get_json("job", name, env=env)
    return job if condition(job, "Complete") or condition(job, "Failed") else None


def test_job_runs_to_completion_in_parallel(lab):
    apply(JOB % dict(name="count", completions=4, parallelism=2, backoff=6, script="echo done; sleep 2"), lab)
    try:
        job = wait_for("job count to finish", lambda: finished_job("count", lab), SLOW)
        assert condition(job, "Complete")["status"] == "True"
        assert job["status"]["succeeded"] == 4
        ps = pods("job-name=count", lab)
        assert len(ps) == 4 and all(p["status"]["phase"] == "Succeeded" for p in ps)
        assert kubectl("logs", ps[0]["metadata"]["name"], env=lab).stdout == "done\n"
    finally:
        delete("job", "count", env=lab)


def test_a_failing_job_stops_at_its_backoff_limit(lab):
    apply(JOB % dict(name="fail", completions=1, parallelism=1, backoff=1, script="exit 3"), lab)
    try:
        job = wait_for("job fail to finish", lambda: finished_job("fail", lab), SLOW)
        failed = condition(job, "Failed")
        assert failed["status"] == "True" and failed["reason"] == "BackoffLimitExceeded"
        assert condition(job, "Complete") is None
        assert job["status"]["failed"] == 2                       # the first try + backoffLimit retries
        ps = pods("job-name=fail", lab)
        assert len(ps) == 2 and all(p["status"]["phase"] == "Failed" for p in ps)
    finally:
        delete("job", "fail", env=lab)


def jobs_of(cronjob, env):
    return [j for j in get_json("jobs", env=env)["items"]
            if any(o.get("kind") == "CronJob" and o.get("name") == cronjob
                   for o in j["metadata"].get("ownerReferences") or [])]


def test_cronjob_by_hand_and_on_its_schedule(lab):
    kubectl("create", "cronjob", "tick", "--image=busybox", "--schedule=*/1 * * * *", "--", "echo", "tick", env=lab)
    try:
        kubectl("create", "job", "tick-by-hand", "--from=cronjob/tick", env=lab)
        job = wait_for("the job made by hand to finish", lambda: finished_job("tick-by-hand", lab), SLOW)
        assert condition(job, "Complete")
        assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
        assert [o["name"] for o in job["metadata"]["ownerReferences"]] == ["tick"]
        ps = pods("job-name=tick-by-hand", lab)
        assert kubectl("logs", ps[0]["metadata"]["name"], env=lab).stdout == "tick\n"

        # the schedule fires on the next minute boundary: at most about a minute away
        scheduled = wait_for("a job started by the schedule", lambda: [
            j for j in jobs_of("tick", lab) if j["metadata"]["name"] != "tick-by-hand"
            and condition(j, "Complete")], 200)
        name = scheduled[0]["metadata"]["name"]
        minutes = int(name.removeprefix("tick-"))                     # <cronjob>-<scheduled time in minutes>
        assert minutes * 60 <= time.time() < minutes * 60 + 300
        cj = wait_for("the cronjob's status to record the run",
                      lambda: (c := get_json("cronjob", "tick", env=lab))["status"].get("lastSuccessfulTime") and c,
                      SLOW)
        assert cj["status"]["lastScheduleTime"]
    finally:
        delete("cronjob", "tick", env=lab)
    wait_for("the cronjob's jobs collected with it", lambda: not jobs_of("tick", lab), SLOW)


# ---- StatefulSet ------------------------------------------------------------------------------

STATEFULSET = """
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  clusterIP: None
  selector: {app: web-sts}
  ports: [{name: http, port: 80}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: web
  replicas: 2
  selector: {matchLabels: {app: web-sts}}
  template:
    metadata: {labels: {app: web-sts}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox
        command: [sleep, '3600']
        readinessProbe:                   # ready only once the test says so
          exec: {command: [cat, /tmp/ready]}
          periodSeconds: 1
"""


def pod_or_none(name, env):
    proc = kubectl("get", "pod", name, "-o", "json", env=env, check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def test_statefulset_creates_pods_in_order_with_stable_names_and_dns(lab):
    apply(STATEFULSET, lab)
    try:
        web0 = wait_for("web-0 running (not ready)", lambda: (p := pod_or_none("web-0", lab)) and
                        p["status"].get("phase") == "Running" and p, SLOW)
        wait_for("a failed readiness probe on web-0", lambda: events_for("web-0", "Unhealthy", lab), SLOW)
        assert not is_ready(pod_or_none("web-0", lab))
        assert pod_or_none("web-1", lab) is None                  # OrderedReady: web-0 must be Ready first

        kubectl("exec", "web-0", "--", "touch", "/tmp/ready", env=lab)
        web1 = wait_for("web-1 created", lambda: pod_or_none("web-1", lab), SLOW)
        web0 = pod_or_none("web-0", lab)
        assert is_ready(web0)
        assert web1["metadata"]["creationTimestamp"] >= condition(web0, "Ready")["lastTransitionTime"]
        assert web1["spec"]["hostname"] == "web-1" and web1["spec"]["subdomain"] == "web"
        wait_for("web-1 running", lambda: pod_or_none("web-1", lab)["status"].get("phase") == "Running", SLOW)
        kubectl("exec", "web-1", "--", "touch", "/tmp/ready", env=lab)
        rollout_status("statefulset/web", lab)

        ip0 = pod_or_none("web-0", lab)["status"]["podIP"]
        ip1 = pod_or_none("web-1", lab)["status"]["podIP"]
        script = ("nslookup web-0.web.default.svc.cluster.local; echo '== service';"
                  "nslookup web.default.svc.cluster.local")
        kubectl("run", "sts-dns", "--image=busybox", "--restart=Never", "--", "sh", "-c", script, env=lab)
        wait_for("the DNS client to finish", lambda: pod_or_none("sts-dns", lab)["status"].get("phase")
                 in ("Succeeded", "Failed"), SLOW)
        log = kubectl("logs", "sts-dns", env=lab).stdout
        pod_answer, service_answer = log.split("== service")
        assert f"Address: {ip0}" in pod_answer and ip1 not in pod_answer, log    # web-0's own record
        assert ip0 in service_answer and ip1 in service_answer, log              # headless: both pods

        uid0 = web0["metadata"]["uid"]
        kubectl("delete", "pod", "web-0", "--wait=false", env=lab)
        again = wait_for("web-0 recreated under the same name", lambda: (p := pod_or_none("web-0", lab)) and
                         p["metadata"]["uid"] != uid0 and not p["metadata"].get("deletionTimestamp") and p, SLOW)
        assert again["spec"]["hostname"] == "web-0"
    finally:
        delete("pod", "sts-dns", env=lab)
        delete("statefulset", "web", env=lab)
        delete("service", "web", env=lab)
    wait_for("web's pods gone", lambda: not pods("app=web-sts", lab), SLOW)


# ---- placement: taints, node labels, anti-affinity, FailedScheduling ------------------------------

def deployment(name, replicas, pod_spec_extra=""):
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      {pod_spec_extra}terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox
        command: [sleep, '3600']
"""


def placed(name, count, env):
    """{pod: node} once `count` pods of deployment `name` are Ready."""
    return wait_for(f"{count} ready pods of {name}", lambda: (r := ready_on(f"app={name}", env)) and
                    len(r) == count and r, SLOW)


def test_a_noschedule_taint_keeps_new_pods_off_a_worker(lab):
    kubectl("taint", "node", "w1-k8s", "lab-test=taint:NoSchedule", env=lab)
    try:
        apply(deployment("tainted", 3), lab)
        assert set(placed("tainted", 3, lab).values()) == {"w2-k8s"}
        apply(deployment("tolerant", 4, "tolerations: [{key: lab-test, operator: Equal, value: taint, "
                                       "effect: NoSchedule}]\n      "), lab)
        assert set(placed("tolerant", 4, lab).values()) == set(WORKERS)    # spread, tolerating the taint
    finally:
        kubectl("taint", "node", "w1-k8s", "lab-test=taint:NoSchedule-", env=lab, check=False)
        delete("deployment", "tainted", "tolerant", env=lab)
    assert not get_json("node", "w1-k8s", env=lab)["spec"].get("taints")


def test_node_selector_and_required_node_affinity(lab):
    kubectl("label", "node", "w2-k8s", "lab-disk=ssd", env=lab)
    kubectl("label", "node", "w1-k8s", "lab-zone=a", env=lab)
    try:
        apply(deployment("on-ssd", 2, "nodeSelector: {lab-disk: ssd}\n      "), lab)
        apply(deployment("in-zone-a", 2, "affinity: {nodeAffinity: {requiredDuringSchedulingIgnoredDuringExecution: "
                                         "{nodeSelectorTerms: [{matchExpressions: [{key: lab-zone, operator: In, "
                                         "values: [a, b]}]}]}}}\n      "), lab)
        assert set(placed("on-ssd", 2, lab).values()) == {"w2-k8s"}
        assert set(placed("in-zone-a", 2, lab).values()) == {"w1-k8s"}
    finally:
        delete("deployment", "on-ssd", "in-zone-a", env=lab)
        kubectl("label", "node", "w2-k8s", "lab-disk-", env=lab, check=False)
        kubectl("label", "node", "w1-k8s", "lab-zone-", env=lab, check=False)
    labels = {n["metadata"]["name"]: n["metadata"]["labels"] for n in get_json("nodes", env=lab)["items"]}
    assert not any(k.startswith("lab-") for ls in labels.values() for k in ls)


ANTI_AFFINITY = ("affinity: {podAntiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: "
                 "[{labelSelector: {matchLabels: {app: apart}}, topologyKey: kubernetes.io/hostname}]}}\n      ")


def test_pod_anti_affinity_spreads_replicas_over_the_workers(lab):
    apply(deployment("apart", 2, ANTI_AFFINITY), lab)
    try:
        assert sorted(placed("apart", 2, lab).values()) == list(WORKERS)
        kubectl("scale", "deployment", "apart", "--replicas=3", env=lab)    # a third has nowhere to go
        pending = wait_for("a pending third replica", lambda: [p for p in pods("app=apart", lab)
                                                               if not p["spec"].get("nodeName")], SLOW)
        name = pending[0]["metadata"]["name"]
        msg = wait_for("its FailedScheduling event", lambda: events_for(name, "FailedScheduling", lab), SLOW)[-1]
        assert msg.startswith("0/3 nodes are available:"), msg
        assert "1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }" in msg, msg
        # the workers refuse it for the anti-affinity of the replicas already there (kube-scheduler
        # words this "didn't satisfy existing pods anti-affinity rules" or, when it checks the
        # incoming pod's own terms first, "didn't match pod anti-affinity rules")
        assert re.search(r"2 node\(s\) didn't (satisfy existing pods|match pod) anti-affinity rules", msg), msg
    finally:
        delete("deployment", "apart", env=lab)


def test_a_pod_that_fits_nowhere_stays_pending_with_the_reasons(lab):
    kubectl("run", "huge", "--image=busybox", "--restart=Never", "--overrides",
            json.dumps({"spec": {"containers": [{"name": "huge", "image": "busybox", "command": ["sleep", "3600"],
                                                 "resources": {"requests": {"cpu": "64"}}}]}}), env=lab)
    try:
        msg = wait_for("FailedScheduling for huge", lambda: events_for("huge", "FailedScheduling", lab), SLOW)[-1]
        assert msg.startswith("0/3 nodes are available: 1 node(s) had untolerated taint "
                              "{node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu."), msg
        pod = get_json("pod", "huge", env=lab)
        assert pod["status"]["phase"] == "Pending" and not pod["spec"].get("nodeName")
        scheduled = condition(pod, "PodScheduled")
        assert scheduled["status"] == "False" and scheduled["reason"] == "Unschedulable"
    finally:
        delete("pod", "huge", env=lab)


# ---- priority and preemption ------------------------------------------------------------------

PRIORITY_CLASSES = """
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: lab-low}
value: 100
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: lab-high}
value: 1000
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata: {name: lab-high-polite}
value: 1000
preemptionPolicy: Never
"""


def cpu_pod(name, klass, millicores):
    return json.dumps({"spec": {"priorityClassName": klass, "terminationGracePeriodSeconds": 1, "containers": [
        {"name": name, "image": "busybox", "command": ["sleep", "3600"],
         "resources": {"requests": {"cpu": f"{millicores}m"}}}]}})


def millicores(q):
    return int(q[:-1]) if q.endswith("m") else int(float(q) * 1000)


def test_a_high_priority_pod_preempts_and_a_polite_one_does_not(lab):
    alloc = min(millicores(get_json("node", n, env=lab)["status"]["allocatable"]["cpu"]) for n in WORKERS)
    share = alloc * 6 // 10                         # one such pod fits on a worker, two do not
    apply(PRIORITY_CLASSES, lab)
    try:
        for i in range(2):
            kubectl("run", f"low-{i}", "--image=busybox", "--restart=Never", "--labels=tier=low",
                    "--overrides", cpu_pod("low", "lab-low", share), env=lab)
        low = wait_for("a low-priority pod on each worker", lambda: (r := ready_on("tier=low", lab)) and
                       len(r) == 2 and r, SLOW)
        assert sorted(low.values()) == list(WORKERS)
        assert get_json("pod", "low-0", env=lab)["spec"]["priority"] == 100

        kubectl("run", "polite", "--image=busybox", "--restart=Never", "--overrides",
                cpu_pod("polite", "lab-high-polite", share), env=lab)
        wait_for("polite found unschedulable", lambda: events_for("polite", "FailedScheduling", lab), SLOW)
        polite = get_json("pod", "polite", env=lab)
        assert polite["spec"]["preemptionPolicy"] == "Never"
        assert not polite["status"].get("nominatedNodeName") and not polite["spec"].get("nodeName")
        delete("pod", "polite", env=lab)
        assert all(not p["metadata"].get("deletionTimestamp") for p in pods("tier=low", lab))  # no victim

        kubectl("run", "vip", "--image=busybox", "--restart=Never", "--overrides",
                cpu_pod("vip", "lab-high", share), env=lab)
        nominated = wait_for("vip nominated to a node",
                             lambda: get_json("pod", "vip", env=lab)["status"].get("nominatedNodeName"), SLOW)
        victims = [name for name, node in low.items() if node == nominated]
        assert len(victims) == 1
        wait_for("the victim's Preempted event", lambda: events_for(victims[0], "Preempted", lab), SLOW)  # Events are written in the background
        vip = wait_for("vip running", lambda: (p := get_json("pod", "vip", env=lab)) and is_ready(p) and p, SLOW)
        assert vip["spec"]["nodeName"] == nominated
        wait_for("the victim gone", lambda: pod_or_none(victims[0], lab) is None, SLOW)
        survivor = next(name for name in low if name not in victims)
        assert is_ready(get_json("pod", survivor, env=lab))                # only one victim was needed
    finally:
        delete("pod", "low-0", "low-1", "polite", "vip", env=lab)
        kubectl("delete", "-f", "-", "--ignore-not-found", input=PRIORITY_CLASSES, env=lab)


# ---- more Job semantics: indexed completion, TTL, active deadline ------------------------------

INDEXED = """
apiVersion: batch/v1
kind: Job
metadata: {name: indexed}
spec:
  completions: 3
  parallelism: 3
  completionMode: Indexed
  ttlSecondsAfterFinished: 30
  template:
    spec:
      restartPolicy: Never
      containers:
      - name: main
        image: busybox
        command: [sh, -c, 'echo index=$JOB_COMPLETION_INDEX host=$(hostname)']
"""
DEADLINE = """
apiVersion: batch/v1
kind: Job
metadata: {name: deadline}
spec:
  activeDeadlineSeconds: 5
  template:
    spec:
      restartPolicy: Never
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: busybox
        command: [sleep, '3600']
"""


def job_or_none(name, env):
    proc = kubectl("get", "job", name, "-o", "json", env=env, check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def test_indexed_job_then_its_ttl_and_a_job_past_its_deadline(lab):
    apply(INDEXED, lab)
    apply(DEADLINE, lab)
    try:
        job = wait_for("job indexed to complete", lambda: finished_job("indexed", lab), SLOW)
        assert condition(job, "Complete") and job["status"]["completedIndexes"] == "0-2"
        logs = {}
        for p in pods("job-name=indexed", lab):
            index = p["metadata"]["annotations"]["batch.kubernetes.io/job-completion-index"]
            logs[index] = kubectl("logs", p["metadata"]["name"], env=lab).stdout.strip()
        assert logs == {i: f"index={i} host=indexed-{i}" for i in ("0", "1", "2")}
        wait_for("job indexed removed by its TTL, with its pods", lambda: job_or_none("indexed", lab) is None
                 and not pods("job-name=indexed", lab), SLOW)

        job = wait_for("job deadline to fail", lambda: finished_job("deadline", lab), SLOW)
        failed = condition(job, "Failed")
        assert failed["status"] == "True" and failed["reason"] == "DeadlineExceeded"
        wait_for("the deadline job's running pod stopped", lambda: not live(pods("job-name=deadline", lab)), SLOW)
    finally:
        delete("job", "indexed", "deadline", env=lab)


# ---- garbage collection and namespace deletion --------------------------------------------------

def test_orphan_and_foreground_deletion_and_a_namespace_emptied_on_delete(lab):
    apply(deployment("keep", 2), lab)
    try:
        placed("keep", 2, lab)
        (rs,) = get_json("rs", "-l", "app=keep", env=lab)["items"]
        kubectl("delete", "deployment", "keep", "--cascade=orphan", env=lab)
        orphan = wait_for("the ReplicaSet released by its deleted Deployment",
                          lambda: (r := get_json("rs", rs["metadata"]["name"], env=lab)) and
                          not r["metadata"].get("ownerReferences") and r, SLOW)
        assert orphan["metadata"]["uid"] == rs["metadata"]["uid"]
        assert len(ready_on("app=keep", lab)) == 2                       # its pods keep running
        kubectl("delete", "rs", rs["metadata"]["name"], "--cascade=foreground", "--wait=true", "--timeout=300s",
                env=lab, timeout=330)
        assert not pods("app=keep", lab)      # foreground: the owner went only after its pods
    finally:
        delete("deployment", "keep", env=lab)
        kubectl("delete", "rs", "-l", "app=keep", "--ignore-not-found", env=lab)

    kubectl("create", "namespace", "lab-scratch", env=lab)
    kubectl("create", "deployment", "inside", "--image=busybox", "--replicas=2", "-n", "lab-scratch", "--",
            "sleep", "3600", env=lab)
    wait_for("2 ready pods in lab-scratch", lambda: len([
        p for p in live(get_json("pods", "-n", "lab-scratch", env=lab)["items"]) if is_ready(p)]) == 2, SLOW)
    assert get_json("serviceaccount", "default", "-n", "lab-scratch", env=lab)
    kubectl("delete", "namespace", "lab-scratch", "--wait=true", "--timeout=300s", env=lab, timeout=330)
    assert kubectl("get", "namespace", "lab-scratch", env=lab, check=False).returncode != 0
    assert not [p for p in get_json("pods", "-A", env=lab)["items"] if p["metadata"]["namespace"] == "lab-scratch"]


# ---- cordon and drain, respecting a PodDisruptionBudget -----------------------------------------

PDB = """
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: drainme}
spec:
  minAvailable: 3
  selector: {matchLabels: {app: drainme}}
"""


def test_drain_moves_pods_off_a_cordoned_worker_within_the_budget(lab):
    apply(deployment("drainme", 4, SPREAD.replace("heal", "drainme")), lab)
    apply(PDB, lab)
    try:
        before = placed("drainme", 4, lab)
        assert set(before.values()) == set(WORKERS)
        wait_for("the budget to allow one disruption",
                 lambda: get_json("pdb", "drainme", env=lab)["status"].get("disruptionsAllowed") == 1, SLOW)
        out = kubectl("drain", "w1-k8s", "--ignore-daemonsets", "--grace-period=1", "--timeout=300s", env=lab,
                      timeout=330)
        assert "drained" in out.stdout, out.stdout
        node = get_json("node", "w1-k8s", env=lab)
        assert node["spec"]["unschedulable"] is True
        assert {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"} in [
            {k: t[k] for k in ("key", "effect")} for t in node["spec"].get("taints") or []]
        after = placed("drainme", 4, lab)
        assert set(after.values()) == {"w2-k8s"}
        assert not {n for n, node in before.items() if node == "w1-k8s"} & set(after)
    finally:
        kubectl("uncordon", "w1-k8s", env=lab, check=False)
        delete("pdb", "drainme", env=lab)
        delete("deployment", "drainme", env=lab)
    wait_for("w1-k8s schedulable again, without the unschedulable taint", lambda: not (
        n := get_json("node", "w1-k8s", env=lab))["spec"].get("unschedulable") and not any(
        t["key"] == "node.kubernetes.io/unschedulable" for t in n["spec"].get("taints") or []), SLOW)


# ---- self-healing: a stopped worker (LAST: it disturbs the lab) ---------------------------------

SPREAD = ("topologySpreadConstraints: [{maxSkew: 1, topologyKey: kubernetes.io/hostname, "
          "whenUnsatisfiable: ScheduleAnyway, labelSelector: {matchLabels: {app: heal}}}]\n      ")


def node_ready(name, env):
    return condition(get_json("node", name, env=env), "Ready")["status"]


def test_pods_of_a_stopped_worker_come_back_on_the_other(lab):
    apply(deployment("heal", 4, SPREAD), lab)
    try:
        before = placed("heal", 4, lab)
        assert set(before.values()) == set(WORKERS)
        on_w1 = {name for name, node in before.items() if node == "w1-k8s"}

        stop = labctl("node", "stop", "w1-k8s", env=lab)
        assert stop.returncode == 0, stop.stderr
        node = wait_for("w1-k8s unreachable", lambda: (n := get_json("node", "w1-k8s", env=lab)) and
                        condition(n, "Ready")["status"] == "Unknown" and
                        any(t["key"] == "node.kubernetes.io/unreachable" and t["effect"] == "NoExecute"
                            for t in n["spec"].get("taints") or []) and n, SLOW)
        assert condition(node, "Ready")["reason"] == "NodeStatusUnknown"
        assert node_ready("w2-k8s", lab) == "True"

        after = wait_for("4 ready heal pods, all on w2-k8s", lambda: (r := ready_on("app=heal", lab)) and
                         len(r) == 4 and set(r.values()) == {"w2-k8s"} and r, SLOW)
        assert not on_w1 & set(after)                    # the pods of w1 were replaced, not moved
        left = {p["metadata"]["name"]: p for p in pods("app=heal", lab)}
        assert all(left[name]["metadata"].get("deletionTimestamp") for name in on_w1 & set(left))  # evicted
    finally:
        start = labctl("node", "start", "w1-k8s", env=lab)
    assert start.returncode == 0, start.stderr
    try:
        wait_for("w1-k8s Ready again", lambda: node_ready("w1-k8s", lab) == "True", SLOW)
        wait_for("the unreachable taint removed", lambda: not any(
            t["key"].startswith("node.kubernetes.io/") for t in get_json("node", "w1-k8s", env=lab)["spec"].get("taints")
            or []), SLOW)
        wait_for("w1's evicted pods cleaned up by its kubelet", lambda: not on_w1 & {
            p["metadata"]["name"] for p in pods("app=heal", lab)}, SLOW)
        apply(deployment("after-heal", 4, SPREAD.replace("heal", "after-heal")), lab)
        assert "w1-k8s" in placed("after-heal", 4, lab).values()           # w1 takes pods again
    finally:
        delete("deployment", "heal", "after-heal", env=lab)
