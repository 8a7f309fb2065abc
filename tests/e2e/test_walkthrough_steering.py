"""The researcher steers with a feature of the walkthrough's SAE, in the real UI.

Runs after ``test_walkthrough.py`` on the same page (modules run in alphabetical order and share
the session's studio): that module leaves a trained topk SAE on layer 6 of SmolLM2 and a ready
feature extraction. Here: open the Steering panel, find a code feature by a token of its top
examples, push it into a neutral English prompt, compare baseline and steered side by side with
their metrics, then sweep five strengths in one job and read the grid.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.test_walkthrough import JOB_TIMEOUT, open_panel, shot

pytestmark = pytest.mark.e2e
Page = Any  # playwright.sync_api.Page

PROMPT = "The weather today is"
# Python keywords a layer-6 code feature fires on; the first that matches a feature's top tokens
# in the picker is used (the SAE is trained in the walkthrough, so indices vary). `self` first:
# the integration test measured its feature pushing the model towards what follows `self` in
# code; `def` features moved nothing there.
CODE_TOKENS = ("self", "def", "return", "import", "class")
SWEEP = "0, 2, 4, 8, 16"


def _run_done(page: Page) -> None:
    view = page.get_by_test_id("steering-run-view")
    view.get_by_test_id("status").filter(has_text=re.compile("ready|completed|failed")).wait_for(
        timeout=JOB_TIMEOUT
    )
    assert view.get_by_test_id("status").inner_text() != "failed", view.inner_text()
    view.get_by_role("button", name="Export JSON").wait_for()


def test_steer_01_pick_a_code_feature(page: Page) -> None:
    page.keyboard.press("Escape")  # a dialog left open by an earlier module
    open_panel(page, "steering")
    form = page.get_by_test_id("steering-form")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=steering-extraction]').value !== ''"
    )
    results = page.get_by_test_id("steering-results")
    for word in CODE_TOKENS:
        page.get_by_test_id("steering-search").fill(word)
        # The list refetches for the new query; wait until it settled on a row or "no match".
        page.wait_for_timeout(800)
        results.locator("li").first.wait_for()
        if results.get_by_role("button", name="Add").count():
            break
    else:
        pytest.fail(f"no feature of the walkthrough's SAE matches any of {CODE_TOKENS}")
    results.get_by_role("button", name="Add").first.click()
    picked = page.get_by_test_id("steering-picked")
    picked.wait_for()
    # Strength in multiples of the feature's max activation (the picker's default unit).
    picked.get_by_label("strength value").fill("4")
    page.get_by_test_id("steering-prompt").first.fill(PROMPT)
    page.get_by_test_id("steering-max-tokens").fill("16")
    shot(page, "s01-steering-form", form)


def test_steer_02_side_by_side(page: Page) -> None:
    page.get_by_test_id("steering-sweep").fill("")
    page.get_by_test_id("steering-run").click()
    _run_done(page)
    result = page.get_by_test_id("steering-prompt-result")
    result.wait_for()
    outputs = result.get_by_test_id("steering-output")
    assert outputs.count() == 2
    baseline, steered = outputs.nth(0).inner_text(), outputs.nth(1).inner_text()
    print(f"\nbaseline: {baseline!r}\nsteered:  {steered!r}")
    assert baseline.strip() and steered.strip()
    assert baseline != steered
    metrics = result.get_by_test_id("steering-metrics").inner_text()
    print(f"metrics: {metrics}")
    for name in ("KL", "ppl", "sim"):
        assert re.search(rf"{name} -?\d", metrics), metrics
    shot(page, "s02-steering-compare", result)


def test_steer_03_sweep_five_strengths(page: Page) -> None:
    page.get_by_test_id("steering-sweep").fill(SWEEP)
    page.get_by_test_id("steering-run").click()
    grid = page.get_by_test_id("sweep-grid")
    grid.wait_for(timeout=JOB_TIMEOUT)
    _run_done(page)
    rows = grid.get_by_test_id("sweep-row")
    assert rows.count() == 5
    labels = [rows.nth(i).locator("td").first.inner_text() for i in range(5)]
    assert labels == ["0", "2", "4", "8", "16"]
    baseline = grid.get_by_test_id("sweep-baseline").get_by_test_id("steering-output").inner_text()
    texts = [rows.nth(i).get_by_test_id("steering-output").inner_text() for i in range(5)]
    print(f"\nbaseline: {baseline!r}")
    for label, text, i in zip(labels, texts, range(5), strict=True):
        metrics = rows.nth(i).get_by_test_id("steering-metrics").inner_text()
        print(f"x{label}: {text!r}  [{metrics}]")
        for name in ("KL", "ppl", "sim"):
            assert re.search(rf"{name} -?\d", metrics), metrics
    # Strength 0 with the same seed is the baseline; the strongest push is not.
    assert texts[0] == baseline
    assert texts[-1] != baseline
    shot(page, "s03-steering-sweep", grid)
    # The run is in the history, one job for the whole sweep.
    assert page.get_by_test_id("steering-history-item").count() >= 2
