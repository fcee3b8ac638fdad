"""Deployment helpers: pod-template-hash, semantic template equality, revisions, surge/unavailable.

The template comparison ignores the `pod-template-hash` label, `creationTimestamp: null` and
empty values such as `resources: {}`, so the template `kubectl rollout undo` writes back
matches the ReplicaSet it came from.
"""
from __future__ import annotations

import json
import math

from labkube.api.meta import SAFE_ALPHABET

HASH_LABEL = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
DESIRED = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
CHANGE_CAUSE = "kubernetes.io/change-cause"
# deployment annotations not copied onto its ReplicaSets
SKIP_ANNOTATIONS = {REVISION, DESIRED, MAX_REPLICAS, REVISION_HISTORY,
                    "kubectl.kubernetes.io/last-applied-configuration",
                    "deprecated.deployment.rollback.to"}


def _prune(v):
    if isinstance(v, dict):
        out = {k: _prune(x) for k, x in v.items()}
        return {k: x for k, x in out.items() if x not in (None, {}, [])}
    if isinstance(v, list):
        return [_prune(x) for x in v]
    return v


def normalize_template(tmpl: dict | None) -> dict:
    """The template as compared and hashed: without metadata.creationTimestamp, the
    pod-template-hash label and empty values. A new value (_prune builds every dict and list
    afresh), `tmpl` left as it is: a sync compares its Deployment's template with each
    ReplicaSet's, so this copies no more than it prunes (a deepcopy first cost ~25 us a call)."""
    t = dict(tmpl or {})
    md = dict(t.get("metadata") or {})
    md.pop("creationTimestamp", None)
    labels = md.get("labels")
    if isinstance(labels, dict) and HASH_LABEL in labels:
        md["labels"] = {k: v for k, v in labels.items() if k != HASH_LABEL}
    t["metadata"] = md
    return _prune(t)


def templates_equal(a: dict | None, b: dict | None) -> bool:
    return normalize_template(a) == normalize_template(b)


def fnv32a(data: bytes) -> int:
    h = 0x811C9DC5
    for byte in data:
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def template_hash(tmpl: dict | None, collision_count: int | None = None) -> str:
    """A stable, DNS-safe hash of the normalised template (plus the collision count), spelt as
    Kubernetes spells its pod-template-hash: the 32-bit FNV-1a's decimal digits, each mapped to
    `SAFE_ALPHABET[ord(digit) % 27]` (so `web-7c5ddbdf54-x2kq9`, never a vowel or a look-alike)."""
    data = json.dumps(normalize_template(tmpl), sort_keys=True, separators=(",", ":")).encode()
    if collision_count:
        data += str(collision_count).encode()
    return "".join(SAFE_ALPHABET[ord(d) % len(SAFE_ALPHABET)] for d in str(fnv32a(data)))


def revision(obj: dict) -> int:
    try:
        return int(((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def resolve(value, total: int, round_up: bool) -> int:
    if value is None:
        value = "25%"
    if isinstance(value, str) and value.endswith("%"):
        frac = float(value[:-1]) * total / 100
        return int(math.ceil(frac) if round_up else math.floor(frac))
    return int(value)


def surge_and_unavailable(d: dict) -> tuple[int, int]:
    """(maxSurge, maxUnavailable) for a RollingUpdate deployment; both 0 means maxUnavailable 1."""
    spec = d.get("spec") or {}
    replicas = replicas_of(d)
    strategy = spec.get("strategy") or {}
    if (strategy.get("type") or "RollingUpdate") != "RollingUpdate":
        return 0, 0
    ru = strategy.get("rollingUpdate") or {}
    surge = resolve(ru.get("maxSurge"), replicas, True)
    unavail = resolve(ru.get("maxUnavailable"), replicas, False)
    if surge == 0 and unavail == 0:
        unavail = 1
    return surge, min(unavail, replicas)


def replicas_of(obj: dict) -> int:
    r = (obj.get("spec") or {}).get("replicas")
    return 1 if r is None else int(r)


def rs_replicas(rs: dict) -> int:
    return int((rs.get("spec") or {}).get("replicas") or 0)


def status_int(rs: dict, field: str) -> int:
    return int((rs.get("status") or {}).get(field) or 0)
