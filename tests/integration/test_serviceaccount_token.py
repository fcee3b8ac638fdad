"""A pod's mounted ServiceAccount credentials on a real netns lab, as Kubernetes gives them:
ServiceAccount admission adds the kube-api-access volume, the root CA publisher fills
kube-root-ca.crt, the kubelet writes a bound token from a TokenRequest and sets
KUBERNETES_SERVICE_HOST/PORT (the apiserver is reachable there from the pod). From the host,
kubectl with the pod's token and its ca.crt (verifying the name kubernetes.default.svc) is that
ServiceAccount and RBAC applies to it. A pod that opts out gets nothing mounted."""
import base64
import json

import yaml
from labtools import kubectl, wait_for

NS = "sa-token"
SA = "reader"
SA_USER = f"system:serviceaccount:{NS}:{SA}"
DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


def pod(name, **spec):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": NS},
            "spec": {"restartPolicy": "Never", **spec,
                     "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"]}]}}


def in_pod(name, script, env, check=True):
    return kubectl("-n", NS, "exec", name, "--", "sh", "-c", script, env=env, check=check)


def test_pod_uses_its_mounted_token(lab, tmp_path):
    kubectl("create", "namespace", NS, env=lab)
    kubectl("-n", NS, "create", "serviceaccount", SA, env=lab)
    kubectl("-n", NS, "create", "role", "pod-reader", "--verb=get,list", "--resource=pods", env=lab)
    kubectl("-n", NS, "create", "rolebinding", "read-pods", "--role=pod-reader", f"--serviceaccount={NS}:{SA}",
            env=lab)
    kubectl("apply", "-f", "-", env=lab, input=json.dumps({"apiVersion": "v1", "kind": "List", "items": [
        pod("web", serviceAccountName=SA), pod("opted-out", automountServiceAccountToken=False)]}))
    for name in ("web", "opted-out"):
        wait_for(f"pod {name} Running", lambda: kubectl("-n", NS, "get", "pod", name, "-o",
                                                        "jsonpath={.status.phase}", env=lab).stdout == "Running",
                 timeout=300)

    spec = json.loads(kubectl("-n", NS, "get", "pod", "web", "-o", "json", env=lab).stdout)["spec"]
    [vol] = [v for v in spec["volumes"] if v["name"].startswith("kube-api-access-")]
    assert spec["containers"][0]["volumeMounts"] == [{"name": vol["name"], "mountPath": DIR, "readOnly": True}]
    assert in_pod("web", f"ls {DIR}", lab).stdout.split() == ["ca.crt", "namespace", "token"]
    assert in_pod("web", f"cat {DIR}/namespace", lab).stdout == NS
    admin_cfg = yaml.safe_load(open(lab["KUBECONFIG"]))
    cluster = admin_cfg["clusters"][0]
    ca = in_pod("web", f"cat {DIR}/ca.crt", lab).stdout
    assert ca.encode() == base64.b64decode(cluster["cluster"]["certificate-authority-data"])
    assert in_pod("web", f"touch {DIR}/x", lab, check=False).returncode != 0        # mounted read-only
    assert in_pod("opted-out", f"ls {DIR}", lab, check=False).returncode != 0

    svc_ip = kubectl("-n", "default", "get", "service", "kubernetes", "-o", "jsonpath={.spec.clusterIP}",
                     env=lab).stdout
    assert in_pod("web", "echo $KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT", lab).stdout.strip() == \
        f"{svc_ip}:443"

    # the variables, the token and busybox's own TLS lead to the apiserver, as a course's
    # "call the API from a pod" exercise does it
    me = in_pod("web", f'wget -q --no-check-certificate --header "Authorization: Bearer $(cat {DIR}/token)" '
                       f'-O- https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT/api/v1/namespaces/{NS}/pods/web',
                lab).stdout
    assert json.loads(me)["metadata"]["name"] == "web"

    # from the host: the pod's token and CA, the server verified as kubernetes.default.svc
    token = in_pod("web", f"cat {DIR}/token", lab).stdout
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["sub"] == SA_USER and claims["kubernetes.io"]["pod"]["name"] == "web"
    assert claims["exp"] - claims["iat"] == 3607
    (tmp_path / "ca.crt").write_text(ca)
    sa_cfg = tmp_path / "pod.kubeconfig"
    sa_cfg.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "pod",
        "clusters": [{"name": "lab", "cluster": {"server": cluster["cluster"]["server"],
                                                 "certificate-authority": str(tmp_path / "ca.crt"),
                                                 "tls-server-name": "kubernetes.default.svc"}}],
        "users": [{"name": "pod", "user": {"token": token}}],
        "contexts": [{"name": "pod", "context": {"cluster": "lab", "user": "pod", "namespace": NS}}]}))
    sa_env = dict(lab, KUBECONFIG=str(sa_cfg))
    assert kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}", env=sa_env).stdout == SA_USER
    assert "web" in kubectl("get", "pods", env=sa_env).stdout
    refused = kubectl("delete", "pod", "web", env=sa_env, check=False)
    assert f'pods "web" is forbidden: User "{SA_USER}" cannot delete resource "pods"' in refused.stderr
    kubectl("delete", "namespace", NS, "--wait=false", env=lab)
