"""ServiceAccount admission on pod create, as Kubernetes' ServiceAccount plugin mounts the API
credentials: unless the pod or its ServiceAccount sets automountServiceAccountToken: false,
the pod gets the projected volume `kube-api-access-<5 random chars>` (a bound token at "token",
the cluster CA from ConfigMap kube-root-ca.crt at "ca.crt", the namespace at "namespace"),
mounted read-only at /var/run/secrets/kubernetes.io/serviceaccount in every container and init
container that has no mount at that path yet (ephemeral containers are left alone).

The kubelet fills the token through a TokenRequest (labkube/kubelet/satoken.py); the
root-ca-cert-publisher controller keeps kube-root-ca.crt. serviceAccountName defaults to
"default" (pod defaults).

The pod's ServiceAccount must exist, as in Kubernetes: otherwise 403 `pods "x" is forbidden:
error looking up service account NS/NAME: serviceaccount "NAME" not found` (a controller's pod
is named by its generateName, the name not being generated yet in Kubernetes at that point).
`default` is created by the ServiceAccount controller shortly after its namespace, so a pod
naming it is looked up again for up to 10 attempts 100-200 ms apart before it is refused
(`kubectl create ns x; kubectl run -n x ...` does not race); any other name is looked up once.
Mirror pods are not looked up (the kubelet's static pods get no credentials).
"""
from __future__ import annotations

import asyncio
import random

from ..api import errors
from ..api.meta import SAFE_ALPHABET
from ..api.resources import resource
from .registry import Registry

SERVICE_ACCOUNTS = resource("serviceaccounts")
VOLUME_PREFIX = "kube-api-access-"
MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
TOKEN_SECONDS = 3607
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
DEFAULT_ACCOUNT = "default"
DEFAULT_ATTEMPTS = 10                             # `default` may be a moment behind its namespace
# a name suffix is not a secret (Kubernetes draws it from math/rand too): a seeded PRNG, not 5
# reads of the kernel's random source per pod
_SUFFIX_RANDOM = random.Random()


def api_access_volume(name: str) -> dict:
    return {"name": name, "projected": {"defaultMode": 0o644, "sources": [
        {"serviceAccountToken": {"expirationSeconds": TOKEN_SECONDS, "path": "token"}},
        {"configMap": {"name": ROOT_CA_CONFIGMAP, "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace",
                                    "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}]}}


def should_automount(pod_spec: dict, sa: dict | None) -> bool:
    """The pod's automountServiceAccountToken wins, then its ServiceAccount's; default true."""
    if pod_spec.get("automountServiceAccountToken") is not None:
        return bool(pod_spec["automountServiceAccountToken"])
    if sa is not None and sa.get("automountServiceAccountToken") is not None:
        return bool(sa["automountServiceAccountToken"])
    return True


def mount_api_access(pod: dict, sa: dict | None, suffix=lambda: "".join(_SUFFIX_RANDOM.choices(SAFE_ALPHABET, k=5))) -> None:
    """Add the kube-api-access volume and its mounts to ``pod`` (in place) where due."""
    spec = pod["spec"]
    if MIRROR_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {}) or not should_automount(spec, sa):
        return
    vols = spec.get("volumes") or []
    existing = next((v["name"] for v in vols if str(v.get("name", "")).startswith(VOLUME_PREFIX)), None)
    name = existing
    if name is None:
        taken = {v.get("name") for v in vols}
        name = VOLUME_PREFIX + suffix()
        while name in taken:
            name = VOLUME_PREFIX + suffix()
    needed = False
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        mounts = c.get("volumeMounts") or []
        if any(m.get("mountPath") == MOUNT_PATH for m in mounts):
            continue
        c["volumeMounts"] = [*mounts, {"name": name, "readOnly": True, "mountPath": MOUNT_PATH}]
        needed = True
    if needed and existing is None:
        spec["volumes"] = [*vols, api_access_volume(name)]


async def find_service_account(reg: Registry, ns: str, name: str, pause=None) -> dict:
    """The ServiceAccount ns/name; `default` is looked for again while the controller has not
    made it yet. Raises 404 ``serviceaccount "name" not found`` when it is not there."""
    attempts = DEFAULT_ATTEMPTS if name == DEFAULT_ACCOUNT else 1
    interval = pause if pause is not None else random.uniform(0.1, 0.2)
    for attempt in range(attempts):
        if attempt:
            await asyncio.sleep(interval)
        try:
            return await reg.get(SERVICE_ACCOUNTS, ns, name, latest=True)
        except errors.ApiError as e:
            if e.code != 404:
                raise
    raise errors.not_found("serviceaccount", name)


def pod_label(pod: dict) -> str:
    """The name Kubernetes' admission errors give a pod: its generateName when it has one."""
    md = pod.get("metadata") or {}
    return md.get("generateName") or md.get("name") or ""


async def admit_service_account(reg: Registry, pod: dict, pause=None) -> None:
    """Refuse a pod whose ServiceAccount does not exist; mount its API credentials where due."""
    if MIRROR_ANNOTATION in ((pod.get("metadata") or {}).get("annotations") or {}):
        return
    spec = pod["spec"]
    ns = (pod.get("metadata") or {}).get("namespace")
    name = spec.get("serviceAccountName") or DEFAULT_ACCOUNT
    try:
        sa = await find_service_account(reg, ns, name, pause)
    except errors.ApiError as e:
        label = pod_label(pod)
        raise errors.forbidden(f'pods "{label}" is forbidden: error looking up service account '
                               f"{ns}/{name}: {e.message}", "pods", label) from None
    mount_api_access(pod, sa)
