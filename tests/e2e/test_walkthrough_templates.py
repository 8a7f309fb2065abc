"""Templates made and edited with their panel's form, in the real UI, continuing the walkthrough's
page (``test_walkthrough.py`` saved the training template "e2e topk layer 6"): a new extraction
template from the Extract dialog's fields, edited in place (same card, new values); the training
template edited in place with the training form; a steering preset made with the steering form
(a prompt template with values), then loaded into the Steering panel from its card.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.test_walkthrough import open_panel, shot

pytestmark = pytest.mark.e2e
Page = Any  # playwright.sync_api.Page

EXTRACTION = "e2e deep extraction"
TRAINING = "e2e topk layer 6"  # saved by test_walkthrough.py's test_12
STEERING = "e2e weather topics"


def _config(card: Any) -> dict[str, Any]:
    """The config a card shows under "show config"."""
    card.get_by_role("button", name="show config").click()
    text = card.locator("pre").inner_text()
    card.get_by_role("button", name="hide config").click()
    return json.loads(text)


def _new(page: Page, kind: str, name: str) -> Any:
    page.get_by_test_id("template-new").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_test_id("template-kind").select_option(kind)
    dialog.get_by_test_id("template-form-name").fill(name)
    return dialog


def test_templates_01_new_extraction_template_with_the_form(page: Page) -> None:
    page.keyboard.press("Escape")
    open_panel(page, "templates")
    dialog = _new(page, "extraction", EXTRACTION)
    dialog.get_by_test_id("template-form-description").fill("more tokens, more examples")
    dialog.get_by_test_id("extraction-tokens").fill("20000")
    dialog.get_by_test_id("extraction-top-k").fill("30")
    dialog.get_by_test_id("extraction-exclude-tokens").fill("def self")
    shot(page, "t01-template-new-extraction", dialog)
    dialog.get_by_test_id("template-form-save").click()
    card = page.get_by_test_id(f"template-{EXTRACTION}")
    card.wait_for()
    config = _config(card)
    assert config["n_tokens"] == 20000 and config["top_k"] == 30
    assert config["exclude_tokens"] == ["def", "self"]


def test_templates_02_edit_the_extraction_template_in_place(page: Page) -> None:
    card = page.get_by_test_id(f"template-{EXTRACTION}")
    card.get_by_test_id("template-edit").click()
    dialog = page.get_by_role("dialog")
    assert dialog.get_by_test_id("template-kind").is_disabled()
    assert dialog.get_by_test_id("extraction-tokens").input_value() == "20000"
    dialog.get_by_test_id("extraction-top-k").fill("25")
    dialog.get_by_test_id("template-form-description").fill("top 25 examples")
    shot(page, "t02-template-edit-extraction", dialog)
    dialog.get_by_test_id("template-form-save").click()
    dialog.wait_for(state="detached")
    card.get_by_text("top 25 examples").wait_for()
    assert _config(card)["top_k"] == 25
    assert page.get_by_test_id(f"template-{EXTRACTION}").count() == 1  # edited, not copied


def test_templates_03_edit_the_training_template_with_the_training_form(page: Page) -> None:
    card = page.get_by_test_id(f"template-{TRAINING}")
    card.get_by_test_id("template-edit").click()
    dialog = page.get_by_role("dialog")
    form = dialog.get_by_test_id("training-form")
    form.wait_for()
    assert not dialog.get_by_test_id("train-start").count()  # a template form starts nothing
    assert dialog.get_by_test_id("train-name").input_value() == "template run"
    dialog.get_by_test_id("train-steps").fill("150")
    shot(page, "t03-template-edit-training", dialog)
    dialog.get_by_test_id("template-form-save").click()
    dialog.wait_for(state="detached")
    config = _config(card)
    form = config["form"]
    assert form["steps"] == 150 and form["name"] == "template run"
    assert config["request"]["train"]["total_tokens"] == 150 * form["batchTokens"]


def test_templates_04_steering_preset_made_with_the_form_loads_into_steering(page: Page) -> None:
    dialog = _new(page, "steering", STEERING)
    assert not dialog.get_by_test_id("steering-run").count()
    dialog.get_by_test_id("steering-mode-template").click()
    dialog.get_by_test_id("steering-template-text").fill("The weather in {city} is")
    dialog.get_by_test_id("steering-values-city").fill("Paris\nOslo\nLima")
    assert dialog.get_by_test_id("steering-template-count").inner_text().startswith("3 prompts")
    dialog.get_by_test_id("steering-max-tokens").fill("16")
    shot(page, "t04-template-new-steering-preset", dialog)
    dialog.get_by_test_id("template-form-save").click()
    card = page.get_by_test_id(f"template-{STEERING}")
    card.wait_for()
    assert "Steering preset" in card.inner_text()
    shot(page, "t05-templates-panel")
    card.get_by_test_id("template-load").click()
    page.get_by_test_id("panel-steering").wait_for()
    values = page.get_by_test_id("steering-values-city")
    values.wait_for()
    assert values.input_value() == "Paris\nOslo\nLima"
    assert page.get_by_test_id("steering-max-tokens").input_value() == "16"
    open_panel(page, "templates")
    card = page.get_by_test_id(f"template-{STEERING}")
    card.get_by_test_id("usage-count").filter(has_text="used 1×").wait_for()
