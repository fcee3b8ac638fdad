"""Same playbook, same inventory: ansible-playbook and labctl make the same files and the same recap.

Skipped when ansible-core is not installed (``pip install ansible-core``).
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from enginekit import write_tree
from labctl.engine import run_playbook
from labctl.inventory import load_inventory

ANSIBLE = shutil.which("ansible-playbook") or str(Path(sys.executable).parent / "ansible-playbook")

PLAYBOOK = """\
- hosts: all
  gather_facts: false
  vars:
    items_list: [a, b, c]
  roles:
    - app
  tasks:
    - name: loop files
      copy: {content: "{{ item }}\\n", dest: "{{ out }}/{{ inventory_hostname }}/{{ item }}.txt", mode: "0600"}
      loop: "{{ items_list }}"
      when: item != 'b'
      register: looped
    - name: count
      set_fact: {n_changed: "{{ looped.results | select('changed') | list | length }}"}
    - name: record
      copy: {content: "changed={{ n_changed }} color={{ color | default('none') }}\\n", dest: "{{ out }}/{{ inventory_hostname }}/count"}
    - name: once
      command: touch {{ out }}/{{ inventory_hostname }}/stamp
      args: {creates: "{{ out }}/{{ inventory_hostname }}/stamp"}
    - name: line
      lineinfile: {path: "{{ out }}/{{ inventory_hostname }}/count", line: "extra", insertbefore: BOF}
"""
ROLE = {
    "roles/app/defaults/main.yml": "greeting: hello\n",
    "roles/app/tasks/main.yml": """\
        - name: dir
          file: {path: "{{ out }}/{{ inventory_hostname }}", state: directory, mode: "0750"}
        - name: conf
          template: {src: app.j2, dest: "{{ out }}/{{ inventory_hostname }}/app.conf", mode: "0644"}
          notify: restarted
        """,
    "roles/app/templates/app.j2": "{{ greeting }} {{ inventory_hostname }}\n{% for i in items_list %}\n- {{ i | upper }}\n{% endfor %}\n",
    "roles/app/handlers/main.yml": "- name: restarted\n  shell: echo restarted >> {{ out }}/{{ inventory_hostname }}/handler.log\n",
}


def _tree(root: Path):
    return {str(p.relative_to(root)): (p.read_text() if p.is_file() else None, oct(p.stat().st_mode & 0o777))
            for p in sorted(root.rglob("*"))}


def _ansible_recap(text):
    out = {}
    for m in re.finditer(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+"
                         r"skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)", text, re.M):
        out[m.group(1)] = dict(zip(("ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored"),
                                   map(int, m.groups()[1:])))
    return out


@pytest.mark.skipif(not os.path.exists(ANSIBLE), reason="ansible-core not installed")
def test_same_result_as_ansible_playbook(tmp_path):
    recaps = {}
    for tool in ("ansible", "labctl"):
        d = tmp_path / tool
        out = d / "out"
        inv = ("all:\n  vars:\n    ansible_connection: local\n    ansible_python_interpreter: "
               f"{sys.executable}\n    out: {out}\n  hosts:\n    h1: {{color: red}}\n    h2:\n")
        write_tree(d, {"hosts.yml": inv, "site.yml": PLAYBOOK, **ROLE})
        recaps[tool] = []
        for _ in range(2):
            if tool == "ansible":
                env = dict(os.environ, ANSIBLE_LOCAL_TEMP=str(d / ".tmp"), ANSIBLE_HOME=str(d / ".home"),
                           ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0")
                p = subprocess.run([ANSIBLE, "-i", "hosts.yml", "site.yml"], cwd=d, env=env,
                                   capture_output=True, text=True)
                assert p.returncode == 0, p.stdout + p.stderr
                recaps[tool].append(_ansible_recap(p.stdout))
            else:
                res = run_playbook(d / "site.yml", load_inventory(d / "hosts.yml"))
                recaps[tool].append(res.stats)
    assert _tree(tmp_path / "ansible" / "out") == _tree(tmp_path / "labctl" / "out")
    assert recaps["labctl"] == recaps["ansible"]


# Every source sets the variable named after it and those of the sources above it, so each
# v_X must come from X itself; the values written at the end must match between the tools.
LAYERS = ["role_default", "inv_group_all", "inv_group", "dir_group_all", "dir_group", "inv_host", "dir_host",
          "play_vars", "vars_files", "role_vars", "block_vars", "task_vars", "set_fact", "role_param", "extra"]


def _layer_vars(name):
    idx = LAYERS.index(name)
    return {f"v_{n}": name for n in LAYERS[idx:]}


def _yaml(d):
    return "".join(f"{k}: {v}\n" for k, v in d.items())


@pytest.mark.skipif(not os.path.exists(ANSIBLE), reason="ansible-core not installed")
def test_variable_precedence_same_as_ansible(tmp_path):
    import json as _json
    outputs = {}
    for tool in ("ansible", "labctl"):
        d = tmp_path / tool
        inv = ("all:\n  vars:\n    ansible_connection: local\n    ansible_python_interpreter: "
               f"{sys.executable}\n" + "".join(f"    {k}: {v}\n" for k, v in _layer_vars("inv_group_all").items())
               + "  children:\n    grp:\n      vars:\n"
               + "".join(f"        {k}: {v}\n" for k, v in _layer_vars("inv_group").items())
               + "      hosts:\n        h1:\n"
               + "".join(f"          {k}: {v}\n" for k, v in _layer_vars("inv_host").items()))
        values = "{{ {" + ", ".join(f"'v_{n}': v_{n}" for n in LAYERS) + "} | to_json }}"
        files = {
            "inv/hosts.yml": inv,
            "inv/group_vars/all.yml": _yaml(_layer_vars("dir_group_all")),
            "inv/group_vars/grp.yml": _yaml(_layer_vars("dir_group")),
            "inv/host_vars/h1.yml": _yaml(_layer_vars("dir_host")),
            "vf.yml": _yaml(_layer_vars("vars_files")),
            "roles/r/defaults/main.yml": _yaml(_layer_vars("role_default")),
            "roles/r/vars/main.yml": _yaml(_layer_vars("role_vars")),
            "roles/r/tasks/main.yml": (
                "- block:\n    - set_fact:\n" + "".join(f"        {k}: {v}\n" for k, v in _layer_vars("set_fact").items())
                + "    - copy:\n        content: \"" + values.replace('"', '\\"') + "\"\n"
                + f"        dest: {d}/values.json\n      vars:\n"
                + "".join(f"        {k}: {v}\n" for k, v in _layer_vars("task_vars").items())
                + "  vars:\n" + "".join(f"    {k}: {v}\n" for k, v in _layer_vars("block_vars").items())),
            "site.yml": ("- hosts: all\n  gather_facts: false\n  vars_files: [vf.yml]\n  vars:\n"
                         + "".join(f"    {k}: {v}\n" for k, v in _layer_vars("play_vars").items())
                         + "  roles:\n    - role: r\n"
                         + "".join(f"      {k}: {v}\n" for k, v in _layer_vars("role_param").items())),
        }
        write_tree(d, files)
        extra = _layer_vars("extra")
        if tool == "ansible":
            env = dict(os.environ, ANSIBLE_LOCAL_TEMP=str(d / ".tmp"), ANSIBLE_HOME=str(d / ".home"))
            p = subprocess.run([ANSIBLE, "-i", "inv", "site.yml", "-e", _json.dumps(extra)], cwd=d, env=env,
                               capture_output=True, text=True)
            assert p.returncode == 0, p.stdout + p.stderr
        else:
            res = run_playbook(d / "site.yml", load_inventory(d / "inv"), extra_vars=extra)
            assert res.ok
        outputs[tool] = _json.loads((d / "values.json").read_text())
    assert outputs["labctl"] == {f"v_{n}": n for n in LAYERS}   # the documented order holds
    assert outputs["labctl"] == outputs["ansible"]
