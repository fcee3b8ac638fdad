"""fail: fail the task with a message."""
from __future__ import annotations

from labctl.engine.context import TaskResult

ARGS = {"msg", "_raw_params"}


def run(ctx, args):
    return TaskResult(failed=True, msg=str(args.get("msg") or args.get("_raw_params") or "Failed as requested from task"))
