"""The garbage-collector set-up of server processes (jamsite/serverprocess.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from jamsite.serverprocess import gc_thresholds, server_process_ready


@pytest.fixture
def collector() -> Iterator[None]:
    """Put the test process's collector back as it was."""
    thresholds = gc.get_threshold()
    frozen = gc.get_freeze_count()
    yield
    gc.set_threshold(*thresholds)
    if not frozen:
        gc.unfreeze()


def test_thresholds_parse() -> None:
    assert gc_thresholds("50000,20,100") == (50000, 20, 100)
    assert gc_thresholds(" 700, 10 ,10") == (700, 10, 10)
    assert gc_thresholds("") is None
    assert gc_thresholds("  ") is None


@pytest.mark.parametrize("text", ["50000", "1,2", "1,2,3,4", "a,b,c", "0,10,10", "700,-1,10"])
def test_bad_thresholds_are_refused_with_the_setting_named(text: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="JAM_GC_THRESHOLD"):
        gc_thresholds(text)


def test_ready_sets_thresholds_and_freezes_what_is_alive(collector: None) -> None:
    gc.unfreeze()
    with override_settings(JAM_GC_FREEZE=True, JAM_GC_THRESHOLD="40000,15,50"):
        server_process_ready()
    assert gc.get_threshold() == (40000, 15, 50)
    assert gc.get_freeze_count() > 0


def test_ready_leaves_python_defaults_when_told(collector: None) -> None:
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)
    with override_settings(JAM_GC_FREEZE=False, JAM_GC_THRESHOLD=""):
        server_process_ready()
    assert gc.get_threshold() == (700, 10, 10)
    assert gc.get_freeze_count() == 0
