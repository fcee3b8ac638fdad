"""The field types of HorizontalPodAutoscaler specs in both versions (for the decoder's type
checks and the OpenAPI schemas `kubectl explain` walks), and what explain says about them.

Plain strings stand for the type names of `labkube.api.shape` (which cannot be imported here:
it imports these tables)."""
from __future__ import annotations

S, I, O = "string", "int", "object"
QTY = "quantity"   # shape treats unknown names as "anything"; a quantity is a string or a number

REF = {"kind": S, "name": S, "apiVersion": S}
TARGET = {"type": S, "averageUtilization": I, "averageValue": QTY, "value": QTY}
CURRENT = {"averageUtilization": I, "averageValue": QTY, "value": QTY}
IDENT = {"name": S, "selector": O}
POLICY = {"type": S, "value": I, "periodSeconds": I}
RULES = {"stabilizationWindowSeconds": I, "selectPolicy": S, "policies": [POLICY]}
BEHAVIOR = {"scaleUp": RULES, "scaleDown": RULES}
RESOURCE_SOURCE = {"name": S, "target": TARGET}
CONTAINER_SOURCE = {"name": S, "container": S, "target": TARGET}
PODS_SOURCE = {"metric": IDENT, "target": TARGET}
OBJECT_SOURCE = {"describedObject": REF, "metric": IDENT, "target": TARGET}
EXTERNAL_SOURCE = {"metric": IDENT, "target": TARGET}
METRIC = {"type": S, "resource": RESOURCE_SOURCE, "containerResource": CONTAINER_SOURCE, "pods": PODS_SOURCE,
          "object": OBJECT_SOURCE, "external": EXTERNAL_SOURCE}
V2_SPEC = {"scaleTargetRef": REF, "minReplicas": I, "maxReplicas": I, "metrics": [METRIC], "behavior": BEHAVIOR}
V1_SPEC = {"scaleTargetRef": REF, "minReplicas": I, "maxReplicas": I, "targetCPUUtilizationPercentage": I}

SPEC_DOCS = {
    "scaleTargetRef": "The object to scale (kind, name, apiVersion), e.g. a Deployment: it must have a "
                      "scale subresource.",
    "minReplicas": "The fewest replicas the autoscaler scales down to (default 1).",
    "maxReplicas": "The most replicas the autoscaler scales up to.",
    "metrics": "What to measure and what to aim for; with several, the largest proposal wins. Default: "
               "average CPU utilization of 80 %.",
    "behavior": "How fast to scale in each direction: stabilization windows and rate-limiting policies "
                "(default: up at once by up to max(100 %, 4 pods) per 15 s; down by up to 100 % per 15 s "
                "after a 300 s window).",
    "targetCPUUtilizationPercentage": "Average CPU use of the pods, in percent of what they request, to "
                                      "aim for (default 80).",
}
METRIC_DOCS = {
    "type": "Resource (cpu or memory of each pod, from the metrics-server), ContainerResource, Pods, "
            "Object or External.",
    "resource": "A resource of each pod, averaged over the target's pods: name (cpu or memory) and target.",
    "containerResource": "Like resource, for one named container of each pod.",
    "pods": "A custom metric averaged over the pods.",
    "object": "A custom metric of another object.",
    "external": "A metric from outside the cluster.",
}
TARGET_DOCS = {
    "type": "Utilization (percent of the request), AverageValue (a quantity per pod) or Value.",
    "averageUtilization": "Percent of the pods' requests to aim for (type Utilization).",
    "averageValue": "Quantity per pod to aim for, e.g. 200m or 256Mi (type AverageValue).",
    "value": "Total quantity to aim for (type Value).",
}
SOURCE_DOCS = {
    "name": "The resource: cpu or memory.",
    "container": "The container whose usage counts.",
    "target": "The value to aim for.",
    "metric": "The metric's name (and a label selector).",
    "describedObject": "The object the metric describes.",
}
BEHAVIOR_DOCS = {
    "scaleUp": "Rules for scaling up (default: no stabilization window; max(100 %, 4 pods) per 15 s).",
    "scaleDown": "Rules for scaling down (default: a 300 s stabilization window; 100 % per 15 s).",
}
RULES_DOCS = {
    "stabilizationWindowSeconds": "Seconds of past recommendations considered: scaling up takes their "
                                  "lowest, scaling down their highest, so short spikes do not flap "
                                  "(0-3600).",
    "selectPolicy": "Which policy's limit applies: Max (the largest change, default), Min (the smallest) "
                    "or Disabled (never scale in this direction).",
    "policies": "Limits on how much may change within a period.",
}
POLICY_DOCS = {
    "type": "Pods (a number of pods) or Percent (of the current replicas).",
    "value": "How many pods, or what percent, may change within the period (> 0).",
    "periodSeconds": "The length of the period, 1-1800 seconds.",
}
# (structure, its field texts) for labkube.api.explain_docs
DOCUMENTED = [(V2_SPEC, {k: v for k, v in SPEC_DOCS.items() if k in V2_SPEC}),
              (V1_SPEC, {k: v for k, v in SPEC_DOCS.items() if k in V1_SPEC}), (METRIC, METRIC_DOCS),
              (TARGET, TARGET_DOCS), (BEHAVIOR, BEHAVIOR_DOCS), (RULES, RULES_DOCS), (POLICY, POLICY_DOCS)] + [
    (src, {k: v for k, v in SOURCE_DOCS.items() if k in src})
    for src in (RESOURCE_SOURCE, CONTAINER_SOURCE, PODS_SOURCE, OBJECT_SOURCE, EXTERNAL_SOURCE)]
