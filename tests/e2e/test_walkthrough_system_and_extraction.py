"""The System panel with two (fake) GPUs, the training form's GPU choice, the polling fallback, and
an extraction with filters that labels its features when it is ready.

Runs in the session's studio after the steering modules (alphabetical order). The studio's
``nvidia-smi`` is the tests' fake (conftest: ``MISTUDIO_GPU_SOURCE=nvidia-smi``, the fake first on
``PATH``), which reports as many GPUs as ``<home>/fake-gpus`` says and none without it; this module
writes 2 there and removes it at the end, so the other modules see a machine without GPUs and
their training forms stay on ``cpu``.

The extraction step (issue 18 point 10) extracts the walkthrough's topk SAE again from the
Features panel with an activation threshold, stop words and two listed tokens skipped, and "Then
label with: rules"; it watches the card count the features found, the follow-up labelling run
finish and its labels arrive in the browser, and reads the new extraction's top examples through
the API: no skipped token is an activating token and no activation at or below the threshold is
left. The threshold is the lower quartile of the nonzero activations in the first extraction's top
examples, so the same check on that extraction fails (as it does for the skipped tokens). The new
extraction becomes the newest one; the modules after this one pick their inputs by name or do
not read extractions, and the browser is switched back to the extraction it showed before.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mistudio.core.features.token_exclusion import STOP_WORDS, normalise
from tests.e2e.conftest import FAKE_GPUS_FILE
from tests.e2e.test_walkthrough import JOB_TIMEOUT, open_panel, shot
from tests.e2e.test_walkthrough_labeling import _api

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


SKIPPED = ("self", ",")
"""Listed in "Skip these tokens": among the commonest tokens of the standard library's code."""

FOUND = re.compile(r"^([\d,]+) of ([\d,]+) features found \((\d+)%\)$")

_TOP_EXAMPLES = """async ({ids, n}) => Promise.all(ids.map(async (id) => {
    const r = await fetch(`/api/v1/features/${id}/detail?examples=${n}`);
    if (!r.ok) throw new Error(`feature ${id}: HTTP ${r.status}`);
    return (await r.json()).examples.map(
        (e) => ({token: e.tokens[e.center], value: e.value, acts: e.acts}));
}))"""


def _top_examples(page: Page, studio: str, extraction_id: int) -> list[dict[str, Any]]:
    """The top examples of the extraction's 30 most frequent latents, read with the page's fetch."""
    rows = _api(
        studio,
        f"/features?extraction_id={extraction_id}&sort=frequency&order=desc&limit=30"
        "&include_example=false",
    )["items"]
    ids = [r["id"] for r in rows if (r["frequency"] or 0) > 0]
    assert ids, f"extraction {extraction_id} has no active latent"
    per_latent = page.evaluate(_TOP_EXAMPLES, {"ids": ids, "n": 20})
    return [e for examples in per_latent for e in examples]


def _filtered(examples: list[dict[str, Any]], threshold: float) -> tuple[list[str], list[float]]:
    """Activating tokens the filters skip, and activations at or below the threshold (not 0)."""
    skipped = {normalise(t) for t in SKIPPED} | STOP_WORDS
    tokens = [e["token"] for e in examples if normalise(e["token"]) in skipped]
    # Stored activations may be rounded (float16): a small margin under the threshold.
    small = [a for e in examples for a in e["acts"] if 0 < a <= threshold * (1 - 2e-3)]
    return tokens, small


def _features(studio: str, extraction_id: int) -> list[dict[str, Any]]:
    """Every latent row of the extraction."""
    out: list[dict[str, Any]] = []
    while True:
        got = _api(
            studio,
            f"/features?extraction_id={extraction_id}&limit=500&offset={len(out)}"
            "&include_example=false",
        )
        out += got["items"]
        if not got["items"] or len(out) >= got["total"]:
            return out


_CARD_STATE = """(id) => {
    const card = document.querySelector(`[data-testid=extraction-${id}]`);
    if (card && card.querySelector('[data-testid=features-found]')) return 'counting';
    const select = document.querySelector('[data-testid=extraction-select]');
    const option = select && [...select.options].find((o) => o.value === String(id));
    if (option && /\\((ready|completed)\\)$/.test(option.text)) return 'ready';
    if (option && /\\((failed|cancelled)\\)$/.test(option.text)) return 'failed';
    return false;
}"""


def test_53_extract_with_filters_then_label(page: Page, studio: str) -> None:
    saes = _api(studio, "/saes?limit=100")["items"]
    sae = next(s for s in saes if "e2e-topk-l6" in s["name"])
    extractions = _api(studio, "/extractions?limit=100&sort=created_at&order=asc")["items"]
    first = next(e for e in extractions if e["sae_id"] == sae["id"] and e["status"] == "ready")
    tokenization = _api(studio, f"/tokenizations/{first['tokenization_id']}")
    before = _top_examples(page, studio, first["id"])
    acts = sorted(a for e in before for a in e["acts"] if a > 0)
    threshold = float(f"{acts[len(acts) // 4]:.3g}")
    skipped_before, small_before = _filtered(before, threshold)
    # Without the filters the check below fails: the first extraction has both.
    assert skipped_before and small_before, (len(skipped_before), len(small_before))
    # More tokens than the walkthrough's 20,000 (so the count is seen ticking), and at most half
    # of the tokenization, which still has them to give after the filters.
    n_tokens = min(30_000, tokenization["n_tokens"] // 2)

    open_panel(page, "features")
    select = page.get_by_test_id("extraction-select")
    shown = select.input_value()
    page.get_by_test_id("extraction-new").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_test_id("extraction-sae").select_option(str(sae["id"]))
    assert dialog.get_by_test_id("extraction-tokenization").input_value() == str(
        first["tokenization_id"]
    )
    dialog.get_by_test_id("extraction-tokens").fill(str(n_tokens))
    dialog.get_by_test_id("extraction-threshold").fill(str(threshold))
    dialog.get_by_test_id("extraction-exclude-tokens").fill(" ".join(SKIPPED))
    dialog.get_by_test_id("extraction-skip-stop-words").check()
    assert dialog.get_by_test_id("extraction-skip-special").is_checked()
    dialog.get_by_test_id("extraction-label-method").select_option("rules")
    dialog.get_by_text("Queued when the extraction is ready").wait_for()
    shot(page, "54-extract-filters-then-label", dialog)
    dialog.get_by_test_id("extraction-submit").click()
    dialog.wait_for(state="detached")
    page.wait_for_function(
        "(shown) => document.querySelector('[data-testid=extraction-select]').value !== shown",
        arg=shown,
    )
    new_id = int(select.input_value())
    created = _api(studio, f"/extractions/{new_id}")
    assert created["config"]["exclude_tokens"] == list(SKIPPED)
    assert created["config"]["exclude_stop_words"] is True
    assert created["config"]["activation_threshold"] == threshold
    assert created["result"]["labeling"] == {"method": "rules", "run_id": None}
    card = page.get_by_test_id(f"extraction-{new_id}")
    card.get_by_test_id("follow-up-labeling").filter(
        has_text="starts when the extraction is ready"
    ).wait_for()

    # The counter, from the job's live events, while the extraction runs.
    state = page.wait_for_function(_CARD_STATE, arg=new_id, timeout=JOB_TIMEOUT).json_value()
    assert state != "failed", _api(studio, f"/extractions/{new_id}")
    seen: list[int] = []
    counter = card.get_by_test_id("features-found")
    deadline = time.monotonic() + JOB_TIMEOUT / 1000
    while state == "counting" and time.monotonic() < deadline:
        try:
            text = counter.inner_text(timeout=2_000)
        except Exception as exc:  # the job ended between two looks
            if type(exc).__name__ != "TimeoutError":
                raise
            break
        match = FOUND.match(text)
        assert match, text
        assert int(match[2].replace(",", "")) == sae["d_sae"], text
        seen.append(int(match[1].replace(",", "")))
        if len(seen) == 1:
            shot(page, "55-extraction-counting-features", card)
        page.wait_for_timeout(400)
    page.wait_for_function(_CARD_STATE, arg=new_id, timeout=JOB_TIMEOUT)
    page.wait_for_function(
        "(id) => !document.querySelector(`[data-testid=extraction-${id}] "
        "[data-testid=features-found]`)",
        arg=new_id,
        timeout=JOB_TIMEOUT,
    )
    done = _api(studio, f"/extractions/{new_id}")
    assert done["status"] in ("ready", "completed"), done
    rows = _features(studio, new_id)
    final = sum(1 for f in rows if (f["frequency"] or 0) > 0)  # latents that fired
    # The counts the job sent, the last one at the end of the tokens: the final count.
    events = _api(studio, f"/jobs/{created['job_id']}/events?limit=5000")
    sent = [
        (e["data"]["metrics"]["features_found"], e["data"].get("step"), e["data"].get("total"))
        for e in events
        if "features_found" in ((e.get("data") or {}).get("metrics") or {})
    ]
    assert sent, "the extraction job sent no features_found"
    counts = [c for c, _, _ in sent]
    assert counts == sorted(counts) and counts[-1] == final, (counts, final)
    assert sent[-1][1] == sent[-1][2] == n_tokens, sent[-1]
    print(
        f"\nfeatures found on the card: {sorted(set(seen))} in {len(seen)} looks; "
        f"{len(counts)} counts sent; final {final} of {sae['d_sae']}"
    )
    if seen:  # counting, never down, and growing or already at the end
        assert seen == sorted(seen) and seen[-1] <= final, (seen, final)
        assert seen[-1] > seen[0] or seen[-1] == final, (seen, final)
    else:  # done before the first look: the card's counter had nothing to show
        assert 0 < final <= sae["d_sae"]

    # The follow-up labelling run: queued when the extraction was ready, followed on its card.
    follow = card.get_by_test_id("follow-up-labeling")
    page.wait_for_function(
        "(id) => ['completed', 'ready'].includes(document.querySelector("
        "`[data-testid=extraction-${id}] [data-testid=follow-up-labeling]`)?.dataset.state)",
        arg=new_id,
        timeout=JOB_TIMEOUT,
    )
    run_id = _api(studio, f"/extractions/{new_id}")["result"]["labeling"]["run_id"]
    run = _api(studio, f"/labeling/{run_id}")
    assert run["extraction_id"] == new_id and run["n_labeled"] > 0, run
    # Written: labels and "unclear" verdicts; the card and the browser count them apart.
    labelled = run["result"]["labelled"]
    assert labelled + run["result"]["unclear"] == run["n_labeled"], run
    assert (
        follow.get_by_test_id("follow-up-count").inner_text().startswith(f"{labelled:,} labelled")
    )
    # Its labels arrive in the browser of the new extraction without leaving the panel.
    rows_labelled = page.get_by_test_id("feature-row").filter(
        has_not=page.get_by_text("unlabelled", exact=True)
    )
    rows_labelled.first.get_by_test_id("star").wait_for(timeout=30_000)
    # The summary strip counts all of them (not a count read while the run was writing).
    page.get_by_test_id("summary-labelled-share").filter(
        has_text=f"{labelled:,} / {sae['d_sae']:,}"
    ).wait_for(timeout=30_000)
    shot(page, "56-extraction-labels-arrived")
    rules = [f for f in _features(studio, new_id) if f["label"] and f["label_method"] == "rules"]
    assert len(rules) == run["n_labeled"], (len(rules), run)

    # Its top examples: no skipped token activates, no activation at or below the threshold.
    skipped_after, small_after = _filtered(_top_examples(page, studio, new_id), threshold)
    assert not skipped_after, f"skipped tokens activate examples: {sorted(set(skipped_after))}"
    assert not small_after, f"activations at or below {threshold}: {small_after[:5]}"

    # Leave the browser on the extraction it showed before (the modules after this one do not
    # read the newest extraction, but the walkthrough's stays the one on screen).
    select.select_option(shown)
    page.get_by_test_id("feature-row").first.get_by_test_id("star").wait_for()
