"""The researcher steers with a feature of the walkthrough's SAE, in the real UI.

Runs after ``test_walkthrough.py`` on the same page (modules run in alphabetical order and share
the session's studio): that module leaves a trained topk SAE on layer 6 of SmolLM2 and a ready
feature extraction. Here: open the Steering panel, find the `def` features by the token of
their top examples, push them together into a neutral English prompt, compare baseline and
steered side by side with their metrics (the features' fire rate in the text among them), then
sweep five strengths in one job and read the grid.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.test_walkthrough import JOB_TIMEOUT, open_panel, shot

pytestmark = pytest.mark.e2e
Page = Any  # playwright.sync_api.Page

PROMPT = "The weather today is"
# The researcher's check of direction: push the SAE's `def` features (all of them, as a group:
# one short-trained keyword feature alone mostly garbles the text) into a neutral English
# prompt and look for function definitions. Measured on a walkthrough-sized SAE, the group at
# 1x max activation each turned three English prompts into `def ...(func...` text while single
# features rarely did; a single `self` feature is the fallback when no `def` feature exists.
KEYWORDS = ("def", "self")
STRENGTH = "1"  # x max activation, per feature
SWEEP = "0, 0.5, 1, 1.5, 2"
FIRES = re.compile(r"fires (\d+)% \(base (\d+)%\)")


def _run_done(page: Page) -> None:
    view = page.get_by_test_id("steering-run-view")
    # The run's own pill (the card header's) comes first; the job's progress has a pill too,
    # which can still say "running" for a moment after the run is ready.
    done = view.get_by_test_id("status").filter(has_text=re.compile("ready|completed|failed"))
    done.first.wait_for(timeout=JOB_TIMEOUT)
    assert done.first.inner_text() != "failed", view.inner_text()
    view.get_by_role("button", name="Export JSON").wait_for()


def _fires(metrics: str) -> tuple[int, int]:
    """(steered, baseline) fire rates in percent from a metrics line."""
    match = FIRES.search(metrics)
    assert match, metrics
    return int(match.group(1)), int(match.group(2))


def _add_keyword_features(page: Page, word: str) -> int:
    """Search the picker for ``word`` and add every hit whose top token is that keyword."""
    results = page.get_by_test_id("steering-results")
    page.get_by_test_id("steering-search").fill(word)
    # The list refetches for the new query; wait until it settled on a row or "no match".
    page.wait_for_timeout(800)
    results.locator("li").first.wait_for()
    added = 0
    rows = results.locator("li")
    for i in range(rows.count()):
        tokens = rows.nth(i).get_by_test_id("picker-top-tokens")
        if not tokens.count():
            continue
        first = tokens.inner_text().split('" ')[0].strip('"').strip()
        if first == word:
            rows.nth(i).get_by_role("button", name="Add").click()
            added += 1
    return added


def test_steer_01_pick_code_features(page: Page) -> None:
    page.keyboard.press("Escape")  # a dialog left open by an earlier module
    open_panel(page, "steering")
    form = page.get_by_test_id("steering-form")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=steering-extraction]').value !== ''"
    )
    for word in KEYWORDS:
        if _add_keyword_features(page, word):
            break
    else:
        pytest.fail(f"no feature of the walkthrough's SAE has any of {KEYWORDS} as top token")
    picked = page.get_by_test_id("steering-picked")
    picked.wait_for()
    strengths = picked.get_by_label("strength value")
    print(f"\nsteering {strengths.count()} {word!r} features together")
    # Strength in multiples of each feature's max activation (the picker's default unit).
    for i in range(strengths.count()):
        strengths.nth(i).fill(STRENGTH)
    page.get_by_test_id("steering-prompt").first.fill(PROMPT)
    page.get_by_test_id("steering-max-tokens").fill("24")
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
    # The direction: the steered text is where the features fire, more than the baseline's.
    steered_rate, base_rate = _fires(metrics)
    assert steered_rate > base_rate, metrics
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
    assert labels == ["0", "0.5", "1", "1.5", "2"]
    baseline = grid.get_by_test_id("sweep-baseline").get_by_test_id("steering-output").inner_text()
    texts = [rows.nth(i).get_by_test_id("steering-output").inner_text() for i in range(5)]
    print(f"\nbaseline: {baseline!r}")
    rates = []
    for label, text, i in zip(labels, texts, range(5), strict=True):
        metrics = rows.nth(i).get_by_test_id("steering-metrics").inner_text()
        print(f"x{label}: {text!r}  [{metrics}]")
        for name in ("KL", "ppl", "sim"):
            assert re.search(rf"{name} -?\d", metrics), metrics
        rates.append(_fires(metrics))
    # Strength 0 with the same seed is the baseline; the strongest push is not.
    assert texts[0] == baseline
    assert texts[-1] != baseline
    # Strength 0 fires as often as the baseline; pushing harder makes the text the features'
    # own: some strength fires on a fifth of the tokens more than the baseline does.
    assert rates[0][0] == rates[0][1]
    assert max(r for r, _ in rates[1:]) >= rates[0][1] + 20, rates
    shot(page, "s03-steering-sweep", grid)
    # The run is in the history, one job for the whole sweep.
    assert page.get_by_test_id("steering-history-item").count() >= 2
