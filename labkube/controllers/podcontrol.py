"""Creating and deleting a controller's pods: pods from a template with a controller
ownerReference, plus SuccessfulCreate/SuccessfulDelete (or Failed*) events on the owner."""
from __future__ import annotations

import copy

from labkube.client.errors import ApiError

from .util import owner_ref


def pod_from_template(owner: dict, template: dict | None, name: str | None, labels: dict | None = None,
                      annotations: dict | None = None, generate_name: str | None = None) -> dict:
    """The owner's pod: named `name`, or by the server from `generate_name` (as Kubernetes'
    controllers name theirs: `<owner>-` plus 5 random characters)."""
    tmpl = copy.deepcopy(template or {})
    md = tmpl.get("metadata") or {}
    naming = {"name": name} if name else {"generateName": generate_name}
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {**naming, "namespace": owner["metadata"]["namespace"],
                         "labels": {**(md.get("labels") or {}), **(labels or {})},
                         "annotations": {**(md.get("annotations") or {}), **(annotations or {})},
                         "ownerReferences": [owner_ref(owner)]},
            "spec": tmpl.get("spec") or {}}


async def create_pod(ctl, owner: dict, pod: dict) -> dict:
    try:
        out = await ctl.client.create("pods", pod, namespace=owner["metadata"]["namespace"])
    except ApiError as e:
        if e.code != 409:
            await ctl.recorder.warning(owner, "FailedCreate", f"Error creating: {e.message}")
        raise
    await ctl.recorder.normal(owner, "SuccessfulCreate", f"Created pod: {out['metadata']['name']}")
    return out


async def delete_pod(ctl, owner: dict, pod: dict, grace: int | None = None) -> None:
    name = pod["metadata"]["name"]
    try:
        await ctl.client.delete("pods", name, namespace=pod["metadata"]["namespace"], grace_period_seconds=grace)
    except ApiError as e:
        if e.code == 404:
            return
        await ctl.recorder.warning(owner, "FailedDelete", f"Error deleting: {e.message}")
        raise
    await ctl.recorder.normal(owner, "SuccessfulDelete", f"Deleted pod: {name}")


def owned_pods(pods_informer, owner: dict) -> list[dict]:
    uid, ns = owner["metadata"]["uid"], owner["metadata"]["namespace"]
    out = []
    for p in pods_informer.items():
        if p["metadata"].get("namespace") != ns:
            continue
        for ref in p["metadata"].get("ownerReferences") or []:
            if ref.get("controller") and ref.get("uid") == uid:
                out.append(p)
    return out


def enqueue_owner(ctl, informer, kind: str, obj: dict) -> None:
    """Queue the controller owner (of the given kind) of obj, if it is in the informer."""
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller") and ref.get("kind") == kind:
            key = f"{obj['metadata']['namespace']}/{ref['name']}"
            owner = informer.get(key)
            if owner is not None and owner["metadata"]["uid"] == ref.get("uid"):
                ctl.queue.add(key)
