"""Per-latent analyses against independent references: running top-K, co-activation vs numpy,
logit lens vs the explicit matrix product, ablation, the interpretability proxy."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mistudio.core.features import (
    CoactivationAccumulator,
    TopSlots,
    ablate_latent,
    compare_completions,
    decoder_neighbours,
    interpretability_proxy,
    logit_effects,
    logit_lens_tables,
    token_summary,
)
from mistudio.core.sae import SAEConfig, build_sae
from tests.unit.tiny_models import tiny_loaded


def test_top_slots_equal_sorting_everything():
    rows, k = 7, 5
    slots = TopSlots(rows, k)
    all_rows, all_vals = [], []
    payload = torch.full((rows, k), -1.0)
    for _ in range(30):
        row = torch.randint(0, rows, (40,))
        val = torch.randn(40)
        acc = slots.offer(row, val)
        payload[acc.row, acc.slot] = val[acc.candidate]  # what a caller stores per slot
        all_rows.append(row)
        all_vals.append(val)
    row, val = torch.cat(all_rows), torch.cat(all_vals)
    order = slots.order()
    for r in range(rows):
        expected = val[row == r].sort(descending=True).values[:k]
        assert torch.equal(slots.values[r, order[r]], expected)
        assert torch.equal(payload[r, order[r]], expected)  # payload follows its value


def test_coactivation_equals_numpy():
    torch.manual_seed(1)
    d = 12
    base = torch.randn(400, 3)
    mix = torch.randn(3, d)
    x = (base @ mix + 0.5 * torch.randn(400, d) - 0.8).relu()  # correlated, sparse-ish
    acc = CoactivationAccumulator(d, max_tokens=400, latents_per_token=d, coalesce_every=500)
    acc.add(x[:150])
    acc.add(x[150:])
    result = acc.result(k=4)
    ref = np.corrcoef(x.double().numpy().T)
    fired = (x > 0).numpy()
    cofire = fired.T.astype(int) @ fired.astype(int)  # [d, d]
    union = fired.sum(0)[:, None] + fired.sum(0)[None, :] - cofire
    for i in range(d):
        partners = [j for j in range(d) if j != i and cofire[i, j] > 0]
        best = sorted(partners, key=lambda j: -ref[i, j])[:4]
        got = [int(j) for j in result.pearson.index[i] if j >= 0]
        assert got == best
        np.testing.assert_allclose(result.pearson.value[i, : len(got)], ref[i, best], rtol=1e-5)
        jac = {j: cofire[i, j] / union[i, j] for j in partners}
        got_j = [int(j) for j in result.jaccard.index[i] if j >= 0]
        np.testing.assert_allclose(
            result.jaccard.value[i, : len(got_j)], [jac[j] for j in got_j], rtol=1e-6
        )
        assert sorted(jac.values(), reverse=True)[: len(got_j)] == pytest.approx(
            [jac[j] for j in got_j]
        )
    assert result.n_tokens == 400


def test_coactivation_sample_stops_at_max_tokens():
    acc = CoactivationAccumulator(4, max_tokens=10, latents_per_token=2)
    acc.add(torch.rand(8, 4))
    acc.add(torch.rand(8, 4))
    assert acc.n_tokens == 10 and acc.full


@pytest.mark.parametrize("family", ["llama", "gpt2"])
def test_logit_lens_equals_explicit_product(family):
    loaded = tiny_loaded(family)
    norm = loaded.model.get_submodule(loaded.layout.final_norm)
    with torch.no_grad():
        norm.weight.normal_()  # a non-trivial scale, so forgetting the norm would show
        if getattr(norm, "bias", None) is not None:
            norm.bias.normal_()
    w_u = loaded.model.get_output_embeddings().weight  # [vocab, d]
    directions = torch.randn(6, 32)
    if family == "llama":
        rms = directions.pow(2).mean(-1, keepdim=True).add(norm.variance_epsilon).rsqrt()
        explicit = (directions * rms * norm.weight) @ w_u.T
    else:  # LayerNorm without its bias
        centred = directions - directions.mean(-1, keepdim=True)
        std = centred.pow(2).mean(-1, keepdim=True).add(norm.eps).sqrt()
        explicit = (centred / std * norm.weight) @ w_u.T
    got = logit_effects(loaded, directions)
    torch.testing.assert_close(got, explicit.detach(), rtol=1e-4, atol=1e-4)
    tables = logit_lens_tables(loaded, directions, n=5, bins=10, chunk=4)
    np.testing.assert_array_equal(tables.pos_ids, explicit.topk(5, dim=1).indices.numpy())
    np.testing.assert_array_equal(
        tables.neg_ids, explicit.topk(5, dim=1, largest=False).indices.numpy()
    )
    assert (tables.hist_counts.sum(1) == w_u.shape[0]).all()


def test_decoder_neighbours_match_dense_cosine():
    w = torch.randn(30, 8)
    index, value = decoder_neighbours(w, k=3, chunk=7)
    unit = w / w.norm(dim=1, keepdim=True)
    cos = unit @ unit.T
    cos.fill_diagonal_(-2)
    top = cos.topk(3, dim=1)
    np.testing.assert_array_equal(index, top.indices.numpy())
    np.testing.assert_allclose(value, top.values.numpy(), rtol=1e-5)


@pytest.fixture
def ablation_setup():
    loaded = tiny_loaded("llama")
    sae = build_sae(
        SAEConfig(
            architecture="standard",
            d_in=32,
            d_sae=24,
            init_decoder_norm=3.0,
            metadata={"hook_name": "blocks.1.hook_resid_post"},
        )
    )
    ids = torch.randint(3, 97, (3, 12))
    return loaded, sae, ids


def test_ablation_with_zero_coefficient_changes_nothing(ablation_setup):
    loaded, sae, ids = ablation_setup
    x = loaded.model(ids, output_hidden_states=True).hidden_states[2]
    latent = int(sae.encode(x.reshape(-1, 32)).sum(0).argmax())  # a latent that fires here
    zero = ablate_latent(loaded, sae, latent, ids, coefficient=0.0)
    assert zero.loss_ablated == zero.loss_clean
    assert torch.count_nonzero(zero.per_token_delta) == 0
    full = ablate_latent(loaded, sae, latent, ids, coefficient=1.0)
    assert full.loss_clean == zero.loss_clean
    assert full.delta_loss != 0  # removing a firing latent does change the prediction
    assert full.n_tokens == 3 * 11
    assert len(full.most_decreased) == 10
    assert all(s.delta <= 0 for s in full.most_decreased[:1])


def test_ablation_matches_manual_edit(ablation_setup):
    loaded, sae, ids = ablation_setup
    latent = 3
    block = loaded.model.model.layers[1]

    def edit(_m, _a, out):
        h = out[0] if isinstance(out, tuple) else out
        f = sae.encode(h.reshape(-1, 32))[:, latent].reshape(h.shape[:-1])
        h = h - f[..., None] * sae.W_dec[latent]
        return (h, *out[1:]) if isinstance(out, tuple) else h

    handle = block.register_forward_hook(edit)
    try:
        with torch.no_grad():
            logits = loaded.model(ids).logits[:, :-1]
    finally:
        handle.remove()
    lp = logits.log_softmax(-1).gather(-1, ids[:, 1:, None])[..., 0]
    result = ablate_latent(loaded, sae, latent, ids)
    assert result.loss_ablated == pytest.approx(float(-lp.mean()), rel=1e-5)


def test_completions_with_and_without(ablation_setup):
    loaded, sae, _ = ablation_setup
    same = compare_completions(loaded, sae, 0, "w5 w6 w7", max_new_tokens=5, coefficient=0.0)
    assert same.clean == same.ablated and len(same.clean.split()) == 5


def test_interpretability_proxy_and_token_summary():
    values = np.linspace(10, 1, 20)
    assert interpretability_proxy(np.full(20, 7), values) == 1.0
    # Fit half sees only tokens 0..9, held-out half only 10..19: nothing generalises.
    ids = np.where(np.arange(20) % 2 == 0, np.arange(20) // 2, 10 + np.arange(20) // 2)
    assert interpretability_proxy(ids, values) == 0.0
    assert np.isnan(interpretability_proxy(np.array([1, 2]), np.array([2.0, 1.0])))
    summary = token_summary(np.array([5, 5, 9, 5, 9, 3]), np.array([6.0, 5, 4, 3, 2, 1]))
    assert summary.token_ids[:3].tolist() == [5, 9, 3]
    assert summary.counts[:3].tolist() == [3, 2, 1]
    assert summary.mass[0] == pytest.approx(14 / 21)
