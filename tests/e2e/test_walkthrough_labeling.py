"""Labelling in the real UI, continuing the walkthrough's page (``test_walkthrough.py`` runs first
and leaves a topk SAE on layer 6 of SmolLM2 with a ready feature extraction): label every latent
by rules with scores, label the most frequent latents the rules leave unclear with the ``local``
method's default (the built-in pattern labeller) with scores,
read labels and detection/fuzzing scores in the feature browser, sort by score, and search by
meaning for "indentation" and "import". Screenshots land in ``tests/e2e/screenshots/``.
"""

from __future__ import annotations

import json
import re
import urllib.request
from typing import Any

import pytest

from tests.e2e.test_walkthrough import JOB_TIMEOUT, open_panel, shot

pytestmark = pytest.mark.e2e
Page = Any  # playwright.sync_api.Page

N_LOCAL = 16
"""Latents the local default labels: the pattern labeller takes milliseconds per latent (labels
and scores), so the walkthrough labels as many as ``benchmarks/local_labeller.py`` measures in a
few seconds; SmolLM2-135M, the default before, took ~30 s for each of 4."""
LOCAL_LABELLED = 12
"""At least this many of them labelled: issue 19's target, 75% (the benchmark: 32 of 32)."""


def _api(studio: str, path: str) -> Any:
    with urllib.request.urlopen(f"{studio}/api/v1{path}", timeout=30) as r:
        return json.loads(r.read())


def _start_run(page: Page, method: str, indices: str | None = None) -> Any:
    open_panel(page, "labeling")
    page.get_by_test_id("labeling-new").click()
    dialog = page.get_by_test_id("labeling-dialog")
    dialog.wait_for()
    page.get_by_test_id("labeling-method").select_option(method)
    if indices is not None:
        page.get_by_test_id("labeling-selection").select_option("indices")
        page.get_by_test_id("labeling-indices").fill(indices)
    else:  # all unlabelled: the walkthrough's hand-made label stays
        page.get_by_test_id("labeling-selection").select_option("unlabelled")
    page.get_by_test_id("labeling-score").check()
    shot(page, f"14-labeling-dialog-{method}")
    cards = page.get_by_test_id("labeling-card")
    before = cards.count()
    page.get_by_test_id("labeling-start").click()
    dialog.wait_for(state="detached")
    page.wait_for_function(
        "(n) => document.querySelectorAll('[data-testid=labeling-card]').length > n", arg=before
    )
    return cards.first  # newest first


def _wait_summary(card: Any) -> dict[str, int]:
    card.get_by_test_id("labeling-summary").wait_for(timeout=JOB_TIMEOUT)

    def count(testid: str) -> int:
        return int(card.get_by_test_id(testid).inner_text().split()[-1].replace(",", ""))

    return {"labelled": count("summary-labelled"), "failed": count("summary-failed")}


def _features(studio: str) -> list[dict[str, Any]]:
    extraction = _api(studio, "/extractions?limit=10&sort=created_at&order=desc")["items"][0]["id"]
    out: list[dict[str, Any]] = []
    offset = 0
    while True:
        got = _api(studio, f"/features?extraction_id={extraction}&limit=500&offset={offset}")
        out += got["items"]
        offset += len(got["items"])
        if not got["items"] or offset >= got["total"]:
            return out


def test_14_rules_labels_all(page: Page, studio: str) -> None:
    card = _start_run(page, "rules")
    summary = _wait_summary(card)
    card.get_by_test_id("status").filter(has_text=re.compile("completed|ready")).wait_for()
    shot(page, "14-labeling-rules-done", card)
    assert summary["failed"] == 0
    assert summary["labelled"] >= 20, summary  # a 512-latent SAE on code has many token patterns
    rules = [
        f
        for f in _features(studio)
        if f["label_method"] == "rules" and f["label"] not in (None, "unclear")
    ]
    assert len(rules) == summary["labelled"]
    scored = [f for f in rules if f["detection_score"] is not None]
    assert scored and all(f["fuzzing_score"] is not None for f in scored)
    # The rule's own predicate answers the scoring questions: a real pattern scores well.
    assert max(f["detection_score"] for f in scored) >= 0.8


def test_15_local_model_labels_a_selection(page: Page, studio: str) -> None:
    # The most frequent live latents that rules could not label: the LLM's cases.
    features = [f for f in _features(studio) if f["frequency"]]
    unclear = sorted(
        (f for f in features if f["label"] in (None, "unclear")), key=lambda f: -f["frequency"]
    )
    chosen = sorted(f["index"] for f in unclear[:N_LOCAL])
    assert len(chosen) == N_LOCAL
    card = _start_run(page, "local", ", ".join(map(str, chosen)))
    try:  # the pattern labeller may finish before its progress bar is seen
        card.get_by_test_id("job-progress").wait_for(timeout=5_000)
        shot(page, "15-labeling-local-running", card)
    except Exception as exc:
        if type(exc).__name__ != "TimeoutError":
            raise
    summary = _wait_summary(card)
    shot(page, "15-labeling-local-done", card)
    # Every chosen latent is labelled, or found unclear (no pattern fits), or failed.
    assert summary["labelled"] + summary["failed"] <= N_LOCAL, summary
    assert summary["labelled"] >= LOCAL_LABELLED, summary
    local = {
        f["index"]: f
        for f in _features(studio)
        if f["label_method"] == "local" and f["label"] not in (None, "unclear")
    }
    assert set(local) <= set(chosen) and len(local) == summary["labelled"]
    for f in local.values():
        assert f["label"] and f["label"] != "unclear"
        assert len(f["label"].split()) <= 8
        assert f["detection_score"] is not None and f["fuzzing_score"] is not None
        assert 0 <= f["detection_score"] <= 1 and 0 <= f["fuzzing_score"] <= 1
        assert f["interpretability"] == pytest.approx(
            (f["detection_score"] + f["fuzzing_score"]) / 2, abs=1e-6
        )
    print("\nlocal labels:")
    for f in sorted(local.values(), key=lambda f: f["index"]):
        print(
            f"  #{f['index']}: {f['label']!r} detection {f['detection_score']:.2f} "
            f"fuzzing {f['fuzzing_score']:.2f}"
        )


def test_16_browser_shows_labels_and_scores(page: Page, studio: str) -> None:
    open_panel(page, "features")
    page.get_by_test_id("feature-browser").wait_for()
    page.get_by_test_id("feature-search").fill("")
    page.get_by_test_id("feature-sort").select_option("interpretability")
    if "asc" in page.get_by_label("sort order").inner_text():
        page.get_by_label("sort order").click()
    first = page.get_by_test_id("feature-row").first
    first.get_by_test_id("star").wait_for()
    rows = page.get_by_test_id("feature-row")
    # The list refetches for the new sort; on a loaded machine that takes longer than a fixed
    # pause, so wait until the rows on screen are the sorted answer (or time out and assert).
    try:
        page.wait_for_function(
            """() => {
                const rows = [...document.querySelectorAll('[data-testid=feature-row]')];
                const v = rows.slice(0, 8).map(
                    (r) => parseFloat(r.querySelectorAll(':scope > span')[7]?.innerText));
                return v.length > 1
                    && v.every((x, i) => !Number.isNaN(x) && (i === 0 || v[i - 1] >= x));
            }""",
            timeout=30_000,
        )
    except Exception as exc:  # the assertions below say what was on screen
        if type(exc).__name__ != "TimeoutError":
            raise
    scores = []
    for i in range(min(8, rows.count())):
        # Interp. is the 8th column (index, label, category, description, linguistics,
        # example, frequency, interp.)
        text = rows.nth(i).locator(":scope > span").nth(7).inner_text()
        scores.append(float(text) if text not in ("–", "") else float("nan"))
    assert scores == sorted(scores, reverse=True), scores
    assert scores[0] >= 0.8
    assert "unlabelled" not in first.inner_text()
    shot(page, "16-browser-sorted-by-score")
    # Unscored latents keep extraction's interpretability proxy, so the top rows need not be
    # scored ones: open the best-scored labelled latent and read its scores in the detail.
    scored = [f for f in _features(studio) if f["detection_score"] is not None]
    best = max(scored, key=lambda f: f["interpretability"])
    page.get_by_test_id("feature-goto").fill(str(best["index"]))
    page.get_by_test_id("feature-goto").press("Enter")
    detail = page.get_by_test_id("feature-detail")
    detail.wait_for()
    try:
        detection = float(page.get_by_test_id("detection-score").inner_text())
        fuzzing = float(page.get_by_test_id("fuzzing-score").inner_text())
        assert detection == pytest.approx(best["detection_score"], abs=0.006)
        assert fuzzing == pytest.approx(best["fuzzing_score"], abs=0.006)
        assert (
            f"labelled by {best['label_method']}"
            in page.get_by_test_id("label-source").inner_text()
        )
        shot(page, "16-feature-scores")
    finally:
        page.keyboard.press("Escape")  # a failure here must not leave the dialog over the page


def _semantic(page: Page, query: str) -> list[tuple[str, str]]:
    semantic = page.get_by_test_id("feature-semantic")
    if not semantic.is_checked():
        semantic.check()
    page.get_by_test_id("feature-search").fill(query)
    page.wait_for_timeout(800)  # the search box is debounced: old hits stay until then
    results = page.get_by_test_id("semantic-results")
    results.locator("li button").first.wait_for(timeout=60_000)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=semantic-results]').innerText.includes('…')"
    )
    hits = []
    for button in results.locator("li button").all()[:5]:
        spans = button.locator(":scope > span")
        hits.append((spans.nth(0).inner_text(), spans.nth(1).inner_text()))
    return hits


def test_17_semantic_search(page: Page) -> None:
    open_panel(page, "features")
    page.get_by_test_id("feature-browser").wait_for()
    indent = _semantic(page, "indentation")
    shot(page, "17-semantic-indentation")
    imports = _semantic(page, "import")
    shot(page, "17-semantic-import")
    print(f"\nsemantic 'indentation': {indent}\nsemantic 'import': {imports}")
    # The best hits are labelled for what was asked, not just any label.
    assert re.search(r"indent|whitespace|spaces", indent[0][1], re.IGNORECASE), indent
    assert re.search(r"\bimport\b", imports[0][1], re.IGNORECASE), imports
    assert not re.search(r"\bimport\b", indent[0][1], re.IGNORECASE)
    assert not re.search(r"indent|whitespace", imports[0][1], re.IGNORECASE)


def test_18_export_for_neuronpedia(page: Page, studio: str) -> None:
    """Export the labelled walkthrough SAE in all three forms: the studio archive and
    Neuronpedia's bulk folder, downloaded from the panel, and an upload to a (local, fake)
    Neuronpedia instance with a key typed once."""
    import gzip
    import zipfile

    from tests.fake_neuronpedia import FakeNeuronpedia

    open_panel(page, "features")
    page.get_by_test_id("feature-browser").wait_for()
    page.get_by_test_id("extraction-export").click()
    page.get_by_test_id("export-latents").select_option("labelled")
    page.get_by_test_id("export-examples").fill("10")
    shot(page, "18-export-dialog")
    page.get_by_test_id("export-submit").click()
    summary = page.get_by_test_id("export-summary").first
    summary.wait_for(timeout=JOB_TIMEOUT)
    text = summary.inner_text()
    match = re.search(r"^(\S+)/(\S+) · ([\d,]+) latents", text)
    assert match, text
    model_id, source_id, latents = match[1], match[2], int(match[3].replace(",", ""))
    # "Labelled": a label was found (the rules' "unclear" latents have none to publish).
    labelled = sum(1 for f in _features(studio) if f.get("label_status") == "labelled")
    assert latents == labelled > 0, (text, labelled)
    shot(page, "18-export-ready", page.get_by_test_id("export-list"))

    with page.expect_download() as archive_dl:
        page.get_by_test_id("export-download-archive").first.click()
    with zipfile.ZipFile(archive_dl.value.path()) as z:
        names = set(z.namelist())
        assert {"metadata.json", "README.md", "explanations/explanations.json"} <= names
        assert {"saelens/cfg.json", "saelens/sae_weights.safetensors"} <= names
        assert sum(n.startswith("features/") for n in names) == latents
    with page.expect_download() as bulk_dl:
        page.get_by_test_id("export-download-neuronpedia").first.click()
    with zipfile.ZipFile(bulk_dl.value.path()) as z:
        names = set(z.namelist())
        assert any(n.endswith("source.jsonl") for n in names), names
        feature_files = [n for n in names if "/features/batch-" in n or n.startswith("features/")]
        rows = [line for n in feature_files for line in gzip.decompress(z.read(n)).splitlines()]
        assert len(rows) == latents

    with FakeNeuronpedia() as neuronpedia:
        neuronpedia.add_source(model_id, source_id)
        page.get_by_test_id("export-upload-open").first.click()
        page.get_by_test_id("export-upload-url").fill(neuronpedia.endpoint)
        page.get_by_test_id("export-upload-key").fill(neuronpedia.api_key)
        shot(page, "18-export-upload-form", page.get_by_test_id("export-list"))
        page.get_by_test_id("export-upload-submit").click()
        page.locator("[data-testid=export-upload-status][data-status=completed]").first.wait_for(
            timeout=JOB_TIMEOUT
        )
        shot(page, "18-export-uploaded", page.get_by_test_id("export-list"))
        uploaded = neuronpedia.features(model_id, source_id)
    assert len(uploaded) == latents, (len(uploaded), latents)
    assert neuronpedia.api_key not in page.content()  # the key is never shown back
