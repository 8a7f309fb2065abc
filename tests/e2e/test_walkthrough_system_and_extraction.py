"""The System panel with two (fake) GPUs, the training form's GPU choice, and the polling fallback.

Runs in the session's studio after the steering modules (alphabetical order). The studio's
``nvidia-smi`` is the tests' fake (conftest: ``MISTUDIO_GPU_SOURCE=nvidia-smi``, the fake first on
``PATH``), which reports as many GPUs as ``<home>/fake-gpus`` says and none without it; this module
writes 2 there and removes it at the end, so the other modules see a machine without GPUs and
their training forms stay on ``cpu``.

Not here yet (issue 18 point 10): the extraction dialog's labelling method, filters and the
features-found counter are covered by Vitest (features/ExtractionControls.test.tsx) and the
service test (tests/service/test_extraction_then_label.py), not by this walkthrough.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import FAKE_GPUS_FILE
from tests.e2e.test_walkthrough import open_panel, shot

pytestmark = pytest.mark.e2e
Page = Any  # playwright.sync_api.Page


def _home(page: Page) -> Path:
    info = page.request.get(page.url.split("#")[0].rstrip("/") + "/api/v1/system/info").json()
    return Path(info["home"])


@pytest.fixture(scope="module")
def two_gpus(page: Page) -> Iterator[Path]:
    count = _home(page) / FAKE_GPUS_FILE
    count.write_text("2")
    yield count
    count.unlink(missing_ok=True)


def test_50_system_panel_with_two_gpus(page: Page, two_gpus: Path) -> None:
    open_panel(page, "system")
    cards = page.get_by_test_id("gpu-cards")
    cards.get_by_test_id("gpu-card-1").wait_for()
    assert "most free memory" in page.get_by_test_id("gpu-card-1").inner_text()
    assert re.search(r"\d+/700 W", page.get_by_test_id("gpu-card-0").inner_text())
    chart = page.get_by_test_id("gpu-chart-all")
    chart.wait_for()
    page.wait_for_timeout(3000)  # a few samples so the lines have length
    shot(page, "50-system-gpus-aggregated", chart)
    page.get_by_test_id("gpu-view").get_by_role("button", name="Per GPU").click()
    page.get_by_test_id("gpu-chart-1").wait_for()
    assert page.get_by_test_id("gpu-chart-all").count() == 0
    shot(page, "51-system-gpus-per-gpu", page.get_by_test_id("gpu-chart-0"))
    page.get_by_test_id("gpu-view").get_by_role("button", name="Aggregated").click()
    chart.wait_for()


def test_51_training_form_offers_each_gpu(page: Page, two_gpus: Path) -> None:
    open_panel(page, "training")
    device = page.get_by_test_id("train-device")
    device.wait_for()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=train-device]').value === 'cuda:1'"
    )
    options = device.locator("option").all_inner_texts()
    assert options[0] == "cpu" and len(options) == 3, options
    assert options[2] == "cuda:1 (freest)", options
    shot(page, "52-training-gpu-choice", device)
    device.select_option("cuda:0")
    assert device.input_value() == "cuda:0"
    # Leave the form as the other modules expect it: no GPUs, device cpu.
    two_gpus.unlink()
    open_panel(page, "system")
    page.get_by_text("No NVIDIA GPU visible").wait_for()
    open_panel(page, "training")
    device.select_option("cpu")
    assert device.input_value() == "cpu"


def test_52_polling_while_the_socket_is_down(page: Page) -> None:
    blocked = {"on": True}

    def route(ws: Any) -> None:
        if blocked["on"]:
            ws.close()
        else:
            ws.connect_to_server()

    page.route_web_socket(re.compile(r".*/api/v1/ws.*"), route)
    page.reload()
    state = page.get_by_test_id("connection-state")
    state.wait_for()
    page.wait_for_function(
        "() => document.querySelector('[data-testid=connection-state]').dataset.state === 'polling'"
    )
    assert "polling" in state.inner_text()
    with page.expect_request(lambda r: "/api/v1/system/metrics" in r.url, timeout=10_000):
        pass  # metrics still arrive, over HTTP
    shot(page, "53-polling-while-socket-down", state)
    blocked["on"] = False  # the next reconnect attempt goes through
    page.wait_for_function(
        "() => document.querySelector('[data-testid=connection-state]').dataset.state === 'live'",
        timeout=30_000,
    )
    assert state.inner_text().startswith("live")
