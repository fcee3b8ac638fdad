"""The Ansible-style engine: load a playbook, run it against an inventory.

Python API::

    from labctl.inventory import load_inventory
    from labctl.engine import run_playbook, HumanCallback
    res = run_playbook("site.yml", load_inventory("inventories/local"),
                       extra_vars={"x": 1}, limit=None, tags=None, skip_tags=None,
                       check=False, diff=False, forks=10,
                       connection_factory=None,       # host_vars -> Connection
                       callback=HumanCallback())      # any callable(event dict)
    res.stats["m1-k8s"]  # {"ok", "changed", "unreachable", "failed", "skipped", "rescued", "ignored"}
    res.ok, res.exit_code  # 0 ok, 2 failed hosts, 4 unreachable hosts

Also ``load_playbook(path)`` (``--syntax-check``), ``list_hosts(...)``,
``list_tasks(...)``, ``parse_extra_vars(["k=v", "@file.yml", "{json}"])`` and
``run_playbook(..., start_at_task="name")``.

``PlaybookError`` (one line, file:line) is raised before anything runs when a
playbook or role does not load.  Variable precedence: see
:mod:`labctl.engine.variables`.
"""
from __future__ import annotations

from .callbacks import HumanCallback, JsonLinesCallback, MultiCallback
from .context import ModuleError, TaskContext, TaskResult
from .errors import PlaybookError
from .extravars import parse_extra_vars
from .loader import load_playbook
from .runner import PlayResult, Runner

__all__ = ["run_playbook", "load_playbook", "PlayResult", "PlaybookError", "TaskContext",
           "TaskResult", "ModuleError", "HumanCallback", "JsonLinesCallback", "MultiCallback",
           "parse_extra_vars", "Runner", "list_hosts", "list_tasks"]


def run_playbook(playbook_path, inventory, extra_vars=None, limit=None, tags=None, skip_tags=None,
                 check=False, diff=False, forks=10, connection_factory=None, callback=None,
                 start_at_task=None) -> PlayResult:
    """Run a playbook; returns a :class:`PlayResult` (raises PlaybookError if it does not load)."""
    return Runner(playbook_path, inventory, extra_vars=extra_vars, limit=limit, tags=tags,
                  skip_tags=skip_tags, check=check, diff=diff, forks=forks,
                  connection_factory=connection_factory, callback=callback,
                  start_at_task=start_at_task).run()


def list_hosts(playbook_path, inventory, limit=None, extra_vars=None) -> list[tuple[str, list[str]]]:
    """``--list-hosts``: [(play name, [hosts])] without running anything."""
    r = Runner(playbook_path, inventory, limit=limit, extra_vars=extra_vars)
    return [(p.name, r._play_hosts(p)) for p in load_playbook(playbook_path)]


def list_tasks(playbook_path, tags=None, skip_tags=None) -> list[tuple[str, list[tuple[str, list]]]]:
    """``--list-tasks``: [(play name, [(task name, tags)])] as selected by tags; includes are listed, not expanded."""
    r = Runner(playbook_path, None, tags=tags, skip_tags=skip_tags)
    out = []

    def walk(tasks, acc):
        for t in tasks:
            if t.action == "block":
                walk(t.block + t.rescue + t.always, acc)
            elif t.action == "meta":
                continue
            elif r.selected(t):
                acc.append((t.display_name(), sorted(set(map(str, t.tags)))))
    for p in load_playbook(playbook_path):
        acc: list = []
        walk(p.pre_tasks + p.tasks + p.post_tasks, acc)
        out.append((p.name, acc))
    return out
