"""The lab's evaluations (core/lab): core metrics against core/evals and numpy on a tiny model,
absorption and sparse probing on planted data where the answer is known, and the bootstrap's
coverage in a seeded simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from mistudio.core.evals import evaluate_reconstruction, evaluate_splice
from mistudio.core.lab.bootstrap import bootstrap_weights, interval, mean_interval
from mistudio.core.lab.evals_absorption import AbsorptionConfig, _split, absorption
from mistudio.core.lab.evals_core import core_metrics, core_sums
from mistudio.core.lab.evals_labels import label_summary
from mistudio.core.lab.evals_probing import probe_task
from mistudio.core.sae import SAEConfig, build_sae
from tests.unit.tiny_models import VOCAB, tiny_model

HOOK = "blocks.1.hook_resid_post"


def test_core_metrics_equal_core_evals_and_a_numpy_recompute() -> None:
    model = tiny_model("gpt2")
    model.requires_grad_(False)
    sae = build_sae(SAEConfig(architecture="topk", d_in=32, d_sae=64, k=8))
    gen = torch.Generator().manual_seed(1)
    ids = torch.randint(3, VOCAB, (6, 12), generator=gen)
    ids[:, 0] = 0  # a BOS: out of the reconstruction metrics, in the splice
    mask = torch.ones_like(ids)
    mask[4, 8:] = 0
    mask[5, 5:] = 0
    batches = [(ids[:3], mask[:3]), (ids[3:], mask[3:])]
    sums = core_sums(model, sae, HOOK, batches, special_ids=[0, 1, 2])
    got = core_metrics(sums, bootstrap_weights(6, 100, 0))

    # reference: the activations at the hook from output_hidden_states, non-special tokens only
    hidden = model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
    keep = mask.bool() & (ids > 2)
    x = hidden[2][keep]  # blocks.1 output
    ref = evaluate_reconstruction(sae, [x])
    for name in ("l0", "fvu", "explained_variance", "mse", "cosine", "shrinkage"):
        assert got[name].value == pytest.approx(getattr(ref, name), rel=1e-6), name
    for name in ("dead_fraction", "dense_fraction", "dense_fraction_1pct"):
        assert got[name].value == pytest.approx(getattr(ref, name)), name
    xs = x.double().numpy()
    with torch.no_grad():
        xh = sae(x).x_hat.double().numpy()
    var = (xs**2).sum(-1).mean() - (xs.mean(0) ** 2).sum()
    assert got["fvu"].value == pytest.approx(((xs - xh) ** 2).sum(-1).mean() / var, rel=1e-6)

    splice = evaluate_splice(model, sae, HOOK, batches)
    for name in ("ce_loss_score", "kl_score", "ce_clean", "ce_sae", "ce_zero", "kl_sae"):
        assert got[name].value == pytest.approx(getattr(splice, name), rel=1e-5), name
    for name, m in got.items():
        assert m.low is not None and m.high is not None, name
        assert m.low <= m.value + 1e-9 and m.value <= m.high + 1e-9 or name.startswith("d"), name


def test_bootstrap_intervals_cover_the_truth() -> None:
    """100 seeded data sets of 40 sequences (ragged lengths, per-sequence offsets: correlated
    tokens) from a known distribution; the nominal-95% interval of the ratio-of-sums mean must
    cover the true mean at least 90 times."""
    rng = np.random.default_rng(0)
    true_mean = 2.0
    covered = 0
    for rep in range(100):
        lengths = rng.integers(5, 30, size=40)
        offsets = rng.normal(0, 0.5, size=40)
        sums = torch.tensor(
            [
                [float((true_mean + o + rng.normal(0, 1, n)).sum()), float(n)]
                for o, n in zip(offsets, lengths, strict=True)
            ]
        )
        got = interval(lambda s: s[:, 0] / s[:, 1], sums, bootstrap_weights(40, 300, rep))
        assert got.low is not None and got.high is not None
        covered += got.low <= true_mean <= got.high
    assert covered >= 90


def _planted_absorption(n_absorbed: int, seed: int = 0):
    """Six letters (a..f), directions e_c in 48-d, 60 words each (x = 3 e_c + noise).
    ``n_absorbed`` words of letter 'a' also carry a token direction t_j; latent j of their own
    (encoder 2 t_j, decoder along e_a + t_j) fires at 5 on its word, well over 40% of the probe
    projection, while latent 'a' is silent where any t_j is. Each absorber covers one word, too
    few for the k-sparse probe to call it a main latent."""
    gen = torch.Generator().manual_seed(seed)
    d, k, n_per = 48, 6, 60
    basis = torch.linalg.qr(torch.randn(d, d, generator=gen))[0]
    e, t = basis[:k], basis[k : k + max(n_absorbed, 1)]
    letters = torch.arange(k).repeat_interleave(n_per)
    acts = 3 * e[letters] + 0.05 * torch.randn(len(letters), d, generator=gen)
    for j in range(n_absorbed):
        acts[j] += 3 * t[j]  # words 0..n_absorbed-1 are letter 'a'
    absorbers = (e[0] + t[:n_absorbed]) / math.sqrt(2)  # [n_absorbed, d]
    sae = build_sae(SAEConfig(architecture="standard", d_in=d, d_sae=k + n_absorbed))
    with torch.no_grad():
        sae.b_dec.zero_()
        sae.W_enc.copy_(torch.cat([e.T, 2 * t[:n_absorbed].T], 1))
        sae.W_enc[:, 0] -= 2 * t[:n_absorbed].sum(0)  # latent 'a' is silent when a t_j is
        sae.b_enc.fill_(-1.0)
        sae.b_enc[k:] = -1.0  # absorber j fires only on t_j
        sae.W_dec.copy_(torch.cat([e, absorbers]))
    return acts, letters, sae


def test_absorption_finds_the_planted_share() -> None:
    config = AbsorptionConfig(test_fraction=0.5)
    acts, letters, sae = _planted_absorption(8)
    res = absorption(acts, letters, sae, config, seed=0, n_resamples=100)
    assert res.probe_accuracy > 0.95
    a = res.per_letter["a"]
    assert a["main_latents"] == [0]
    test = _split(letters, 0.5, 0)  # the eval's own held-out words
    n_absorbed_test = int(test[:8].sum())
    assert n_absorbed_test > 0 and a["n_true_positives"] == int(test[letters == 0].sum())
    assert a["full_absorption"] == pytest.approx(n_absorbed_test / a["n_true_positives"])
    assert a["absorption_fraction"] == pytest.approx(n_absorbed_test / a["n_true_positives"])
    assert all(res.per_letter[c]["full_absorption"] == 0.0 for c in "bcdef")
    assert res.n_letters == 6
    assert res.full_absorption.value == pytest.approx(a["full_absorption"] / 6, rel=1e-6)
    assert res.full_absorption.low is not None and res.full_absorption.high is not None
    clean = absorption(*_planted_absorption(0), config, seed=0, n_resamples=0)
    assert clean.absorption_fraction.value == 0.0 and clean.full_absorption.value == 0.0


def test_sparse_probing_picks_the_planted_latent() -> None:
    gen = torch.Generator().manual_seed(0)
    y = torch.arange(200) % 2
    latents = torch.rand(200, 50, generator=gen)
    latents[:, 17] = y * 2.0 + 0.1 * torch.rand(200, generator=gen)  # the label's latent
    acts = torch.randn(200, 16, generator=gen)
    acts[:, 3] += 4 * y  # the raw activations carry it too
    correct, chosen = probe_task(acts, latents, y, [1, 5], 0.3, seed=0)
    assert chosen["top_1"] == [17] and 17 in chosen["top_5"]
    assert float(correct["top_1"].mean()) == 1.0
    assert float(correct["llm"].mean()) > 0.9
    noise, _ = probe_task(acts, torch.rand(200, 50, generator=gen), y, [1], 0.3, seed=0)
    assert float(noise["top_1"].mean()) < 0.75


def test_label_summary() -> None:
    nan = float("nan")
    got = label_summary(
        torch.tensor([True, True, False, False]),
        torch.tensor([0.8, 0.6, nan, nan]),
        torch.tensor([nan, nan, nan, nan]),
        n_resamples=50,
    )
    assert got["label_share"].value == 0.5 and got["label_detection"].value == pytest.approx(0.7)
    assert "label_fuzzing" not in got
    assert mean_interval(torch.tensor([1.0, 3.0]), None).value == 2.0
