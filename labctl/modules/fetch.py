"""fetch: copy a file from the host to the control machine (``dest``/<host>/<path>, or ``flat``)."""
from __future__ import annotations

import hashlib
import os

from labctl.engine.context import ModuleError, TaskResult

from ._util import bool_arg

ARGS = {"src", "dest", "flat", "fail_on_missing", "validate_checksum"}


def run(ctx, args):
    src, dest = args.get("src"), args.get("dest")
    if not src or not dest:
        raise ModuleError("fetch needs 'src' and 'dest'")
    src, dest = str(src), str(dest)
    if bool_arg(args.get("flat")):
        target = os.path.join(dest, os.path.basename(src)) if dest.endswith("/") else dest
    else:
        target = os.path.join(dest, ctx.host, src.lstrip("/"))
    remote = ctx.conn.sha256(src)
    if remote is None:
        if bool_arg(args.get("fail_on_missing"), True):
            raise ModuleError(f"{src}: file not found on {ctx.host}")
        return TaskResult(changed=False, msg="the remote file does not exist, not transferring")
    local = None
    if os.path.isfile(target):
        with open(target, "rb") as f:
            local = hashlib.sha256(f.read()).hexdigest()
    if local == remote:
        return TaskResult(changed=False, data={"dest": target})
    if not ctx.check_mode:
        os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
        with open(target, "wb") as f:
            f.write(ctx.conn.get(src))
    return TaskResult(changed=True, data={"dest": target, "checksum": remote})
