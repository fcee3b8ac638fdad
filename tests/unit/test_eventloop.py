"""labkube.eventloop: the loop every labkube process runs on (uvloop unless opted out), and the
component runner (scheduler, controller-manager, hollow nodes) running on it."""
import asyncio

import pytest

from labkube import eventloop
from labkube.client import component

uvloop = pytest.importorskip("uvloop")


async def loop_module() -> str:
    return type(asyncio.get_running_loop()).__module__


@pytest.mark.parametrize("env, want", [(None, "uvloop"), ("1", "uvloop"), ("0", "asyncio")])
def test_run_picks_the_loop(monkeypatch, env, want):
    if env is None:
        monkeypatch.delenv("LABKUBE_UVLOOP", raising=False)
    else:
        monkeypatch.setenv("LABKUBE_UVLOOP", env)
    assert eventloop.run(loop_module()).split(".")[0] == want


@pytest.mark.parametrize("env, want", [(None, "uvloop"), ("0", "asyncio")])
def test_components_run_on_the_same_loop(monkeypatch, env, want):
    if env is None:
        monkeypatch.delenv("LABKUBE_UVLOOP", raising=False)
    else:
        monkeypatch.setenv("LABKUBE_UVLOOP", env)
    seen = []

    async def start():
        seen.append(await loop_module())

    assert component.run("test", start) == 0
    assert seen[0].split(".")[0] == want
