"""The smoke role runs labkube.smoke on the master by default, and from the control machine
(labctl's Python, the admin kubeconfig in the lab state dir) when smoke_from_control is set,
as the VM lab does. Fake interpreters record which one ran, with what arguments."""
from pathlib import Path

import pytest

from labctl.engine import run_playbook
from labctl.inventory import load_inventory

ROOT = Path(__file__).resolve().parents[3]

HOSTS = """\
all:
  vars:
    ansible_connection: local
  children:
    masters:
      hosts:
        m1: {}
    workers:
      hosts:
        w1: {}
        w2: {}
"""


def fake_python(path: Path, log: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\necho "$0 $*" >> {log}\necho "ok  nodes Ready"\n')
    path.chmod(0o755)
    return path


@pytest.mark.parametrize("from_control, interpreter, kubeconfig", [
    (False, "venv/bin/python", "kube/admin.kubeconfig"),
    (True, "control/python", "state/admin.kubeconfig"),
])
def test_smoke_client_runs_where_the_inventory_says(tmp_path, from_control, interpreter, kubeconfig):
    log = tmp_path / "ran.log"
    fake_python(tmp_path / "venv/bin/python", log)
    fake_python(tmp_path / "control/python", log)
    (tmp_path / "inv").mkdir()
    (tmp_path / "inv/hosts.yml").write_text(HOSTS)
    extra = {"kube_venv": str(tmp_path / "venv"), "kube_dir": str(tmp_path / "kube"),
             "lab_state_dir": str(tmp_path / "state"), "labctl_python": str(tmp_path / "control/python"),
             "smoke_from_control": from_control, "smoke_timeout": 77}
    events = []
    res = run_playbook(ROOT / "smoke.yml", load_inventory(tmp_path / "inv/hosts.yml"), extra_vars=extra,
                       callback=events.append)
    assert res.ok
    ran = log.read_text().splitlines()
    assert ran == [f"{tmp_path / interpreter} -m labkube.smoke --kubeconfig {tmp_path / kubeconfig} "
                   f"--min-nodes 3 --timeout 77"]
    shown = [e for e in events if e["event"] == "host_result" and e["task"] == "smoke : Show the smoke test results"]
    assert "ok  nodes Ready" in str(shown[0])
