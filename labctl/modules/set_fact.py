"""set_fact: set host variables for the rest of the run (precedence of registered vars)."""
from __future__ import annotations

from labctl.engine.context import ModuleError, TaskResult

ARGS = None  # any variable name


def run(ctx, args):
    facts = {k: v for k, v in args.items() if k != "cacheable"}
    for k in facts:
        if not str(k).isidentifier():
            raise ModuleError(f"set_fact: {k!r} is not a valid variable name")
    return TaskResult(changed=False, data={"ansible_facts": facts})
