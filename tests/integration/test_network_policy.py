"""NetworkPolicy enforcement as a course's exercises use it, with the real kubectl on a netns
lab (labkube/netpol inside every node's kube-proxy): a default deny stops a wget between pods,
a label-based allow lets the labelled client through and no one else, a namespaceSelector
admits a namespace, an egress policy that allows only DNS still resolves names but stops the
wget, and deleting the policies restores traffic. Clients are long-running pods that wget on
`kubectl exec`; the server is busybox httpd. Traffic stays on the lab's pod addresses."""
import pytest

from labtools import apply, get_json, kubectl, labctl, wait_for

SLOW = 240

PODS = """
apiVersion: v1
kind: Namespace
metadata: {name: np-shop}
---
apiVersion: v1
kind: Namespace
metadata: {name: np-friends, labels: {team: friends}}
---
apiVersion: v1
kind: Namespace
metadata: {name: np-strangers}
---
apiVersion: v1
kind: Pod
metadata: {name: web, namespace: np-shop, labels: {app: web}}
spec:
  containers:
  - name: httpd
    image: busybox
    command: ["sh", "-c", "mkdir -p /www && echo hello from web > /www/index.html && exec httpd -f -p 80 -h /www"]
    ports: [{name: http, containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: np-shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: http}]
""" + "".join(f"""---
apiVersion: v1
kind: Pod
metadata: {{name: {name}, namespace: {ns}, labels: {{role: {role}}}}}
spec:
  terminationGracePeriodSeconds: 0
  containers: [{{name: c, image: busybox, command: ["sleep", "3600"]}}]
""" for name, ns, role in (("client", "np-shop", "client"), ("stranger", "np-shop", "stranger"),
                           ("friend", "np-friends", "client"), ("outsider", "np-strangers", "client")))

DENY_INGRESS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny-ingress, namespace: np-shop}
spec:
  podSelector: {}
  policyTypes: [Ingress]
"""

ALLOW_CLIENTS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-clients, namespace: np-shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{podSelector: {matchLabels: {role: client}}}]
    ports: [{port: http}]
"""

ALLOW_FRIENDS = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: web-from-friends, namespace: np-shop}
spec:
  podSelector: {matchLabels: {app: web}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: friends}}}]
    ports: [{protocol: TCP, port: 80}]
"""

EGRESS_DNS_ONLY = """
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: dns-only, namespace: np-friends}
spec:
  podSelector: {}
  policyTypes: [Egress]
  egress:
  - ports: [{protocol: UDP, port: 53}, {protocol: TCP, port: 53}]
"""

WEB_URL = "http://web.np-shop.svc.cluster.local/"


def fetch(pod, ns, env, url=WEB_URL):
    """What `wget` in the pod gets from url ("" when it cannot connect within 3 s)."""
    r = kubectl("exec", "-n", ns, pod, "--", "wget", "-q", "-T", "3", "-O", "-", url, env=env, check=False, timeout=60)
    return r.stdout


def reaches(pod, ns, env, url=WEB_URL):
    return fetch(pod, ns, env, url) == "hello from web\n"


def until(what, probe):
    wait_for(what, probe, SLOW)


@pytest.fixture(scope="module")
def shop(lab):
    apply(PODS, lab)
    for ns, pod in (("np-shop", "web"), ("np-shop", "client"), ("np-shop", "stranger"),
                    ("np-friends", "friend"), ("np-strangers", "outsider")):
        kubectl("wait", "-n", ns, "--for=condition=Ready", f"pod/{pod}", "--timeout=240s", env=lab, timeout=SLOW + 10)
    web_ip = get_json("pod/web", "-n", "np-shop", env=lab)["status"]["podIP"]
    yield lab, f"http://{web_ip}/"
    kubectl("delete", "namespace", "np-shop", "np-friends", "np-strangers", "--wait=false", env=lab, check=False)


def test_policies_allow_only_what_they_say_and_their_removal_restores_traffic(shop):
    lab, pod_url = shop
    everyone = (("client", "np-shop"), ("stranger", "np-shop"), ("friend", "np-friends"), ("outsider", "np-strangers"))
    for pod, ns in everyone:
        assert reaches(pod, ns, lab), f"{ns}/{pod} before any policy"

    apply(DENY_INGRESS, lab)
    until("the default deny to stop the client", lambda: not reaches("client", "np-shop", lab, pod_url))
    for pod, ns in everyone:
        assert not reaches(pod, ns, lab), f"{ns}/{pod} through a default deny"

    apply(ALLOW_CLIENTS, lab)
    until("the label-based allow to let the client in", lambda: reaches("client", "np-shop", lab))
    assert reaches("client", "np-shop", lab, pod_url)                   # by pod IP as by Service name
    assert not reaches("stranger", "np-shop", lab)                      # another label
    assert not reaches("friend", "np-friends", lab)                     # the label, another namespace

    apply(ALLOW_FRIENDS, lab)
    until("the namespaceSelector to let the friend in", lambda: reaches("friend", "np-friends", lab))
    assert not reaches("outsider", "np-strangers", lab)

    apply(EGRESS_DNS_ONLY, lab)
    until("the egress policy to stop the friend", lambda: not reaches("friend", "np-friends", lab, pod_url))
    looked_up = kubectl("exec", "-n", "np-friends", "friend", "--", "nslookup", "web.np-shop.svc.cluster.local",
                        env=lab, check=False).stdout
    assert "Address: " + get_json("service/web", "-n", "np-shop", env=lab)["spec"]["clusterIP"] in looked_up
    assert not reaches("friend", "np-friends", lab)                     # DNS answers, the wget does not
    assert reaches("client", "np-shop", lab)                            # egress of another namespace untouched

    kubectl("delete", "networkpolicy", "--all", "-n", "np-shop", env=lab)
    kubectl("delete", "networkpolicy", "dns-only", "-n", "np-friends", env=lab)
    until("traffic restored", lambda: reaches("outsider", "np-strangers", lab) and reaches("friend", "np-friends", lab))
    for pod, ns in everyone:
        assert reaches(pod, ns, lab), f"{ns}/{pod} after the policies are gone"


def test_the_rules_are_on_the_nodes_as_kubectl_describes_them(shop):
    """`kubectl describe netpol` reads the policy back; the node running the selected pod has
    its chains (iptables-save), the others have none for it."""
    lab, _ = shop
    apply(DENY_INGRESS, lab)
    try:
        described = kubectl("describe", "networkpolicy", "default-deny-ingress", "-n", "np-shop", env=lab).stdout
        assert "Policy Types: Ingress" in described
        node = get_json("pod/web", "-n", "np-shop", env=lab)["spec"]["nodeName"]
        until("web's chain on its node", lambda: "np-shop/web ingress" in labctl(
            "ssh", node, "--", "iptables-save -t filter", env=lab, timeout=60).stdout)
    finally:
        kubectl("delete", "networkpolicy", "default-deny-ingress", "-n", "np-shop", env=lab, check=False)
