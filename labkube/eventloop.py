"""The event loop a labkube process runs on: uvloop when installed (its TCP and TLS
transports are compiled, so each request costs the apiserver far less CPU than with the
pure-Python asyncio transports), else the standard loop. `LABKUBE_UVLOOP=0` opts out."""
from __future__ import annotations

import asyncio
import os


def run(main):
    """asyncio.run(main) on the fastest available loop."""
    if os.environ.get("LABKUBE_UVLOOP", "1") != "0":
        try:
            import uvloop
        except ImportError:
            pass
        else:
            with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
                return runner.run(main)
    return asyncio.run(main)
