"""`kubectl explain`'s texts: every documented field exists where it is documented, every kind a
course meets has its own summary, and the schemas walk into the fields the type table keeps as
plain objects (probes, affinity, volumes, env, security contexts)."""
from __future__ import annotations

import pytest

from labkube.api import explain_docs
from labkube.api.resources import all_resources
from labkube.apiserver.openapi import document

COURSE_KINDS = ["Pod", "Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job", "CronJob", "Service",
                "ConfigMap", "Secret", "Namespace", "Node", "ResourceQuota", "LimitRange", "ServiceAccount",
                "PersistentVolumeClaim", "Role", "RoleBinding", "PriorityClass"]


@pytest.mark.parametrize("structure,texts", explain_docs.DOCUMENTED,
                         ids=[", ".join(sorted(t)[:2]) for _, t in explain_docs.DOCUMENTED])
def test_every_text_names_a_field_of_its_structure(structure, texts):
    assert set(texts) <= set(structure), set(texts) - set(structure)


def test_every_summary_is_of_a_served_kind():
    served = {r.kind for r in all_resources()}
    assert set(explain_docs.KINDS) <= served, set(explain_docs.KINDS) - served


def _schema(gv, kind):
    group = gv.split("/")[0] if "/" in gv else "core"
    version = gv.split("/")[-1]
    return document(gv)["components"]["schemas"][f"io.k8s.labkube.{group}.{version}.{kind}"]


@pytest.mark.parametrize("kind", COURSE_KINDS)
def test_course_kinds_have_their_own_summary(kind):
    (r,) = [r for r in all_resources() if r.kind == kind and not r.custom][:1]
    assert _schema(r.group_version, kind)["description"] == explain_docs.KINDS[kind]


def _walk(schema, path):
    for part in path.split("."):
        if schema.get("type") == "array":
            schema = schema["items"]
        schema = schema["properties"][part]
    return schema


WALKS = [  # (group-version, kind, path, what the field is, a word of its text)
    ("v1", "Pod", "spec.containers.image", {"type": "string"}, "image"),
    ("v1", "Pod", "spec.containers.livenessProbe.httpGet.port", {"x-kubernetes-int-or-string": True}, None),
    ("v1", "Pod", "spec.containers.readinessProbe.periodSeconds", {"type": "integer"}, "between checks"),
    ("v1", "Pod", "spec.containers.env.valueFrom.configMapKeyRef.key", {"type": "string"}, None),
    ("v1", "Pod", "spec.volumes.persistentVolumeClaim.claimName", {"type": "string"}, None),
    ("v1", "Pod", "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution.topologyKey",
     {"type": "string"}, "kubernetes.io/hostname"),
    ("v1", "Pod", "spec.tolerations.effect", {"type": "string"}, "NoExecute"),
    ("v1", "Pod", "spec.securityContext.runAsUser", {"type": "integer"}, "user id"),
    ("v1", "Service", "spec.ports.targetPort", {"x-kubernetes-int-or-string": True}, "container port"),
    ("v1", "ConfigMap", "data", {"type": "object"}, "configuration"),
    ("apps/v1", "Deployment", "spec.strategy.rollingUpdate.maxSurge", {"x-kubernetes-int-or-string": True},
     "percentage"),
    ("apps/v1", "Deployment", "spec.template.spec.containers.resources", {"type": "object"}, "requests"),
    ("batch/v1", "CronJob", "spec.jobTemplate.spec.template.spec.restartPolicy", {"type": "string"}, "OnFailure"),
    ("batch/v1", "CronJob", "spec.schedule", {"type": "string"}, "cron"),
]


@pytest.mark.parametrize("gv,kind,path,shape,word", WALKS, ids=[f"{k}.{p}" for _, k, p, _, _ in WALKS])
def test_explain_walks_to_the_field(gv, kind, path, shape, word):
    field = _walk(_schema(gv, kind), path)
    assert shape.items() <= field.items()
    if word:
        assert word in field["description"]
