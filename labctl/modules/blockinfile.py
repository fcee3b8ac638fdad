"""blockinfile: keep a marked block of lines in a file (insert, update or remove it)."""
from __future__ import annotations

import re

from labctl.engine.context import ModuleError, TaskResult

from ._util import bool_arg, path_arg, put_content, remote_stat

ARGS = {"path", "dest", "name", "block", "content", "marker", "marker_begin", "marker_end", "state",
        "insertafter", "insertbefore", "create", "mode", "owner", "group", "backup", "validate",
        "append_newline", "prepend_newline", "attributes", "unsafe_writes"}


def edit(text: str, args) -> str:
    marker = args.get("marker") or "# {mark} ANSIBLE MANAGED BLOCK"
    begin = marker.replace("{mark}", args.get("marker_begin") or "BEGIN")
    end = marker.replace("{mark}", args.get("marker_end") or "END")
    block = str(args.get("block", args.get("content")) or "")
    lines = text.splitlines()
    try:
        b, e = lines.index(begin), lines.index(end)
    except ValueError:
        b = e = None
    if b is not None and e is not None and e >= b:
        del lines[b:e + 1]
        pos = b
    else:
        pos = None
    if (args.get("state") or "present") == "present" and block:
        new = [begin] + block.rstrip("\n").split("\n") + [end]
        if pos is None:
            pos = len(lines)
            after, before = args.get("insertafter"), args.get("insertbefore")
            if before == "BOF":
                pos = 0
            elif before:
                hits = [i for i, l in enumerate(lines) if re.search(before, l)]
                pos = hits[-1] if hits else pos
            elif after and after != "EOF":
                hits = [i for i, l in enumerate(lines) if re.search(after, l)]
                pos = hits[-1] + 1 if hits else pos
        lines[pos:pos] = new
    return "\n".join(lines) + ("\n" if lines else "")


def run(ctx, args):
    path = path_arg(args, "path", "dest", "name")
    st = remote_stat(ctx, path, follow=True)
    if st is None and not bool_arg(args.get("create")):
        if (args.get("state") or "present") == "absent":
            return TaskResult(changed=False)
        raise ModuleError(f"{path} does not exist (use create: yes)")
    text = ctx.conn.get(path).decode("utf-8", "replace") if st else ""
    new = edit(text, args)
    if new == text and st is not None:
        return TaskResult(changed=False)
    r = put_content(ctx, path, new.encode(), args.get("mode"), args.get("owner"), args.get("group"),
                    backup=bool_arg(args.get("backup")), validate=args.get("validate"))
    if ctx.diff_mode:
        r.diff = {"before": text, "after": new, "before_header": path, "after_header": path}
    return r
