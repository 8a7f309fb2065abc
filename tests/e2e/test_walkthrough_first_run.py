"""A newcomer's first run in the studio (issue 22): an empty studio offers "Try it on the built-in
model", one click runs the first-run job with its stages listed live, and the studio lands on
the Features panel of the labelled extraction.

Its own studio (a fresh ``MISTUDIO_HOME``: the session's studio is not empty by the time this
module runs), whose ``MISTUDIO_FIRST_RUN_CONFIG`` points the button at the tiny llama and a tiny
corpus so the module takes seconds; the real SmolLM2 path is the same job with the defaults,
measured from ``mistudio serve`` by ``benchmarks/first_run.py``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import browser_page, require_browser, serve_studio
from tests.e2e.test_walkthrough import JOB_TIMEOUT, shot

pytestmark = pytest.mark.e2e
Page = Any  # playwright.sync_api.Page


def tiny_first_run(imports: Path) -> dict[str, Any]:
    """The first-run config of the tiny llama on 300 random texts, both written under
    ``imports``."""
    from mistudio.core.data import DatasetSource, import_dataset
    from tests.unit.tiny_models import TINY_FIRST_RUN, random_texts, tiny_model, tiny_tokenizer

    model = imports / "tiny-llama"
    tiny_model("llama").save_pretrained(model)
    tiny_tokenizer().save_pretrained(model)
    texts = imports / "tiny.jsonl"
    rows = random_texts(300, seed=1, min_len=10, max_len=60)
    texts.write_text("\n".join(json.dumps({"text": t}) for t in rows))
    corpus = imports / "tiny-corpus"
    import_dataset(DatasetSource(kind="local", path=texts, name="tiny"), corpus)
    return {"model": str(model), "corpus": str(corpus), **TINY_FIRST_RUN}


@pytest.fixture(scope="module")
def empty_studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A second, empty studio whose first run uses the tiny llama and a tiny corpus."""
    require_browser()
    home = tmp_path_factory.mktemp("e2e-first-run")
    config = home / "first_run.json"
    config.write_text(json.dumps(tiny_first_run(home / "imports")))
    env = {
        **os.environ,
        "MISTUDIO_HOME": str(home),
        "MISTUDIO_FIRST_RUN_CONFIG": str(config),
        "TOKENIZERS_PARALLELISM": "false",
        "HF_HUB_OFFLINE": "1",
    }
    for key in ("MISTUDIO_DATABASE_URL", "MISTUDIO_BROKER_URL"):
        env.pop(key, None)
    with serve_studio(home, env, "first-run studio") as url:
        yield url


@pytest.fixture(scope="module")
def fresh_page(empty_studio: str, playwright_driver: Any) -> Iterator[Page]:
    with browser_page(playwright_driver, empty_studio) as pg:
        yield pg


def test_empty_studio_one_click_to_labelled_features(fresh_page: Page) -> None:
    page = fresh_page
    offer = page.get_by_test_id("first-run-offer")
    offer.wait_for()
    assert "Try it on the built-in model" in offer.inner_text()
    shot(page, "fr01_empty_studio_offer", offer)

    page.get_by_test_id("first-run-start").click()
    progress = page.get_by_test_id("first-run-progress")
    progress.wait_for()
    # The stage list moves: the model stage finishes with its seconds while later ones wait.
    page.wait_for_selector(
        "[data-testid=first-run-stage-model][data-state=done]", timeout=JOB_TIMEOUT
    )
    assert " s" in page.get_by_test_id("first-run-stage-model").inner_text()
    shot(page, "fr02_first_run_stages", progress)

    # Done: the Features panel opens on the labelled extraction.
    page.get_by_test_id("panel-features").wait_for(timeout=JOB_TIMEOUT)
    summary = page.get_by_test_id("first-run-summary")
    summary.wait_for(timeout=JOB_TIMEOUT)
    assert "latents labelled" in summary.inner_text()
    for name in (
        "model",
        "dataset",
        "tokenize",
        "activations",
        "train",
        "extract",
        "index",
        "label",
    ):
        stage = page.get_by_test_id(f"first-run-stage-{name}")
        assert stage.get_attribute("data-state") == "done", name

    api = page.url.split("#")[0].rstrip("/") + "/api/v1"
    state = page.request.get(f"{api}/first-run").json()
    assert state["status"] == "completed" and state["extraction_id"]
    labelled = page.request.get(
        f"{api}/features",
        params={"extraction_id": state["extraction_id"], "limit": 200},
    ).json()["items"]
    names = [f["label"] for f in labelled if f["label_status"] == "labelled"]
    assert names, "the first run labels features"
    # The browser shows one of those labels.
    page.get_by_text(names[0], exact=False).first.wait_for(timeout=JOB_TIMEOUT)
    shot(page, "fr03_features_labelled")
