"""shell: run a command line through the shell (pipes, redirects, ``&&``).

Same options as :mod:`labctl.modules.command` plus ``executable``.
"""
from __future__ import annotations

from .command import ARGS, execute  # noqa: F401  (same options)


def run(ctx, args):
    return execute(ctx, args, shell=True)
