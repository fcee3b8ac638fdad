"""debug: print a message (``msg``) or a variable (``var``)."""
from __future__ import annotations

from labctl.engine.context import TaskResult
from labctl.engine.templating import TemplateError

ARGS = {"msg", "var", "verbosity"}
RAW_ARGS = {"var"}


def run(ctx, args):
    if "var" in args:
        name = str(args["var"])
        try:
            value = ctx.render_value("{{ " + name + " }}")
        except TemplateError:
            value = "VARIABLE IS NOT DEFINED!"
        return TaskResult(changed=False, data={name: value})
    return TaskResult(changed=False, msg=args.get("msg", "Hello world!"))
