"""The lab's ingress controller: serves networking.k8s.io/v1 Ingresses of the class `labkube`.

It runs inside kube-proxy on every node when proxy.yaml has `ingress:` set (config.py), and
listens on the node's lab address, ports 80 and 443. See README.md.
"""
