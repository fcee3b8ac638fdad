"""slurp: read a file from the host; ``content`` is base64 (decode with ``| b64decode``)."""
from __future__ import annotations

import base64

from labctl.engine.context import ModuleError, TaskResult

ARGS = {"src", "path"}


def run(ctx, args):
    src = args.get("src") or args.get("path")
    if not src:
        raise ModuleError("missing required argument 'src'")
    try:
        data = ctx.conn.get(str(src))
    except (OSError, IOError) as e:
        raise ModuleError(f"cannot read {src}: {getattr(e, 'strerror', None) or e}") from None
    return TaskResult(changed=False, data={"content": base64.b64encode(data).decode(),
                                           "encoding": "base64", "source": str(src)})
