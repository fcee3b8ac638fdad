"""What `kubectl explain` says: a line or two on each kind and on the fields a course uses,
written for this lab.

Field texts are keyed by the structures of the type table (`shape`), so a container's fields read
the same in a Pod, a Deployment's template and a CronJob's job template. The type table keeps
some fields as plain objects (probes, affinity, security contexts, volumes); `DETAIL` gives
explain those fields' insides, for reading only: the decoder's type checks do not use it.
"""
from __future__ import annotations

from . import shape
from .autoscaling import types as autoscaling

S, I, B, O, INTSTR = shape.S, shape.I, shape.B, shape.O, shape.INTSTR

KINDS = {
    "Pod": "The smallest thing the cluster runs: one or more containers that share a network address, "
           "volumes and a lifetime, placed together on one node. Usually made by a controller "
           "(Deployment, Job, DaemonSet, StatefulSet) rather than by hand.",
    "Deployment": "Keeps a number of identical pods running from a template and changes them gradually: "
                  "each template change makes a new ReplicaSet and shifts pods to it (a rolling update) "
                  "that can be paused, resumed and rolled back.",
    "ReplicaSet": "Keeps a given number of pods matching its selector running, creating or deleting pods "
                  "from its template. Deployments manage ReplicaSets; you rarely make one yourself.",
    "StatefulSet": "Runs pods with stable names (web-0, web-1 ...), a stable DNS name each through a headless "
                   "Service, and a volume claim each that survives the pod. Pods start in order and are "
                   "updated from the highest ordinal down.",
    "DaemonSet": "Runs one copy of a pod on every node that matches (and tolerates) it: node agents, log "
                 "collectors, network helpers. Nodes that join get a pod; nodes that leave lose theirs.",
    "HorizontalPodAutoscaler": "Scales a Deployment, ReplicaSet or StatefulSet between minReplicas and "
                               "maxReplicas so that measured metrics (cpu or memory per pod, from the "
                               "metrics-server) stay near their targets; `behavior` sets how fast it scales.",
    "Job": "Runs pods until a number of them finish successfully, retrying failures up to a limit.",
    "CronJob": "Creates a Job on a repeating schedule written in cron syntax.",
    "Service": "A stable virtual address and DNS name in front of the pods its selector picks; traffic to "
               "it is spread over the ready ones. Types: ClusterIP, NodePort, LoadBalancer, ExternalName.",
    "ConfigMap": "Plain configuration as key/value pairs, handed to pods as environment variables or as "
                 "files in a volume.",
    "Secret": "Like a ConfigMap, for credentials and keys: values are base64 in `data` (or plain text in "
              "`stringData` when writing) and pods read them as variables or files.",
    "Namespace": "A named scope for objects: names must be unique inside one, and quotas, limits and access "
                 "rules apply per namespace. Deleting one deletes everything in it.",
    "Node": "A machine (here: a network-namespace node or a VM) the kubelet registered to run pods. Its "
            "status says whether it is Ready; taints and `unschedulable` keep pods off it.",
    "ResourceQuota": "Caps what a namespace may use in total: object counts and the sum of cpu/memory "
                     "requests and limits. A create that would go over is refused with 403.",
    "LimitRange": "Per-container (or per-pod) defaults, minimums and maximums of cpu and memory in a "
                  "namespace, applied when pods are created.",
    "ServiceAccount": "An identity for processes in pods. Pods run as one (`default` unless named) and get "
                      "its API token mounted.",
    "Endpoints": "The addresses and ports of the ready pods behind a Service, kept by the endpoints "
                 "controller.",
    "Event": "A record of something that happened to an object (Scheduled, Pulled, Started, Killing, "
             "BackOff ...), shown by `kubectl describe` and `kubectl get events`.",
    "PersistentVolumeClaim": "A pod's request for storage of a size and access mode; it binds to a "
                             "PersistentVolume and pods mount the claim by name.",
    "PersistentVolume": "A piece of storage in the cluster that one claim at a time can bind to.",
    "Ingress": "HTTP routing rules (host and path) from outside the cluster to Services.",
    "Role": "A set of permissions (verbs on resources) inside one namespace.",
    "ClusterRole": "A set of permissions across the cluster, or a reusable one bound per namespace.",
    "RoleBinding": "Grants a Role's (or a ClusterRole's) permissions to users, groups or ServiceAccounts in "
                   "one namespace.",
    "ClusterRoleBinding": "Grants a ClusterRole's permissions cluster-wide.",
    "PriorityClass": "A named pod priority: higher ones are scheduled first and may preempt lower ones.",
    "Lease": "A small record renewed to say 'still here': node heartbeats and leader election use them.",
}

META = {
    "name": "The object's name, unique per kind within its namespace.",
    "generateName": "A prefix for the server to make a unique name from, when `name` is empty.",
    "namespace": "The namespace the object lives in (empty for cluster-wide kinds).",
    "uid": "A unique id the server gives the object when it is created.",
    "resourceVersion": "The version of this copy of the object, for optimistic concurrency and watches.",
    "generation": "How many times the desired state (spec) has changed.",
    "labels": "Key/value pairs selectors match on: Services, controllers and `kubectl get -l` find objects "
              "by them.",
    "annotations": "Key/value notes for tools and people, not used for selection.",
    "finalizers": "Names of cleanups that must finish before the object is really deleted.",
    "ownerReferences": "The objects this one belongs to; deleting the owner deletes it too (garbage "
                       "collection).",
}

CONTAINER = {
    "name": "The container's name, unique within the pod.",
    "image": "The image to run, e.g. nginx or busybox:1.36.",
    "command": "The program to run, replacing the image's ENTRYPOINT.",
    "args": "Arguments to the program, replacing the image's CMD.",
    "workingDir": "The directory the program starts in.",
    "imagePullPolicy": "When to fetch the image: Always, IfNotPresent or Never.",
    "ports": "Ports the container listens on (informative; named ones can be a Service's targetPort).",
    "env": "Environment variables, given directly or taken from ConfigMaps, Secrets and pod fields.",
    "envFrom": "Every key of a ConfigMap or Secret as an environment variable.",
    "resources": "cpu and memory the container asks for (requests, used for scheduling) and may use at "
                 "most (limits).",
    "volumeMounts": "Where the pod's volumes appear in this container's file system.",
    "livenessProbe": "A check run periodically; when it fails often enough the container is restarted.",
    "readinessProbe": "A check run periodically; while it fails the pod gets no Service traffic.",
    "startupProbe": "A check that must pass before the other probes start (for slow starters).",
    "lifecycle": "Hooks run right after the container starts and just before it is stopped.",
    "securityContext": "User, group and privilege settings for this container.",
    "terminationMessagePath": "A file whose contents become the container's termination message.",
    "terminationMessagePolicy": "File, or FallbackToLogsOnError to use the log's tail when the file is "
                                "empty.",
    "stdin": "Keep standard input open (for `kubectl attach`).",
    "stdinOnce": "Close standard input after the first attached session ends.",
    "tty": "Give the container a terminal (with stdin, for interactive shells).",
}

POD_SPEC = {
    "containers": "The containers of the pod; at least one.",
    "initContainers": "Containers run one after another to completion before the main containers start.",
    "volumes": "Storage the containers can mount: emptyDir, configMap, secret, persistentVolumeClaim, "
               "hostPath ...",
    "restartPolicy": "When containers are restarted: Always (the default), OnFailure or Never. Jobs use "
                     "OnFailure or Never.",
    "terminationGracePeriodSeconds": "Seconds between the stop signal and the kill when the pod is deleted.",
    "activeDeadlineSeconds": "Seconds the pod may run before it is marked failed.",
    "dnsPolicy": "How DNS is set up in the pod: ClusterFirst (the cluster's DNS), Default, None ...",
    "nodeSelector": "Labels a node must have for the pod to be placed on it.",
    "serviceAccountName": "The ServiceAccount the pod runs as.",
    "serviceAccount": "Older name of serviceAccountName.",
    "nodeName": "The node the pod runs on; set by the scheduler (setting it yourself skips scheduling).",
    "hostNetwork": "Use the node's network namespace instead of the pod's own.",
    "hostPID": "Share the node's process ids.",
    "hostIPC": "Share the node's IPC namespace.",
    "schedulerName": "The scheduler that places this pod.",
    "priority": "The pod's priority, filled in from its PriorityClass.",
    "priorityClassName": "The PriorityClass that gives the pod its priority.",
    "tolerations": "Taints the pod accepts: a node's NoSchedule/NoExecute taints keep off pods that do not "
                   "tolerate them.",
    "securityContext": "User, group and file-system settings for every container of the pod.",
    "affinity": "Rules placing the pod by node labels (nodeAffinity) and near to or away from other pods "
                "(podAffinity, podAntiAffinity).",
    "imagePullSecrets": "Secrets holding registry credentials for pulling the images.",
    "readinessGates": "Extra pod conditions that must be true for the pod to count as ready.",
    "hostname": "The pod's hostname (the pod's name by default).",
    "subdomain": "With a headless Service of this name: the pod's DNS name is hostname.subdomain.",
    "enableServiceLinks": "Put every Service of the namespace into the environment (default true).",
    "automountServiceAccountToken": "Mount the ServiceAccount's API token into the containers.",
    "preemptionPolicy": "PreemptLowerPriority (default) or Never: whether this pod may evict lower-priority "
                        "pods to fit.",
}

TEMPLATE = {
    "metadata": "Labels and annotations every pod made from the template gets (they must match the "
                "selector).",
    "spec": "The spec of every pod made from the template.",
}

SELECTOR = {
    "matchLabels": "Labels an object must have, all of them.",
    "matchExpressions": "Conditions on labels (In, NotIn, Exists, DoesNotExist), all of which must hold.",
}

WORKLOAD_SPEC = {
    "replicas": "How many pods to keep running.",
    "selector": "Which pods belong to this controller; must match the template's labels.",
    "template": "The pod every replica is made from.",
    "minReadySeconds": "Seconds a new pod must stay ready before it counts as available.",
    "revisionHistoryLimit": "How many old revisions to keep for rollbacks.",
    "paused": "Deployment: stop rolling out template changes until resumed.",
    "progressDeadlineSeconds": "Deployment: seconds a rollout may make no progress before it is reported "
                               "as failed (Progressing=False).",
    "serviceName": "StatefulSet: the headless Service that gives each pod its DNS name.",
    "strategy": "Deployment: how pods are replaced: RollingUpdate (default) or Recreate.",
    "updateStrategy": "DaemonSet/StatefulSet: RollingUpdate (default) or OnDelete.",
    "podManagementPolicy": "StatefulSet: OrderedReady (one at a time, in order) or Parallel.",
    "volumeClaimTemplates": "StatefulSet: claims made per pod (www-web-0, www-web-1 ...) and kept when pods "
                            "go.",
}

STRATEGY = {
    "type": "RollingUpdate replaces pods a few at a time; Recreate stops all old pods first.",
    "rollingUpdate": "Limits of a rolling update.",
}

ROLLING_UPDATE = {
    "maxSurge": "How many pods over `replicas` may exist during the update (a number or a percentage).",
    "maxUnavailable": "How many pods under `replicas` may be unavailable during the update (a number or a "
                      "percentage).",
}

JOB_SPEC = {
    "parallelism": "How many pods may run at the same time.",
    "completions": "How many pods must finish successfully for the Job to be complete.",
    "backoffLimit": "How many failures are retried (with growing delays) before the Job fails.",
    "activeDeadlineSeconds": "Seconds the Job may run in all before it is failed and its pods stopped.",
    "suspend": "Stop creating pods (and stop running ones) until set back to false.",
    "selector": "Which pods belong to the Job (set by the server unless manualSelector).",
    "manualSelector": "Use your own selector instead of the generated one.",
    "template": "The pod the Job runs; restartPolicy must be OnFailure or Never.",
    "ttlSecondsAfterFinished": "Delete the Job this many seconds after it finishes.",
    "completionMode": "NonIndexed (default) or Indexed: each pod gets a completion index 0..completions-1.",
}

CRONJOB_SPEC = {
    "schedule": "When to run, in cron syntax: minute hour day-of-month month day-of-week, e.g. */5 * * * *.",
    "timeZone": "The time zone the schedule is read in (UTC by default).",
    "concurrencyPolicy": "What to do when a run is due while the last one still runs: Allow, Forbid or "
                         "Replace.",
    "suspend": "Skip new runs until set back to false.",
    "successfulJobsHistoryLimit": "How many finished Jobs to keep.",
    "failedJobsHistoryLimit": "How many failed Jobs to keep.",
    "jobTemplate": "The Job each run creates.",
}

SERVICE_SPEC = {
    "type": "ClusterIP (inside the cluster), NodePort (also on a port of every node), LoadBalancer (also "
            "on an external address) or ExternalName (a DNS alias).",
    "clusterIP": "The Service's virtual address; None makes a headless Service (DNS names the pods).",
    "clusterIPs": "The Service's addresses (one per IP family).",
    "selector": "Labels of the pods that receive the traffic.",
    "sessionAffinity": "ClientIP sends a client's connections to the same pod; None (default) spreads them.",
    "externalIPs": "Extra addresses the Service answers on.",
    "externalName": "For type ExternalName: the DNS name the Service stands for.",
    "ports": "The ports the Service offers and where each goes.",
}

SERVICE_PORT = {
    "port": "The port on the Service's address.",
    "targetPort": "The pod port traffic goes to: a number, or the name of a container port.",
    "nodePort": "For NodePort/LoadBalancer: the port on every node (30000-32767, picked when empty).",
    "protocol": "TCP (default), UDP or SCTP.",
    "name": "The port's name; required when there are several.",
}

TOLERATION = {
    "key": "The taint key this toleration matches (empty with Exists: every taint).",
    "operator": "Equal (default: key and value match) or Exists (any value).",
    "value": "The taint value to match with Equal.",
    "effect": "The taint effect to match: NoSchedule, PreferNoSchedule or NoExecute (empty: all).",
    "tolerationSeconds": "For NoExecute: how long the pod stays on a node after the taint appears.",
}

NODE_SPEC = {
    "taints": "Marks that keep pods without a matching toleration off the node (NoSchedule), away from it "
              "(PreferNoSchedule) or evict them (NoExecute). `kubectl taint` sets them.",
    "unschedulable": "No new pods are placed on the node (`kubectl cordon`).",
    "podCIDR": "The address range the node's pods get their addresses from.",
    "podCIDRs": "The node's pod address ranges.",
}

TOP = {
    "configmaps": {"data": "The configuration: keys are file or variable names, values are text.",
                   "binaryData": "Keys with base64-encoded binary values.",
                   "immutable": "When true, the data can no longer be changed (only the object deleted)."},
    "secrets": {"data": "The secret values, base64-encoded.",
                "stringData": "Values written as plain text; the server stores them base64-encoded in data.",
                "type": "What the secret holds: Opaque (default), kubernetes.io/tls, "
                        "kubernetes.io/dockerconfigjson, kubernetes.io/service-account-token ...",
                "immutable": "When true, the data can no longer be changed."},
}

QUOTA_SPEC = {"hard": "The limits: pods, services, configmaps, requests.cpu, requests.memory, limits.cpu, "
                      "limits.memory ..."}

PROBE = {
    "exec": {"command": [S]},
    "httpGet": {"path": S, "port": INTSTR, "host": S, "scheme": S,
                "httpHeaders": [{"name": S, "value": S}]},
    "tcpSocket": {"port": INTSTR, "host": S},
    "initialDelaySeconds": I, "periodSeconds": I, "timeoutSeconds": I, "successThreshold": I,
    "failureThreshold": I, "terminationGracePeriodSeconds": I,
}
PROBE_DOCS = {
    "exec": "Run a command in the container; exit status 0 is success.",
    "httpGet": "GET a path on the pod's address; a 2xx or 3xx answer is success.",
    "tcpSocket": "Open a TCP connection to a port; connecting is success.",
    "initialDelaySeconds": "Seconds after the container starts before the first check.",
    "periodSeconds": "Seconds between checks (default 10).",
    "timeoutSeconds": "Seconds a check may take (default 1).",
    "successThreshold": "Successes in a row that count as passing after a failure (default 1).",
    "failureThreshold": "Failures in a row that count as failing (default 3).",
    "terminationGracePeriodSeconds": "Grace period when a failing liveness probe restarts the container.",
}
NODE_SELECTOR_TERM = {"matchExpressions": [{"key": S, "operator": S, "values": [S]}],
                      "matchFields": [{"key": S, "operator": S, "values": [S]}]}
POD_AFFINITY_TERM = {"labelSelector": shape.SELECTOR, "topologyKey": S, "namespaces": [S]}
AFFINITY = {
    "nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [NODE_SELECTOR_TERM]},
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": I, "preference": NODE_SELECTOR_TERM}]},
    "podAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [POD_AFFINITY_TERM],
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": I, "podAffinityTerm": POD_AFFINITY_TERM}]},
    "podAntiAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": [POD_AFFINITY_TERM],
        "preferredDuringSchedulingIgnoredDuringExecution": [{"weight": I, "podAffinityTerm": POD_AFFINITY_TERM}]},
}
AFFINITY_DOCS = {
    "nodeAffinity": "Which nodes the pod may or would rather run on, by node labels.",
    "podAffinity": "Run the pod in the same topology domain (node, zone ...) as pods matching a selector.",
    "podAntiAffinity": "Keep the pod out of topology domains that have pods matching a selector.",
}
RULE_DOCS = {
    "requiredDuringSchedulingIgnoredDuringExecution": "Hard rules: the pod is not placed where they do not "
                                                      "hold.",
    "preferredDuringSchedulingIgnoredDuringExecution": "Soft rules with weights (1-100): placement favours "
                                                       "where they hold.",
}
POD_AFFINITY_TERM_DOCS = {
    "labelSelector": "The pods this term is about.",
    "topologyKey": "The node label that defines 'the same place', e.g. kubernetes.io/hostname (same node).",
    "namespaces": "Namespaces of those pods (the pod's own by default).",
}
VOLUME = {
    "name": S,
    "emptyDir": {"medium": S, "sizeLimit": S},
    "configMap": {"name": S, "items": [{"key": S, "path": S}], "defaultMode": I, "optional": B},
    "secret": {"secretName": S, "items": [{"key": S, "path": S}], "defaultMode": I, "optional": B},
    "persistentVolumeClaim": {"claimName": S, "readOnly": B},
    "hostPath": {"path": S, "type": S},
    "projected": {"sources": [O], "defaultMode": I},
    "downwardAPI": {"items": [O]},
}
VOLUME_DOCS = {
    "name": "The volume's name, used by the containers' volumeMounts.",
    "emptyDir": "An empty directory made for the pod and removed with it.",
    "configMap": "A ConfigMap's keys as files.",
    "secret": "A Secret's keys as files.",
    "persistentVolumeClaim": "The storage bound to a PersistentVolumeClaim in the pod's namespace.",
    "hostPath": "A file or directory of the node.",
    "projected": "Several sources (ServiceAccount token, ConfigMaps, Secrets ...) in one directory.",
    "downwardAPI": "The pod's own fields (labels, annotations ...) as files.",
}
ENV_VAR = {"name": S, "value": S, "valueFrom": {
    "configMapKeyRef": {"name": S, "key": S, "optional": B},
    "secretKeyRef": {"name": S, "key": S, "optional": B},
    "fieldRef": {"fieldPath": S},
    "resourceFieldRef": {"containerName": S, "resource": S}}}
ENV_VAR_DOCS = {
    "name": "The variable's name.",
    "value": "The variable's value (may use $(OTHER_VARIABLE)).",
    "valueFrom": "Take the value from a ConfigMap key, a Secret key, a pod field (metadata.name, "
                 "status.podIP ...) or a container's resources.",
}
SECURITY_CONTEXT = {"runAsUser": I, "runAsGroup": I, "runAsNonRoot": B, "fsGroup": I,
                    "readOnlyRootFilesystem": B, "privileged": B, "allowPrivilegeEscalation": B,
                    "capabilities": {"add": [S], "drop": [S]}}
SECURITY_CONTEXT_DOCS = {
    "runAsUser": "The user id the processes run as.",
    "runAsGroup": "The group id the processes run as.",
    "runAsNonRoot": "Refuse to start a container whose user would be root.",
    "fsGroup": "Pod: a group that owns the pod's volumes.",
    "readOnlyRootFilesystem": "Container: mount the image's file system read-only.",
    "privileged": "Container: run with all the node's privileges.",
    "allowPrivilegeEscalation": "Container: whether a process may gain more privileges than its parent.",
    "capabilities": "Container: Linux capabilities to add or drop.",
}


# (structure of the type table, field) -> the explain-only structure explain shows for it
DETAIL = {
    (id(shape.CONTAINER), "livenessProbe"): PROBE,
    (id(shape.CONTAINER), "readinessProbe"): PROBE,
    (id(shape.CONTAINER), "startupProbe"): PROBE,
    (id(shape.CONTAINER), "securityContext"): SECURITY_CONTEXT,
    (id(shape.POD_SPEC), "securityContext"): SECURITY_CONTEXT,
    (id(shape.POD_SPEC), "affinity"): AFFINITY,
    (id(shape.POD_SPEC), "volumes"): [VOLUME],
    (id(shape.CONTAINER), "env"): [ENV_VAR],
}

# each structure with its field texts
DOCUMENTED = [
    (shape.META, META), (shape.CONTAINER, CONTAINER), (shape.POD_SPEC, POD_SPEC), (shape.TEMPLATE, TEMPLATE),
    (shape.SELECTOR, SELECTOR), (shape.WORKLOAD_SPEC, WORKLOAD_SPEC),
    (shape.WORKLOAD_SPEC["strategy"], STRATEGY), (shape.WORKLOAD_SPEC["strategy"]["rollingUpdate"], ROLLING_UPDATE),
    (shape.JOB_SPEC, JOB_SPEC), (shape.SPEC["cronjobs"], CRONJOB_SPEC), (shape.SPEC["services"], SERVICE_SPEC),
    (shape.SPEC["services"]["ports"][0], SERVICE_PORT), (shape.POD_SPEC["tolerations"][0], TOLERATION),
    (shape.SPEC["nodes"], NODE_SPEC), (shape.SPEC["resourcequotas"], QUOTA_SPEC),
    (PROBE, PROBE_DOCS), (SECURITY_CONTEXT, SECURITY_CONTEXT_DOCS), (AFFINITY, AFFINITY_DOCS),
    (VOLUME, VOLUME_DOCS), (ENV_VAR, ENV_VAR_DOCS), (AFFINITY["nodeAffinity"], RULE_DOCS), (AFFINITY["podAffinity"], RULE_DOCS),
    (AFFINITY["podAntiAffinity"], RULE_DOCS), (POD_AFFINITY_TERM, POD_AFFINITY_TERM_DOCS),
] + [(shape.TOP[resource], texts) for resource, texts in TOP.items()] + autoscaling.DOCUMENTED

# field texts by structure identity: a structure shared by several kinds reads the same in each
FIELDS = {id(structure): texts for structure, texts in DOCUMENTED}
