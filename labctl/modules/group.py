"""group: make sure a local group exists (or not); ``gid``, ``system``."""
from __future__ import annotations

import shlex

from labctl.engine.context import ModuleError, TaskResult

from ._util import bool_arg

ARGS = {"name", "state", "gid", "system", "local", "non_unique", "force"}


def run(ctx, args):
    name = str(args.get("name") or "")
    if not name:
        raise ModuleError("missing required argument 'name'")
    state = args.get("state") or "present"
    r = ctx.conn.run(f"getent group {shlex.quote(name)}")
    exists = r.rc == 0
    cur_gid = int(r.stdout.split(":")[2]) if exists else None
    if state == "absent":
        if exists and not ctx.check_mode:
            out = ctx.conn.run(f"groupdel {shlex.quote(name)}")
            if out.rc != 0:
                raise ModuleError(f"groupdel {name}: {out.stderr.strip()}")
        return TaskResult(changed=exists, data={"name": name, "state": state})
    gid = args.get("gid")
    cmd = None
    if not exists:
        cmd = "groupadd" + (" -r" if bool_arg(args.get("system")) else "") + \
              (f" -g {int(gid)}" if gid is not None else "") + f" {shlex.quote(name)}"
    elif gid is not None and int(gid) != cur_gid:
        cmd = f"groupmod -g {int(gid)} {shlex.quote(name)}"
    if cmd and not ctx.check_mode:
        out = ctx.conn.run(cmd)
        if out.rc != 0:
            raise ModuleError(f"{cmd}: {out.stderr.strip()}")
    return TaskResult(changed=bool(cmd), data={"name": name, "state": state, "gid": gid or cur_gid})
