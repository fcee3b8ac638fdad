"""The kubelet's configuration file (/etc/labkube/kubelet.yaml, see docs/contracts.md).

`load_config(path)` returns a KubeletConfig or raises ConfigError whose message is one
line naming the file and the offending key.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, fields

import yaml


class ConfigError(ValueError):
    pass


@dataclass
class KubeletConfig:
    kubeconfig: str
    node_name: str
    node_ip: str
    pod_cidr: str
    node_labels: dict = field(default_factory=dict)
    register_with_taints: list = field(default_factory=list)
    root_dir: str = "/var/lib/labkube/kubelet"
    image_dir: str = "/var/lib/labkube/images"
    runtime: str = "crun"
    crun: str = "/usr/bin/crun"
    cni_bin_dir: str = "/usr/lib/cni"
    port: int = 10250
    tls_cert_file: str | None = None
    tls_private_key_file: str | None = None
    client_ca_file: str | None = None
    node_status_update_frequency: float = 10
    node_lease_duration_seconds: int = 40
    # not in the contract's example; optional with defaults
    cluster_dns: list = field(default_factory=lambda: ["10.96.0.10"])
    cluster_domain: str = "cluster.local"
    address: str = "0.0.0.0"
    max_pods: int = 110
    # registry domain -> where to pull it from instead, e.g. {"docker.io": "10.200.0.10:5000"}
    registry_mirrors: dict = field(default_factory=dict)
    # what /metrics/resource reports as the node's usage (resourcemetrics.py): "processes" (every
    # process of the node's PID namespace), "pods" (the sum of its pod cgroups) or "host"
    # (/proc/stat and /proc/meminfo: the whole kernel's)
    node_metrics: str = "processes"

    @property
    def pods_dir(self) -> str:
        return os.path.join(self.root_dir, "pods")


REQUIRED = ("kubeconfig", "node_name", "node_ip", "pod_cidr")
_TYPES = {"node_labels": dict, "register_with_taints": list, "cluster_dns": list, "registry_mirrors": dict,
          "port": int, "node_lease_duration_seconds": int, "max_pods": int,
          "node_status_update_frequency": (int, float)}


def _fail(path: str, key: str, what: str) -> ConfigError:
    return ConfigError(f"{path}: {key}: {what}")


def parse_config(doc, path: str = "kubelet config") -> KubeletConfig:
    if not isinstance(doc, dict):
        raise ConfigError(f"{path}: expected a mapping of settings")
    known = {f.name for f in fields(KubeletConfig)}
    for key in doc:
        if key not in known:
            raise _fail(path, key, f"unknown setting (known: {', '.join(sorted(known))})")
    for key in REQUIRED:
        if doc.get(key) in (None, ""):
            raise _fail(path, key, "is required")
    for key, typ in _TYPES.items():
        if key in doc and doc[key] is not None and (not isinstance(doc[key], typ) or isinstance(doc[key], bool)):
            raise _fail(path, key, f"must be a {typ.__name__ if isinstance(typ, type) else 'number'}")
    for key, val in doc.items():
        if key not in _TYPES and val is not None and not isinstance(val, str):
            raise _fail(path, key, "must be a string")
    if doc.get("node_metrics") not in (None, "processes", "pods", "host"):
        raise _fail(path, "node_metrics", f"{doc['node_metrics']!r} is not one of processes, pods, host")
    try:
        ipaddress.ip_address(doc["node_ip"])
    except ValueError:
        raise _fail(path, "node_ip", f"{doc['node_ip']!r} is not an IP address") from None
    try:
        ipaddress.ip_network(doc["pod_cidr"], strict=True)
    except ValueError as e:
        raise _fail(path, "pod_cidr", f"{doc['pod_cidr']!r} is not a network ({e})") from None
    cfg = KubeletConfig(**{k: v for k, v in doc.items() if v is not None})
    if cfg.runtime not in ("crun", "fake"):
        raise _fail(path, "runtime", f"{cfg.runtime!r} is not one of crun, fake")
    if not 0 < cfg.port < 65536:
        raise _fail(path, "port", f"{cfg.port} is not a TCP port")
    if cfg.node_status_update_frequency <= 0:
        raise _fail(path, "node_status_update_frequency", "must be positive")
    for i, t in enumerate(cfg.register_with_taints):
        if not isinstance(t, dict) or not t.get("key") or \
                t.get("effect") not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise _fail(path, f"register_with_taints[{i}]",
                        "needs key and effect NoSchedule|PreferNoSchedule|NoExecute")
    for k, v in cfg.node_labels.items():
        if not isinstance(k, str) or not isinstance(v, (str, type(None))):
            raise _fail(path, f"node_labels.{k}", "label values must be strings")
    cfg.node_labels = {k: (v or "") for k, v in cfg.node_labels.items()}
    if cfg.runtime == "crun" and not os.path.isabs(cfg.crun):
        raise _fail(path, "crun", "must be an absolute path")
    return cfg


def load_config(path: str) -> KubeletConfig:
    try:
        with open(path, encoding="utf-8") as f:
            doc = yaml.safe_load(f)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror}") from None
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}: not valid YAML{where}") from None
    return parse_config(doc, path)
