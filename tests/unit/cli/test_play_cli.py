"""`labctl play`: the ansible-playbook options (--syntax-check, --list-hosts, --list-tasks,
--start-at-task, -v, -t/--skip-tags, -e) over a local-connection inventory; and the lab's
own site.yml through `ansible-playbook --syntax-check` (skipped without ansible-core)."""
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from labctl.cli.main import main

ROOT = Path(__file__).resolve().parents[3]
ANSIBLE = shutil.which("ansible-playbook") or str(Path(sys.executable).parent / "ansible-playbook")

INVENTORY = """\
all:
  vars:
    ansible_connection: local
  children:
    web:
      hosts:
        h1: {}
        h2: {}
    db:
      hosts:
        h3: {}
"""

PLAYBOOK = """\
- name: Web
  hosts: web
  gather_facts: false
  tasks:
    - name: first
      debug: {msg: "one {{ greeting | default('hi') }}"}
      tags: [a]
    - name: second
      command: "true"
      changed_when: false
      tags: [b]
    - name: third
      debug: {msg: three}
- name: Db
  hosts: db
  gather_facts: false
  tasks:
    - name: only db
      debug: {msg: db}
      tags: [a]
"""


@pytest.fixture
def tree(tmp_path, monkeypatch):
    (tmp_path / "hosts.yml").write_text(INVENTORY)
    (tmp_path / "site.yml").write_text(PLAYBOOK)
    monkeypatch.setenv("LABCTL_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def play(*argv):
    return main(["play", "-i", "hosts.yml", *argv])


def test_syntax_check_ok(tree, capsys):
    assert play("--syntax-check", "site.yml") == 0
    assert "playbook: site.yml" in capsys.readouterr().out


def test_syntax_check_names_file_and_line(tree, capsys):
    (tree / "bad.yml").write_text("- hosts: all\n  tasks:\n    - name: x\n      no_such_module: {}\n")
    rc = play("--syntax-check", "bad.yml")
    err = capsys.readouterr().err
    assert rc != 0
    assert "bad.yml:" in err and "no_such_module" in err


def test_syntax_check_needs_no_inventory(tree, capsys):
    assert main(["play", "-i", "missing-inventory", "--syntax-check", "site.yml"]) == 0


def test_list_hosts(tree, capsys):
    assert play("--list-hosts", "site.yml") == 0
    out = capsys.readouterr().out
    assert "play #1 (web): Web" in out and "hosts (2):" in out and "play #2 (db): Db" in out
    assert out.index("h1") < out.index("h2") < out.index("h3")
    assert play("--list-hosts", "-l", "h2", "site.yml") == 0
    out = capsys.readouterr().out
    assert "h1" not in out and "h2" in out and "hosts (0):" in out


def test_list_tasks_with_tags(tree, capsys):
    assert play("--list-tasks", "site.yml") == 0
    out = capsys.readouterr().out
    for name in ("first", "second", "third", "only db"):
        assert name in out
    assert play("--list-tasks", "-t", "a", "site.yml") == 0
    out = capsys.readouterr().out
    assert "first" in out and "only db" in out and "second" not in out and "third" not in out
    assert play("--list-tasks", "--skip-tags", "a,b", "site.yml") == 0
    out = capsys.readouterr().out
    assert "third" in out and "first" not in out and "second" not in out


def _events(out):
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_run_json_extra_vars_and_start_at_task(tree, capsys):
    assert play("--json", "-e", "greeting=hello", "site.yml") == 0
    evs = _events(capsys.readouterr().out)
    msgs = [e["result"].get("msg") for e in evs if e["event"] == "host_result" and e["task"] == "first"]
    assert msgs == ["one hello", "one hello"]
    assert play("--json", "--start-at-task", "third", "site.yml") == 0
    tasks = {e["task"] for e in _events(capsys.readouterr().out) if e["event"] == "host_result"}
    assert "first" not in tasks and "second" not in tasks and "third" in tasks


def test_run_human_recap_and_verbose(tree, capsys):
    assert play("site.yml") == 0
    out = capsys.readouterr().out
    assert "PLAY RECAP" in out and "h1" in out and "failed=0" in out
    assert '"rc": 0' not in out
    assert play("-v", "site.yml") == 0
    out = capsys.readouterr().out
    assert '"rc": 0' in out and "task path:" in out     # -v: module results and task paths


def test_failing_host_exit_code(tree, capsys):
    (tree / "fail.yml").write_text("- hosts: h1\n  gather_facts: false\n  tasks:\n"
                                   "    - fail: {msg: boom}\n")
    assert play("fail.yml") == 2


@pytest.mark.skipif(not os.path.exists(ANSIBLE), reason="ansible-core not installed "
                    "(pip install ansible-core to run the compatibility checks)")
@pytest.mark.skipif(not (ROOT / "site.yml").exists(), reason="no site.yml in this checkout")
@pytest.mark.parametrize("playbook", ["site.yml", "smoke.yml"])
def test_lab_playbooks_pass_ansible_syntax_check(playbook):
    """The lab's playbooks and roles load in ansible-playbook (library/pki.py provides `pki`)."""
    p = subprocess.run([ANSIBLE, "--syntax-check", "-i", "inventories/local", playbook],
                       cwd=ROOT, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "ANSIBLE_NOCOLOR": "1"})
    assert p.returncode == 0, p.stdout + p.stderr
    assert f"playbook: {playbook}" in p.stdout


PKI_BOOK = """\
- hosts: n1
  gather_facts: false
  tasks:
    - pki:
        dir: "{{ pki_dir }}"
        master: n1
        master_ip: 10.1.1.1
        nodes: {n1: 10.1.1.1}
      delegate_to: localhost
      run_once: true
"""


def _ansible_pki(tmp_path, inventory):
    (tmp_path / "hosts.yml").write_text(inventory)
    (tmp_path / "pki.yml").write_text(PKI_BOOK)
    p = subprocess.run([ANSIBLE, "-i", "hosts.yml", "-e", f"pki_dir={tmp_path / 'pki'}", "pki.yml"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=300,
                       env={**os.environ, "ANSIBLE_NOCOLOR": "1", "ANSIBLE_LIBRARY": str(ROOT / "library")})
    return p.returncode, p.stdout + p.stderr


@pytest.mark.skipif(not os.path.exists(ANSIBLE), reason="ansible-core not installed")
def test_library_pki_module_under_ansible(tmp_path):
    """library/pki.py issues the lab's certificates once (then ok), like labctl's pki module."""
    inv = "all:\n  hosts:\n    n1: {ansible_connection: local}\n"
    rc, out = _ansible_pki(tmp_path, inv)
    assert rc == 0 and "changed=1" in out, out
    assert (tmp_path / "pki" / "ca.crt").exists() and (tmp_path / "pki" / "kubelet-n1.crt").exists()
    rc, out = _ansible_pki(tmp_path, inv)
    assert rc == 0 and "changed=0" in out, out


@pytest.mark.skipif(not os.path.exists(ANSIBLE), reason="ansible-core not installed")
def test_library_pki_module_without_labctl_says_so(tmp_path):
    probe = subprocess.run(["/usr/bin/python3", "-c", "import labctl"], cwd=tmp_path, capture_output=True)
    if probe.returncode == 0:
        pytest.skip("labctl is importable by /usr/bin/python3 here")
    inv = ("all:\n  hosts:\n    n1: {ansible_connection: local}\n"
           "    localhost: {ansible_connection: local, ansible_python_interpreter: /usr/bin/python3}\n")
    rc, out = _ansible_pki(tmp_path, inv)
    assert rc == 2 and "the pki module needs labctl importable" in out, out
