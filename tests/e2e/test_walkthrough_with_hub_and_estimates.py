"""Issue 18 points 7, 8, 12 and 16 in the real UI, continuing the walkthrough's page: Hub
suggestions while typing a model and a dataset repo id, the model form's quantization options and
its memory estimate before anything downloads (a gated repo needing the write-only token), the
tokenize dialog's truncation mode and special-token switch with the tokens-processed counter, the
labelling time estimate beside its cost, and a finished run's interpretability breakdown whose
"View features" opens the browser filtered to that run.

Decisions:

- Runs after every other walkthrough module (alphabetical order): it adds a tokenization of the
  walkthrough's stdlib corpus and reads the labelling runs of ``test_walkthrough_labeling.py``
  (its scored rules run), so it needs only those two modules before it, and changes nothing the
  others read.
- The Hub is the session's fake one (``conftest.e2e_hub``), which serves tiny model and dataset
  repos under names no other module searches for. Nothing is downloaded or loaded: the estimate's
  weight reads are checked to be Range requests for headers, and the models list keeps its size.
- What the UI shows is checked against the API's own answer to the same question (quantization
  reasons, the estimate's numbers, the filtered feature count), with the studio's number
  formatting ported here (``format.ts``), so a wrong number fails and not only a missing element.
- The tokenization is small (the 120 stdlib files, 64 tokens each at most) and may finish
  between two frames: a MutationObserver records every text the counter shows, and the test
  checks those it saw (and says so when the run was too fast to see any) besides the final counts.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest

from tests.e2e.conftest import HUB_DATASETS, HUB_MODELS
from tests.e2e.test_walkthrough import JOB_TIMEOUT, open_panel, shot

pytestmark = pytest.mark.e2e
Page = Any  # playwright.sync_api.Page

MODEL, GATED = HUB_MODELS
DATASET = next(iter(HUB_DATASETS))
COUNTER = re.compile(
    r"^([\d,]+) tokens processed · ([\d,]+) documents kept(?: · ([\d,]+) truncated)?$"
)


def _api(studio: str, path: str, body: Any = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f"{studio}/api/v1{path}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


def to_fixed(v: float, digits: int) -> str:
    """JavaScript's ``Number.prototype.toFixed`` (a tie rounds up, where Python's format rounds
    to even: 121.25 is "121.3" on the page)."""
    return str(Decimal(v).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP))


def fmt_count(n: int) -> str:
    """``formatCount`` of frontend/src/lib/format.ts, for non-negative integers."""
    if n >= 1e9:
        return f"{to_fixed(n / 1e9, 2)}B"
    if n >= 1e6:
        return f"{to_fixed(n / 1e6, 2)}M"
    if n >= 1e4:
        return f"{to_fixed(n / 1e3, 1)}k"
    return f"{n:,}"


def fmt_bytes(n: int) -> str:
    """``formatBytes`` of frontend/src/lib/format.ts, for non-negative sizes."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    v, i = float(n), 0
    while v >= 1024 and i < len(units) - 1:
        v /= 1024
        i += 1
    return f"{n} B" if i == 0 else f"{to_fixed(v, 2 if v < 10 else 1)} {units[i]}"


def _suggestions(page: Page, field: Any, text: str) -> list[str]:
    """Type ``text`` into a Hub id field and wait for its suggestion list: the ids shown."""
    field.click()
    field.fill("")
    field.press_sequentially(text, delay=40)  # as a person types: the list follows the text
    listbox = page.get_by_test_id("hub-suggestions")
    listbox.get_by_role("option").first.wait_for(timeout=15_000)
    page.wait_for_timeout(800)  # an answer to a shorter text may come first: let the last land
    return [s.get_attribute("title") for s in listbox.locator("span[title]").all()]


def test_01_model_hub_suggestions_and_quantization(page: Page, studio: str) -> None:
    open_panel(page, "models")
    card = page.get_by_test_id("add-model")
    source = card.get_by_test_id("model-source")
    shown = _suggestions(page, source, "tiny-gp")
    # The fake Hub's model repos whose id holds the text, most downloaded first (no dataset).
    assert shown == [MODEL, GATED], shown
    listbox = page.get_by_test_id("hub-suggestions")
    assert f"{HUB_MODELS[MODEL]:,} downloads" in listbox.get_by_role("option").first.inner_text()
    assert "gated" in listbox.get_by_role("option").nth(1).inner_text()
    shot(page, "x01-model-hub-suggestions", card)
    listbox.get_by_title(MODEL, exact=True).click()
    assert source.input_value() == MODEL
    listbox.wait_for(state="detached")

    # Quantization as the server allows it here: each option enabled or disabled with its reason.
    options = {o["name"]: o for o in _api(studio, "/models/quantization")}
    select = card.get_by_test_id("model-quantization")
    for name in ("8bit", "4bit"):
        option = select.locator(f"option[value='{name}']")
        assert option.is_disabled() is (not options[name]["available"]), options[name]
        if not options[name]["available"]:
            assert option.get_attribute("title") == options[name]["reason"]
            assert "(unavailable)" in option.inner_text()
    unavailable = [o for o in options.values() if not o["available"]]
    if unavailable:  # a CPU machine without bitsandbytes: the reason is said under the select
        line = card.get_by_test_id("quantization-unavailable").inner_text()
        # every unavailable option is named; reasons that differ only by the option's name are
        # said once for all of them ("8bit and 4bit quantization needs bitsandbytes ...")
        groups: dict[str, list[str]] = {}
        for o in unavailable:
            groups.setdefault(o["reason"].replace(o["name"], "\0"), []).append(o["name"])
        expected = "; ".join(k.replace("\0", " and ".join(v)) for k, v in groups.items())
        assert line == expected and "bitsandbytes" in line, line
    else:
        assert not card.get_by_test_id("quantization-unavailable").count()
    assert select.input_value() == "none"


def _estimate(page: Page, card: Any) -> str:
    card.get_by_test_id("model-estimate-button").click()
    page.wait_for_function(
        """() => {
            const c = document.querySelector('[data-testid=add-model]');
            return !!c.querySelector('[data-testid=model-estimate], [role=alert]')
                && !c.innerText.includes('Estimating…');
        }""",
        timeout=60_000,
    )
    alert = card.get_by_role("alert")
    return alert.inner_text() if alert.count() else ""


def _weight_gets(hub: Any, repo: str) -> list[tuple[str, str, int, str | None]]:
    return [q for q in hub.requests_to(repo) if q[0] == "GET" and q[1].endswith(".safetensors")]


def test_02_memory_estimate_before_download(page: Page, studio: str, e2e_hub: Any) -> None:
    card = page.get_by_test_id("add-model")
    models_before = _api(studio, "/models")["total"]
    assert _estimate(page, card) == ""
    est = _api(
        studio,
        "/models/estimate",
        {"source": MODEL, "dtype": "float32", "quantization": "none"},
    )
    view = card.get_by_test_id("model-estimate")
    stats = view.inner_text()
    assert fmt_count(est["n_params"]) in stats and fmt_bytes(est["download_bytes"]) in stats
    assert view.get_by_test_id("estimate-total").inner_text() == fmt_bytes(est["total_bytes"])
    assert f"{est['n_layers']} layers · d_model {est['d_model']}" in stats
    assert "exact, from the weight headers" in stats  # parameters read from safetensors headers
    shot(page, "x02-model-estimate", card)
    # Only headers were read: every weight-file GET was a Range request, and no model was added.
    deadline = time.monotonic() + 3  # the fake Hub logs a request after answering it
    while not _weight_gets(e2e_hub, MODEL) and time.monotonic() < deadline:
        time.sleep(0.05)
    gets = _weight_gets(e2e_hub, MODEL)
    assert gets and all(q[3] is not None for q in gets), gets

    # A gated repo: one line without a token; with the (write-only) token it answers.
    source = card.get_by_test_id("model-source")
    source.fill(GATED)
    source.press("Escape")
    assert not view.count()  # an edit drops the estimate shown for the old form
    problem = _estimate(page, card)
    assert "gated" in problem.lower() and "\n" not in problem, problem
    token = card.get_by_test_id("model-token")
    assert token.get_attribute("type") == "password"
    assert token.get_attribute("autocomplete") == "off"
    token.fill(e2e_hub.valid_token)
    assert _estimate(page, card) == ""
    assert "gated: needs a token with access" in view.inner_text()
    assert e2e_hub.valid_token not in card.inner_text()
    shot(page, "x03-model-estimate-gated", card)
    assert _api(studio, "/models")["total"] == models_before
    for q in _weight_gets(e2e_hub, GATED):
        assert q[3] is not None, q
    # Leave the form empty, the token gone from it.
    token.fill("")
    source.fill("")


def test_03_dataset_hub_suggestions(page: Page) -> None:
    open_panel(page, "datasets")
    card = page.get_by_test_id("import-card")
    card.get_by_role("tab", name="HuggingFace Hub").click()
    field = card.get_by_test_id("hub-repo-id")
    shown = _suggestions(page, field, "tiny-doc")
    assert shown == list(HUB_DATASETS), shown  # dataset repos only, most downloaded first
    shot(page, "x04-dataset-hub-suggestions", card)
    # Picked with the keyboard: first suggestion, Enter.
    field.press("ArrowDown")
    assert (
        page.get_by_test_id("hub-suggestions")
        .get_by_role("option")
        .first.get_attribute("aria-selected")
        == "true"
    )
    field.press("Enter")
    assert field.input_value() == DATASET
    page.get_by_test_id("hub-suggestions").wait_for(state="detached")
    assert not card.get_by_test_id("hub-id-problem").count()
    assert card.get_by_test_id("import-submit").is_enabled()
    field.fill("")
    card.get_by_role("tab", name="Built-in corpus").click()


WATCH_COUNTER = """() => {
    window.__tokenCounters = [];
    const seen = window.__tokenCounters;
    window.__tokenObserver = new MutationObserver(() => {
        for (const el of document.querySelectorAll('[data-testid=tokens-processed]')) {
            const t = el.textContent.trim();
            if (t && seen[seen.length - 1] !== t) seen.push(t);
        }
    });
    window.__tokenObserver.observe(document.body,
        {subtree: true, childList: true, characterData: true});
}"""


def test_04_tokenize_truncated_dropping_special(page: Page, studio: str) -> None:
    datasets = _api(studio, "/datasets?limit=100")["items"]
    dataset = next(d for d in datasets if d["name"] == "python-stdlib")
    listed = f"/tokenizations?dataset_id={dataset['id']}&limit=100"
    before = {t["id"]: t for t in _api(studio, listed)["items"]}
    windows = next(t for t in before.values() if t["config"].get("long_documents") != "truncate")
    open_panel(page, "datasets")
    card = page.get_by_test_id("dataset-python-stdlib")
    card.get_by_test_id("tokenize-open").click()
    page.get_by_test_id("tokenize-model").select_option(str(windows["model_id"]))
    page.get_by_test_id("tokenize-max-length").fill("64")
    page.get_by_test_id("tokenize-long-documents").select_option("truncate")
    assert page.get_by_test_id("tokenize-stride").is_disabled()
    assert "first max-length tokens" in page.get_by_role("dialog").inner_text()
    drop = page.get_by_test_id("tokenize-drop-special")
    drop.check()
    assert drop.is_checked()
    shot(page, "x05-tokenize-dialog")
    page.evaluate(WATCH_COUNTER)
    page.get_by_test_id("tokenize-submit").click()
    page.get_by_role("dialog").wait_for(state="detached")

    new: dict[str, Any] = {}
    deadline = time.monotonic() + 30
    while not new and time.monotonic() < deadline:
        new = next((t for t in _api(studio, listed)["items"] if t["id"] not in before), {})
        time.sleep(0.2)
    assert new, "no tokenization was created"
    row = card.get_by_test_id(f"tokenization-{new['id']}")
    row.wait_for()
    try:  # the counter is on screen only while the job runs
        row.get_by_test_id("tokens-processed").wait_for(timeout=10_000)
        shot(page, "x05-tokenize-counting", card)
    except Exception as exc:
        if type(exc).__name__ != "TimeoutError":
            raise
    row.get_by_test_id("stats-open").wait_for(timeout=JOB_TIMEOUT)
    seen: list[str] = page.evaluate(
        "() => { window.__tokenObserver.disconnect(); return window.__tokenCounters; }"
    )
    shot(page, "x05-tokenized", card)

    done = _api(studio, f"/tokenizations/{new['id']}")
    config = done["config"]
    assert config["long_documents"] == "truncate" and config["drop_special_only"] is True
    assert config["max_length"] == 64
    # Truncated: every kept document gives at most 63 tokens (64 with BOS), fewer than the
    # windows tokenization of the same corpus, which keeps every token.
    assert 0 < done["n_tokens"] < windows["n_tokens"]
    expected = f"{fmt_count(done['n_sequences'])} seq · {fmt_count(done['n_tokens'])} tok"
    assert expected in row.inner_text()
    print(f"\ntokens-processed counter texts seen: {seen or 'none (finished between frames)'}")
    kept = []
    for text in seen:
        match = COUNTER.match(text)
        assert match, text
        kept.append(int(match[2].replace(",", "")))
        if match[3]:
            assert int(match[3].replace(",", "")) <= kept[-1], text
    assert kept == sorted(kept), seen  # documents kept only grow
    if seen and kept[-1] > 0:
        assert COUNTER.match(seen[-1])[3], seen  # stdlib files are longer than 63 tokens


def test_05_labeling_time_beside_cost(page: Page, studio: str) -> None:
    open_panel(page, "labeling")
    page.get_by_test_id("labeling-new").click()
    dialog = page.get_by_test_id("labeling-dialog")
    dialog.wait_for()
    page.get_by_test_id("labeling-method").select_option("openai")
    page.get_by_test_id("labeling-model").fill("gpt-4o-mini")
    page.get_by_label("$ / 1k input tokens").fill("0.00015")
    page.get_by_label("$ / 1k output tokens").fill("0.0006")
    page.get_by_test_id("labeling-selection").select_option("indices")
    page.get_by_test_id("labeling-indices").fill("0-63")
    assert not page.get_by_test_id("labeling-start").is_enabled()  # a paid run: estimate first
    page.get_by_test_id("labeling-estimate").click()
    result = page.get_by_test_id("labeling-estimate-result")
    result.wait_for(timeout=60_000)
    extraction = int(page.get_by_test_id("labeling-extraction").input_value())
    template = page.get_by_test_id("labeling-template").input_value()
    config = {
        "method": "openai",
        "model": "gpt-4o-mini",
        "score": False,
        "price_per_1k_input": 0.00015,
        "price_per_1k_output": 0.0006,
    }
    est = _api(
        studio,
        "/labeling/estimate",
        {
            "extraction_id": extraction,
            "config": config,
            "selection": {"indices": list(range(64)), "only_unlabelled": False},
            "template_id": int(template) if template else None,
        },
    )
    text = result.text_content()
    assert est["n_features"] == 64 and est["cost"] > 0
    assert f"${to_fixed(est['cost'], 4)}" in text, (text, est)
    # The time stands beside the cost, with its basis: no past openai run here, a typical rate.
    assert est["time"]["basis"] == "typical"
    assert "Time (typical rate)" in text, text
    assert re.fullmatch(r"≈ \S+.*", page.get_by_test_id("labeling-estimate-time").inner_text())
    how = page.get_by_test_id("labeling-estimate-how").inner_text()
    assert how == f"time estimated from {est['time']['how']}" and "per request" in how
    assert page.get_by_test_id("labeling-start").is_enabled()
    shot(page, "x06-labeling-estimate", result)
    page.get_by_role("dialog").get_by_role("button", name="Cancel", exact=True).click()
    dialog.wait_for(state="detached")


def test_06_breakdown_view_features(page: Page, studio: str) -> None:
    runs = _api(studio, "/labeling?limit=100&sort=created_at&order=desc")["items"]
    scored = [
        (i, r)
        for i, r in enumerate(runs)
        if r["status"] == "ready"
        and (r["config"].get("labeling") or {}).get("method") == "rules"
        and (r["result"] or {}).get("scored")
    ]
    assert scored, [(r["name"], r["status"], r["result"]) for r in runs]
    position, run = scored[-1]  # the walkthrough's first rules run (scored, every latent)
    histogram = run["result"]["score_histogram"]
    counts = {"high": sum(histogram[7:]), "medium": sum(histogram[5:7]), "low": sum(histogram[:5])}
    assert sum(counts.values()) == run["result"]["scored"]
    open_panel(page, "labeling")
    page.wait_for_function(
        "(n) => document.querySelectorAll('[data-testid=labeling-card]').length === n",
        arg=len(runs),
    )
    card = page.get_by_test_id("labeling-card").nth(position)  # newest first, as listed
    assert run["name"] in card.inner_text()
    breakdown = card.get_by_test_id("labeling-breakdown")
    breakdown.wait_for()
    assert f"Interpretability of {fmt_count(run['result']['scored'])} scored labels" in (
        breakdown.inner_text()
    )
    for band, n in counts.items():
        cell = breakdown.get_by_test_id(f"breakdown-{band}")
        assert f" {fmt_count(n)} (" in cell.inner_text(), (band, cell.inner_text(), n)
        assert cell.get_by_test_id(f"breakdown-view-{band}").is_enabled() is (n > 0)
    shot(page, "x07-labeling-breakdown", card)

    band = next(b for b in ("high", "medium", "low") if counts[b])
    bounds = {"high": "&min_score=0.7", "medium": "&min_score=0.5&max_score=0.6999999"}
    query = f"extraction_id={run['extraction_id']}&labeling_id={run['id']}{bounds.get(band, '')}"
    if band == "low":
        query += "&max_score=0.4999999"
    api_total = _api(studio, f"/features?{query}&limit=1")["total"]
    breakdown.get_by_test_id(f"breakdown-view-{band}").click()
    page.get_by_test_id("panel-features").wait_for()
    chip = page.get_by_test_id("filter-run")
    chip.wait_for()
    assert chip.inner_text().startswith(f"labelling run {run['name']} · {band}"), chip.inner_text()
    assert page.get_by_test_id("extraction-select").input_value() == str(run["extraction_id"])
    if page.get_by_test_id("feature-search").input_value():  # a search left by another module
        page.get_by_test_id("feature-search").fill("")
    try:
        page.wait_for_function(
            "(n) => document.querySelector('[data-testid=feature-total]')?.innerText === n",
            arg=fmt_count(counts[band]),
            timeout=30_000,
        )
    except Exception as exc:  # the assertion below says what was on screen
        if type(exc).__name__ != "TimeoutError":
            raise
    total = page.get_by_test_id("feature-total").inner_text()
    assert total == fmt_count(counts[band]) == fmt_count(api_total), (total, counts, api_total)
    page.get_by_test_id("feature-row").first.get_by_test_id("star").wait_for()
    shown = page.evaluate(
        """() => [...document.querySelectorAll('[data-testid=feature-row]')]
            .map((r) => r.querySelector(':scope > span')?.innerText).filter(Boolean)"""
    )
    items = _api(studio, f"/features?{query}&limit=500")["items"]
    assert shown and {int(t.lstrip("#")) for t in shown} <= {f["index"] for f in items}, shown
    shot(page, "x08-features-of-a-run")
    chip.get_by_role("button", name="remove the run filter").click()
    chip.wait_for(state="detached")
