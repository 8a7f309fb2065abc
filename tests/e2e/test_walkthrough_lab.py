"""The researcher compares SAEs of one model and hook in the SAE lab: the walkthrough's trained
topk SAE (512 latents), a JumpReLU SAE and a wider topk SAE made from it, and a real SAELens-trained
SAE (128 latents, ``tests/fixtures/formats/saelens_smollm2``) imported as a folder. They are put
under the studio's import root and imported through the API (no training: seconds); the lab's
button evaluates the four in one job (core metrics on 2 held-out sequences, no splice: the
cheapest evaluation), the chart shows four points with the Pareto front, the axes change, a point
is picked on the chart and a second in the table, and the Match link opens the matching view.

Runs after ``test_walkthrough.py`` (its ``e2e-topk-l6`` SAE and tokenization) and before
``test_walkthrough_lab_matching.py``, which imports one more SAE of the same hook.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_walkthrough import JOB_TIMEOUT, open_panel, shot

pytestmark = pytest.mark.e2e
Page = Any  # playwright.sync_api.Page

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "formats" / "saelens_smollm2"
NAMES = ("lab jumprelu 512", "lab topk 1024", "lab saelens topk 128")


def _api(page: Page) -> str:
    return page.url.split("#")[0].rstrip("/") + "/api/v1"


def _import_three(page: Page) -> int:
    """Write the derived SAEs and the SAELens one under the import root; import them. Returns
    the trained SAE's id."""
    import torch  # deferred: the e2e suite builds tensors only where it must

    from mistudio.core.sae import SAEConfig, build_sae, load_sae, save_sae

    api = _api(page)
    saes = page.request.get(f"{api}/saes", params={"limit": 200}).json()["items"]
    trained = next(
        s for s in saes if s["name"].startswith("e2e-topk-l6") and s["status"] == "ready"
    )
    base = load_sae(trained["path"])
    meta = dict(base.cfg.metadata)
    imports = Path(page.request.get(f"{api}/system/info").json()["home"]) / "imports"
    g = torch.Generator().manual_seed(5)
    jump = build_sae(SAEConfig(architecture="jumprelu", d_in=576, d_sae=512))
    wide = build_sae(SAEConfig(architecture="topk", d_in=576, d_sae=1024, k=32))
    with torch.no_grad():
        for name in ("W_enc", "b_enc", "W_dec", "b_dec"):
            getattr(jump, name).copy_(getattr(base, name))
        jump.threshold.fill_(0.5)  # keeps the larger activations of the topk encoder
        noise = 0.3 * torch.randn(base.W_enc.shape, generator=g) * base.W_enc.std()
        wide.W_enc.copy_(torch.cat([base.W_enc, base.W_enc + noise], 1))
        wide.b_enc.copy_(torch.cat([base.b_enc, base.b_enc]))
        wide.W_dec.copy_(torch.cat([base.W_dec, base.W_dec]) / 2)
        wide.b_dec.copy_(base.b_dec)
    folders = [
        save_sae(jump, imports / "lab-jumprelu-512", metadata=meta),
        save_sae(wide, imports / "lab-topk-1024", metadata=meta),
        Path(shutil.copytree(FIXTURE, imports / "lab-saelens-topk-128", dirs_exist_ok=True)),
    ]
    for folder, name in zip(folders, NAMES, strict=True):
        body = {"path": str(folder), "name": name, "model_id": trained["model_id"]}
        r = page.request.post(f"{api}/saes/import", data=body)
        assert r.ok, r.text()
    return int(trained["id"])


def wait_for_pair(page: Page, a: int, b: int) -> None:
    """Wait until the matching view's selects name SAEs ``a`` and ``b`` themselves: the value
    alone is not enough, as an id the SAE list lacks shows as a disabled "#id (loading…)"."""
    page.wait_for_function(
        "(ids) => ['a', 'b'].every((side, i) => {"
        "  const s = document.querySelector(`[data-testid=match-${side}]`);"
        "  const o = s.options[s.selectedIndex];"
        "  return s.value === ids[i] && o && !o.disabled && o.text.startsWith(`#${ids[i]} `); })",
        arg=[str(a), str(b)],
    )


def test_01_compare_view_lists_four_saes(page: Page) -> None:
    _import_three(page)
    open_panel(page, "lab")
    table = page.get_by_test_id("lab-table")
    for name in NAMES:
        table.get_by_text(name).wait_for(timeout=JOB_TIMEOUT)
    rows = table.locator("tr[data-testid^=lab-row-]")
    assert rows.count() == 4
    assert "imported" in rows.filter(has_text="lab saelens topk 128").inner_text()
    assert "jumprelu" in table.inner_text() and "1,024" in table.inner_text()
    page.get_by_text("No SAE of this group has both").wait_for()  # nothing evaluated yet
    shot(page, "22-lab-before-evals")


def test_02_evaluate_all_four_in_one_job(page: Page) -> None:
    card = page.get_by_test_id("lab-evaluate")
    card.get_by_test_id("lab-eval-absorption").uncheck()
    card.get_by_test_id("lab-eval-probing").uncheck()
    card.get_by_test_id("lab-eval-splice").uncheck()
    card.get_by_test_id("lab-eval-sequences").fill("2")
    button = card.get_by_test_id("lab-evaluate-missing")
    assert button.inner_text() == "Evaluate 4 SAEs without evaluations"
    button.click()
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid^=lab-status-]')]
                .every((td) => td.textContent.trim() === 'ready')""",
        timeout=JOB_TIMEOUT,
    )
    chart = page.get_by_test_id("lab-chart")
    page.wait_for_function(
        "() => document.querySelector('[data-testid=lab-chart]')?.dataset.points === '4'"
    )
    front = int(chart.get_attribute("data-front") or 0)
    assert 1 <= front <= 4
    assert (
        "Pareto front (lower L0, lower FVU is better)"
        in page.get_by_test_id("lab-front").inner_text()
    )
    # The front is drawn (a one-SAE front is a line of one point: attached, not visible) and the
    # bootstrap intervals are error bars.
    chart.locator(".recharts-scatter-line path").first.wait_for(state="attached")
    chart.locator(".recharts-errorBar").first.wait_for(state="attached")
    shot(page, "22-lab-l0-vs-fvu", page.get_by_test_id("lab-compare"))
    shot(page, "22-lab-table", page.get_by_test_id("lab-table"))


def test_03_axes_and_match_link(page: Page) -> None:
    page.get_by_test_id("lab-y").select_option("dead_fraction")
    page.get_by_test_id("lab-log-x").uncheck()
    assert "Dead latents" in page.get_by_test_id("lab-front").inner_text()
    shot(page, "22-lab-l0-vs-dead", page.get_by_test_id("lab-compare"))
    page.get_by_test_id("lab-y").select_option("fvu")
    # Pick one SAE by clicking its marker, the other in the table.
    page.get_by_test_id("lab-chart").locator("path.recharts-symbols").first.click()
    picked = page.locator("[data-testid^=lab-pick-]:checked")
    picked.first.wait_for()
    assert picked.count() == 1
    first_id = int((picked.first.get_attribute("data-testid") or "").rsplit("-", 1)[1])
    other = page.locator("[data-testid^=lab-pick-]:not(:checked)").first
    other_id = int((other.get_attribute("data-testid") or "").rsplit("-", 1)[1])
    other.check()
    link = page.get_by_test_id("lab-match-link")
    assert link.get_attribute("href") == f"#/lab/match?a={first_id}&b={other_id}"
    link.click()
    page.get_by_test_id("lab-match").wait_for()
    # The SAEs were imported behind the studio's back: the list refetches on opening the view,
    # and until it arrives the selects name the URL's ids, never another SAE.
    wait_for_pair(page, first_id, other_id)
    shot(page, "22-lab-match-opened")
    page.get_by_test_id("lab-back").click()
    page.get_by_test_id("lab-compare").wait_for()
