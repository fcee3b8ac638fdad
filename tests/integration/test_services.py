"""Services end to end on a real netns lab: an httpd Deployment behind a ClusterIP and a
NodePort Service, reached from another pod by ClusterIP, by DNS name and short name, and
from the host by NodePort; DNS records (SRV, NXDOMAIN, nothing forwarded); kubernetes.io's DNS
debugging pod (BIND's nslookup and dig); endpoints and
rules following a deleted pod; session affinity; the resync repairing hand-made damage.
Pods run wget themselves and the tests read their logs. Traffic stays on lab addresses."""
import re

import pytest

from labtools import get_json, http_get, kubectl, labctl, wait_for

WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: httpd
        image: busybox
        command: ["sh", "-c", "mkdir -p /www && echo hello from $(hostname) > /www/index.html && exec httpd -f -p 80 -h /www"]
        ports: [{name: http, containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web-np}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 80, nodePort: 30080}]
"""


def node_nat_rules(node, env):
    return labctl("ssh", node, "--", "iptables-save -t nat", env=env, timeout=60).stdout


def run_client(name, script, env):
    """A pod that runs `script` once; returns its log when it has finished."""
    kubectl("run", name, "--image=busybox", "--restart=Never", "--", "sh", "-c", script, env=env)
    wait_for(f"pod {name} to finish", lambda: get_json("pod", name, env=env)["status"].get("phase")
             in ("Succeeded", "Failed"))
    return kubectl("logs", name, env=env).stdout


def ready_ips(lab, name="web"):
    ep = get_json("endpoints", name, env=lab)
    return sorted(a["ip"] for s in ep.get("subsets") or [] for a in s.get("addresses") or [])


@pytest.fixture(scope="module")
def web(lab):
    kubectl("apply", "-f", "-", input=WEB, env=lab)
    wait_for("2 ready endpoints of web", lambda: len(ready_ips(lab)) == 2)
    wait_for("2 ready endpoints of web-np", lambda: len(ready_ips(lab, "web-np")) == 2)
    return get_json("service", "web", env=lab)["spec"]["clusterIP"]


def test_kube_dns_service_points_at_the_master(lab):
    svc = get_json("service", "kube-dns", "-n", "kube-system", env=lab)
    assert svc["spec"]["clusterIP"] == "10.96.0.10"
    ep = get_json("endpoints", "kube-dns", "-n", "kube-system", env=lab)
    assert [a["ip"] for a in ep["subsets"][0]["addresses"]] == ["10.200.0.10"]
    assert sorted((p["protocol"], p["port"]) for p in ep["subsets"][0]["ports"]) == [("TCP", 53), ("UDP", 53)]


def test_endpoints_list_the_ready_pods(lab, web):
    pods = get_json("pods", "-l", "app=web", env=lab)["items"]
    assert ready_ips(lab) == sorted(p["status"]["podIP"] for p in pods)
    ep = get_json("endpoints", "web", env=lab)
    assert ep["subsets"][0]["ports"] == [{"name": "http", "port": 80, "protocol": "TCP"}]
    assert {a["targetRef"]["name"] for a in ep["subsets"][0]["addresses"]} == {p["metadata"]["name"] for p in pods}


def test_clusterip_and_dns_names_from_a_pod(lab, web):
    urls = [f"http://{web}/", "http://web.default.svc.cluster.local/", "http://web/", "http://web.default/"]
    script = "cat /etc/resolv.conf; " + "; ".join(f"echo '== {u}'; wget -qO- {u} || echo 'FAIL {u}'" for u in urls)
    log = run_client("client-web", script, lab)
    assert "nameserver 10.96.0.10" in log
    assert "search default.svc.cluster.local svc.cluster.local cluster.local" in log
    assert "options ndots:5" in log
    assert "FAIL" not in log, log
    assert log.count("hello from web-") == len(urls), log


def test_dns_records_from_a_pod(lab, web):
    log = run_client("client-dns", "nslookup -type=SRV _http._tcp.web.default.svc.cluster.local; "
                                   "nslookup kubernetes.default.svc.cluster.local; "
                                   "nslookup no-such-service.default.svc.cluster.local; "
                                   "nslookup example.com; echo done", lab)
    assert "0 100 80 web.default.svc.cluster.local" in log, log
    assert "10.96.0.1" in log
    assert "can't find no-such-service.default.svc.cluster.local: NXDOMAIN" in log, log
    assert "can't find example.com: REFUSED" in log, log       # nothing is forwarded outside the lab


# kubernetes.io's "Debugging DNS Resolution" page: its dnsutils pod as written
DNSUTILS = """
apiVersion: v1
kind: Pod
metadata:
  name: dnsutils
  namespace: default
spec:
  containers:
  - name: dnsutils
    image: registry.k8s.io/e2e-test-images/jessie-dnsutils:1.3
    command:
      - sleep
      - "infinity"
    imagePullPolicy: IfNotPresent
  restartPolicy: Always
"""


def test_the_documentations_dns_debugging_pod_works_offline(lab, web):
    """The page's steps: the dnsutils pod (its image from the lab registry) runs, BIND's nslookup
    finds kubernetes.default through the pod's search path, dig answers for a Service, and the
    pod's resolv.conf names the cluster DNS and the search domains."""
    kubectl("apply", "-f", "-", input=DNSUTILS, env=lab)
    try:
        kubectl("wait", "--for=condition=Ready", "pod/dnsutils", "--timeout=300s", env=lab, timeout=330)
        out = kubectl("exec", "-i", "dnsutils", "--", "nslookup", "kubernetes.default", env=lab).stdout
        assert re.search(r"Name:\s+kubernetes\.default\.svc\.cluster\.local\nAddress: 10\.96\.0\.1\b", out), out
        assert "Server:\t\t10.96.0.10" in out, out
        dig = kubectl("exec", "dnsutils", "--", "dig", "+short", "web.default.svc.cluster.local", env=lab).stdout
        assert dig.strip() == get_json("service", "web", env=lab)["spec"]["clusterIP"], dig
        conf = kubectl("exec", "-i", "dnsutils", "--", "cat", "/etc/resolv.conf", env=lab).stdout
        assert "nameserver 10.96.0.10" in conf and "search default.svc.cluster.local svc.cluster.local cluster.local" in conf
    finally:
        kubectl("delete", "pod", "dnsutils", "--ignore-not-found", "--grace-period=1", env=lab)


def test_nodeport_from_the_host(lab, web):
    for node in ("10.200.0.10", "10.200.0.11", "10.200.0.12"):
        body = wait_for(f"NodePort 30080 on {node}", lambda: http_get(f"http://{node}:30080/"))
        assert body.startswith("hello from web-")


def test_session_affinity_sticks_to_one_pod(lab, web):
    kubectl("patch", "service", "web-np", "-p", '{"spec": {"sessionAffinity": "ClientIP"}}', env=lab)
    wait_for("affinity rules on w1", lambda: "--rcheck" in node_nat_rules("w1-k8s", lab))
    answers = {http_get("http://10.200.0.11:30080/") for _ in range(8)}
    assert len(answers) == 1 and None not in answers, answers
    kubectl("patch", "service", "web-np", "-p", '{"spec": {"sessionAffinity": "None"}}', env=lab)


def test_external_traffic_policy_local_answers_only_where_a_pod_runs(lab, web):
    kubectl("patch", "service", "web-np", "-p", '{"spec": {"externalTrafficPolicy": "Local"}}', env=lab)
    wait_for("local-only rules on w1", lambda: "KUBE-SVL-" in node_nat_rules("w1-k8s", lab))
    ep = get_json("endpoints", "web-np", env=lab)
    by_node = {}
    for a in ep["subsets"][0]["addresses"]:
        by_node.setdefault(a["nodeName"], set()).add(a["targetRef"]["name"])
    wait_for("the master (no web pod) to refuse", lambda: http_get("http://10.200.0.10:30080/") is None)
    for node, pods in by_node.items():
        ip = {"w1-k8s": "10.200.0.11", "w2-k8s": "10.200.0.12"}[node]
        for _ in range(4):
            body = wait_for(f"NodePort on {node}", lambda: http_get(f"http://{ip}:30080/"))
            assert body.strip().removeprefix("hello from ") in pods, (node, body, pods)
    kubectl("patch", "service", "web-np", "-p", '{"spec": {"externalTrafficPolicy": "Cluster"}}', env=lab)
    wait_for("the master to answer again", lambda: http_get("http://10.200.0.10:30080/"))


def test_endpointslices_list_the_pods(lab, web):
    slices = get_json("endpointslices", "-l", "kubernetes.io/service-name=web", env=lab)["items"]
    assert len(slices) == 1 and slices[0]["addressType"] == "IPv4"
    assert sorted(e["addresses"][0] for e in slices[0]["endpoints"] if e["conditions"]["ready"]) == ready_ips(lab)


def test_a_pod_reaches_itself_through_its_service(lab):
    kubectl("run", "hair", "--image=busybox", "--labels=app=hair", "--port=80", "--expose", "--", "sh", "-c",
            "mkdir -p /www && echo hairpin-ok > /www/index.html && httpd -p 80 -h /www && "
            "until wget -qO- http://hair/; do sleep 1; done; exec sleep 3600", env=lab)
    wait_for("the pod to reach itself through service hair",
             lambda: "hairpin-ok" in kubectl("logs", "hair", env=lab, check=False).stdout)


def test_endpoints_and_rules_follow_a_deleted_pod(lab, web):
    before = ready_ips(lab)
    victim = next(p for p in get_json("pods", "-l", "app=web", env=lab)["items"] if p["status"]["podIP"] == before[0])
    kubectl("delete", "pod", victim["metadata"]["name"], "--grace-period=1", "--wait=false", env=lab)
    after = wait_for("endpoints without the deleted pod, then a replacement",
                     lambda: (ips := ready_ips(lab)) and before[0] not in ips and len(ips) == 2 and ips)
    new_ip = (set(after) - set(before)).pop()
    for node in ("w1-k8s", "w2-k8s"):
        wait_for(f"rules for {new_ip} on {node}", lambda: (r := node_nat_rules(node, lab)) and
                 f"--to-destination {new_ip}:80" in r and f"--to-destination {before[0]}:80" not in r)
    log = run_client("client-after", f"wget -qO- http://{web}/ || echo FAIL", lab)
    assert log.startswith("hello from web-"), log


def test_resync_repairs_a_flushed_service_chain(lab, web):
    rules = node_nat_rules("w1-k8s", lab)
    line = next(x for x in rules.splitlines() if "default/web:http cluster IP" in x and x.startswith("-A KUBE-SERVICES"))
    chain = line.split("-j ")[-1].strip()
    damage = labctl("ssh", "w1-k8s", "--", f"iptables -t nat -F {chain}", env=lab)
    assert damage.returncode == 0, damage.stderr
    assert f"-A {chain} " not in node_nat_rules("w1-k8s", lab)
    wait_for(f"{chain} rebuilt by the periodic resync", lambda: f"-A {chain} " in node_nat_rules("w1-k8s", lab))


LB = """
apiVersion: v1
kind: Service
metadata: {name: NAME}
spec:
  type: LoadBalancer
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: 80}]
"""
LB_POOL = [f"10.200.0.{i}" for i in range(200, 221)]       # inventories/local: loadbalancer_pool


def ingress_ips(lab, name):
    lb = (get_json("service", name, env=lab).get("status") or {}).get("loadBalancer") or {}
    return [i["ip"] for i in lb.get("ingress") or []]


def lb_holders(lab, ip):
    """The nodes that answer for ``ip`` on the lab network (hold it on their lab interface)."""
    return [n for n in ("m-k8s", "w1-k8s", "w2-k8s")
            if f" {ip}/32 " in labctl("ssh", n, "--", "ip -o -4 addr show label eth0:lb", env=lab).stdout]


def test_load_balancer_address_from_the_lab_pool_reaches_the_pods(lab, web):
    kubectl("apply", "-f", "-", input=LB.replace("NAME", "web-lb"), env=lab)
    (ip,) = wait_for("an address from the pool", lambda: ingress_ips(lab, "web-lb"))
    assert ip in LB_POOL
    assert ip in kubectl("get", "service", "web-lb", env=lab).stdout          # EXTERNAL-IP column
    body = wait_for(f"http://{ip}/ from the host", lambda: http_get(f"http://{ip}/"))
    assert body.startswith("hello from web-")
    assert len(lb_holders(lab, ip)) == 1

    # no longer a LoadBalancer: the address is given back and nobody answers for it
    kubectl("patch", "service", "web-lb", "--type=merge", "-p",     # merge: the ports lose their nodePort
            '{"spec": {"type": "ClusterIP", "ports": [{"name": "http", "port": 80, "targetPort": 80}]}}', env=lab)
    wait_for("the address released", lambda: ingress_ips(lab, "web-lb") == [])
    wait_for("no node answering for it", lambda: lb_holders(lab, ip) == [])
    assert http_get(f"http://{ip}/") is None

    # the released address is the lowest free one again: the next Service gets it
    kubectl("apply", "-f", "-", input=LB.replace("NAME", "web-lb2"), env=lab)
    assert wait_for("an address for web-lb2", lambda: ingress_ips(lab, "web-lb2")) == [ip]
    assert wait_for(f"http://{ip}/ again", lambda: http_get(f"http://{ip}/")).startswith("hello from web-")
    kubectl("delete", "service", "web-lb2", env=lab)
    wait_for("no node answering after the delete", lambda: lb_holders(lab, ip) == [])
