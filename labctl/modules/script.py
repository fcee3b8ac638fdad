"""script: copy a local script (role ``files/`` or playbook dir) to the host and run it.

``creates``/``removes`` as for command; ``chdir``; ``executable`` (interpreter).
In check mode it is skipped.  The script is removed afterwards.
"""
from __future__ import annotations

import shlex
import uuid

from labctl.engine.context import ModuleError, TaskResult

from ._util import remote_stat

ARGS = {"_raw_params", "cmd", "creates", "removes", "chdir", "executable", "decrypt"}


def run(ctx, args):
    line = args.get("cmd") or args.get("_raw_params")
    if not line:
        raise ModuleError("script needs the script path (and arguments)")
    words = shlex.split(str(line))
    local = ctx.find_file(words[0], "files")
    for key, want in (("creates", True), ("removes", False)):
        if args.get(key) and (remote_stat(ctx, str(args[key]), follow=True) is not None) == want:
            return TaskResult(changed=False, msg=f"skipped, since {args[key]} {'exists' if want else 'does not exist'}")
    if ctx.check_mode:
        return TaskResult(skipped=True, msg="script would have run if not in check mode")
    remote = f"/tmp/.labctl-script-{uuid.uuid4().hex[:12]}"
    with open(local, "rb") as f:
        ctx.conn.put(f.read(), remote, 0o700)
    cmd = " ".join([shlex.quote(args["executable"])] if args.get("executable") else []) + \
        " " + " ".join(shlex.quote(w) for w in [remote] + words[1:])
    if args.get("chdir"):
        cmd = f"cd {shlex.quote(str(args['chdir']))} && {cmd}"
    r = ctx.conn.run(cmd.strip() + f"; rc=$?; rm -f {remote}; exit $rc")
    data = {"rc": r.rc, "stdout": r.stdout, "stderr": r.stderr}
    if r.rc != 0:
        return TaskResult(changed=True, failed=True, msg="non-zero return code", data=data)
    return TaskResult(changed=True, data=data)
