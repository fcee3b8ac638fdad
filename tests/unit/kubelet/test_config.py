"""Kubelet config loading: defaults, and one-line errors that name the key."""
from __future__ import annotations

import pytest
import yaml

from labkube.kubelet.__main__ import main
from labkube.kubelet.config import ConfigError, load_config

GOOD = {"kubeconfig": "/etc/labkube/kubelet.kubeconfig", "node_name": "w1-k8s", "node_ip": "10.200.0.11",
        "pod_cidr": "10.244.2.0/24", "node_labels": {"node-role.kubernetes.io/control-plane": ""},
        "register_with_taints": [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
        "root_dir": "/var/lib/labkube/kubelet", "image_dir": "/var/lib/labkube/images", "runtime": "crun",
        "crun": "/usr/bin/crun", "cni_bin_dir": "/usr/lib/cni", "port": 10250,
        "tls_cert_file": "/etc/labkube/pki/kubelet-serving.crt",
        "tls_private_key_file": "/etc/labkube/pki/kubelet-serving.key",
        "client_ca_file": "/etc/labkube/pki/ca.crt", "node_status_update_frequency": 10,
        "node_lease_duration_seconds": 40}


def _write(tmp_path, doc):
    p = tmp_path / "kubelet.yaml"
    p.write_text(yaml.safe_dump(doc) if not isinstance(doc, str) else doc)
    return str(p)


def test_contract_example_loads(tmp_path):
    cfg = load_config(_write(tmp_path, GOOD))
    assert cfg.node_name == "w1-k8s" and cfg.port == 10250
    assert cfg.node_labels == {"node-role.kubernetes.io/control-plane": ""}
    assert cfg.max_pods == 110
    assert cfg.node_metrics == "processes"


@pytest.mark.parametrize("change,key", [
    ({"node_name": None}, "node_name"),
    ({"node_ip": "10.200.0"}, "node_ip"),
    ({"pod_cidr": "10.244.2.1/24"}, "pod_cidr"),
    ({"runtime": "docker"}, "runtime"),
    ({"port": "ten"}, "port"),
    ({"port": 70000}, "port"),
    ({"register_with_taints": [{"key": "x", "effect": "Sometimes"}]}, "register_with_taints[0]"),
    ({"bogus": 1}, "bogus"),
    ({"node_status_update_frequency": 0}, "node_status_update_frequency"),
    ({"node_metrics": "cluster"}, "node_metrics"),
])
def test_bad_config_names_the_key(tmp_path, change, key):
    doc = {**GOOD, **change}
    doc = {k: v for k, v in doc.items() if not (k == "node_name" and v is None)}
    path = _write(tmp_path, doc)
    with pytest.raises(ConfigError) as e:
        load_config(path)
    msg = str(e.value)
    assert "\n" not in msg and f"{key}:" in msg and path in msg


def test_bad_yaml_and_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(_write(tmp_path, "a: [b"))
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(str(tmp_path / "nope.yaml"))


def test_main_exits_2_with_one_line(tmp_path, capsys):
    assert main(["--config", _write(tmp_path, {**GOOD, "runtime": "docker"})]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "runtime" in err


def test_main_checks_referenced_files(tmp_path, capsys):
    doc = {**GOOD, "kubeconfig": str(tmp_path / "missing.kubeconfig"), "tls_cert_file": None,
           "tls_private_key_file": None, "client_ca_file": None}
    assert main(["--config", _write(tmp_path, doc)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "kubeconfig:" in err
    doc["tls_cert_file"] = str(tmp_path / "nope.crt")
    assert main(["--config", _write(tmp_path, doc)]) == 2
    assert "tls_cert_file: cannot read" in capsys.readouterr().err
