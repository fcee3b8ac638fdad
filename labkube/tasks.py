"""run_all: wait for a component's long-running tasks together, and never leave one behind.

A component's loops (workers, informers, heartbeats) run as tasks of their own. `run_all` waits
for all of them as asyncio.gather does (the first exception is raised as is); when it ends for any
reason - a task failed, every task returned, or the caller was cancelled - the tasks still running
are cancelled and waited for, so none outlives the component or logs "Task was destroyed but it
is pending".
"""
from __future__ import annotations

import asyncio
from typing import Iterable


async def run_all(tasks: Iterable[asyncio.Task]) -> None:
    """Wait for `tasks`; on the way out cancel and reap those still running."""
    tasks = list(tasks)
    try:
        await asyncio.gather(*tasks)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
