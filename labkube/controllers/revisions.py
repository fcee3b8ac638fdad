"""ControllerRevisions for DaemonSets and StatefulSets: one per distinct pod template, named
`<owner>-<hash>`, numbered by `revision`, old ones pruned to revisionHistoryLimit.
`kubectl rollout history/undo daemonset|statefulset` read and re-apply them."""
from __future__ import annotations

import copy

from labkube.client.errors import ApiError

from .deployment_util import template_hash, templates_equal
from .util import controller_ref, owner_ref

HASH_LABEL = "controller-revision-hash"


def owned_revisions(informer, owner: dict) -> list[dict]:
    uid, ns = owner["metadata"]["uid"], owner["metadata"]["namespace"]
    out = [r for r in informer.items() if r["metadata"].get("namespace") == ns
           and (controller_ref(r) or {}).get("uid") == uid]
    return sorted(out, key=lambda r: int(r.get("revision") or 0))


def revision_template(rev: dict) -> dict:
    t = copy.deepcopy(((rev.get("data") or {}).get("spec") or {}).get("template") or {})
    t.pop("$patch", None)
    return t


async def sync_revisions(ctl, informer, owner: dict) -> tuple[str, int]:
    """Make sure the owner's current template has the newest ControllerRevision; (hash, revision)."""
    spec = owner.get("spec") or {}
    tmpl = spec.get("template") or {}
    revs = owned_revisions(informer, owner)
    newest = max((int(r.get("revision") or 0) for r in revs), default=0)
    ns = owner["metadata"]["namespace"]
    for r in revs:
        if templates_equal(revision_template(r), tmpl):
            h = (r["metadata"].get("labels") or {}).get(HASH_LABEL) or r["metadata"]["name"].rsplit("-", 1)[-1]
            if int(r.get("revision") or 0) < newest:       # rolled back to an old template
                body = copy.deepcopy(r)
                body["revision"] = newest + 1
                await ctl.client.replace("controllerrevisions", r["metadata"]["name"], body, namespace=ns)
                return h, newest + 1
            return h, int(r.get("revision") or 0)
    h = template_hash(tmpl, (owner.get("status") or {}).get("collisionCount"))
    data_tmpl = copy.deepcopy(tmpl)
    data_tmpl["$patch"] = "replace"
    body = {"apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": f"{owner['metadata']['name']}-{h}", "namespace": ns,
                         "labels": {**((tmpl.get("metadata") or {}).get("labels") or {}), HASH_LABEL: h},
                         "annotations": dict(owner["metadata"].get("annotations") or {}),
                         "ownerReferences": [owner_ref(owner)]},
            "data": {"spec": {"template": data_tmpl}}, "revision": newest + 1}
    try:
        await ctl.client.create("controllerrevisions", body, namespace=ns)
    except ApiError as e:
        if e.code != 409:
            raise
    limit = spec.get("revisionHistoryLimit", 10)
    for r in revs[:max(0, len(revs) - int(limit))]:           # revs are all old now, oldest first
        try:
            await ctl.client.delete("controllerrevisions", r["metadata"]["name"], namespace=ns)
        except ApiError as e:
            if e.code != 404:
                raise
    return h, newest + 1
