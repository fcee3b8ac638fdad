"""Test helper: a whole labkube cluster as local processes on 127.0.0.1, no root needed.

labkube.testing.LocalCluster (apiserver + scheduler + controller-manager) plus one kubelet
per node on the kubelet's "fake" runtime (hollow nodes: pods get IPs and run, but write no
logs). The first node is the control plane (label + NoSchedule taint). Logs of every process
are kept in the directory.
"""
from __future__ import annotations

import os

from labkube.testing import LocalCluster, free_port

CP = "node-role.kubernetes.io/control-plane"


class HollowCluster(LocalCluster):
    def __init__(self, d, nodes=("m-k8s", "w1-k8s", "w2-k8s"), kubelets=True, controllers_cfg=None):
        super().__init__(d, controllers_cfg=controllers_cfg)
        self.nodes = nodes if kubelets else ()

    def start(self) -> "HollowCluster":
        super().start()
        pki = {name: os.path.join(self.d, name) for name in ("ca.crt", "server.crt", "server.key")}
        for i, name in enumerate(self.nodes):
            cfg = {"kubeconfig": self.kubeconfig, "node_name": name, "node_ip": "127.0.0.1",
                   "pod_cidr": f"10.244.{i + 1}.0/24", "root_dir": os.path.join(self.d, name, "kubelet"),
                   "image_dir": os.path.join(self.d, name, "images"), "runtime": "fake", "port": free_port(),
                   "address": "127.0.0.1", "tls_cert_file": pki["server.crt"],
                   "tls_private_key_file": pki["server.key"], "client_ca_file": pki["ca.crt"],
                   "node_status_update_frequency": 2}
            if i == 0:
                cfg["node_labels"] = {CP: ""}
                cfg["register_with_taints"] = [{"key": CP, "effect": "NoSchedule"}]
            self.spawn(f"kubelet-{name}", ["-m", "labkube.kubelet", "--config",
                                           self._write(f"kubelet-{name}.yaml", cfg)])
        return self
