"""labkube.dns: the cluster DNS server (dnslib), one per master, on the master's node address.

    python -m labkube.dns --config /etc/labkube/dns.yaml

records.py builds the cluster's records from Services, Endpoints and Pods, zone.py answers
a question from them (pure, no sockets), server.py speaks DNS over UDP and TCP with dnslib,
kubedns.py keeps the `kube-system/kube-dns` Service and its Endpoints that route the DNS
ClusterIP (10.96.0.10) to this server through kube-proxy.
"""
