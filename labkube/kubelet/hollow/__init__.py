"""Hollow nodes: many fake kubelets in one process (like KWOK), for scale tests.

`python -m labkube.kubelet.hollow --kubeconfig F --nodes 1000 --prefix hollow-` registers
N Nodes with Lease heartbeats and plays the kubelet's fake runtime for the pods bound to
them: one shared pod informer for all nodes (filtered by spec.nodeName), bound pods are
reported Running/Ready, graceful deletions are finished with the final DELETE.

| module | what |
| --- | --- |
| `node.py` | one hollow node: Node object/status (reusing `kubelet.node`), registration, Lease |
| `pods.py` | the shared pod informer and work queue: Running/Ready status, final DELETE |
| `lines.py` | pod watch lines read without managedFields, a status write from its tail (also the bench's tracker) |
| `fleet.py` | wires one client, N nodes and the pod handler; spreads heartbeats |
| `__main__.py` | command line |
"""
from .fleet import HollowFleet

__all__ = ["HollowFleet"]
