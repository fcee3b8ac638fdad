"""lineinfile: make sure one line is in a file (or not), optionally replacing a regexp match.

``line``, ``regexp``/``search_string``, ``state`` present|absent,
``insertafter`` (EOF or regexp), ``insertbefore`` (BOF or regexp), ``create``,
``backrefs``, ``firstmatch``, ``mode``/``owner``/``group``, ``backup``, ``validate``.
The file is edited on the control side and written back only when it changed.
"""
from __future__ import annotations

import re

from labctl.engine.context import ModuleError, TaskResult

from ._util import apply_attrs, bool_arg, path_arg, put_content, remote_stat

ARGS = {"path", "dest", "name", "line", "value", "regexp", "regex", "search_string", "state",
        "insertafter", "insertbefore", "create", "backrefs", "firstmatch", "mode", "owner", "group",
        "backup", "validate", "unsafe_writes", "attributes", "others"}


def _matches(lines, regexp, search):
    for i, l in enumerate(lines):
        if regexp is not None and regexp.search(l):
            yield i
        elif search is not None and search in l:
            yield i


def edit(text: str, args) -> tuple[str, str]:
    """Return (new_text, message) for the lineinfile arguments."""
    lines = text.splitlines()
    rx = args.get("regexp") or args.get("regex")
    regexp = re.compile(rx) if rx else None
    search = args.get("search_string")
    state = args.get("state") or "present"
    line = args.get("line", args.get("value"))
    if state == "absent":
        keep = [l for i, l in enumerate(lines)
                if not ((regexp and regexp.search(l)) or (search is not None and search in l)
                        or (regexp is None and search is None and l == line))]
        n = len(lines) - len(keep)
        return ("\n".join(keep) + ("\n" if keep else "") if n else text), (f"{n} line(s) removed" if n else "")
    if line is None:
        raise ModuleError("state=present needs 'line'")
    line = str(line)
    found = list(_matches(lines, regexp, search))
    if found:
        idx = found[0] if bool_arg(args.get("firstmatch")) else found[-1]
        if bool_arg(args.get("backrefs")) and regexp:
            new = regexp.search(lines[idx]).expand(line)
        else:
            new = line
        if lines[idx] == new:
            return text, ""
        lines[idx] = new
        return "\n".join(lines) + "\n", "line replaced"
    if bool_arg(args.get("backrefs")):
        return text, ""
    if line in lines:
        return text, ""
    after, before = args.get("insertafter"), args.get("insertbefore")
    pos = len(lines)
    if before == "BOF":
        pos = 0
    elif before:
        hits = [i for i, l in enumerate(lines) if re.search(before, l)]
        if hits:
            pos = hits[0] if bool_arg(args.get("firstmatch")) else hits[-1]
    elif after and after != "EOF":
        hits = [i for i, l in enumerate(lines) if re.search(after, l)]
        if hits:
            pos = (hits[0] if bool_arg(args.get("firstmatch")) else hits[-1]) + 1
    lines.insert(pos, line)
    return "\n".join(lines) + "\n", "line added"


def run(ctx, args):
    path = path_arg(args, "path", "dest", "name")
    st = remote_stat(ctx, path, follow=True)
    if st is None:
        if (args.get("state") or "present") == "absent":
            return TaskResult(changed=False, msg="file not present")
        if not bool_arg(args.get("create")):
            raise ModuleError(f"{path} does not exist (use create: yes)")
        text = ""
    else:
        text = ctx.conn.get(path).decode("utf-8", "replace")
    new, msg = edit(text, args)
    if new == text and st is not None:
        attrs = apply_attrs(ctx, path, st, args.get("mode"), args.get("owner"), args.get("group"))
        return TaskResult(changed=bool(attrs), msg=msg or ("attributes changed" if attrs else ""))
    r = put_content(ctx, path, new.encode("utf-8"), args.get("mode"), args.get("owner"),
                    args.get("group"), backup=bool_arg(args.get("backup")), validate=args.get("validate"))
    r.msg = msg or "file created"
    if ctx.diff_mode:
        r.diff = {"before": text, "after": new, "before_header": f"{path} (content)",
                  "after_header": f"{path} (content)"}
    return r
