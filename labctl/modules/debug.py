"""debug: print a message (``msg``) or a variable (``var``)."""
from __future__ import annotations

from collections.abc import Mapping

from labctl.engine.context import TaskResult
from labctl.engine.templating import TemplateError

ARGS = {"msg", "var", "verbosity"}


def _plain(value, depth=0):
    """Lazy mappings (hostvars, vars) as plain dicts; values that cannot render stay raw."""
    if isinstance(value, Mapping) and not isinstance(value, dict) and depth < 3:
        out = {}
        for k in value:
            if k in ("hostvars", "vars"):
                continue
            try:
                out[k] = _plain(value[k], depth + 1)
            except Exception:
                out[k] = getattr(value, "get_raw", lambda key: "<unrenderable>")(k)
        return out
    return value
RAW_ARGS = {"var"}


def run(ctx, args):
    if "var" in args:
        name = str(args["var"])
        try:
            value = _plain(ctx.render_value("{{ " + name + " }}"))
        except TemplateError:
            value = "VARIABLE IS NOT DEFINED!"
        return TaskResult(changed=False, data={name: value})
    return TaskResult(changed=False, msg=args.get("msg", "Hello world!"))
