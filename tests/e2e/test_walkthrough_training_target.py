"""The researcher asks for "an SAE with about this L0" in the real UI and watches it land.

Runs last on the walkthrough's page (modules run in alphabetical order and share the session's
studio; earlier modules pick the walkthrough's topk SAE as the newest, so this one adds its SAE
after them). A standard (L1) SAE on SmolLM2 layer 6 with auto sparsity: the training card
shows the "Sparsity control" chart with L0 and the coefficient against the dashed target line,
and its header gives the latest L0 against the target.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.test_walkthrough import JOB_TIMEOUT, open_panel, shot

pytestmark = pytest.mark.e2e
Page = Any  # playwright.sync_api.Page

TARGET = 16


def start_training(page: Page, name: str, architecture: str, fields: dict[str, str]) -> Any:
    """Fill the training form (architecture, then each ``train-<field>`` input, the advanced
    ones opened when needed), start it and return the new run's card."""
    open_panel(page, "training")
    form = page.get_by_test_id("training-form")
    form.get_by_test_id("train-architecture").select_option(architecture)
    page.wait_for_function(
        "() => document.querySelector('[data-testid=train-d-in]').value === '576'"
    )
    for field, value in fields.items():
        box = page.get_by_test_id(f"train-{field}")
        if not box.is_visible():
            page.get_by_test_id("train-advanced").click()
        if field == "device":
            form.get_by_test_id("train-device").select_option(value)
        else:
            box.fill(value)
    page.get_by_test_id("train-name").fill(name)
    page.get_by_test_id("train-start").click()
    return page.get_by_test_id("training-cards").locator("section").filter(has_text=name).first


def wait_until_done(card: Any, timeout: int = JOB_TIMEOUT) -> None:
    """Wait for the card's run to end; a run that fails, is cancelled or outlives ``timeout``
    fails the test at once with the studio's view of every unfinished job (status, message,
    error, devices), not after the whole timeout with only a locator in the message."""
    status = card.get_by_test_id("status")
    try:
        status.filter(has_text=re.compile("ready|completed|failed|cancelled")).wait_for(
            timeout=timeout
        )
    except Exception as exc:  # Playwright's TimeoutError
        raise AssertionError(f"the run did not end: {_jobs_report(card)}") from exc
    text = status.inner_text()
    assert re.search("ready|completed", text), f"the run ended {text}: {_jobs_report(card)}"


def _jobs_report(card: Any) -> str:
    """Every job the studio holds that is not completed, one line each, and the card's text."""
    origin = re.match(r"https?://[^/]+", card.page.url)
    assert origin, card.page.url
    api = f"{origin.group(0)}/api/v1/jobs"
    jobs = card.page.request.get(api, params={"limit": 200}).json()["items"]
    lines = [
        f"{j['kind']} {j['status']} devices={j.get('devices')} message={j['message']!r} "
        f"error={j['error']!r}"
        for j in jobs
        if j["status"] != "completed"
    ]
    return "\n".join([f"card: {card.inner_text()!r}", *lines])


def test_standard_sae_trained_to_a_target_l0(page: Page) -> None:
    card = start_training(
        page,
        "e2e-standard-target",
        "standard",
        # 48 adjusting steps, then 12 frozen
        {"d-sae": "512", "l0": str(TARGET), "steps": "60", "batch": "128", "buffer": "8192"},
    )
    chart = card.get_by_test_id("sparsity-chart")
    # A horizontal SVG line has no height, which Playwright never counts as visible.
    chart.get_by_test_id("sparsity-target").wait_for(state="attached", timeout=JOB_TIMEOUT)
    wait_until_done(card)
    summary = chart.get_by_test_id("sparsity-summary").inner_text()
    assert f"target {TARGET}" in summary, summary
    assert re.search(r"L0 [\d.]+", summary), summary
    shot(page, "14-training-sparsity-control", chart)


def test_a_training_over_two_cpu_ranks(page: Page) -> None:
    """Issue 20: the dialog's CPU ranks make a 2-rank job; its card names the ranks it holds."""
    fields = {"device": "cpu", "d-sae": "512", "l0": "16", "steps": "8", "batch": "128"}
    card = start_training(page, "e2e-two-ranks", "topk", fields | {"ranks": "2", "buffer": "1024"})
    devices = card.get_by_test_id("training-devices")
    devices.filter(has_text="2 CPU ranks").wait_for(timeout=JOB_TIMEOUT)
    # 8 steps of 128 rows: about 30 s here alone, most of it the ranks loading the LM
    wait_until_done(card, timeout=240_000)
    shot(page, "15-training-two-cpu-ranks", card)
