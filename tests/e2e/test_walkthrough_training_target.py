"""The researcher asks for "an SAE with about this L0" in the real UI and watches it land.

Runs last on the walkthrough's page (modules run in alphabetical order and share the session's
studio; earlier modules pick the walkthrough's topk SAE as the newest, so this one adds its SAE
after them). A standard (L1) SAE on SmolLM2 layer 6 with auto sparsity: the training card
shows the "Sparsity control" chart with L0 and the coefficient against the dashed target line,
and its header gives the latest L0 against the target.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.test_walkthrough import JOB_TIMEOUT, open_panel, shot

pytestmark = pytest.mark.e2e
Page = Any  # playwright.sync_api.Page

TARGET = 16


def test_standard_sae_trained_to_a_target_l0(page: Page) -> None:
    open_panel(page, "training")
    form = page.get_by_test_id("training-form")
    form.get_by_test_id("train-architecture").select_option("standard")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=train-d-in]').value === '576'"
    )
    page.get_by_test_id("train-d-sae").fill("512")
    page.get_by_test_id("train-l0").fill(str(TARGET))
    page.get_by_test_id("train-steps").fill("60")  # 48 adjusting steps, then 12 frozen
    page.get_by_test_id("train-batch").fill("128")
    if not page.get_by_test_id("train-buffer").is_visible():
        page.get_by_test_id("train-advanced").click()
    page.get_by_test_id("train-buffer").fill("8192")
    page.get_by_test_id("train-name").fill("e2e-standard-target")
    page.get_by_test_id("train-start").click()
    card = (
        page.get_by_test_id("training-cards")
        .locator("section")
        .filter(has_text="e2e-standard-target")
        .first
    )
    chart = card.get_by_test_id("sparsity-chart")
    # A horizontal SVG line has no height, which Playwright never counts as visible.
    chart.get_by_test_id("sparsity-target").wait_for(state="attached", timeout=JOB_TIMEOUT)
    card.get_by_test_id("status").filter(has_text=re.compile("ready|completed")).wait_for(
        timeout=JOB_TIMEOUT
    )
    summary = chart.get_by_test_id("sparsity-summary").inner_text()
    assert f"target {TARGET}" in summary, summary
    assert re.search(r"L0 [\d.]+", summary), summary
    shot(page, "14-training-sparsity-control", chart)


def test_a_training_over_two_cpu_ranks(page: Page) -> None:
    """Issue 20: the dialog's CPU ranks make a 2-rank job; its card names the ranks it holds."""
    open_panel(page, "training")
    form = page.get_by_test_id("training-form")
    form.get_by_test_id("train-architecture").select_option("topk")
    form.get_by_test_id("train-device").select_option("cpu")
    page.get_by_test_id("train-d-sae").fill("512")
    page.get_by_test_id("train-l0").fill("16")
    page.get_by_test_id("train-steps").fill("8")
    page.get_by_test_id("train-batch").fill("128")
    page.get_by_test_id("train-ranks").fill("2")
    if not page.get_by_test_id("train-buffer").is_visible():
        page.get_by_test_id("train-advanced").click()
    page.get_by_test_id("train-buffer").fill("1024")
    page.get_by_test_id("train-name").fill("e2e-two-ranks")
    page.get_by_test_id("train-start").click()
    card = (
        page.get_by_test_id("training-cards")
        .locator("section")
        .filter(has_text="e2e-two-ranks")
        .first
    )
    devices = card.get_by_test_id("training-devices")
    devices.filter(has_text="2 CPU ranks").wait_for(timeout=JOB_TIMEOUT)
    card.get_by_test_id("status").filter(has_text=re.compile("ready|completed")).wait_for(
        timeout=JOB_TIMEOUT
    )
    shot(page, "15-training-two-cpu-ranks", card)
