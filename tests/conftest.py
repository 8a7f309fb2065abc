"""Fixtures shared by every test tier: seeded RNGs and an isolated ``MISTUDIO_HOME``."""

from __future__ import annotations

import importlib.util
import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

if importlib.util.find_spec("mistudio") is None:  # running from a checkout without `pip install -e`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


@pytest.fixture(autouse=True)
def _seed_rngs() -> None:
    """Every test starts from the same random state (random, numpy, torch)."""
    random.seed(0)
    np.random.seed(0)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return
    torch.manual_seed(0)


@pytest.fixture
def tmp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """``MISTUDIO_HOME`` pointed at a fresh temporary folder, with the settings cache cleared."""
    from mistudio.settings import get_settings

    home = tmp_path / "mistudio-home"
    home.mkdir()
    monkeypatch.setenv("MISTUDIO_HOME", str(home))
    get_settings.cache_clear()
    yield home
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Any]:
    """One Playwright driver for the whole session, shared by the e2e walkthrough and the
    security tier's hostile-page test: its sync API runs an event loop in this thread, so a
    second ``sync_playwright()`` opened while the first is alive fails."""
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as driver:
        yield driver
