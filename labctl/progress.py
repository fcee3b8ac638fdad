"""Progress of long work: one line per step with its duration.

On a terminal the lines are coloured with rich; in CI (no tty, or CI=true) they are
plain text, so logs stay readable.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time


class Progress:
    def __init__(self, stream=None, quiet: bool = False):
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.fancy = self.stream.isatty() and os.environ.get("CI", "").lower() not in ("1", "true")
        self._console = None
        if self.fancy:
            from rich.console import Console
            self._console = Console(file=self.stream, highlight=False)

    def say(self, text: str, style: str = "") -> None:
        if self.quiet:
            return
        if self._console:
            self._console.print(text, style=style or None)
        else:
            print(text, file=self.stream, flush=True)

    @contextlib.contextmanager
    def step(self, title: str):
        self.say(f"==> {title}", "bold cyan")
        start = time.monotonic()
        try:
            yield
        except BaseException:
            self.say(f"<== {title}: failed after {time.monotonic() - start:.1f} s", "bold red")
            raise
        self.say(f"<== {title}: done in {time.monotonic() - start:.1f} s", "green")

    def engine_callback(self, json_stream=None):
        """The engine's output callback: JSON events when asked, else its human printer."""
        if json_stream is not None:
            from .engine import JsonLinesCallback as JsonCallback
            return JsonCallback(json_stream)
        from .engine import HumanCallback
        return HumanCallback(file=sys.stdout)
