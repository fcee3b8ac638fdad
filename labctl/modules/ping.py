"""ping: prove the host can be reached and run a command (answers ``pong``)."""
from __future__ import annotations

from labctl.engine.context import ModuleError, TaskResult

ARGS = {"data"}


def run(ctx, args):
    data = str(args.get("data", "pong"))
    if data == "crash":
        raise ModuleError("boom (data=crash)")
    r = ctx.conn.run("true")
    if r.rc != 0:
        return TaskResult(failed=True, msg=f"cannot run commands: {r.stderr.strip()}")
    return TaskResult(changed=False, data={"ping": data})
