"""Shapes, gradients and invariants of every SAE architecture."""

from __future__ import annotations

import pytest
import torch

from mistudio.core.sae import (
    SAE,
    SAEConfig,
    TrainContext,
    build_sae,
    geometric_median,
    register_sae,
    registered_architectures,
    registry,
    sae_class,
)
from mistudio.core.sae.jumprelu import JumpReLUSAE
from mistudio.errors import InvalidInputError

ARCHS = ["standard", "jumprelu", "topk", "batchtopk", "standard_skip", "transcoder"]


def make(arch: str, d_in: int = 16, d_sae: int = 64, **kw) -> SAE:
    extra = dict(kw)
    if arch in ("topk", "batchtopk"):
        extra.setdefault("k", 4)
    if arch == "transcoder":
        extra.setdefault("d_out", 12)
        extra.setdefault("skip", True)
    return build_sae(SAEConfig(architecture=arch, d_in=d_in, d_sae=d_sae, **extra))


def test_registry_lists_every_architecture() -> None:
    assert set(ARCHS) <= set(registered_architectures())
    with pytest.raises(InvalidInputError, match="unknown SAE architecture"):
        sae_class("gated-nonsense")


def test_register_a_new_architecture(monkeypatch: pytest.MonkeyPatch) -> None:
    # A copy of the registry, so the toy class does not leak into tests that list architectures.
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._REGISTRY))

    @register_sae("test_identity_relu")
    class Tiny(SAE):
        def activate(self, pre: torch.Tensor) -> torch.Tensor:
            return pre.relu()

    assert sae_class("test_identity_relu") is Tiny


@pytest.mark.parametrize("arch", ARCHS)
def test_shapes_and_gradients(arch: str) -> None:
    sae = make(arch)
    x = torch.randn(40, 16)
    target = torch.randn(40, sae.d_out) if arch == "transcoder" else x
    lat = sae.encode(x)
    assert lat.shape == (40, 64)
    assert sae.decode(lat, x).shape == (40, sae.d_out)
    out = sae(x.view(5, 8, 16), target.view(5, 8, -1))
    assert out.x_hat.shape == (5, 8, sae.d_out) and out.latents is not None
    assert out.latents.shape == (5, 8, 64)
    assert out.fired.shape == (64,) and set(out.losses) == {"mse"}
    if hasattr(sae, "last_density"):
        sae.last_density = 1.0  # dense path here; the sparse path is tested in test_sae_sparse_ops
    tout = sae.training_forward(x, target, TrainContext(sparsity_coefficient=0.1))
    assert tout.x_hat.shape == (40, sae.d_out)
    assert "mse" in tout.losses
    tout.loss.backward()
    for name, p in sae.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
    assert sae.W_enc.grad is not None and sae.W_enc.grad.abs().sum() > 0


def test_topk_has_exactly_k_active_per_token() -> None:
    sae = make("topk", k=5)
    with torch.no_grad():
        sae.b_enc.fill_(10.0)  # every pre-activation positive: exactly k survive
    x = torch.randn(30, 16)
    lat = sae.encode(x)
    assert ((lat != 0).sum(-1) == 5).all()
    out = sae.training_forward(x, x, TrainContext())
    assert out.codes is not None
    assert (out.codes.to_dense() != 0).sum(-1).eq(5).all()
    assert float(out.l0) == 5.0


def test_batchtopk_averages_k_and_learns_a_threshold() -> None:
    sae = make("batchtopk", k=3)
    with torch.no_grad():
        sae.b_enc.fill_(1.0)
    x = torch.randn(50, 16)
    out = sae.training_forward(x, x, TrainContext())
    assert out.codes is not None
    counts = (out.codes.to_dense() > 0).sum(-1)
    assert int(counts.sum()) == 3 * 50
    assert counts.max() > counts.min()  # tokens share the budget unevenly
    thr = float(sae.threshold)
    assert thr > 0
    assert thr == pytest.approx(float(out.codes.values[out.codes.values > 0].min()))
    lat = sae.encode(x)  # inference uses the threshold
    pre = sae.pre_activation(x)
    assert torch.equal(lat != 0, pre > thr)


def test_jumprelu_zero_below_threshold_and_threshold_learns() -> None:
    sae = make("jumprelu", jumprelu_init_threshold=0.5, jumprelu_bandwidth=2.0)
    assert isinstance(sae, JumpReLUSAE)
    x = torch.randn(64, 16) * 3
    pre = sae.pre_activation(x)
    lat = sae.encode(x)
    below = pre <= 0.5
    assert (lat[below] == 0).all()
    assert torch.equal(lat[~below], pre[~below])
    # A strong L0 penalty must push thresholds up (negative gradient on log_threshold).
    out = sae.training_forward(x, x, TrainContext(sparsity_coefficient=100.0))
    out.losses["sparsity"].backward()
    assert sae.log_threshold.grad is not None
    assert (sae.log_threshold.grad <= 0).all() and sae.log_threshold.grad.sum() < 0
    assert sae.W_enc.grad is None or sae.W_enc.grad.abs().sum() == 0  # L0 term: threshold only


def test_jumprelu_ste_matches_formula() -> None:
    sae = make("jumprelu", d_in=4, d_sae=3, jumprelu_init_threshold=0.3, jumprelu_bandwidth=0.2)
    pre = torch.tensor([[0.25, 0.5, 0.35], [0.0, 0.31, 0.45]], requires_grad=True)
    from mistudio.core.sae.jumprelu import jumprelu_with_counts

    f, counts = jumprelu_with_counts(pre, sae.log_threshold, 0.2)
    torch.testing.assert_close(f, torch.tensor([[0.0, 0.5, 0.35], [0.0, 0.31, 0.45]]))
    torch.testing.assert_close(counts, torch.tensor([0.0, 2.0, 2.0]))
    f.sum().backward(retain_graph=True)
    theta = 0.3
    in_window = ((pre.detach() - theta).abs() < 0.1).float()
    expect = (-(theta / 0.2) * in_window).sum(0) * theta
    torch.testing.assert_close(sae.log_threshold.grad, expect)
    sae.log_threshold.grad = None
    counts.sum().backward()
    torch.testing.assert_close(sae.log_threshold.grad, (-(1 / 0.2) * in_window).sum(0) * theta)


@pytest.mark.parametrize("arch", ["topk", "batchtopk", "jumprelu"])
def test_decoder_rows_stay_unit_norm_and_grad_is_orthogonal(arch: str) -> None:
    sae = make(arch)
    opt = torch.optim.Adam(sae.parameters(), lr=0.05)
    x = torch.randn(32, 16)
    for _ in range(3):
        out = sae.training_forward(x, x, TrainContext(sparsity_coefficient=0.01))
        out.loss.backward()
        sae.remove_parallel_decoder_grad()
        assert sae.W_dec.grad is not None
        parallel = (sae.W_dec.grad * sae.W_dec).sum(-1)
        assert parallel.abs().max() < 1e-5
        opt.step()
        opt.zero_grad()
        sae.normalize_decoder()
        torch.testing.assert_close(sae.W_dec.norm(dim=-1), torch.ones(64))


def test_init_ties_encoder_and_sets_b_dec() -> None:
    sae = make("topk")
    torch.testing.assert_close(sae.W_enc, sae.W_dec.T)
    torch.testing.assert_close(sae.W_dec.norm(dim=-1), torch.ones(64))
    std = make("standard")
    torch.testing.assert_close(std.W_dec.norm(dim=-1), torch.full((64,), 0.1))
    pts = torch.randn(200, 16) + 3.0
    sae.init_b_dec(pts, "mean")
    torch.testing.assert_close(sae.b_dec, pts.mean(0))
    sae.init_b_dec(pts, "geometric_median")
    assert (sae.b_dec - 3.0).abs().mean() < 0.3


def test_geometric_median_resists_outliers() -> None:
    pts = torch.zeros(101, 2)
    pts[:51, 0] = 1.0  # 51 at (1, 0), 50 at (0, 0), then one far outlier
    pts[100] = torch.tensor([1000.0, 1000.0])
    med = geometric_median(pts)
    assert med.norm() < 2.0  # the mean would be near (10.4, 9.9)


@pytest.mark.parametrize("arch", ARCHS)
def test_folding_the_activation_scale(arch: str) -> None:
    sae = make(arch)
    with torch.no_grad():
        sae.b_dec.normal_()
        sae.b_enc.normal_(0, 0.1)
        if sae.W_skip is not None:
            sae.W_skip.normal_(0, 0.1)
    if arch == "batchtopk":
        sae.threshold.fill_(0.05)
    x = torch.randn(20, 16) * 7
    s_in = 0.3
    s_out = 0.3 if arch != "transcoder" else 0.5
    expect = sae(x * s_in).x_hat / s_out
    sae.fold_activation_scale(s_in, s_out)
    torch.testing.assert_close(sae(x).x_hat, expect, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("fields", "match"),
    [
        (dict(architecture="topk", d_in=8, d_sae=16), "needs k"),
        (dict(architecture="topk", d_in=8, d_sae=16, k=16), "k must be"),
        (dict(architecture="standard", d_in=8, d_sae=0), "d_sae must be > 0"),
        (dict(architecture="standard", d_in=-1, d_sae=4), "d_in must be > 0"),
        (dict(architecture="standard", d_in=8, d_sae=4, d_out=3), "only transcoders"),
        (dict(architecture="nope", d_in=8, d_sae=4), "architecture"),
        (dict(architecture="standard", d_in="x", d_sae=4), "d_in"),
    ],
)
def test_bad_sae_configs(fields: dict, match: str) -> None:
    with pytest.raises(InvalidInputError, match=match):
        SAEConfig(**fields)


def test_skip_decode_needs_input() -> None:
    sae = make("standard_skip")
    with pytest.raises(InvalidInputError, match="needs the input"):
        sae.decode(torch.zeros(2, 64))
