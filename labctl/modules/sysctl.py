"""sysctl: set a kernel parameter now (``/proc/sys``) and optionally persist it (``sysctl_file``)."""
from __future__ import annotations

import shlex

from labctl.engine.context import ModuleError, TaskResult

from ._util import bool_arg
from .lineinfile import edit

ARGS = {"name", "value", "state", "sysctl_set", "reload", "sysctl_file", "ignoreerrors"}


def run(ctx, args):
    name, value = args.get("name"), args.get("value")
    if not name:
        raise ModuleError("missing required argument 'name'")
    name = str(name)
    proc = "/proc/sys/" + name.replace(".", "/")
    state = args.get("state") or "present"
    changed = False
    if state == "present":
        if value is None:
            raise ModuleError("state=present needs 'value'")
        value = str(int(value)) if isinstance(value, bool) else str(value)
        r = ctx.conn.run(f"cat {shlex.quote(proc)}")
        if r.rc != 0 and not bool_arg(args.get("ignoreerrors")):
            raise ModuleError(f"unknown sysctl {name}")
        if " ".join(r.stdout.split()) != " ".join(value.split()) and bool_arg(args.get("sysctl_set"), True):
            changed = True
            if not ctx.check_mode:
                w = ctx.conn.run(f"echo {shlex.quote(value)} > {shlex.quote(proc)}")
                if w.rc != 0:
                    raise ModuleError(f"cannot set {name}: {w.stderr.strip()}")
    sfile = args.get("sysctl_file")
    if sfile:
        have = ctx.conn.run(f"cat {shlex.quote(str(sfile))} 2>/dev/null").stdout
        import re
        new, _ = edit(have, {"regexp": rf"^\s*{re.escape(name)}\s*=", "line": f"{name}={value}",
                              "state": "absent" if state == "absent" else "present"})
        if new != have:
            changed = True
            if not ctx.check_mode:
                ctx.conn.put(new.encode(), str(sfile), 0o644)
    return TaskResult(changed=changed, data={"name": name, "value": value})
