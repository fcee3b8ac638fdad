"""What a Kubernetes course student meets about identities and Services inside pods, with the
real kubectl on a real netns lab: a pod naming a ServiceAccount that does not exist is refused
with Kubernetes' 403 (and a Deployment's pods wait, with FailedCreate events, until it exists),
while `kubectl create ns x; kubectl run -n x ...` right after does not race the ServiceAccount
controller; containers get the Service variables of their namespace (FOO_SERVICE_HOST, the
Docker-link FOO_PORT_...) unless enableServiceLinks is false, and KUBERNETES_SERVICE_HOST
always; and RBAC prevents privilege escalation: a Role or RoleBinding grants only what its
writer holds; and a TokenReview of a ServiceAccount token. Traffic goes only to the lab."""
import json

from labtools import get_json, kubectl, wait_for

NS = "access"
SLOW = 300      # a shared, loaded machine: wait generously, assert on what happens


def env_of(pod, env):
    out = kubectl("-n", NS, "exec", pod, "--", "env", env=env).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def running(pod, env):
    wait_for(f"pod {pod} Running", lambda: kubectl("-n", NS, "get", "pod", pod, "-o", "jsonpath={.status.phase}",
                                                   env=env).stdout == "Running", SLOW)


def test_run_right_after_create_namespace_and_a_missing_service_account(lab):
    kubectl("create", "namespace", NS, env=lab)
    kubectl("-n", NS, "run", "first", "--image=busybox", "--", "sleep", "3600", env=lab)   # no race with `default`
    assert get_json("-n", NS, "pod/first", env=lab)["spec"]["serviceAccountName"] == "default"

    p = kubectl("-n", NS, "run", "bad", "--image=busybox", "--overrides",
                json.dumps({"spec": {"serviceAccountName": "foo"}}), "--", "sleep", "3600", env=lab, check=False)
    assert p.returncode == 1
    assert p.stderr.strip() == (f'Error from server (Forbidden): pods "bad" is forbidden: error looking up service '
                                f'account {NS}/foo: serviceaccount "foo" not found')

    # a Deployment's pods: refused (FailedCreate on the ReplicaSet) until the ServiceAccount exists
    kubectl("-n", NS, "create", "deployment", "robot", "--image=busybox", "--", "sleep", "3600", env=lab)
    kubectl("-n", NS, "patch", "deployment", "robot", "-p",
            json.dumps({"spec": {"template": {"spec": {"serviceAccountName": "robot"}}}}), env=lab)

    def refused():
        events = get_json("-n", NS, "events", "--field-selector", "reason=FailedCreate", env=lab)["items"]
        return [e["message"] for e in events if "robot" in e["involvedObject"]["name"]]
    messages = wait_for("FailedCreate for the robot ReplicaSet", refused, SLOW)
    assert any(m.startswith("Error creating: pods \"robot-") and m.endswith(
        f'is forbidden: error looking up service account {NS}/robot: serviceaccount "robot" not found')
        for m in messages), messages
    kubectl("-n", NS, "create", "serviceaccount", "robot", env=lab)
    kubectl("-n", NS, "rollout", "status", "deployment/robot", f"--timeout={SLOW}s", env=lab, timeout=SLOW + 30)
    new = [p for p in get_json("-n", NS, "pods", "-l", "app=robot", env=lab)["items"]
           if not p["metadata"].get("deletionTimestamp")]      # the old ReplicaSet's pod may still be going
    assert new and {p["spec"]["serviceAccountName"] for p in new} == {"robot"}


def test_service_variables_in_containers(lab):
    kubectl("-n", NS, "create", "service", "clusterip", "my-db", "--tcp=5432:5432", env=lab)
    svc = get_json("-n", NS, "service/my-db", env=lab)
    ip = svc["spec"]["clusterIP"]
    master = get_json("-n", "default", "service/kubernetes", env=lab)["spec"]["clusterIP"]
    kubectl("-n", NS, "run", "linked", "--image=busybox", "--", "sleep", "3600", env=lab)
    kubectl("-n", NS, "run", "unlinked", "--image=busybox", "--overrides",
            json.dumps({"spec": {"enableServiceLinks": False}}), "--", "sleep", "3600", env=lab)
    for pod in ("linked", "unlinked"):
        running(pod, lab)
    linked, unlinked = env_of("linked", lab), env_of("unlinked", lab)
    assert {k: v for k, v in linked.items() if k.startswith("MY_DB_")} == {
        "MY_DB_SERVICE_HOST": ip, "MY_DB_SERVICE_PORT": "5432", "MY_DB_SERVICE_PORT_5432_5432": "5432",
        "MY_DB_PORT": f"tcp://{ip}:5432", "MY_DB_PORT_5432_TCP": f"tcp://{ip}:5432",
        "MY_DB_PORT_5432_TCP_PROTO": "tcp", "MY_DB_PORT_5432_TCP_PORT": "5432", "MY_DB_PORT_5432_TCP_ADDR": ip}
    for env in (linked, unlinked):
        assert env["KUBERNETES_SERVICE_HOST"] == master and env["KUBERNETES_SERVICE_PORT"] == "443"
    assert not any(k.startswith("MY_DB_") for k in unlinked)


def test_rbac_grants_only_what_the_writer_holds(lab):
    steward = f"system:serviceaccount:{NS}:steward"
    kubectl("-n", NS, "create", "serviceaccount", "steward", env=lab)
    kubectl("-n", NS, "create", "role", "steward", "--verb=create,get,list", "--resource=roles,rolebindings",
            env=lab)
    kubectl("-n", NS, "create", "role", "steward-pods", "--verb=get,list", "--resource=pods", env=lab)
    for role in ("steward", "steward-pods"):
        kubectl("-n", NS, "create", "rolebinding", role, f"--role={role}", f"--serviceaccount={NS}:steward", env=lab)

    def as_steward(*args):
        return kubectl("-n", NS, f"--as={steward}", *args, env=lab, check=False)
    wait_for("the steward's Role in effect", lambda: as_steward("get", "roles").returncode == 0, 60)
    assert as_steward("create", "role", "pod-getter", "--verb=get", "--resource=pods").returncode == 0
    p = as_steward("create", "role", "secret-reader", "--verb=get", "--resource=secrets")
    assert p.returncode == 1
    head = f'roles.rbac.authorization.k8s.io "secret-reader" is forbidden: user "{steward}" (groups=['
    assert head in p.stderr and "is attempting to grant RBAC permissions not currently held:" in p.stderr
    assert p.stderr.rstrip().endswith('{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}')
    assert as_steward("create", "rolebinding", "getters", "--role=pod-getter",
                      f"--serviceaccount={NS}:default").returncode == 0
    p = as_steward("create", "rolebinding", "editors", "--clusterrole=edit", f"--serviceaccount={NS}:default")
    assert p.returncode == 1 and 'rolebindings.rbac.authorization.k8s.io "editors" is forbidden' in p.stderr
    # the admin (system:masters) may do both
    kubectl("-n", NS, "create", "rolebinding", "editors", "--clusterrole=edit", f"--serviceaccount={NS}:default",
            env=lab)


def test_token_review_of_a_service_account_token(lab):
    kubectl("-n", NS, "create", "serviceaccount", "checker", env=lab)
    token = kubectl("-n", NS, "create", "token", "checker", env=lab).stdout.strip()
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}}
    status = json.loads(kubectl("create", "-o", "json", "-f", "-", input=json.dumps(review), env=lab).stdout)["status"]
    assert status["authenticated"] is True
    assert status["user"]["username"] == f"system:serviceaccount:{NS}:checker"
    assert status["user"]["uid"] == get_json("-n", NS, "serviceaccount/checker", env=lab)["metadata"]["uid"]
    review["spec"]["token"] = token[:-4] + "AAAA"
    status = json.loads(kubectl("create", "-o", "json", "-f", "-", input=json.dumps(review), env=lab).stdout)["status"]
    assert status.get("authenticated") is not True and status["error"] == "invalid bearer token"
