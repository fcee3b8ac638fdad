"""command: run a program on the host (no shell features); rc != 0 fails the task.

``creates``/``removes`` make it idempotent; ``chdir`` changes directory first;
in check mode it is skipped unless ``creates``/``removes`` decide.
"""
from __future__ import annotations

import shlex
import time

from labctl.engine.context import ModuleError, TaskResult

ARGS = {"_raw_params", "cmd", "argv", "chdir", "creates", "removes", "stdin", "stdin_add_newline",
        "strip_empty_ends", "executable", "free_form", "expand_argument_vars"}
q = shlex.quote


def build(args, shell: bool) -> str:
    if args.get("argv"):
        cmd = " ".join(q(str(a)) for a in args["argv"])
    else:
        cmd = args.get("cmd") or args.get("_raw_params")
        if not cmd:
            raise ModuleError("no command given")
        cmd = str(cmd)
        if not shell:
            # no shell: run the words as one program with its arguments
            cmd = " ".join(q(w) for w in shlex.split(cmd))
    if shell and args.get("executable"):
        cmd = f"{args['executable']} -c {q(cmd)}"
    if args.get("chdir"):
        cmd = f"cd {q(str(args['chdir']))} && {cmd}"
    return cmd


def execute(ctx, args, shell=False) -> TaskResult:
    shown = args.get("cmd") or args.get("_raw_params") or args.get("argv")
    for key, want in (("creates", True), ("removes", False)):
        path = args.get(key)
        if path:
            path = str(path)
            if any(c in path for c in "*?["):
                exists = ctx.conn.run(f"set -- {path}; test -e \"$1\"").rc == 0   # a glob, as in Ansible
            else:
                from ._util import remote_stat
                exists = remote_stat(ctx, path, follow=True) is not None
            if exists == want:
                return TaskResult(changed=False, msg=f"skipped, since {path} {'exists' if want else 'does not exist'}",
                                  data={"cmd": shown, "rc": 0, "stdout": "", "stderr": ""})
    if ctx.check_mode:
        return TaskResult(changed=False, skipped=True, msg="Command would have run if not in check mode")
    stdin = args.get("stdin")
    if stdin is not None and args.get("stdin_add_newline", True) and not str(stdin).endswith("\n"):
        stdin = str(stdin) + "\n"
    t0 = time.time()
    r = ctx.conn.run(build(args, shell), stdin=stdin)
    t1 = time.time()
    strip = args.get("strip_empty_ends", True)
    out, err = (r.stdout.rstrip("\r\n"), r.stderr.rstrip("\r\n")) if strip else (r.stdout, r.stderr)
    data = {"cmd": shown, "rc": r.rc, "stdout": out, "stderr": err,
            "delta": "%.3f" % (t1 - t0)}
    if r.rc != 0:
        return TaskResult(changed=True, failed=True, msg="non-zero return code", data=data)
    return TaskResult(changed=True, data=data)


def run(ctx, args):
    return execute(ctx, args, shell=False)
