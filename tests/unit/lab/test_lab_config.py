"""A broken inventory stops `labctl up` before anything is created, with one line naming
the file and what to fix, and exit status 2."""
import pytest

from labctl.cli.main import main
from labctl.errors import ConfigError
from labctl.lab import Lab

GOOD_ALL = "lab_name: t\nlab_subnet: 10.200.0.0/24\n"


def make_inventory(tmp_path, hosts_yml, all_vars=GOOD_ALL):
    inv = tmp_path / "inv"
    (inv / "group_vars").mkdir(parents=True)
    (inv / "hosts.yml").write_text(hosts_yml)
    (inv / "group_vars" / "all.yml").write_text(all_vars)
    return inv


@pytest.mark.parametrize("hosts_yml, all_vars, message", [
    ("all:\n  children:\n    workers:\n      hosts:\n        w1: {ansible_host: 10.200.0.11}\n",
     GOOD_ALL, "group 'masters' must hold exactly one host (found 0)"),
    ("all:\n  children:\n    masters:\n      hosts:\n        m1: {}\n",
     GOOD_ALL, "host m1 has no ansible_host"),
    ("all:\n  children:\n    masters:\n      hosts:\n        m1: {ansible_host: 10.200.0.10}\n",
     GOOD_ALL + "lab_provider: cloud\n", "lab_provider 'cloud' is not supported"),
    ("all:\n  children:\n    masters:\n      hosts: [m1\n", GOOD_ALL, "hosts.yml"),
])
def test_broken_inventories_are_refused_before_anything_runs(tmp_path, hosts_yml, all_vars, message):
    lab = Lab(make_inventory(tmp_path, hosts_yml, all_vars), state_dir=str(tmp_path / "state"))
    with pytest.raises(ConfigError) as err:
        lab.masters()
        lab.node_specs()
        lab.provider()
    assert message in str(err.value)
    assert "\n" not in str(err.value)
    assert not (tmp_path / "state").exists()


def test_cli_reports_config_errors_in_one_line_with_status_2(tmp_path, capsys):
    inv = make_inventory(tmp_path, "all:\n  hosts:\n    m1: {ansible_host: 10.200.0.10}\n")
    assert main(["up", "-i", str(inv)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("labctl up: ") and "masters" in err and len(err.splitlines()) == 1


def test_missing_inventory_is_a_usage_error(tmp_path, capsys):
    assert main(["status", "-i", str(tmp_path / "nope")]) == 2
    assert "no such inventory" in capsys.readouterr().err


def test_state_dir_follows_lab_name_unless_overridden(tmp_path, monkeypatch):
    inv = make_inventory(tmp_path, "all:\n  children:\n    masters:\n      hosts:\n        m1: {ansible_host: 10.200.0.10}\n")
    monkeypatch.delenv("LABCTL_STATE_DIR", raising=False)
    assert str(Lab(inv).state_dir) == "/var/lib/labctl/t"
    monkeypatch.setenv("LABCTL_STATE_DIR", str(tmp_path / "s"))
    assert Lab(inv).state_dir == tmp_path / "s"


def test_status_reads_services_from_the_supervisor_or_systemd():
    from labctl.lab import parse_services
    supervisor = '[{"name": "sshd", "active": true, "pid": 7}]'
    assert parse_services(supervisor) == [{"name": "sshd", "active": True, "pid": 7}]
    systemd = "labkube-kubelet active\nlabkube-proxy failed\n"
    assert [(s["name"], s["active"]) for s in parse_services(systemd)] == [
        ("labkube-kubelet", True), ("labkube-proxy", False)]
