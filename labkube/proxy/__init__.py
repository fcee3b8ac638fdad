"""labkube.proxy: the iptables service proxy (kube-proxy), one per node, in the node's netns.

    python -m labkube.proxy --config /etc/labkube/proxy.yaml

model.py turns Services + Endpoints into service ports, rules.py renders the whole KUBE-*
ruleset as iptables-restore input, iptables.py applies it, proxier.py keeps it in sync.
"""
