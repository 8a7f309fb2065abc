"""Evaluation metrics against independent references (numpy float64; a hand-written LM hook)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mistudio.core.evals import ReconstructionAccumulator, evaluate_reconstruction, evaluate_splice
from mistudio.core.sae import SAEConfig, build_sae
from mistudio.errors import InvalidInputError
from tests.unit.tiny_models import VOCAB, tiny_model


def test_reconstruction_metrics_match_numpy() -> None:
    sae = build_sae(SAEConfig(architecture="topk", d_in=8, d_sae=20, k=3))
    with torch.no_grad():
        sae.W_enc[:, :5] = -10.0  # latents 0..4 never fire
        sae.b_enc[:,] = 0.0
        sae.b_enc[5] = 100.0  # latent 5 fires on every token
    batches = [torch.randn(50, 8) * 3 + 1000.0 for _ in range(4)]  # large mean: float32 trap
    m = evaluate_reconstruction(sae, batches)

    x = np.concatenate([b.numpy() for b in batches]).astype(np.float64)
    with torch.no_grad():
        outs = [sae(b) for b in batches]
    xh = np.concatenate([o.x_hat.numpy() for o in outs]).astype(np.float64)
    lat = np.concatenate([o.latents.numpy() for o in outs])
    err = ((x - xh) ** 2).sum(-1).mean()
    var = (x**2).sum(-1).mean() - (x.mean(0) ** 2).sum()
    assert m.n_tokens == 200
    assert m.mse == pytest.approx(err, rel=1e-9)
    assert m.explained_variance == pytest.approx(1 - err / var, rel=1e-6)
    assert m.fvu == pytest.approx(err / var, rel=1e-6)
    assert m.l0 == pytest.approx((lat > 0).sum(-1).mean())
    dens = (lat > 0).mean(0)
    assert m.n_dead == int((dens == 0).sum()) and m.n_dead >= 5
    assert m.dead_fraction == pytest.approx(m.n_dead / 20)
    assert m.n_dense == int((dens > 0.1).sum()) and m.n_dense >= 1
    assert m.dense_fraction_1pct == pytest.approx((dens > 0.01).mean())
    cos = (x * xh).sum(-1) / (np.linalg.norm(x, axis=-1) * np.linalg.norm(xh, axis=-1))
    assert m.cosine == pytest.approx(cos.mean(), rel=1e-9)
    assert m.shrinkage == pytest.approx(
        (np.linalg.norm(xh, axis=-1) / np.linalg.norm(x, axis=-1)).mean(), rel=1e-9
    )


def test_perfect_reconstruction_scores_one() -> None:
    acc = ReconstructionAccumulator(4)
    x = torch.randn(30, 6)
    acc.update(x, x.clone(), torch.tensor([30, 0, 3, 1]), 34)
    m = acc.result()
    assert m.fvu == pytest.approx(0.0, abs=1e-12) and m.cosine == pytest.approx(1.0)
    assert m.l0 == pytest.approx(34 / 30) and m.n_dead == 1 and m.n_dense == 1
    with pytest.raises(InvalidInputError):
        ReconstructionAccumulator(4).result()


def _reference_splice(model, sae, layer: int, ids, mask):
    """CE/KL by a forward hook written here on model.transformer.h[layer] (independent path)."""

    def run(fn):
        handle = None
        if fn is not None:

            def hook(_m, _a, out):
                return (fn(out[0]), *out[1:]) if isinstance(out, tuple) else fn(out)

            handle = model.transformer.h[layer].register_forward_hook(hook)
        try:
            with torch.no_grad():
                logits = model(input_ids=ids, attention_mask=mask).logits
        finally:
            if handle is not None:
                handle.remove()
        logp = torch.log_softmax(logits[:, :-1].double(), -1)
        return logp

    valid = (mask[:, 1:] & mask[:, :-1]).bool()
    tgt = ids[:, 1:]
    with torch.no_grad():
        clean = run(None)
        rec = run(lambda a: sae(a.reshape(-1, a.shape[-1])).x_hat.reshape(a.shape))
        zero = run(torch.zeros_like)

    def ce(lp):
        return float(-lp.gather(-1, tgt[..., None]).squeeze(-1)[valid].mean())

    def kl(lp):
        return float((clean.exp() * (clean - lp)).sum(-1)[valid].mean())

    return ce(clean), ce(rec), ce(zero), kl(rec), kl(zero)


def test_splice_scores_match_a_hand_written_hook() -> None:
    model = tiny_model("gpt2")
    model.requires_grad_(False)
    sae = build_sae(SAEConfig(architecture="topk", d_in=32, d_sae=64, k=8))
    ids = torch.randint(3, VOCAB, (3, 12))
    mask = torch.ones_like(ids)
    mask[2, 9:] = 0  # right padding
    got = evaluate_splice(model, sae, "blocks.1.hook_resid_post", [(ids, mask)])
    ce_c, ce_s, ce_z, kl_s, kl_z = _reference_splice(model, sae, 1, ids, mask)
    assert got.n_tokens == int((mask[:, 1:] & mask[:, :-1]).sum())
    assert got.ce_clean == pytest.approx(ce_c, rel=1e-5)
    assert got.ce_sae == pytest.approx(ce_s, rel=1e-5)
    assert got.ce_zero == pytest.approx(ce_z, rel=1e-5)
    assert got.kl_sae == pytest.approx(kl_s, rel=1e-4, abs=1e-7)
    assert got.kl_zero == pytest.approx(kl_z, rel=1e-4, abs=1e-7)
    assert got.ce_loss_score == pytest.approx((ce_z - ce_s) / (ce_z - ce_c), rel=1e-4)
    assert got.kl_score == pytest.approx((kl_z - kl_s) / kl_z, rel=1e-4)


def test_identity_splice_scores_one() -> None:
    """An SAE that reconstructs exactly must score 1 (a test that can fail on a wrong splice)."""
    model = tiny_model("gpt2")
    model.requires_grad_(False)
    sae = build_sae(SAEConfig(architecture="standard_skip", d_in=32, d_sae=8))
    with torch.no_grad():
        sae.W_dec.zero_()
        sae.b_dec.zero_()
        sae.W_skip.copy_(torch.eye(32))
    ids = torch.randint(3, VOCAB, (2, 10))
    got = evaluate_splice(model, sae, "blocks.0.hook_resid_post", [(ids, torch.ones_like(ids))])
    assert got.ce_loss_score == pytest.approx(1.0, abs=1e-5)
    assert got.kl_sae == pytest.approx(0.0, abs=1e-6)
