"""labkube: the lab's own Kubernetes-style cluster (apiserver, scheduler, controllers, kubelet).

labkube never imports labctl.
"""
__version__ = "0.1.0"
# The Kubernetes version the cluster reports. Minor 31 makes the kubectl dispatcher run
# kubectl 1.31, which sends JSON request bodies (1.32 sends protobuf for `kubectl create <kind>`).
KUBE_VERSION = "v1.31.0"
