"""RBAC on a real netns lab, the way a Kubernetes course (CKA-style) exercises it with the real
kubectl: a ServiceAccount, a Role and a RoleBinding; `kubectl auth can-i` with --as and
--as-group, and --list; a token from `kubectl create token` in a kubeconfig of its own, allowed
what the Role grants and refused the rest with Kubernetes' 403 message; the built-in view and
edit ClusterRoles; and the lab's own components (controller-manager, scheduler, kubelets,
kube-proxy, DNS) still doing their work under RBAC, none of them refused."""
import json

import yaml
from labtools import kubectl, labctl, wait_for

NS = "rbac-course"
SA = "reader"
SA_USER = f"system:serviceaccount:{NS}:{SA}"


def can_i(*args, env) -> str:
    p = kubectl("auth", "can-i", *args, env=env, check=False)
    return p.stdout.strip()


def test_course_rbac_exercise(lab, tmp_path):
    kubectl("create", "namespace", NS, env=lab)
    kubectl("-n", NS, "create", "serviceaccount", SA, env=lab)
    kubectl("-n", NS, "create", "role", "pod-reader", "--verb=get,list,watch", "--resource=pods,pods/log", env=lab)
    kubectl("-n", NS, "create", "rolebinding", "read-pods", "--role=pod-reader", f"--serviceaccount={NS}:{SA}",
            env=lab)
    kubectl("-n", NS, "run", "web", "--image=busybox", "--restart=Never", "--", "sh", "-c",
            "echo hello from web; sleep 3600", env=lab)

    # auth can-i, as the admin asking for the ServiceAccount
    for verb, resource, ns, want in [("list", "pods", NS, "yes"), ("get", "pods/log", NS, "yes"),
                                     ("create", "pods", NS, "no"), ("delete", "pods", NS, "no"),
                                     ("list", "pods", "default", "no"), ("list", "secrets", NS, "no")]:
        assert can_i(verb, resource, "-n", ns, f"--as={SA_USER}", env=lab) == want, (verb, resource, ns)
    assert can_i("create", "deployments", "-n", NS, env=lab) == "yes"            # the admin: system:masters
    listing = kubectl("auth", "can-i", "--list", "-n", NS, f"--as={SA_USER}", env=lab).stdout
    assert any(line.split()[0] == "pods" and "[get list watch]" in line for line in listing.splitlines())

    # the ServiceAccount's own token in a kubeconfig of its own
    token = kubectl("-n", NS, "create", "token", SA, env=lab).stdout.strip()
    admin_cfg = yaml.safe_load(open(lab["KUBECONFIG"]))
    cluster = admin_cfg["clusters"][0]
    sa_cfg = tmp_path / "reader.kubeconfig"
    sa_cfg.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "reader", "clusters": [cluster],
        "users": [{"name": "reader", "user": {"token": token}}],
        "contexts": [{"name": "reader", "context": {"cluster": cluster["name"], "user": "reader", "namespace": NS}}]}))
    sa_env = dict(lab, KUBECONFIG=str(sa_cfg))
    assert kubectl("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}", env=sa_env).stdout == SA_USER
    wait_for("pod web Running", lambda: kubectl("get", "pod", "web", "-o", "jsonpath={.status.phase}",
                                                env=sa_env).stdout == "Running", timeout=300)
    assert "web" in kubectl("get", "pods", env=sa_env).stdout
    wait_for("web's log", lambda: "hello from web" in kubectl("logs", "web", env=sa_env, check=False).stdout)
    denied = kubectl("run", "other", "--image=busybox", env=sa_env, check=False)
    assert denied.returncode != 0
    assert denied.stderr.strip() == (f'Error from server (Forbidden): pods is forbidden: User "{SA_USER}" cannot '
                                     f'create resource "pods" in API group "" in the namespace "{NS}"')
    denied = kubectl("delete", "pod", "web", env=sa_env, check=False)
    assert f'pods "web" is forbidden: User "{SA_USER}" cannot delete resource "pods"' in denied.stderr
    denied = kubectl("get", "secrets", "-n", "kube-system", env=sa_env, check=False)
    assert f'cannot list resource "secrets" in API group "" in the namespace "kube-system"' in denied.stderr
    denied = kubectl("get", "pods", "--as=someone-else", env=sa_env, check=False)   # may not impersonate
    assert f'users "someone-else" is forbidden: User "{SA_USER}" cannot impersonate' in denied.stderr

    # the built-in user-facing ClusterRoles, bound to a group cluster-wide and to a user in one namespace
    kubectl("create", "clusterrolebinding", "course-auditors", "--clusterrole=view", "--group=auditors", env=lab)
    kubectl("-n", NS, "create", "rolebinding", "jane-edit", "--clusterrole=edit", "--user=jane", env=lab)
    assert can_i("list", "deployments.apps", "-A", "--as=amy", "--as-group=auditors", env=lab) == "yes"
    assert can_i("get", "secrets", "-n", NS, "--as=amy", "--as-group=auditors", env=lab) == "no"
    assert can_i("create", "deployments.apps", "-n", NS, "--as=jane", env=lab) == "yes"
    assert can_i("create", "deployments.apps", "-n", "default", "--as=jane", env=lab) == "no"
    assert can_i("create", "rolebindings", "-n", NS, "--as=jane", env=lab) == "no"          # edit is not admin
    out = kubectl("get", "pods", "-n", NS, "--as=amy", "--as-group=auditors", env=lab).stdout
    assert "web" in out
    kubectl("delete", "clusterrolebinding", "course-auditors", env=lab)
    kubectl("delete", "namespace", NS, "--wait=false", env=lab)


def test_lab_components_work_under_rbac(lab):
    """A Deployment behind a Service reached by name: controller-manager, scheduler, kubelets,
    kube-proxy and DNS all at work - and the apiserver refused none of them anything."""
    kubectl("create", "deployment", "rbac-web", "--image=busybox", "--replicas=2", "--", "sh", "-c",
            "mkdir -p /www && echo hi > /www/index.html && exec httpd -f -p 8080 -h /www", env=lab)
    kubectl("expose", "deployment", "rbac-web", "--port=80", "--target-port=8080", env=lab)

    def ready():
        d = json.loads(kubectl("get", "deployment", "rbac-web", "-o", "json", env=lab).stdout)
        return (d.get("status") or {}).get("readyReplicas") == 2
    wait_for("2 ready replicas", ready, timeout=300)
    def endpoints():
        ep = json.loads(kubectl("get", "endpoints", "rbac-web", "-o", "json", env=lab).stdout)
        return sum(len(s.get("addresses") or []) for s in ep.get("subsets") or []) == 2
    wait_for("2 endpoints", endpoints, timeout=120)
    ip = kubectl("get", "service", "rbac-web", "-o", "jsonpath={.spec.clusterIP}", env=lab).stdout
    # DNS answers the Service's name with its ClusterIP; kube-proxy forwards the ClusterIP to a pod
    # (nc, not wget: the lab image's busybox wget segfaults in its resolver, even for an IP)
    kubectl("run", "rbac-client", "--image=busybox", "--restart=Never", "--", "sh", "-c",
            "for i in $(seq 30); do nslookup rbac-web.default.svc.cluster.local | grep -q 'Address: *" + ip + "$' "
            "&& printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 " + ip + " 80 | grep -x hi && exit 0; sleep 1; done; "
            "exit 1", env=lab)
    wait_for("client done", lambda: kubectl("get", "pod", "rbac-client", "-o", "jsonpath={.status.phase}",
                                            env=lab).stdout in ("Succeeded", "Failed"), timeout=300)
    phase = kubectl("get", "pod", "rbac-client", "-o", "jsonpath={.status.phase}", env=lab).stdout
    out = kubectl("logs", "rbac-client", env=lab, check=False).stdout
    # the apiserver logs every request it refuses a lab component (access.py) as a warning
    log = "/var/log/labkube/*apiserver*.log"
    assert labctl("ssh", "m-k8s", "--", f"ls {log}", env=lab).returncode == 0
    refused = labctl("ssh", "m-k8s", "--", f"grep -hE 'forbidden: .* for system:(kube-|node:)' {log} || true",
                     env=lab).stdout
    kubectl("delete", "deployment,service", "rbac-web", env=lab)
    kubectl("delete", "pod", "rbac-client", "--wait=false", env=lab)
    assert refused.strip() == "", f"the apiserver refused lab components:\n{refused[-3000:]}"
    assert phase == "Succeeded" and "hi" in out, out
