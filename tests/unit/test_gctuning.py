"""labkube.gctuning: the collector settings a long-running component applies at start."""
import gc

import pytest

from labkube import gctuning


@pytest.fixture
def restore_gc():
    before = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*before)


def test_tune_freezes_start_up_objects_and_raises_thresholds(restore_gc, monkeypatch):
    monkeypatch.delenv("LABKUBE_GC", raising=False)
    assert gctuning.tune() is True
    assert gc.get_threshold() == gctuning.THRESHOLDS
    assert gc.get_freeze_count() > 0


def test_default_opt_out_keeps_cpython_settings(restore_gc, monkeypatch):
    monkeypatch.setenv("LABKUBE_GC", "default")
    before = gc.get_threshold()
    assert gctuning.tune() is False
    assert gc.get_threshold() == before
