"""The course's resource-metrics exercises on a real netns lab with the real kubectl: `kubectl
top nodes` and `kubectl top pods` show figures from the metrics-server (kubelet cgroups ->
/metrics/resource -> metrics-server -> the apiserver's aggregation layer); a busy-loop pod uses
hundreds of millicores; `kubectl autoscale` (autoscaling/v1) on a Deployment under load scales it
up with `kubectl get hpa` showing the CPU utilization; an autoscaling/v2 manifest with cpu and
memory metrics and `behavior`, applied with kubectl, scales a loaded Deployment as its scale-up
policy allows, `kubectl explain hpa.spec.behavior` describes it and `kubectl get apiservice` shows
the aggregated API's columns; kubernetes.io's HPA walkthrough runs as written (its php-apache image
from the lab registry, its busybox load generator); with the metrics-server stopped the API
answers 503. The lab scrapes
every 5 s (inventories/local metrics_resolution). Every test removes what it made."""
import re

from labtools import apply, get_json, kubectl, labctl, wait_for

SLOW = 300      # the machine is shared and loaded: wait generously, assert on what happens
BUSY = "while :; do :; done"


def show(*args, env):
    """Print what a course attendee would see (pytest -s shows it; the report quotes it)."""
    proc = kubectl(*args, env=env, check=False)
    print(f"$ kubectl {' '.join(args)}\n{proc.stdout}{proc.stderr}")


def top(*args, env):
    """The rows of `kubectl top ...` as lists of columns ([] while the API has no figures yet)."""
    proc = kubectl("top", *args, "--no-headers", env=env, check=False)
    return [line.split() for line in proc.stdout.splitlines() if line.strip()] if proc.returncode == 0 else []


def millicores(text):
    m = re.fullmatch(r"(\d+)m", text)
    return int(m.group(1)) if m else int(text) * 1000


def test_discovery_lists_the_metrics_api(lab):
    wait_for("kubectl api-resources to list the metrics API", lambda: sorted(kubectl(
        "api-resources", "--api-group=metrics.k8s.io", "-o", "name", env=lab).stdout.split()) == [
        "nodes.metrics.k8s.io", "pods.metrics.k8s.io"], SLOW)      # the aggregator asks the backend every 10 s
    svc = get_json("apiservice", "v1beta1.metrics.k8s.io", env=lab)
    wait_for("the APIService to be Available", lambda: any(
        c["type"] == "Available" and c["status"] == "True"
        for c in (get_json("apiservice", "v1beta1.metrics.k8s.io", env=lab).get("status") or {}).get("conditions", [])),
        SLOW)
    assert svc["spec"]["service"] == {"namespace": "kube-system", "name": "metrics-server", "port": 443}
    rows = kubectl("get", "apiservice", "v1beta1.metrics.k8s.io", env=lab).stdout.splitlines()
    assert rows[0].split() == ["NAME", "SERVICE", "AVAILABLE", "AGE"], rows
    assert rows[1].split()[:3] == ["v1beta1.metrics.k8s.io", "kube-system/metrics-server", "True"], rows
    show("get", "apiservice", env=lab)


def test_top_nodes_and_a_busy_pod(lab):
    rows = wait_for("kubectl top nodes with figures for every node", lambda: (r := top("nodes", env=lab)) and len(r) == 3
                    and all(re.fullmatch(r"\d+m", row[1]) for row in r) and r, SLOW)
    assert sorted(r[0] for r in rows) == ["m-k8s", "w1-k8s", "w2-k8s"]
    for name, cpu, cpu_pct, mem, mem_pct in rows:
        assert re.fullmatch(r"\d+m", cpu) and cpu_pct.endswith("%") and re.fullmatch(r"\d+Mi", mem)
    kubectl("run", "busy", "--image=busybox", "--restart=Never", "--", "sh", "-c", BUSY, env=lab)
    try:
        kubectl("wait", "--for=condition=Ready", "pod/busy", "--timeout=240s", env=lab, timeout=260)
        row = wait_for("kubectl top pod busy in the hundreds of millicores",
                       lambda: [r for r in top("pod", "busy", env=lab) if millicores(r[1]) >= 200], SLOW)
        name, cpu, mem = row[0]
        assert name == "busy" and re.fullmatch(r"\d+Mi", mem)
        containers = top("pod", "busy", "--containers", env=lab)
        assert [c[:2] for c in containers] == [["busy", "busy"]]
        everywhere = top("pods", "-A", env=lab)
        assert ["default", "busy"] in [r[:2] for r in everywhere]
        missing = kubectl("top", "pod", "nosuch", env=lab, check=False)
        assert missing.returncode != 0 and 'podmetrics.metrics.k8s.io "default/nosuch" not found' in missing.stderr
        show("top", "nodes", env=lab)
        show("top", "pods", env=lab)
    finally:
        kubectl("delete", "pod", "busy", "--grace-period=0", "--ignore-not-found", env=lab)


DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: burn}
spec:
  replicas: 1
  selector: {matchLabels: {app: burn}}
  template:
    metadata: {labels: {app: burn}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: burn
        image: busybox
        command: [sh, -c, "while :; do :; done"]
        resources:
          requests: {cpu: 100m}
          limits: {cpu: 200m}
"""


def test_hpa_scales_a_deployment_up_under_load(lab):
    apply(DEPLOYMENT, lab)
    try:
        kubectl("autoscale", "deployment", "burn", "--cpu-percent=50", "--min=1", "--max=3", env=lab)
        # each pod burns its 200m limit: ~200 % of its 100m request, four times the target
        wait_for("the HPA to scale burn to 3", lambda: get_json("deploy/burn", env=lab)["spec"]["replicas"] == 3, SLOW)
        hpa = get_json("horizontalpodautoscalers.v1.autoscaling/burn", env=lab)          # what kubectl autoscale made, as v1
        assert hpa["spec"]["targetCPUUtilizationPercentage"] == 50
        assert hpa["status"]["currentCPUUtilizationPercentage"] > 50
        hpa = get_json("hpa/burn", env=lab)                          # the same object, read as v2 (preferred)
        assert hpa["apiVersion"] == "autoscaling/v2"
        assert hpa["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"] > 50
        assert {c["type"]: c["status"] for c in hpa["status"]["conditions"]}["ScalingActive"] == "True"
        line = kubectl("get", "hpa", "burn", "--no-headers", env=lab).stdout
        assert re.search(r"cpu: \d+%/50%", line), line
        show("get", "hpa", env=lab)
        show("top", "pods", "-l", "app=burn", env=lab)
        show("get", "deploy", "burn", env=lab)
        events = kubectl("get", "events", "--field-selector", "involvedObject.name=burn,reason=SuccessfulRescale",
                         "-o", "jsonpath={.items[*].message}", env=lab).stdout
        assert "cpu resource utilization (percentage of request) above target" in events
    finally:
        kubectl("delete", "hpa/burn", "deploy/burn", "--ignore-not-found", env=lab)


# kubernetes.io's HorizontalPodAutoscaler walkthrough, its php-apache manifest as written
PHP_APACHE = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: php-apache
spec:
  selector:
    matchLabels:
      run: php-apache
  template:
    metadata:
      labels:
        run: php-apache
    spec:
      containers:
      - name: php-apache
        image: registry.k8s.io/hpa-example
        ports:
        - containerPort: 80
        resources:
          limits:
            cpu: 500m
          requests:
            cpu: 200m
---
apiVersion: v1
kind: Service
metadata:
  name: php-apache
  labels:
    run: php-apache
spec:
  ports:
  - port: 80
  selector:
    run: php-apache
"""
LOAD = "while sleep 0.01; do wget -q -O- http://php-apache; done"


def test_the_documentations_hpa_walkthrough_works_offline(lab):
    """The walkthrough step by step: php-apache (registry.k8s.io/hpa-example, from the lab
    registry) behind its Service, `kubectl autoscale ... --cpu-percent=50 --min=1 --max=10`, and
    the busybox:1.28 load generator's wget loop through the Service name, which prints the
    servers' "OK!"s while the HPA scales php-apache up."""
    apply(PHP_APACHE, lab)
    try:
        kubectl("rollout", "status", "deployment/php-apache", "--timeout=300s", env=lab, timeout=330)
        kubectl("autoscale", "deployment", "php-apache", "--cpu-percent=50", "--min=1", "--max=10", env=lab)
        kubectl("run", "load-generator", "--image=busybox:1.28", "--restart=Never", "--", "/bin/sh", "-c", LOAD, env=lab)
        wait_for("the HPA to scale php-apache up",
                 lambda: get_json("deploy/php-apache", env=lab)["spec"]["replicas"] > 1, SLOW)
        line = kubectl("get", "hpa", "php-apache", "--no-headers", env=lab).stdout
        assert re.search(r"cpu: \d+%/50%", line), line
        assert "OK!OK!" in kubectl("logs", "load-generator", env=lab).stdout
        show("get", "hpa", "php-apache", env=lab)
        show("top", "pods", "-l", "run=php-apache", env=lab)
    finally:
        kubectl("delete", "pod/load-generator", "hpa/php-apache", "deploy/php-apache", "svc/php-apache",
                "--ignore-not-found", "--grace-period=1", env=lab)


def test_stopped_metrics_server_gives_503(lab):
    svc = ["ssh", "m-k8s", "--", "/run/labnode/bin/labnode-svc"]
    assert labctl(*svc, "stop", "labkube-metrics-server", env=lab).returncode == 0
    try:
        raw = kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes", env=lab, check=False)
        assert raw.returncode != 0 and "ServiceUnavailable" in raw.stderr, raw.stderr
        # kubectl top reads discovery first: the proxy's 503 until the aggregator's next check (every
        # 10 s) marks the group's discovery Stale, after which kubectl drops it, as against Kubernetes
        proc = kubectl("top", "nodes", env=lab, check=False)
        assert proc.returncode != 0 and ("ServiceUnavailable" in proc.stderr
                                         or "Metrics API not available" in proc.stderr), proc.stderr
        show("top", "nodes", env=lab)
    finally:
        assert labctl(*svc, "start", "labkube-metrics-server", env=lab).returncode == 0
    wait_for("kubectl top nodes again", lambda: top("nodes", env=lab), SLOW)


BEHAVIOR_HPA = """
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: burn}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: burn}
  minReplicas: 1
  maxReplicas: 4
  metrics:
  - type: Resource
    resource:
      name: cpu
      target: {type: Utilization, averageUtilization: 50}
  - type: Resource
    resource:
      name: memory
      target: {type: AverageValue, averageValue: 500Mi}
  behavior:
    scaleUp:
      stabilizationWindowSeconds: 0
      policies:
      - {type: Pods, value: 1, periodSeconds: 30}
    scaleDown:
      stabilizationWindowSeconds: 60
"""


def test_v2_hpa_with_behavior_applied_with_kubectl(lab):
    explained = kubectl("explain", "hpa.spec.behavior", env=lab).stdout
    assert "scaleUp" in explained and "scaleDown" in explained, explained
    bad = kubectl("apply", "-f", "-", input=BEHAVIOR_HPA.replace("periodSeconds: 30", "periodSeconds: 0"), env=lab,
                  check=False)
    assert bad.returncode != 0 and "spec.behavior.scaleUp.policies[0].periodSeconds" in bad.stderr, bad.stderr
    apply(DEPLOYMENT, lab)
    try:
        apply(BEHAVIOR_HPA, lab)
        hpa = get_json("hpa/burn", env=lab)
        assert hpa["spec"]["behavior"]["scaleUp"]["selectPolicy"] == "Max"            # defaulted
        assert hpa["spec"]["behavior"]["scaleDown"]["policies"] == [{"type": "Percent", "value": 100,
                                                                     "periodSeconds": 15}]
        # ~200 % of the request against 50 %: the policy lets one pod in per 30 s, so 2 comes before 3
        wait_for("the HPA to scale burn to 2", lambda: get_json("deploy/burn", env=lab)["spec"]["replicas"] >= 2, SLOW)
        assert get_json("deploy/burn", env=lab)["spec"]["replicas"] == 2
        line = wait_for("kubectl get hpa to show both targets", lambda: re.search(
            r"cpu: \d+%/50%, memory: \d+\w*/500Mi", (out := kubectl("get", "hpa", "burn", "--no-headers",
                                                                       env=lab).stdout)) and out, SLOW)
        assert line.split()[:2] == ["burn", "Deployment/burn"], line
        conds = {c["type"]: c["reason"] for c in get_json("hpa/burn", env=lab)["status"]["conditions"]}
        assert conds["ScalingActive"] == "ValidMetricFound"
        wait_for("the HPA to scale burn to 3", lambda: get_json("deploy/burn", env=lab)["spec"]["replicas"] >= 3, SLOW)
        show("get", "hpa", env=lab)
        show("describe", "hpa", "burn", env=lab)
    finally:
        kubectl("delete", "hpa/burn", "deploy/burn", "--ignore-not-found", env=lab)
