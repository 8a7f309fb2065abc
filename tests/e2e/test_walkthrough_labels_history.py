"""Label history in the real UI, continuing the walkthrough's page after
``test_walkthrough_labeling.py`` (rules labels on every latent, local-model labels on the most
frequent latents the rules found unclear, and the walkthrough's hand-edited label): open a latent
that has both a rules and a local-model label, read its History, compare the two side by side,
make the older (the rules verdict) current and see the browser show it, then switch the browser to
best-scored labels, where the local label is back with its "best" mark. The local label is made
current again at the end, so later modules find the labels as the labelling module left them.
Screenshots land in ``tests/e2e/screenshots/``.
"""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pytest

from tests.e2e.test_walkthrough import open_panel, shot
from tests.e2e.test_walkthrough_labeling import _api, _features

pytestmark = pytest.mark.e2e
Page = Any  # playwright.sync_api.Page


def _post(studio: str, path: str) -> Any:
    request = urllib.request.Request(f"{studio}/api/v1{path}", method="POST", data=b"")
    with urllib.request.urlopen(request, timeout=30) as r:
        return json.loads(r.read())


def _two_methods(studio: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A latent whose current label is the local model's and whose history holds the rules'
    verdict before it, with that history (newest first)."""
    for feature in _features(studio):
        if feature["label_method"] != "local":
            continue
        history = _api(studio, f"/features/{feature['id']}/labels")
        if {"rules", "local"} <= {v["method"] for v in history}:
            return feature, history
    raise AssertionError("no latent has both a rules and a local-model label")


def _row(page: Page, index: int) -> Any:
    """The browser's row of latent ``index`` (searched by its index, as text: the semantic box
    the labelling module left ticked is unticked first)."""
    semantic = page.get_by_test_id("feature-semantic")
    if semantic.is_checked():
        semantic.uncheck()
    page.get_by_test_id("feature-search").fill(str(index))
    row = page.get_by_test_id("feature-row").filter(has_text=re.compile(rf"#{index}(?!\d)")).first
    try:
        row.wait_for(timeout=90_000)  # a loaded machine answers the search slowly
    except Exception:
        shot(page, "19-browser-row-missing")  # what was on screen instead
        raise
    return row


def test_19_label_history_compare_and_revert(page: Page, studio: str) -> None:
    feature, history = _two_methods(studio)
    local = next(v for v in history if v["method"] == "local")
    rules = next(v for v in history if v["method"] == "rules")
    assert local["is_current"] and not rules["is_current"]
    assert local["created_at"] > rules["created_at"]

    open_panel(page, "features")
    page.get_by_test_id("feature-browser").wait_for()
    page.get_by_test_id("feature-goto").fill(str(feature["index"]))
    page.get_by_test_id("feature-goto").press("Enter")
    page.get_by_test_id("feature-detail").wait_for()
    try:
        page.get_by_role("tab", name="History").click()
        versions = page.get_by_test_id("label-version")
        versions.first.wait_for()
        assert versions.count() == len(history)
        assert versions.first.get_attribute("data-current") == "true"
        shot(page, "19-label-history")

        # compare the local label with the rules verdict it replaced
        for version in (local, rules):
            page.locator(
                f"[data-testid=label-version][data-version-id='{version['id']}']"
            ).get_by_test_id("label-version-pick").check()
        compare = page.get_by_test_id("label-compare")
        compare.wait_for()
        label_row = compare.locator("[data-testid=compare-row][data-field=Label]")
        assert label_row.get_attribute("data-differs") == "true"
        assert local["label"] in label_row.inner_text()
        method_row = compare.locator("[data-testid=compare-row][data-field=Method]")
        assert "rules" in method_row.inner_text() and "local" in method_row.inner_text()
        shot(page, "19-label-compare", compare)

        # make the older one (the rules verdict) current again
        older = page.locator(f"[data-testid=label-version][data-version-id='{rules['id']}']")
        older.get_by_test_id("label-version-make-current").click()
        page.wait_for_function(
            "(id) => document.querySelector(`[data-testid=label-version][data-version-id='${id}']`)"
            "?.dataset.current === 'true'",
            arg=rules["id"],
        )
        now = _api(studio, f"/features/{feature['id']}")
        assert now["label_method"] == "rules" and now["label"] == rules["label"]
        assert now["detection_score"] == rules["detection_score"]
        shot(page, "19-label-made-current")
    finally:
        page.keyboard.press("Escape")

    # the browser shows the rules verdict now ...
    row = _row(page, feature["index"])
    shown = rules["label"] or "unlabelled"
    page.wait_for_function(
        "([i, text]) => [...document.querySelectorAll('[data-testid=feature-row]')]"
        ".some((r) => r.innerText.includes('#' + i) && r.innerText.includes(text))",
        arg=[feature["index"], shown],
    )
    assert local["label"] not in row.inner_text()
    shot(page, "19-browser-current-label")

    # ... and, with best-scored labels, its best scored version (the local label, unless the
    # rules verdict scored higher), marked "best" where that is not the current one
    scored = [v for v in history if v["score"] is not None]
    best = max(scored, key=lambda v: (v["score"], v["id"]))
    page.get_by_test_id("feature-label-view").select_option("best")
    row = _row(page, feature["index"])
    if best["id"] != rules["id"]:
        row.get_by_test_id("label-best-badge").wait_for()
        assert (best["label"] or "unlabelled") in row.inner_text()
    else:
        assert row.get_by_test_id("label-best-badge").count() == 0
    print(
        f"\nlatent #{feature['index']}: rules {rules['label']!r} (score {rules['score']}), "
        f"local {local['label']!r} (score {local['score']}); best-scored: {best['method']}"
    )
    shot(page, "19-browser-best-scored")

    page.get_by_test_id("feature-label-view").select_option("current")
    page.get_by_test_id("feature-search").fill("")
    back = _post(studio, f"/features/{feature['id']}/labels/{local['id']}/current")
    assert back["label_method"] == "local" and back["label"] == local["label"]
