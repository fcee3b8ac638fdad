"""user: make sure a local user exists (or not): ``uid``, ``group``, ``groups``, ``shell``, ``home``, ``system``."""
from __future__ import annotations

import shlex

from labctl.engine.context import ModuleError, TaskResult

from ._util import bool_arg

ARGS = {"name", "state", "uid", "group", "groups", "append", "shell", "home", "system",
        "create_home", "comment", "remove", "password", "move_home", "non_unique", "local"}
q = shlex.quote


def run(ctx, args):
    name = str(args.get("name") or "")
    if not name:
        raise ModuleError("missing required argument 'name'")
    state = args.get("state") or "present"
    r = ctx.conn.run(f"getent passwd {q(name)}")
    exists = r.rc == 0
    if state == "absent":
        if exists and not ctx.check_mode:
            out = ctx.conn.run(f"userdel {'-r ' if bool_arg(args.get('remove')) else ''}{q(name)}")
            if out.rc != 0:
                raise ModuleError(f"userdel {name}: {out.stderr.strip()}")
        return TaskResult(changed=exists, data={"name": name, "state": state})
    opts = []
    if not exists:
        if args.get("uid") is not None:
            opts.append(f"-u {int(args['uid'])}")
        if args.get("group"):
            opts.append(f"-g {q(str(args['group']))}")
        if args.get("shell"):
            opts.append(f"-s {q(str(args['shell']))}")
        if args.get("home"):
            opts.append(f"-d {q(str(args['home']))}")
        if args.get("comment"):
            opts.append(f"-c {q(str(args['comment']))}")
        if bool_arg(args.get("system")):
            opts.append("-r")
        opts.append("-m" if bool_arg(args.get("create_home"), True) else "-M")
        cmds = [f"useradd {' '.join(opts)} {q(name)}"]
    else:
        f = r.stdout.strip().split(":")
        cmds = []
        if args.get("uid") is not None and int(args["uid"]) != int(f[2]):
            cmds.append(f"usermod -u {int(args['uid'])} {q(name)}")
        if args.get("shell") and args["shell"] != f[6]:
            cmds.append(f"usermod -s {q(str(args['shell']))} {q(name)}")
        if args.get("home") and args["home"] != f[5]:
            cmds.append(f"usermod -d {q(str(args['home']))} {q(name)}")
    groups = args.get("groups")
    if groups:
        want = [g.strip() for g in groups.split(",")] if isinstance(groups, str) else [str(g) for g in groups]
        have = ctx.conn.run(f"id -nG {q(name)}").stdout.split() if exists else []
        missing = [g for g in want if g not in have]
        extra = [g for g in have if g not in want] if not bool_arg(args.get("append")) else []
        primary = ctx.conn.run(f"id -ng {q(name)}").stdout.strip() if exists else None
        extra = [g for g in extra if g != primary]
        if missing or extra:
            flag = "-aG" if bool_arg(args.get("append")) else "-G"
            cmds.append(f"usermod {flag} {q(','.join(want))} {q(name)}")
    if cmds and not ctx.check_mode:
        for c in cmds:
            out = ctx.conn.run(c)
            if out.rc != 0:
                raise ModuleError(f"{c}: {out.stderr.strip()}")
    return TaskResult(changed=bool(cmds), data={"name": name, "state": state})
