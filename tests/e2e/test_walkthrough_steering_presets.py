"""Steering prompt templates and presets in the real UI, continuing the page that
``test_walkthrough_steering.py`` left: its `def` features picked at 1x max activation each, a
prompt typed and a sweep in the form. Here: switch the prompts to a template with a variable,
give it two values and run (one job, one baseline and one steered output per value, each
labelled with its value); save the whole form as a preset, change the form, and load the preset
back (features, strengths, template and values return).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.test_walkthrough import JOB_TIMEOUT, open_panel, shot
from tests.e2e.test_walkthrough_steering import STRENGTH, _run_done

pytestmark = pytest.mark.e2e
Page = Any  # playwright.sync_api.Page

TEMPLATE = "In the {place} today, the"
PLACES = ["garden", "office"]
PRESET = "def push, two places"


def test_presets_01_prompt_template_with_two_values(page: Page) -> None:
    open_panel(page, "steering")
    form = page.get_by_test_id("steering-form")
    assert page.get_by_test_id("steering-picked").get_by_label("strength value").count() >= 1
    page.get_by_test_id("steering-sweep").fill("")
    form.get_by_test_id("steering-mode-template").click()
    page.get_by_test_id("steering-template-text").fill(TEMPLATE)
    page.get_by_test_id("steering-values-place").fill("\n".join(PLACES))
    count = page.get_by_test_id("steering-template-count")
    assert count.inner_text() == "2 prompts, one generation each"
    shot(page, "sp01-steering-template-form", form)

    page.get_by_test_id("steering-run").click()
    # The previous run (the sweep) stays in view until this one is queued; the values' chips
    # appear with this run's results only.
    page.get_by_test_id("steering-prompt-variables").nth(1).wait_for(timeout=JOB_TIMEOUT)
    _run_done(page)
    results = page.get_by_test_id("steering-prompt-result")
    assert results.count() == 2
    for i, place in enumerate(PLACES):
        result = results.nth(i)
        assert TEMPLATE.format(place=place) in result.inner_text()
        assert result.get_by_test_id("steering-prompt-variables").inner_text() == f"place = {place}"
        outputs = result.get_by_test_id("steering-output")
        assert outputs.count() == 2 and outputs.nth(0).inner_text().strip()
    shot(page, "sp02-steering-template-results", page.get_by_test_id("steering-run-view"))


def test_presets_02_save_change_and_reload(page: Page) -> None:
    form = page.get_by_test_id("steering-form")
    presets = page.get_by_test_id("steering-presets")
    picked = page.get_by_test_id("steering-picked")
    n_features = picked.get_by_label("strength value").count()
    page.get_by_test_id("steering-preset-name").fill(PRESET)
    page.get_by_test_id("steering-preset-save").click()
    assert (
        presets.get_by_test_id("steering-preset-message").inner_text() == f"saved preset {PRESET}"
    )
    # Change the form: other strengths, one feature fewer, back to plain prompts.
    picked.get_by_label("strength value").first.fill("7")
    if n_features > 1:
        picked.get_by_label("remove feature").last.click()
    form.get_by_test_id("steering-mode-prompts").click()
    page.get_by_test_id("steering-preset").select_option(value="")  # none selected
    # Load it back.
    page.get_by_test_id("steering-preset").select_option(label=PRESET)
    strengths = picked.get_by_label("strength value")
    strengths.nth(n_features - 1).wait_for()
    assert strengths.count() == n_features
    assert {strengths.nth(i).input_value() for i in range(n_features)} == {STRENGTH}
    assert page.get_by_test_id("steering-template-text").input_value() == TEMPLATE
    assert page.get_by_test_id("steering-values-place").input_value() == "\n".join(PLACES)
    shot(page, "sp03-steering-preset-loaded", presets)
