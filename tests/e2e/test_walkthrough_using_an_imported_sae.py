"""The researcher adds an SAE someone else trained, from the (fake) Hub, in the real UI: search,
browse its repo, add one folder, see where it came from, extract it and open its features.

Runs last on the walkthrough's page (modules run in alphabetical order and share the session's
studio): its extraction becomes the newest one, and the labelling and steering modules work on
the walkthrough's own topk extraction, so they must run before it.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import HUB_SAE_REPO
from tests.e2e.test_walkthrough import JOB_TIMEOUT, open_panel, shot

pytestmark = pytest.mark.e2e
Page = Any  # playwright.sync_api.Page


def test_01_add_sae_from_the_hub(page: Page) -> None:
    open_panel(page, "saes")
    card = page.get_by_test_id("add-sae")
    card.get_by_test_id("hub-search-open").click()
    page.get_by_test_id("hub-search-input").fill("smollm2")
    repos = page.get_by_test_id("hub-search-repos")
    repos.get_by_text(HUB_SAE_REPO).wait_for()
    shot(page, "14-hub-search", card)
    repos.get_by_text(HUB_SAE_REPO).click()
    listing = page.get_by_test_id("hub-browse")
    listing.get_by_test_id("hub-sae").nth(2).wait_for()
    assert "3 SAEs" in listing.inner_text()
    row = listing.get_by_test_id("hub-sae").filter(has_text="blocks.6.hook_resid_post").first
    assert "512" in row.inner_text() and "saelens" in row.inner_text()
    shot(page, "14-hub-browse", listing)
    row.get_by_test_id("hub-sae-add").click()
    sae = page.locator("tr[data-testid^=sae-]").filter(has_text=f"{HUB_SAE_REPO}/blocks.6").first
    sae.get_by_test_id("status").filter(has_text="ready").wait_for(timeout=JOB_TIMEOUT)
    origin = sae.get_by_test_id("sae-origin")
    assert HUB_SAE_REPO in origin.inner_text() and "saelens" in origin.inner_text()
    # Linked to the built-in SmolLM2 by the model name its cfg.json gives.
    assert sae.get_by_test_id("sae-link-model").input_value() == "1"
    assert sae.get_by_test_id("sae-export").get_attribute("href", timeout=5_000)
    shot(page, "14-sae-imported", sae)


def test_02_extract_the_imported_sae(page: Page) -> None:
    sae = page.locator("tr[data-testid^=sae-]").filter(has_text=f"{HUB_SAE_REPO}/blocks.6").first
    sae.get_by_test_id("extract-open").click()
    page.get_by_test_id("extraction-tokens").fill("20000")
    shot(page, "15-extract-imported-dialog")
    page.get_by_test_id("extraction-submit").click()
    # The browser follows the new extraction once it is ready (the first one stays selectable).
    page.wait_for_function(
        """(name) => {
            const s = document.querySelector('[data-testid=extraction-select]');
            const o = s && s.options[s.selectedIndex];
            return !!o && o.text.includes(name) && o.text.includes('(ready)');
        }""",
        arg=f"{HUB_SAE_REPO}/blocks.6",
        timeout=JOB_TIMEOUT,
    )
    page.get_by_test_id("feature-browser").wait_for()
    page.get_by_test_id("feature-row").first.get_by_test_id("star").wait_for()
    shot(page, "15-imported-feature-browser")
    # A random SAE has latents that never fire (no examples): open one that does.
    live = page.get_by_test_id("feature-row").filter(has=page.get_by_test_id("token-text"))
    live.first.click()
    page.get_by_test_id("feature-detail").wait_for()
    page.get_by_test_id("examples").locator("[data-testid=token-text]").first.wait_for()
    shot(page, "15-imported-feature-examples")
    page.keyboard.press("Escape")
