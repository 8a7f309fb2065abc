"""Feature matching by decoder cosine: permutations match fully, planted splits are found, and
the blockwise product equals the dense one while holding one block at a time."""

from __future__ import annotations

import pytest
import torch

from mistudio.core.matching import MatchingConfig, match_decoders, nnls_fit, unit_rows
from mistudio.errors import InvalidInputError


def _rows(n: int, d: int, seed: int) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def test_a_permutation_matches_fully_and_is_recovered() -> None:
    W_a = _rows(300, 24, 0)
    perm = torch.randperm(300, generator=torch.Generator().manual_seed(1))
    scale = torch.rand(300, 1, generator=torch.Generator().manual_seed(2)) + 0.5
    W_b = W_a[perm] * scale  # B's latent j is A's latent perm[j], at another norm
    res = match_decoders(W_a, W_b, MatchingConfig(block_a=64, block_b=50))
    assert res.share_matched == 1.0 and res.share_b_covered == 1.0
    inverse = torch.argsort(perm)
    assert res.best_b == inverse.tolist()
    assert min(res.best_cosine) > 0.9999
    assert res.splits == []  # a copy explains everything alone


def test_a_planted_split_is_found() -> None:
    d = 64
    B = unit_rows(_rows(200, d, 3))
    W_a = _rows(50, d, 4)
    W_a[7] = B[10] + B[20]  # one wide latent that B splits in two
    W_a[8] = 2 * B[30] + 0.3 * B[40]  # mostly one latent: not a split
    W_a[9] = B[50] + B[60] + B[70]  # three parts
    res = match_decoders(W_a, B, MatchingConfig(threshold=0.7, split_threshold=0.3))
    found = {s.a: s for s in res.splits}
    assert set(found) == {7, 9}
    assert sorted(found[7].parts) == [10, 20] and found[7].r2_parts > 0.99
    assert abs(found[7].r2_best - 0.5) < 0.1
    assert sorted(found[9].parts) == [50, 60, 70]
    assert res.best_b[8] == 30 and res.best_cosine[8] > 0.95  # matched, not split


def test_blocks_are_bounded_and_equal_the_dense_product() -> None:
    W_a, W_b = _rows(130, 16, 5), _rows(250, 16, 6)
    res = match_decoders(W_a, W_b, MatchingConfig(block_a=32, block_b=40))
    assert res.peak_block_bytes == 32 * 40 * 4
    dense = unit_rows(W_a) @ unit_rows(W_b).T  # [130, 250]
    assert res.best_b == dense.argmax(1).tolist()
    torch.testing.assert_close(
        torch.tensor(res.best_cosine), dense.max(1).values, atol=1e-5, rtol=0
    )
    torch.testing.assert_close(
        torch.tensor(res.best_a_cosine), dense.max(0).values, atol=1e-5, rtol=0
    )
    edges, counts = res.histogram(bins=10)
    assert len(edges) == 11 and sum(counts) == 130


def test_nnls_is_nonnegative_and_exact_on_a_cone() -> None:
    parts = unit_rows(_rows(3, 8, 7)).unsqueeze(0)  # [1, 3, 8]
    a = (0.5 * parts[0, 0] + 1.5 * parts[0, 2]).unsqueeze(0)
    norm = a.norm()
    weights, r2 = nnls_fit(a / norm, parts, iters=2000)
    assert float(r2[0]) > 0.999 and bool((weights >= 0).all())
    torch.testing.assert_close(weights[0] * norm, torch.tensor([0.5, 0.0, 1.5]), atol=1e-3, rtol=0)


def test_different_widths_are_one_line() -> None:
    with pytest.raises(InvalidInputError, match="different widths \\(d 8 vs 16\\)"):
        match_decoders(_rows(4, 8, 0), _rows(4, 16, 0))


def test_pairs_page_sorted_with_ties_in_a_order(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from mistudio.core.matching_files import read_pairs, write_matching

    W = _rows(6, 8, 9)
    B = torch.cat([W[[2, 0, 1]], _rows(3, 8, 10)])  # A 0, 1, 2 copied (cosine 1)
    write_matching(match_decoders(W, B), tmp_path)
    total, page = read_pairs(tmp_path, "-cosine", limit=3)
    assert total == 6 and [p["a"] for p in page] == [0, 1, 2]
    assert [p["b"] for p in page] == [1, 2, 0] and page[0]["act_corr"] is None
    _, worst = read_pairs(tmp_path, "cosine", offset=0, limit=1)
    assert worst[0]["cosine"] == min(p["cosine"] for p in read_pairs(tmp_path)[1])
