"""Helpers for engine tests: write a playbook tree into a tmp dir and run it locally."""
import textwrap

from labctl.engine import run_playbook
from labctl.inventory import load_inventory

INVENTORY = """\
all:
  vars:
    ansible_connection: local
  children:
    web:
      hosts:
        h1: {color: red}
        h2: {color: blue}
    db:
      hosts:
        h3: {}
"""


def write_tree(root, files: dict):
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))


def play(tmp_path, files: dict, inventory=INVENTORY, **kw):
    """Write files (+ hosts.yml) and run site.yml; returns (PlayResult, events)."""
    write_tree(tmp_path, {"hosts.yml": inventory, **files})
    events = []
    res = run_playbook(tmp_path / "site.yml", load_inventory(tmp_path / "hosts.yml"),
                       callback=events.append, **kw)
    return res, events


def host_results(events, task=None, host=None):
    return [e for e in events if e["event"] == "host_result"
            and (task is None or e["task"] == task) and (host is None or e["host"] == host)]


def result_of(events, task, host):
    rs = host_results(events, task, host)
    assert len(rs) == 1, f"expected one result for {task}/{host}, got {len(rs)}"
    return rs[0]
