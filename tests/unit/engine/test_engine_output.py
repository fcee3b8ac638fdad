"""The human printer's text (golden file) and the JSON-lines stream's shape."""
import io
import json
import os
from pathlib import Path

from enginekit import write_tree
from labctl.engine import HumanCallback, JsonLinesCallback, MultiCallback, run_playbook
from labctl.inventory import load_inventory

GOLDEN = Path(__file__).parent / "golden" / "human_output.txt"

PLAYBOOK = """\
- name: Output demo
  hosts: all
  gather_facts: false
  tasks:
    - name: changed with diff
      copy: {content: "new\\n", dest: "{{ out }}/{{ inventory_hostname }}.txt"}
      notify: handler
    - name: skipped on n2
      debug: msg="hello {{ inventory_hostname }}"
      when: inventory_hostname == 'n1'
    - name: items
      debug: msg={{ item }}
      loop: [a, b]
    - name: ignored failure
      command: "false"
      ignore_errors: true
    - name: failure on n2
      fail: msg=boom
      when: inventory_hostname == 'n2'
    - name: after
      debug: {msg: still here}
  handlers:
    - name: handler
      debug: msg=handled
"""


def test_human_output_golden(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "n1.txt").write_text("old\n")
    write_tree(tmp_path, {"hosts.yml": f"all:\n  vars: {{ansible_connection: local, out: {out}}}\n"
                                       "  hosts:\n    n1:\n    n2:\n",
                          "site.yml": PLAYBOOK})
    buf = io.StringIO()
    res = run_playbook(tmp_path / "site.yml", load_inventory(tmp_path / "hosts.yml"), diff=True, forks=1,
                       callback=HumanCallback(file=buf))
    text = buf.getvalue().replace(str(tmp_path), "{tmp}")
    if os.environ.get("LABCTL_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    assert res.exit_code == 2
    assert text == GOLDEN.read_text()


def test_json_lines_shape(tmp_path):
    write_tree(tmp_path, {"hosts.yml": "all:\n  hosts:\n    n1: {ansible_connection: local}\n",
                          "site.yml": PLAYBOOK.replace("{{ out }}", str(tmp_path))})
    buf = io.StringIO()
    events = []
    run_playbook(tmp_path / "site.yml", load_inventory(tmp_path / "hosts.yml"), forks=1,
                 callback=MultiCallback(JsonLinesCallback(buf), events.append))
    lines = [json.loads(l) for l in buf.getvalue().splitlines()]
    assert [e["event"] for e in lines] == [e["event"] for e in events]
    kinds = {e["event"] for e in lines}
    assert {"playbook_start", "play_start", "task_start", "host_result", "item_result", "recap"} <= kinds
    for e in lines:
        assert "ts" in e
        if e["event"] == "host_result":
            assert e["status"] in ("ok", "changed", "failed", "skipped", "unreachable")
            assert {"host", "task", "action", "result", "ignored"} <= set(e)
    assert lines[-1]["stats"]["n1"] == {"ok": 5, "changed": 1, "unreachable": 0, "failed": 0,
                                       "skipped": 1, "rescued": 0, "ignored": 1}
