"""raw: run a command line as is (like shell; there is no module transfer to bypass here)."""
from __future__ import annotations

from .command import ARGS, execute  # noqa: F401


def run(ctx, args):
    return execute(ctx, args, shell=True)
