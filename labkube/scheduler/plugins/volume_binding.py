"""Filter VolumeBinding: where a pod's PersistentVolumeClaims let it run, as kube-scheduler's
VolumeBinding plugin.

- a claim bound to a volume with `spec.nodeAffinity` (a local or hostPath volume pinned to a
  node): only the nodes that affinity selects ("node(s) had volume node affinity conflict");
- a claim not bound yet whose class binds at once (volumeBindingMode Immediate, or no class):
  the pod waits until the persistentvolume controller binds it ("pod has unbound immediate
  PersistentVolumeClaims" on every node);
- a claim of a WaitForFirstConsumer class: a node fits when an Available volume that fits the
  claim may be used there, or when the class can provision there (a provisioner other than
  kubernetes.io/no-provisioner, and the class's allowedTopologies); else "node(s) didn't find
  available persistent volumes to bind";
- a claim that does not exist or is being deleted: the pod waits, saying so.

Once a node is chosen, `pre_bind` runs before the pod's binding (kube-scheduler's PreBind):
each waiting WaitForFirstConsumer claim gets the smallest fitting Available volume allowed on
that node pre-bound to it (the volume's claimRef; the persistentvolume controller completes
the binding), or else the annotation `volume.kubernetes.io/selected-node: <node>`, which
tells the provisioner where to make the volume.

The plugin keeps its own informers on claims, volumes and StorageClasses (`informers`, which
the scheduler starts with its own); any change to them retries the pods waiting in the queue.
"""
from __future__ import annotations

from typing import Callable

from labkube.client.errors import ApiError
from labkube.client.informer import Informer
from labkube.controllers.persistentvolume import BOUND_BY_CONTROLLER, best_match, claim_class, claim_ref

from ..framework import SKIP, FilterPlugin, NodeInfo
from .node_affinity import term_matches

WAIT = "WaitForFirstConsumer"
NO_PROVISIONER = "kubernetes.io/no-provisioner"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
CONFLICT = "node(s) had volume node affinity conflict"
NOTHING_TO_BIND = "node(s) didn't find available persistent volumes to bind"
BOUND_TO_NOTHING = "pvc(s) bound to non-existent pv(s)"


def claim_names(pod: dict) -> list[str]:
    return [v["persistentVolumeClaim"]["claimName"] for v in (pod.get("spec") or {}).get("volumes") or ()
            if (v.get("persistentVolumeClaim") or {}).get("claimName")]


def volume_allowed_on(pv: dict, node: dict) -> bool:
    """A volume's required nodeAffinity (terms ORed) admits the node; no affinity: any node."""
    required = (((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required") or {})
    terms = required.get("nodeSelectorTerms")
    return terms is None or any(term_matches(t, node) for t in terms)


def class_can_provision_on(sc: dict, node: dict) -> bool:
    """The class has a provisioner and its allowedTopologies (terms ORed, expressions ANDed)
    admit the node."""
    if not sc.get("provisioner") or sc["provisioner"] == NO_PROVISIONER:
        return False
    labels = (node.get("metadata") or {}).get("labels") or {}
    terms = sc.get("allowedTopologies")
    return not terms or any(all(labels.get(e.get("key")) in (e.get("values") or ())
                                for e in t.get("matchLabelExpressions") or ()) for t in terms)


class PreBindError(Exception):
    """A claim could not be given its volume or node before the binding."""


class VolumeBinding(FilterPlugin):
    name = "VolumeBinding"

    def __init__(self):
        self.claims = self.volumes = self.classes = None
        self.problem: str | None = None           # this cycle: a reason every node gets
        self.bound: list[dict] = []               # this cycle: volumes of bound claims
        self.waiting: list[tuple[dict, dict]] = []   # this cycle: (claim, class) waiting for a consumer

    def informers(self, client, on_change: Callable[[], None]) -> list[Informer]:
        """Claims, volumes and classes (the scheduler starts and stops them); on_change runs on
        every change of one."""
        self.claims, self.volumes, self.classes = (Informer(client, r) for r in (
            "persistentvolumeclaims", "persistentvolumes", "storageclasses"))
        for inf in (self.claims, self.volumes, self.classes):
            inf.add_handlers(lambda obj: on_change(), lambda old, new: on_change(), lambda obj: on_change())
        return [self.claims, self.volumes, self.classes]

    def _state(self, pod: dict) -> tuple[str | None, list[dict], list[tuple[dict, dict]]]:
        """(a reason for every node or None, volumes of bound claims, waiting (claim, class))."""
        ns = (pod.get("metadata") or {}).get("namespace") or "default"
        bound, waiting = [], []
        for name in claim_names(pod):
            claim = self.claims.get(f"{ns}/{name}") if self.claims is not None else None
            if claim is None:
                return f'persistentvolumeclaim "{name}" not found', [], []
            if claim["metadata"].get("deletionTimestamp"):
                return f'persistentvolumeclaim "{name}" is being deleted', [], []
            volume_name = (claim.get("spec") or {}).get("volumeName")
            if volume_name:
                pv = self.volumes.get(volume_name)
                if pv is None:
                    return BOUND_TO_NOTHING, [], []
                bound.append(pv)
                continue
            cls = claim_class(claim)
            sc = self.classes.get(cls) if cls else None
            if sc is None or sc.get("volumeBindingMode") != WAIT:
                return UNBOUND_IMMEDIATE, [], []
            waiting.append((claim, sc))
        return None, bound, waiting

    def pre_filter(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        if not claim_names(pod):
            return SKIP
        self.problem, self.bound, self.waiting = self._state(pod)
        return None

    def filter_skips_by_pod(self, pod: dict) -> bool:
        return not claim_names(pod)

    def can_serve(self, claim: dict, sc: dict, node: dict) -> bool:
        return self.volume_for(claim, node) is not None or class_can_provision_on(sc, node)

    def volume_for(self, claim: dict, node: dict) -> dict | None:
        """The smallest Available volume that fits the claim and may be used on the node."""
        return best_match(claim, (pv for pv in self.volumes.items() if volume_allowed_on(pv, node)))

    def filter(self, pod: dict, node: NodeInfo) -> list[str]:
        if self.problem:
            return [self.problem]
        if any(not volume_allowed_on(pv, node.node) for pv in self.bound):
            return [CONFLICT]
        if any(not self.can_serve(claim, sc, node.node) for claim, sc in self.waiting):
            return [NOTHING_TO_BIND]
        return []

    async def pre_bind(self, client, pod: dict, node: dict) -> None:
        """Before the pod is bound to ``node``: give each of its waiting claims a volume there
        (pre-bound) or the selected-node annotation for the provisioner. A write the apiserver
        refuses raises PreBindError (not an ApiError, whose 404/409 would tell the scheduler
        that the pod is gone or bound): the pod is tried again after a backoff."""
        if not claim_names(pod):
            return              # no claims (most pods): nothing to do
        try:
            await self._pre_bind(client, pod, node)
        except ApiError as e:
            md = pod.get("metadata") or {}
            raise PreBindError(f"volumes of pod {md.get('namespace')}/{md.get('name')} on node "
                               f"{node['metadata']['name']}: {e}") from e

    async def _pre_bind(self, client, pod: dict, node: dict) -> None:
        problem, _, waiting = self._state(pod)
        if problem:
            return              # changed since the cycle: the binding goes on, the kubelet waits for the claim
        node_name = node["metadata"]["name"]
        for claim, sc in waiting:
            md = claim["metadata"]
            if any(((pv.get("spec") or {}).get("claimRef") or {}).get("uid") == md.get("uid")
                   for pv in self.volumes.items()):
                continue        # already pre-bound
            pv = self.volume_for(claim, node)
            if pv is not None:
                try:
                    await client.patch("persistentvolumes", pv["metadata"]["name"], {
                        "metadata": {"annotations": {BOUND_BY_CONTROLLER: "yes"},
                                     "resourceVersion": pv["metadata"].get("resourceVersion")},
                        "spec": {"claimRef": claim_ref(claim)}})
                    continue
                except ApiError as e:
                    if e.code != 409:       # taken by another claim meanwhile: provision instead
                        raise
                    if not class_can_provision_on(sc, node):
                        raise
            if (md.get("annotations") or {}).get(SELECTED_NODE) != node_name:
                await client.patch("persistentvolumeclaims", md["name"],
                                   {"metadata": {"annotations": {SELECTED_NODE: node_name}}},
                                   namespace=md["namespace"])
