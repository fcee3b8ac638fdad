"""assert: check expressions (``that``); fail with ``fail_msg``/``msg`` when one is false."""
from __future__ import annotations

from labctl.engine.context import TaskResult

ARGS = {"that", "fail_msg", "msg", "success_msg", "quiet"}
RAW_ARGS = {"that"}


def run(ctx, args):
    that = args.get("that")
    conds = that if isinstance(that, list) else [that]
    for c in conds:
        if not ctx.evaluate(c):
            msg = args.get("fail_msg") or args.get("msg") or "Assertion failed"
            return TaskResult(failed=True, msg=str(ctx.render_value(msg)),
                              data={"assertion": c, "evaluated_to": False})
    return TaskResult(changed=False, msg=str(args.get("success_msg") or "All assertions passed"))
