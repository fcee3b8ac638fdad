"""A small kopf operator run by test_kopf_operator.py against labkube's apiserver.

Each Greeting (lab.example/v1) gets a child ConfigMap `<name>-greeting` holding its message,
adopted by the Greeting (ownerReference, so the garbage collector removes it with its owner).
The create and update handlers report through their return values, which kopf stores in the
Greeting's status; the delete handler runs behind kopf's finalizer. spec.failTimes makes the
create handler fail that many times first (kopf retries, keeping its progress in annotations).
The update handler finds the child through a kopf index of ConfigMaps by owning Greeting (kopf
holds every handler back until each indexed resource has been listed once).

GREETER_INITIAL_STREAMING=1 makes kopf list through watch streams (sendInitialEvents=true,
ended by the `k8s.io/initial-events-end` bookmark) instead of a LIST call.
"""
import logging
import os

import kopf
import kubernetes


@kopf.on.startup()
def configure(settings: kopf.OperatorSettings, **_):
    # kopf's per-object log lines ("Handler 'create_fn' succeeded.") become Events too
    settings.posting.loggers = True
    settings.posting.level = logging.INFO
    settings.watching.initial_streaming = os.environ.get("GREETER_INITIAL_STREAMING") == "1"
    kubernetes.config.load_kube_config()


def _message(spec) -> str:
    return f"{spec.get('greeting', 'Hello')}, {spec.get('name', 'world')}!"


def _configmap(name: str, message: str) -> dict:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"{name}-greeting"},
            "data": {"message": message}}


@kopf.on.create("lab.example", "v1", "greetings")
def create_fn(body, spec, name, namespace, retry, logger, **_):
    if retry < spec.get("failTimes", 0):        # kopf keeps the retry count in an annotation
        raise kopf.TemporaryError(f"failing on purpose ({retry + 1}/{spec['failTimes']})", delay=0.5)
    cm = _configmap(name, _message(spec))
    kopf.adopt(cm)
    kubernetes.client.CoreV1Api().create_namespaced_config_map(namespace, cm)
    kopf.info(body, reason="Greeted", message=f"made configmap {name}-greeting")
    return {"configmap": f"{name}-greeting", "message": cm["data"]["message"], "attempts": retry + 1}


@kopf.index("", "v1", "configmaps")
def children_by_greeting(body, **_):
    return {ref["name"]: body["metadata"]["name"] for ref in body["metadata"].get("ownerReferences") or []
            if ref.get("kind") == "Greeting"}


@kopf.on.update("lab.example", "v1", "greetings", field="spec")
def update_fn(spec, name, namespace, logger, children_by_greeting: kopf.Index, **_):
    message = _message(spec)
    children = children_by_greeting.get(name, [])
    if not children:
        raise kopf.TemporaryError(f"the child of {name} is not indexed yet", delay=1)
    for child in children:
        kubernetes.client.CoreV1Api().patch_namespaced_config_map(child, namespace, {"data": {"message": message}})
        logger.info("updated configmap %s", child)
    return {"message": message}


@kopf.on.delete("lab.example", "v1", "greetings")
def delete_fn(name, namespace, logger, **_):
    logger.info("greeting %s/%s is going away", namespace, name)
    kubernetes.client.CoreV1Api().create_namespaced_config_map(
        namespace, {"metadata": {"name": f"{name}-farewell"}, "data": {"said": "goodbye"}})
