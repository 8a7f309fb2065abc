"""The researcher matches the features of two SAEs in the SAE lab: the walkthrough's topk SAE
(A, extracted) against a second SAE of the same width (B, imported) that holds 256 of A's
latents that fire, permuted, three planted splits of A latents, and random directions.

The matching view opens at ``#/lab/match?a=&b=`` (the lab page links there), runs the matching
job, shows the share of A matched and the splits that core computes on the same decoders (at
least 50% and the three planted ones), and a matched pair side by side: A's examples and label,
and B's empty state (B has no extraction, so no activation correlation either). Runs after
``test_walkthrough.py``, whose ``e2e-topk-l6`` SAE and its extraction it reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_walkthrough import JOB_TIMEOUT, shot
from tests.e2e.test_walkthrough_lab import wait_for_pair

pytestmark = pytest.mark.e2e
Page = Any  # playwright.sync_api.Page

SPLIT_A = (300, 301, 302)  # A latents that B splits in two (if they are not among the copies)


def _api(page: Page) -> str:
    return page.url.split("#")[0].rstrip("/") + "/api/v1"


def _second_sae(page: Page) -> tuple[int, int, Any]:
    """(A's id, B's id, the matching core computes for A and B): B is written under the
    studio's import root and imported through the API."""
    import torch  # deferred: only this module of the e2e suite builds tensors

    from mistudio.core.matching import match_decoders
    from mistudio.core.sae import load_sae, save_sae

    api = _api(page)
    saes = page.request.get(f"{api}/saes", params={"limit": 200}).json()["items"]
    a = next(s for s in saes if s["name"].startswith("e2e-topk-l6") and s["status"] == "ready")
    extraction = page.request.get(
        f"{api}/extractions", params={"sae_id": a["id"], "status": "ready", "limit": 1}
    ).json()["items"][0]
    fired = page.request.get(
        f"{api}/features",
        params={"extraction_id": extraction["id"], "sort": "frequency", "order": "desc"}
        | {"limit": 300},
    ).json()["items"]
    copied = [f["index"] for f in fired if f["index"] not in SPLIT_A][:256]
    sae = load_sae(a["path"])
    W = sae.W_dec.detach().clone()  # [512, 576]
    g = torch.Generator().manual_seed(21)
    B = torch.randn(W.shape, generator=g)
    perm = torch.randperm(W.shape[0], generator=g)
    B[perm[: len(copied)]] = W[copied]
    free = perm[len(copied) :].tolist()
    for n, i in enumerate(SPLIT_A):
        r = torch.randn(W.shape[1], generator=g)
        r -= (r @ W[i]) / (W[i] @ W[i]) * W[i]  # orthogonal to A's latent i
        r *= 1.2 * W[i].norm() / r.norm()  # each part at cosine ~0.64: no single match
        B[free[2 * n]], B[free[2 * n + 1]] = W[i] + r, W[i] - r
    with torch.no_grad():
        sae.W_dec.copy_(B)
    home = Path(page.request.get(f"{api}/system/info").json()["home"])
    folder = save_sae(sae, home / "imports" / "e2e-match-b", metadata=dict(sae.cfg.metadata))
    r = page.request.post(
        f"{api}/saes/import", data={"path": str(folder), "name": "e2e permuted copy"}
    )
    assert r.ok, r.text()
    b_id = r.json()["id"]
    for _ in range(120):  # the import may run as a job
        if page.request.get(f"{api}/saes/{b_id}").json()["status"] == "ready":
            break
        page.wait_for_timeout(500)
    # What the studio must show: the same core on the same decoders (256 copies matched, the
    # planted splits found; a trained SAE's near-duplicate latents may add a few of either).
    return a["id"], b_id, match_decoders(W, B)


def test_01_match_two_saes(page: Page) -> None:
    a_id, b_id, expected = _second_sae(page)
    assert expected.share_matched >= 0.5 and {s.a for s in expected.splits} >= set(SPLIT_A)
    page.evaluate(f"() => {{ window.location.hash = '#/lab/match?a={a_id}&b={b_id}'; }}")
    view = page.get_by_test_id("matching-view")
    view.wait_for()
    # B was imported behind the SAE list's back: the view asks for the list again and then names
    # B (until then its select says "#id (loading…)", never another SAE).
    wait_for_pair(page, a_id, b_id)
    page.get_by_text("have not been matched yet").wait_for()
    page.get_by_test_id("match-run").click()
    share = page.get_by_test_id("match-share")
    share.wait_for(timeout=JOB_TIMEOUT)
    assert share.inner_text() == f"{100 * expected.share_matched:.1f}%"
    assert page.get_by_test_id("match-splits").inner_text() == str(len(expected.splits))
    assert "not measured: SAE" in page.get_by_test_id("match-correlation").inner_text()
    for i in SPLIT_A:
        page.get_by_test_id(f"split-{i}").wait_for()
    page.get_by_test_id("match-summary").locator(".recharts-bar-rectangle path").first.wait_for()
    shot(page, "21-lab-matching", page.get_by_test_id("match-summary"))
    shot(page, "21-lab-matching-pairs", page.get_by_test_id("match-pairs"))


def test_02_open_a_matched_pair(page: Page) -> None:
    first = page.locator("tr[data-testid^=pair-]").first  # best cosine first: a copy
    first.click()
    detail = page.get_by_test_id("pair-detail")
    detail.wait_for()
    a_side, b_side = page.get_by_test_id("pair-side-A"), page.get_by_test_id("pair-side-B")
    a_side.get_by_test_id("examples").locator("[data-testid=token-text]").first.wait_for()
    b_side.get_by_text("extract this SAE to see its examples").wait_for()
    assert "of #" in b_side.inner_text()  # B is named, not "of ?"
    box_a, box_b = a_side.bounding_box(), b_side.bounding_box()
    assert box_a and box_b and abs(box_a["y"] - box_b["y"]) < 2  # side by side
    shot(page, "21-lab-matched-pair", detail)
    # A split's part opens the split pair.
    page.get_by_test_id(f"split-{SPLIT_A[0]}").get_by_role("button").first.click()
    page.get_by_test_id("pair-side-A").get_by_text(f"latent {SPLIT_A[0]}").first.wait_for()
