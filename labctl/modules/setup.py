"""setup: gather facts explicitly (the same minimal set as ``gather_facts``)."""
from __future__ import annotations

from labctl.engine import facts
from labctl.engine.context import TaskResult

ARGS = {"gather_subset", "filter", "gather_timeout", "fact_path"}


def run(ctx, args):
    f = facts.gather(ctx.conn)
    flt = args.get("filter")
    if flt:
        import fnmatch
        pats = flt if isinstance(flt, list) else [flt]
        f = {k: v for k, v in f.items() if any(fnmatch.fnmatchcase(k, p) for p in pats)}
    return TaskResult(changed=False, data={"ansible_facts": f})
