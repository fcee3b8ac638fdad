"""The lab's metrics-server: scrapes every Ready node's kubelet (`/metrics/resource`), keeps
the latest window of CPU rates and memory working sets in memory and serves them as
`metrics.k8s.io/v1beta1` NodeMetrics and PodMetrics, behind the apiserver's aggregation layer
(labkube/apiserver/aggregator.py). `python -m labkube.metrics --config /etc/labkube/metrics.yaml`.
"""
