"""A real kopf operator (tests/integration/kopf_greeter.py, run with `python -m kopf run`) against
labkube's apiserver, unmodified: what an operator author relies on works.

The operator manages Greetings (a CustomResourceDefinition with a status subresource). Checked:
the create handler's child ConfigMap carries the Greeting's ownerReference (kopf.adopt) and the
handler's return value lands in the Greeting's status (merge patch of the status subresource);
kopf's finalizer is on the Greeting; a spec update runs the update handler; a delete runs the
delete handler behind the finalizer, then the Greeting goes away and the garbage collector
removes the child ConfigMap; kopf's Events are in the events list. A second operator lists
through watch streams (sendInitialEvents, ended by the initial-events-end bookmark).

Runs an apiserver and the controller-manager's garbage collector on loopback
(labkube.testing.LocalCluster): no netns nodes, no root.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

kubernetes = pytest.importorskip("kubernetes")
pytest.importorskip("kopf")

from kubernetes.client.rest import ApiException  # noqa: E402

from labkube.testing import LocalCluster  # noqa: E402

# runs its own control plane on loopback: no netns nodes, so no need to wait for the lab lock
USES_LAB = False

HERE = os.path.dirname(os.path.abspath(__file__))
NS = "greeters"
GROUP, VERSION, PLURAL = "lab.example", "v1", "greetings"
FINALIZER = "kopf.zalando.org/KopfFinalizerMarker"

CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": f"{PLURAL}.{GROUP}"},
    "spec": {"group": GROUP, "scope": "Namespaced",
             "names": {"plural": PLURAL, "singular": "greeting", "kind": "Greeting", "shortNames": ["gr"]},
             "versions": [{"name": VERSION, "served": True, "storage": True,
                           "subresources": {"status": {}},
                           "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                               "spec": {"type": "object", "properties": {
                                   "greeting": {"type": "string"}, "name": {"type": "string"},
                                   "failTimes": {"type": "integer"}}},
                               "status": {"type": "object",
                                          "x-kubernetes-preserve-unknown-fields": True}}}}}]},
}


class Cluster:
    def __init__(self, local: LocalCluster, operator_log: str, ns: str = NS):
        self.local, self.ns = local, ns
        self.operator_log = operator_log
        api = kubernetes.config.new_client_from_config(config_file=local.kubeconfig)
        self.core = kubernetes.client.CoreV1Api(api)
        self.custom = kubernetes.client.CustomObjectsApi(api)
        self.ext = kubernetes.client.ApiextensionsV1Api(api)

    def wait(self, what: str, fn, timeout: float = 90.0):
        """Poll fn() until it returns something truthy (bounded); fail with the operator's log."""
        deadline = time.monotonic() + timeout
        while True:
            got = fn()
            if got:
                return got
            if time.monotonic() > deadline:
                with open(self.operator_log) as f:
                    tail = f.read()[-4000:]
                raise AssertionError(f"gave up waiting for {what}; operator log:\n{tail}")
            time.sleep(0.2)

    def greeting(self, name: str) -> dict | None:
        try:
            return self.custom.get_namespaced_custom_object(GROUP, VERSION, self.ns, PLURAL, name)
        except ApiException as e:
            if e.status == 404:
                return None
            raise

    def configmap(self, name: str):
        try:
            return self.core.read_namespaced_config_map(name, self.ns)
        except ApiException as e:
            if e.status == 404:
                return None
            raise

    def create_greeting(self, name: str, greeting: str, who: str, **spec) -> dict:
        return self.custom.create_namespaced_custom_object(GROUP, VERSION, self.ns, PLURAL, {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "Greeting", "metadata": {"name": name},
            "spec": {"greeting": greeting, "name": who, **spec}})

    def handled(self, name: str, handler: str) -> dict | None:
        """The Greeting once `handler`'s return value is in its status."""
        g = self.greeting(name)
        return g if g and handler in (g.get("status") or {}) else None


def start_operator(local: LocalCluster, namespace: str, log_path: str, **env) -> subprocess.Popen:
    """`python -m kopf run kopf_greeter.py` for one namespace, logging to log_path."""
    with open(log_path, "w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "kopf", "run", os.path.join(HERE, "kopf_greeter.py"),
             "--standalone", "--namespace", namespace, "--verbose"],
            cwd=local.d, stdout=log, stderr=subprocess.STDOUT,
            env=dict(os.environ, KUBECONFIG=local.kubeconfig, **env))


def stop(operator: subprocess.Popen) -> None:
    operator.terminate()
    try:
        operator.wait(timeout=30)
    except subprocess.TimeoutExpired:
        operator.kill()
        operator.wait()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    d = tmp_path_factory.mktemp("kopf")
    local = LocalCluster(d, apiserver_cfg={"storage": {"fsync": False}}, scheduler=False,
                         controllers_cfg={"controllers": ["garbagecollector"]}).start()
    operator = None
    try:
        c = Cluster(local, str(d / "operator.log"))
        c.ext.create_custom_resource_definition(CRD)
        c.wait("the Greeting CRD to be established", lambda: any(
            cond.type == "Established" and cond.status == "True"
            for cond in (c.ext.read_custom_resource_definition(CRD["metadata"]["name"]).status.conditions or [])))
        c.core.create_namespace({"metadata": {"name": NS}})
        operator = start_operator(local, NS, c.operator_log)
        yield c
    finally:
        if operator is not None:
            stop(operator)
        local.stop()
    for name in ("apiserver", "controllers"):
        assert "Traceback" not in local.log(name), local.log(name)


def test_create_makes_an_adopted_child_and_sets_status(cluster):
    created = cluster.create_greeting("hello", "Hello", "lab")
    g = cluster.wait("create_fn's result in the status", lambda: cluster.handled("hello", "create_fn"))
    assert g["status"]["create_fn"] == {"configmap": "hello-greeting", "message": "Hello, lab!", "attempts": 1}
    assert FINALIZER in g["metadata"]["finalizers"]
    assert g["spec"] == {"greeting": "Hello", "name": "lab"}          # a status patch leaves spec alone

    cm = cluster.configmap("hello-greeting")
    assert cm.data == {"message": "Hello, lab!"}
    (owner,) = cm.metadata.owner_references
    assert (owner.api_version, owner.kind, owner.name, owner.uid, owner.controller) == \
        (f"{GROUP}/{VERSION}", "Greeting", "hello", created["metadata"]["uid"], True)


def test_a_failing_handler_is_retried_and_its_progress_cleared(cluster):
    cluster.create_greeting("flaky", "Hello", "retries", failTimes=2)
    g = cluster.wait("create_fn to succeed after two failures", lambda: cluster.handled("flaky", "create_fn"))
    assert g["status"]["create_fn"]["attempts"] == 3
    # kopf kept its progress in annotations between attempts and cleared it with a merge patch of nulls
    annotations = g["metadata"].get("annotations") or {}
    assert "kopf.zalando.org/create_fn" not in annotations and "kopf.zalando.org/touch-dummy" not in annotations
    assert "kopf.zalando.org/last-handled-configuration" in annotations
    assert cluster.configmap("flaky-greeting").data == {"message": "Hello, retries!"}


def test_kopf_posts_events_for_the_greeting(cluster):
    cluster.create_greeting("eventful", "Hi", "events")
    cluster.wait("create_fn's result in the status", lambda: cluster.handled("eventful", "create_fn"))

    def events():
        got = cluster.core.list_namespaced_event(cluster.ns, field_selector="involvedObject.name=eventful").items
        return {(e.reason, e.message) for e in got if e.involved_object.kind == "Greeting"}

    expected = {("Greeted", "made configmap eventful-greeting"),          # kopf.info() in the handler
                ("Logging", "Handler 'create_fn' succeeded."),              # kopf's own log lines
                ("Logging", "Creation is processed: 1 succeeded; 0 failed.")}
    cluster.wait(f"kopf's events {sorted(expected)}", lambda: expected <= events())


def test_spec_update_runs_the_update_handler(cluster):
    cluster.create_greeting("update-me", "Hello", "lab")
    cluster.wait("create_fn's result in the status", lambda: cluster.handled("update-me", "create_fn"))

    cluster.custom.patch_namespaced_custom_object(GROUP, VERSION, cluster.ns, PLURAL, "update-me",
                                                  {"spec": {"greeting": "Howdy"}})
    g = cluster.wait("update_fn's result in the status",
                     lambda: cluster.handled("update-me", "update_fn/spec"))
    assert g["status"]["update_fn/spec"] == {"message": "Howdy, lab!"}
    assert g["status"]["create_fn"]["message"] == "Hello, lab!"        # earlier status kept (merge)
    assert cluster.configmap("update-me-greeting").data == {"message": "Howdy, lab!"}


def test_delete_runs_the_delete_handler_then_the_child_is_collected(cluster):
    for name in ("bye", "keep"):
        cluster.create_greeting(name, "Hello", "lab")
        cluster.wait(f"create_fn's result in {name}'s status", lambda: cluster.handled(name, "create_fn"))
    assert cluster.configmap("bye-greeting") is not None

    cluster.custom.delete_namespaced_custom_object(GROUP, VERSION, cluster.ns, PLURAL, "bye")
    farewell = cluster.wait("the delete handler's ConfigMap", lambda: cluster.configmap("bye-farewell"))
    assert farewell.data == {"said": "goodbye"}
    cluster.wait("the Greeting to go once kopf drops its finalizer", lambda: cluster.greeting("bye") is None)
    cluster.wait("the child ConfigMap to be garbage-collected",
                 lambda: cluster.configmap("bye-greeting") is None)
    assert cluster.configmap("keep-greeting") is not None          # another Greeting's child stays
    assert cluster.configmap("bye-farewell") is not None           # owned by nobody: stays


def test_an_operator_listing_through_watch_streams_sees_old_and_new_greetings(cluster):
    """kopf with initial_streaming: its lists are watches with sendInitialEvents=true; handlers run
    only once every indexed resource (ConfigMaps here, none yet) has had its initial-events-end
    bookmark."""
    c = Cluster(cluster.local, os.path.join(cluster.local.d, "operator-streaming.log"), ns="greeters-streaming")
    c.core.create_namespace({"metadata": {"name": c.ns}})
    c.create_greeting("early", "Hello", "stream")                  # before the operator starts
    operator = start_operator(c.local, c.ns, c.operator_log, GREETER_INITIAL_STREAMING="1")
    try:
        g = c.wait("create_fn on the Greeting that was there first", lambda: c.handled("early", "create_fn"))
        assert g["status"]["create_fn"]["message"] == "Hello, stream!"
        c.create_greeting("late", "Hi", "stream")
        c.wait("create_fn on the Greeting made while it runs", lambda: c.handled("late", "create_fn"))
        c.custom.patch_namespaced_custom_object(GROUP, VERSION, c.ns, PLURAL, "early", {"spec": {"name": "index"}})
        c.wait("update_fn, which finds the child through the index",
               lambda: c.handled("early", "update_fn/spec"))
        assert c.configmap("early-greeting").data == {"message": "Hello, index!"}
    finally:
        stop(operator)


def test_a_restarted_operator_catches_up_on_what_happened_while_it_was_down(cluster):
    """kopf keeps its state in the objects (annotations, finalizer): after a restart it lists them
    and handles exactly what changed meanwhile, no handler twice."""
    c = Cluster(cluster.local, os.path.join(cluster.local.d, "operator-restart-1.log"), ns="greeters-restart")
    c.core.create_namespace({"metadata": {"name": c.ns}})
    operator = start_operator(c.local, c.ns, c.operator_log)
    try:
        for name in ("changed", "doomed"):
            c.create_greeting(name, "Hello", "restart")
            c.wait(f"create_fn on {name}", lambda: c.handled(name, "create_fn"))
    finally:
        stop(operator)

    c.custom.patch_namespaced_custom_object(GROUP, VERSION, c.ns, PLURAL, "changed",
                                            {"spec": {"greeting": "Welcome back"}})
    c.custom.delete_namespaced_custom_object(GROUP, VERSION, c.ns, PLURAL, "doomed")
    assert c.greeting("doomed")["metadata"]["deletionTimestamp"]          # held by kopf's finalizer
    c.create_greeting("newcomer", "Hi", "restart")

    c.operator_log = os.path.join(c.local.d, "operator-restart-2.log")
    operator = start_operator(c.local, c.ns, c.operator_log)
    try:
        g = c.wait("update_fn on the Greeting changed meanwhile", lambda: c.handled("changed", "update_fn/spec"))
        assert g["status"]["create_fn"]["attempts"] == 1
        assert c.configmap("changed-greeting").data == {"message": "Welcome back, restart!"}
        c.wait("create_fn on the Greeting made meanwhile", lambda: c.handled("newcomer", "create_fn"))
        c.wait("the Greeting deleted meanwhile to go", lambda: c.greeting("doomed") is None)
        assert c.configmap("doomed-farewell") is not None
        c.wait("its child to be garbage-collected", lambda: c.configmap("doomed-greeting") is None)
    finally:
        stop(operator)
    with open(c.operator_log) as f:
        log = f.read()
    assert "[greeters-restart/changed] Handler 'create_fn'" not in log, log[-4000:]
