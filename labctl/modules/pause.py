"""pause: wait a number of seconds (``seconds``/``minutes``; prompts are not supported)."""
from __future__ import annotations

import time

from labctl.engine.context import ModuleError, TaskResult

ARGS = {"seconds", "minutes", "prompt", "echo"}


def run(ctx, args):
    if args.get("prompt") and not (args.get("seconds") or args.get("minutes")):
        raise ModuleError("pause: interactive prompts are not supported")
    secs = float(args.get("seconds") or 0) + 60 * float(args.get("minutes") or 0)
    if not ctx.check_mode:
        time.sleep(secs)
    return TaskResult(changed=False, data={"delta": secs})
