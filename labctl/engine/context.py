"""What a module gets (:class:`TaskContext`) and gives back (:class:`TaskResult`).

The contract (docs/contracts.md): a module is ``run(ctx, args) -> TaskResult``.
``ctx.conn`` is the host's connection (or the delegate's), ``ctx.vars`` the
task's variables, ``ctx.render(text)`` renders a template file's text,
``ctx.find_file(name, kind)`` finds a role/playbook ``files/`` or
``templates/`` entry on the control machine.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field


class ModuleError(Exception):
    """A module cannot do its job; the task fails with this one-line message."""


@dataclass
class TaskResult:
    changed: bool = False
    failed: bool = False
    skipped: bool = False
    msg: str = ""
    diff: object = None          # {"before", "after", "before_header", "after_header"} or a list
    data: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = dict(self.data)
        out["changed"] = bool(self.changed)
        if self.failed:
            out["failed"] = True
        else:
            out.setdefault("failed", False)
        if self.skipped:
            out["skipped"] = True
        if self.msg:
            out["msg"] = self.msg
        if self.diff is not None:
            out["diff"] = self.diff
        return out


class TaskContext:
    def __init__(self, *, conn, host, vars, check_mode=False, diff_mode=False, templar=None,
                 task=None, search_dirs=(), warn=None):
        self.conn = conn
        self.host = host
        self.vars = vars
        self.check_mode = check_mode
        self.diff_mode = diff_mode
        self.templar = templar
        self.task = task
        self.search_dirs = list(search_dirs)   # role dir first, then playbook dir
        self._warn = warn

    def render(self, template_text: str, name: str = "<template>") -> str:
        """Render a whole template (template-module semantics) with the task's variables."""
        return self.templar.render_file(template_text, self.vars, name)

    def render_value(self, value):
        return self.templar.render(value, self.vars)

    def evaluate(self, expr) -> bool:
        return self.templar.evaluate(expr, self.vars)

    def find_file(self, name: str, kind: str = "files") -> str:
        """Path of ``name`` in the role's ``kind/`` dir, the role dir, the playbook's ``kind/`` dir or the playbook dir."""
        if os.path.isabs(name):
            if os.path.exists(name):
                return name
            raise ModuleError(f"{kind[:-1]} {name!r} not found")
        tried = []
        for base in self.search_dirs:
            for cand in (os.path.join(base, kind, name), os.path.join(base, name)):
                tried.append(cand)
                if os.path.exists(cand):
                    return cand
        raise ModuleError(f"could not find {name!r} in {kind}/ (searched {', '.join(tried)})")

    def run(self, cmd, **kw):
        return self.conn.run(cmd, **kw)

    def warn(self, msg: str):
        if self._warn:
            self._warn(msg)
