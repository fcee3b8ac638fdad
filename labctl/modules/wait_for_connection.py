"""wait_for_connection: retry until the host answers a command (``timeout``, ``delay``, ``sleep``)."""
from __future__ import annotations

import time

from labctl.connections import UnreachableError
from labctl.engine.context import TaskResult

ARGS = {"timeout", "delay", "sleep", "connect_timeout"}


def run(ctx, args):
    timeout = float(args.get("timeout", 600))
    sleep = float(args.get("sleep", 1))
    time.sleep(float(args.get("delay", 0)))
    start = time.monotonic()
    last = ""
    while True:
        try:
            if ctx.conn.run("true").rc == 0:
                return TaskResult(changed=False, data={"elapsed": round(time.monotonic() - start, 2)})
        except UnreachableError as e:
            last = str(e)
        if time.monotonic() - start >= timeout:
            return TaskResult(failed=True, msg=f"timed out waiting for connection after {timeout:g} s: {last}")
        time.sleep(sleep)
