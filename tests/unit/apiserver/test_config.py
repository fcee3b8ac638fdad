"""Apiserver config parsing: required keys, files, storage section, one-line errors."""
import pytest

from labkube.apiserver.config import ConfigError, load_config, parse_config


@pytest.fixture
def files(tmp_path):
    for n in ("c.crt", "c.key", "ca.crt"):
        (tmp_path / n).write_text("x")
    return {"tls_cert_file": str(tmp_path / "c.crt"), "tls_private_key_file": str(tmp_path / "c.key"),
            "client_ca_file": str(tmp_path / "ca.crt"), "storage": {"backend": "sqlite", "path": str(tmp_path / "r.db")}}


def test_valid_config_and_defaults(files):
    cfg = parse_config({**files, "bind_address": "10.200.0.10", "watch_history": "50"})
    assert cfg.secure_port == 6443 and cfg.watch_history == 50
    assert cfg.listen_addresses == ["10.200.0.10", "127.0.0.1"]
    assert cfg.service_cluster_ip_range == "10.96.0.0/12"


@pytest.mark.parametrize("change,needle", [
    ({"tls_cert_file": None}, "tls_cert_file is required"),
    ({"storage": {"backend": "etcd"}}, "storage must be"),
    ({"client_ca_file": "/nonexistent/ca.crt"}, "client_ca_file: no such file"),
    ({"service_cluster_ip_range": "10.96.0.0/99"}, "service_cluster_ip_range"),
    ({"secure_port": "https"}, "must be integers"),
])
def test_bad_configs_say_what_is_wrong(files, change, needle):
    with pytest.raises(ConfigError) as e:
        parse_config({**files, **change})
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_load_config_errors(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config"):
        load_config(str(tmp_path / "missing.yaml"))
    (tmp_path / "bad.yaml").write_text("a: [")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(str(tmp_path / "bad.yaml"))
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(ConfigError, match="must be a YAML mapping"):
        load_config(str(tmp_path / "list.yaml"))
