"""labkube.tasks.run_all: a component's tasks are awaited together and none is left running,
however run_all ends."""
from __future__ import annotations

import asyncio

import pytest

from labkube.tasks import run_all


async def forever(log: list, name: str) -> None:
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        log.append(f"{name} cancelled")
        raise


async def returns(log: list, name: str) -> None:
    await asyncio.sleep(0)
    log.append(f"{name} returned")


async def fails(log: list, name: str) -> None:
    await asyncio.sleep(0)
    log.append(f"{name} failed")
    raise RuntimeError(name)


@pytest.mark.parametrize("kinds, raises, log", [
    ((returns, returns), None, ["a returned", "b returned"]),
    ((fails, forever), RuntimeError, ["a failed", "b cancelled"]),
    ((forever, fails, forever), RuntimeError, ["b failed", "a cancelled", "c cancelled"]),
    ((returns, fails), RuntimeError, ["a returned", "b failed"]),
])
async def test_how_run_all_ends(kinds, raises, log):
    seen: list = []
    tasks = [asyncio.create_task(k(seen, n)) for k, n in zip(kinds, "abc")]
    if raises:
        with pytest.raises(raises):
            await run_all(tasks)
    else:
        await run_all(tasks)
    assert seen == log
    assert all(t.done() for t in tasks)


async def test_cancelling_the_caller_cancels_and_reaps_every_task():
    seen: list = []
    tasks = [asyncio.create_task(forever(seen, n)) for n in "ab"]
    runner = asyncio.create_task(run_all(tasks))
    await asyncio.sleep(0.01)
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner
    assert sorted(seen) == ["a cancelled", "b cancelled"]
    assert all(t.done() for t in tasks)
