"""Unit files as the node supervisor reads them (the same text systemd gets on VMs)."""
import pytest

from labctl.providers.netns.units import UnitError, parse_unit

GOOD = """\
[Unit]
Description=The labkube kubelet

[Service]
ExecStart=/var/lib/labkube/venv/bin/python -m labkube.kubelet --config /etc/labkube/kubelet.yaml
Environment="A=1" B=two
Restart=always
RestartSec=2s
TimeoutStopSec=15
"""


def write(tmp_path, text, name="labkube-kubelet.service"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_parses_what_the_lab_units_use(tmp_path):
    unit = parse_unit(write(tmp_path, GOOD))
    assert unit.name == "labkube-kubelet"
    assert unit.exec_start[-2:] == ["--config", "/etc/labkube/kubelet.yaml"]
    assert unit.environment == {"A": "1", "B": "two"}
    assert (unit.restart, unit.restart_sec, unit.timeout_stop_sec) == ("always", 2.0, 15.0)
    assert unit.description == "The labkube kubelet"


@pytest.mark.parametrize("text, message", [
    ("[Unit]\nDescription=x\n", "ExecStart= is required"),
    ("[Service]\nExecStart=/bin/true\nRestart=sometimes\n", "Restart=sometimes"),
    ("[Service]\nExecStart=/bin/true\nRestartSec=soon\n", "RestartSec='soon'"),
    ("no section header\n", "x.service"),
])
def test_bad_units_name_file_and_key(tmp_path, text, message):
    with pytest.raises(UnitError, match=message.replace("(", r"\(")) as err:
        parse_unit(write(tmp_path, text, "x.service"))
    assert "x.service" in str(err.value)
    assert "\n" not in str(err.value)
