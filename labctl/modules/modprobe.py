"""modprobe: load (or unload) a kernel module; ok when it is already in that state."""
from __future__ import annotations

import shlex

from labctl.engine.context import ModuleError, TaskResult

ARGS = {"name", "state", "params", "persistent"}


def run(ctx, args):
    name = str(args.get("name") or "")
    if not name:
        raise ModuleError("missing required argument 'name'")
    state = args.get("state") or "present"
    loaded = ctx.conn.run(f"test -d /sys/module/{shlex.quote(name.replace('-', '_'))}").rc == 0
    want = state == "present"
    if loaded == want:
        return TaskResult(changed=False, data={"name": name, "state": state})
    if not ctx.check_mode:
        cmd = f"modprobe {shlex.quote(name)} {args.get('params') or ''}" if want else f"modprobe -r {shlex.quote(name)}"
        r = ctx.conn.run(cmd)
        if r.rc != 0:
            raise ModuleError(f"{cmd.strip()} failed: {(r.stderr or r.stdout).strip()}")
    return TaskResult(changed=True, data={"name": name, "state": state})
