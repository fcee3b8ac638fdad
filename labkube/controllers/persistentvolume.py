"""PersistentVolume controller: binds claims to volumes, provisions hostPath volumes for the
lab's StorageClass provisioner, and reclaims volumes whose claim is gone.

Claims (keys "ns/name"):
- a claim naming a volume (spec.volumeName) is bound to it if the volume is free or
  pre-bound to it; a claim a volume is pre-bound to (spec.claimRef) takes that volume;
- otherwise the smallest Available volume that fits (`best_match`: same storageClassName,
  the claim's access modes contained, capacity >= request, same volumeMode, label selector)
  is bound;
- otherwise, for a class whose provisioner is `labkube.io/hostpath`, a volume `pvc-<uid>` is
  created (hostPath <volume dir>/pvc-<uid>, DirectoryOrCreate, capacity = request, reclaim
  policy of the class) and bound; a class of another provisioner waits for it (event
  ExternalProvisioning), a claim without class waits for a volume (event FailedBinding).
Binding writes the volume's claimRef, its phase Bound, the claim's volumeName, then the
claim's phase Bound with the volume's capacity and access modes (Kubernetes' order).

Volumes (keys "name"): without claimRef they are Available; bound to a claim that exists they
are Bound; once their claim is deleted (or replaced by one with another uid) they are
Released, and with reclaimPolicy Delete a volume this controller provisioned is deleted
(its directory too when it is on this machine), a hand-made one goes Failed (no deleter).

A claim of a class with volumeBindingMode WaitForFirstConsumer stays Pending (event
WaitForFirstConsumer) until the scheduler picks a node for a pod using it: the scheduler
pre-binds a fitting volume there (its claimRef, completed here as any pre-bound volume) or
annotates the claim `volume.kubernetes.io/selected-node`, and a volume is provisioned with
nodeAffinity to that node (hostPath directories are node-local on Vagrant VMs; on the netns lab
all nodes share them). A pod placed without the scheduler (spec.nodeName) counts as choosing
its node: the claim is then bound or provisioned there.
"""
from __future__ import annotations

import copy
import os
import shutil
from fractions import Fraction

from labkube.api import quantity
from labkube.api.selectors import LabelSelector
from labkube.client.errors import ApiError

from .base import Controller

PROVISIONER = "labkube.io/hostpath"
VOLUME_DIR = "/var/lib/labkube-volumes"   # not under /var/lib/labkube: that is private to each netns node
DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
SELECTED_NODE = "volume.kubernetes.io/selected-node"


def _request(claim: dict) -> Fraction:
    req = (((claim.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage", 0)
    try:
        return quantity.parse(req)
    except ValueError:
        return Fraction(0)


def _capacity(pv: dict) -> Fraction:
    try:
        return quantity.parse(((pv.get("spec") or {}).get("capacity") or {}).get("storage", 0))
    except ValueError:
        return Fraction(0)


def claim_class(claim: dict) -> str:
    return (claim.get("spec") or {}).get("storageClassName") or ""


def fits(claim: dict, pv: dict) -> bool:
    """Whether volume ``pv`` can serve ``claim`` (binding state aside)."""
    cs, ps = claim.get("spec") or {}, pv.get("spec") or {}
    if (ps.get("storageClassName") or "") != claim_class(claim):
        return False
    if not set(cs.get("accessModes") or ()) <= set(ps.get("accessModes") or ()):
        return False
    if (cs.get("volumeMode") or "Filesystem") != (ps.get("volumeMode") or "Filesystem"):
        return False
    if _capacity(pv) < _request(claim):
        return False
    sel = cs.get("selector")
    if sel and not LabelSelector.from_spec(sel).matches((pv.get("metadata") or {}).get("labels") or {}):
        return False
    return True


def is_available(pv: dict) -> bool:
    return (not (pv.get("spec") or {}).get("claimRef") and not pv["metadata"].get("deletionTimestamp")
            and (pv.get("status") or {}).get("phase") in (None, "Pending", "Available"))


def best_match(claim: dict, volumes) -> dict | None:
    """The smallest available volume that fits the claim (ties: by name), or None."""
    found = [pv for pv in volumes if is_available(pv) and fits(claim, pv)]
    return min(found, key=lambda pv: (_capacity(pv), pv["metadata"]["name"]), default=None)


def claim_ref(claim: dict) -> dict:
    md = claim["metadata"]
    return {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "namespace": md["namespace"], "name": md["name"],
            "uid": md.get("uid", ""), "resourceVersion": md.get("resourceVersion", "")}


def refers_to(ref: dict | None, claim: dict) -> bool:
    """Whether a volume's claimRef names this claim (a ref without uid: pre-bound by name)."""
    md = claim["metadata"]
    return bool(ref) and ref.get("name") == md["name"] and ref.get("namespace") == md["namespace"] \
        and (not ref.get("uid") or ref["uid"] == md.get("uid"))


def provisioned_volume(claim: dict, sc: dict, root: str, node: str = "") -> dict:
    """The PersistentVolume the hostpath provisioner makes for ``claim`` of class ``sc``
    (with nodeAffinity to ``node`` when the class waited for the claim's first consumer)."""
    name = f"pvc-{claim['metadata']['uid']}"
    cs = claim.get("spec") or {}
    spec = {"capacity": {"storage": ((cs.get("resources") or {}).get("requests") or {}).get("storage", "0")},
            "accessModes": list(cs.get("accessModes") or ["ReadWriteOnce"]),
            "persistentVolumeReclaimPolicy": sc.get("reclaimPolicy") or "Delete",
            "storageClassName": sc["metadata"]["name"], "volumeMode": cs.get("volumeMode") or "Filesystem",
            "hostPath": {"path": os.path.join(root, name), "type": "DirectoryOrCreate"},
            "claimRef": claim_ref(claim)}
    if node:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}
    if sc.get("mountOptions"):
        spec["mountOptions"] = list(sc["mountOptions"])
    return {"apiVersion": "v1", "kind": "PersistentVolume",
            "metadata": {"name": name, "annotations": {PROVISIONED_BY: sc.get("provisioner", PROVISIONER)}},
            "spec": spec}


class PersistentVolumeController(Controller):
    name = "persistentvolume"

    def event_component(self) -> str:
        return "persistentvolume-controller"

    def setup(self) -> None:
        self.root = self.settings.get("volume_dir", VOLUME_DIR)
        self.claims = self.informer("persistentvolumeclaims")
        self.volumes = self.informer("persistentvolumes")
        self.classes = self.informer("storageclasses")
        self.claims.add_handlers(self.enqueue, lambda o, n: self.enqueue(n), self.claim_deleted)
        self.volumes.add_handlers(self.volume_changed, lambda o, n: self.volume_changed(n), self.volume_changed)
        self.classes.add_handlers(self.class_changed, lambda o, n: self.class_changed(n), None)
        self.pods = self.informer("pods")
        self.pods.add_handlers(self.pod_changed, lambda o, n: self.pod_changed(n), None)

    # -- event handlers ---------------------------------------------------------------------

    def claim_deleted(self, claim: dict) -> None:
        for pv in self.volumes.items():
            if refers_to((pv.get("spec") or {}).get("claimRef"), claim):
                self.enqueue(pv)

    def volume_changed(self, pv: dict) -> None:
        self.enqueue(pv)
        ref = (pv.get("spec") or {}).get("claimRef")
        if ref and ref.get("namespace") and ref.get("name"):
            self.queue.add(f"{ref['namespace']}/{ref['name']}")

    def class_changed(self, sc: dict) -> None:
        for c in self.claims.items():
            if claim_class(c) == sc["metadata"]["name"] and not (c.get("spec") or {}).get("volumeName"):
                self.enqueue(c)

    def pod_changed(self, pod: dict) -> None:
        """A pod scheduled with claims: those waiting for their first consumer can bind now."""
        if not (pod.get("spec") or {}).get("nodeName"):
            return
        ns = pod["metadata"].get("namespace")
        for v in (pod.get("spec") or {}).get("volumes") or ():
            name = (v.get("persistentVolumeClaim") or {}).get("claimName")
            claim = self.claims.get(f"{ns}/{name}") if name else None
            if claim is not None and not (claim.get("spec") or {}).get("volumeName"):
                self.enqueue(claim)

    def consumer_node(self, claim: dict) -> str:
        """The node of a scheduled, unfinished pod that uses the claim ("" if none)."""
        md = claim["metadata"]
        for p in self.pods.items():
            spec = p.get("spec") or {}
            if p["metadata"].get("namespace") != md["namespace"] or not spec.get("nodeName") or \
                    (p.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            if any((v.get("persistentVolumeClaim") or {}).get("claimName") == md["name"]
                   for v in spec.get("volumes") or ()):
                return spec["nodeName"]
        return ""

    def pending_claims(self) -> list[dict]:
        return [c for c in self.claims.items() if not (c.get("spec") or {}).get("volumeName")
                and not c["metadata"].get("deletionTimestamp")]

    # -- sync -------------------------------------------------------------------------------

    async def sync(self, key: str) -> None:
        if "/" in key:
            await self.sync_claim(key)
        else:
            await self.sync_volume(key)

    async def sync_claim(self, key: str) -> None:
        claim = self.claims.get(key)
        if claim is None or claim["metadata"].get("deletionTimestamp"):
            return
        spec, md = claim.get("spec") or {}, claim["metadata"]
        if spec.get("volumeName"):
            pv = self.volumes.get(spec["volumeName"])
            if pv is None:
                if (claim.get("status") or {}).get("phase") == "Bound":
                    await self.set_claim_phase(claim, "Lost")
                    await self.recorder.warning(claim, "ClaimLost", "Bound claim has lost its PersistentVolume. "
                                                "Data on the volume is lost!")
                return
            ref = (pv.get("spec") or {}).get("claimRef")
            if ref and not refers_to(ref, claim):
                await self.recorder.warning(claim, "FailedBinding", f"volume \"{pv['metadata']['name']}\" "
                                            "already bound to a different claim.")
                return
            await self.bind(claim, pv)
            return
        pv = next((v for v in self.volumes.items() if refers_to((v.get("spec") or {}).get("claimRef"), claim)
                   and not v["metadata"].get("deletionTimestamp")), None)
        if pv is not None:
            await self.bind(claim, pv)
            return
        cls = claim_class(claim)
        sc = self.classes.get(cls) if cls else None
        node = selected = (md.get("annotations") or {}).get(SELECTED_NODE, "")
        if (sc or {}).get("volumeBindingMode") == "WaitForFirstConsumer" and not node:
            node = self.consumer_node(claim)
            if not node:
                await self.recorder.normal(claim, "WaitForFirstConsumer",
                                           "waiting for first consumer to be created before binding")
                return
        pv = None if selected else best_match(claim, self.volumes.items())    # selected: the scheduler found none
        if pv is not None:
            await self.bind(claim, pv)
            return
        if not cls:
            await self.recorder.normal(claim, "FailedBinding",
                                       "no persistent volumes available for this claim and no storage class is set")
            return
        if sc is None:
            await self.recorder.warning(claim, "ProvisioningFailed", f'storageclass.storage.k8s.io "{cls}" not found')
            return
        if sc.get("provisioner") != PROVISIONER:
            await self.recorder.normal(claim, "ExternalProvisioning",
                                       f"Waiting for a volume to be created either by the external provisioner "
                                       f"'{sc.get('provisioner')}' or manually by the system administrator. "
                                       "If volume creation is delayed, please verify that the provisioner is "
                                       "running and correctly registered.")
            return
        await self.provision(claim, sc, node)

    async def provision(self, claim: dict, sc: dict, node: str = "") -> None:
        body = provisioned_volume(claim, sc, self.root, node)
        name = body["metadata"]["name"]
        try:
            pv = await self.client.create("persistentvolumes", body)
        except ApiError as e:
            if e.code != 409:
                raise
            pv = await self.client.get("persistentvolumes", name)
        else:
            await self.recorder.normal(claim, "ProvisioningSucceeded",
                                       f"Successfully provisioned volume {name} using {PROVISIONER}")
        await self.bind(claim, pv)

    async def bind(self, claim: dict, pv: dict) -> None:
        """Bind both ways, each step only if not done yet (a retry continues where it stopped)."""
        pv_name = pv["metadata"]["name"]
        md = claim["metadata"]
        ref = (pv.get("spec") or {}).get("claimRef") or {}
        if ref.get("uid") != md.get("uid") or ref.get("name") != md["name"] or ref.get("namespace") != md["namespace"]:
            body = copy.deepcopy(pv)
            body["spec"]["claimRef"] = claim_ref(claim)
            if not ref:
                body["metadata"].setdefault("annotations", {})[BOUND_BY_CONTROLLER] = "yes"
            pv = await self.client.replace("persistentvolumes", pv_name, body)
        if (pv.get("status") or {}).get("phase") != "Bound":
            pv = await self.set_volume_phase(pv, "Bound")
        spec = claim.get("spec") or {}
        ann = md.get("annotations") or {}
        if spec.get("volumeName") != pv_name or ann.get(BIND_COMPLETED) != "yes":
            body = copy.deepcopy(claim)
            body["spec"]["volumeName"] = pv_name
            anns = body["metadata"].setdefault("annotations", {})
            anns[BIND_COMPLETED] = "yes"
            if not spec.get("volumeName"):
                anns[BOUND_BY_CONTROLLER] = "yes"
            if (pv["metadata"].get("annotations") or {}).get(PROVISIONED_BY):
                anns[STORAGE_PROVISIONER] = pv["metadata"]["annotations"][PROVISIONED_BY]
            claim = await self.client.replace("persistentvolumeclaims", md["name"], body, namespace=md["namespace"])
        ps = pv.get("spec") or {}
        status = {"phase": "Bound", "accessModes": list(ps.get("accessModes") or []),
                  "capacity": dict(ps.get("capacity") or {})}
        if {k: (claim.get("status") or {}).get(k) for k in status} != status:
            body = copy.deepcopy(claim)
            body["status"] = {**(claim.get("status") or {}), **status}
            await self.client.replace("persistentvolumeclaims", md["name"], body, namespace=md["namespace"],
                                      subresource="status")

    async def sync_volume(self, name: str) -> None:
        pv = self.volumes.get(name)
        if pv is None or pv["metadata"].get("deletionTimestamp"):
            return
        spec = pv.get("spec") or {}
        ref = spec.get("claimRef")
        if not ref:
            if (pv.get("status") or {}).get("phase") != "Available":
                await self.set_volume_phase(pv, "Available")
            for c in self.pending_claims():       # a new volume may serve a waiting claim
                self.enqueue(c)
            return
        claim = self.claims.get(f"{ref.get('namespace')}/{ref.get('name')}")
        if claim is not None and refers_to(ref, claim):
            if (claim.get("spec") or {}).get("volumeName") == name:
                if (pv.get("status") or {}).get("phase") != "Bound":
                    await self.set_volume_phase(pv, "Bound")
            elif (claim.get("spec") or {}).get("volumeName") and \
                    (pv["metadata"].get("annotations") or {}).get(BOUND_BY_CONTROLLER):
                await self.unbind(pv)                 # the claim took another volume
            else:
                self.enqueue(claim)                   # pre-bound: the claim side binds it
            return
        if not ref.get("uid"):
            if (pv.get("status") or {}).get("phase") != "Available":   # waiting for its claim
                await self.set_volume_phase(pv, "Available")
            return
        await self.reclaim(pv)

    async def reclaim(self, pv: dict) -> None:
        """The volume's claim is gone: Released; reclaimPolicy Delete deletes what we provisioned."""
        name = pv["metadata"]["name"]
        policy = (pv.get("spec") or {}).get("persistentVolumeReclaimPolicy") or "Retain"
        if policy == "Delete":
            if (pv["metadata"].get("annotations") or {}).get(PROVISIONED_BY) == PROVISIONER:
                self.remove_directory(pv)
                try:
                    await self.client.delete("persistentvolumes", name)
                except ApiError as e:
                    if e.code != 404:
                        raise
                return
            if (pv.get("status") or {}).get("phase") != "Failed":
                msg = "error getting deleter volume plugin for volume \"%s\": no deletable volume plugin matched" % name
                await self.set_volume_phase(pv, "Failed", msg)
                await self.recorder.warning(pv, "VolumeFailedDelete", msg)
            return
        if (pv.get("status") or {}).get("phase") != "Released":
            await self.set_volume_phase(pv, "Released")

    def remove_directory(self, pv: dict) -> None:
        """Delete a provisioned volume's directory when it lives here (under our volume dir)."""
        path = ((pv.get("spec") or {}).get("hostPath") or {}).get("path") or ""
        root = os.path.normpath(self.root)
        if os.path.dirname(os.path.normpath(path)) == root and os.path.basename(path).startswith("pvc-"):
            shutil.rmtree(path, ignore_errors=True)

    async def unbind(self, pv: dict) -> None:
        body = copy.deepcopy(pv)
        body["spec"].pop("claimRef", None)
        body["metadata"].get("annotations", {}).pop(BOUND_BY_CONTROLLER, None)
        pv = await self.client.replace("persistentvolumes", pv["metadata"]["name"], body)
        await self.set_volume_phase(pv, "Available")

    async def set_volume_phase(self, pv: dict, phase: str, message: str = "") -> dict:
        body = copy.deepcopy(pv)
        body["status"] = {"phase": phase, **({"message": message} if message else {})}
        return await self.client.replace("persistentvolumes", pv["metadata"]["name"], body, subresource="status")

    async def set_claim_phase(self, claim: dict, phase: str) -> dict:
        body = copy.deepcopy(claim)
        body["status"] = {**(claim.get("status") or {}), "phase": phase}
        md = claim["metadata"]
        return await self.client.replace("persistentvolumeclaims", md["name"], body, namespace=md["namespace"],
                                         subresource="status")
