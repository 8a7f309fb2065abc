"""The sparse kernels against plain dense autograd (the independent reference)."""

from __future__ import annotations

import pytest
import torch

from mistudio.core.sae import SAEConfig, TrainContext, build_sae
from mistudio.core.sae.sparse_ops import (
    SparseCodes,
    Workspace,
    batch_topk_codes,
    relu_codes,
    sparse_decode,
    sparse_encode,
    topk_codes,
)


def _params(d_in: int = 24, d_sae: int = 96, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    W_enc = torch.randn(d_in, d_sae, generator=g, dtype=torch.float64) / d_in**0.5
    b_enc = torch.randn(d_sae, generator=g, dtype=torch.float64) * 0.1
    W_dec = torch.randn(d_sae, d_in, generator=g, dtype=torch.float64) / d_in**0.5
    b_dec = torch.randn(d_in, generator=g, dtype=torch.float64) * 0.1
    x = torch.randn(37, d_in, generator=g, dtype=torch.float64)
    return x, W_enc, b_enc, W_dec, b_dec


def _grads(loss_fn, params):
    ps = [p.clone().requires_grad_(True) for p in params]
    loss = loss_fn(*ps)
    return loss.detach(), torch.autograd.grad(loss, ps)


@pytest.mark.parametrize("k", [1, 5, 17])
def test_topk_sparse_matches_dense_autograd(k: int) -> None:
    x, W_enc, b_enc, W_dec, b_dec = _params()
    target = torch.randn_like(x)
    sel = topk_codes(x, b_dec, W_enc, b_enc, Workspace(), k)
    codes = sel.codes
    assert torch.equal(codes.offsets, torch.arange(0, x.shape[0] * k + 1, k))

    def sparse_loss(We, be, Wd, bd):
        vals = sparse_encode(codes, x, bd, We, be)
        x_hat = sparse_decode(vals, codes, Wd) + bd
        return (x_hat - target).pow(2).sum(-1).mean() + 0.3 * vals.sum()

    def dense_loss(We, be, Wd, bd):
        pre = (x - bd) @ We + be
        mask = torch.zeros_like(pre, dtype=torch.bool)
        mask.scatter_(1, pre.topk(k, dim=-1).indices, True)
        f = torch.relu(pre) * mask
        x_hat = f @ Wd + bd
        return (x_hat - target).pow(2).sum(-1).mean() + 0.3 * f.sum()

    ls, gs = _grads(sparse_loss, (W_enc, b_enc, W_dec, b_dec))
    ld, gd = _grads(dense_loss, (W_enc, b_enc, W_dec, b_dec))
    torch.testing.assert_close(ls, ld, rtol=1e-10, atol=1e-10)
    for name, a, b in zip(("W_enc", "b_enc", "W_dec", "b_dec"), gs, gd, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-9, msg=f"grad {name}")


def test_relu_codes_match_dense_float32() -> None:
    x, W_enc, b_enc, W_dec, b_dec = (t.float() for t in _params(seed=1))
    codes = relu_codes(x, b_dec, W_enc, b_enc, Workspace())
    dense = torch.relu((x - b_dec) @ W_enc + b_enc)
    torch.testing.assert_close(codes.to_dense(), dense)
    assert codes.fired().tolist() == (dense > 0).sum(0).tolist()
    target = torch.randn_like(x)

    def sparse_loss(We, be, Wd, bd):
        vals = sparse_encode(codes, x, bd, We, be)
        return (sparse_decode(vals, codes, Wd) + bd - target).pow(2).sum()

    def dense_loss(We, be, Wd, bd):
        return (torch.relu((x - bd) @ We + be) @ Wd + bd - target).pow(2).sum()

    _, gs = _grads(sparse_loss, (W_enc, b_enc, W_dec, b_dec))
    _, gd = _grads(dense_loss, (W_enc, b_enc, W_dec, b_dec))
    for a, b in zip(gs, gd, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)


def test_batch_topk_selects_k_times_batch_largest() -> None:
    x, W_enc, b_enc, _, b_dec = _params(seed=2)
    k = 3
    codes = batch_topk_codes(x, b_dec, W_enc, b_enc, Workspace(), k).codes
    pre = torch.relu((x - b_dec) @ W_enc + b_enc)
    expect = torch.zeros_like(pre).reshape(-1)
    vals, pos = pre.reshape(-1).topk(k * x.shape[0])
    expect[pos] = vals
    torch.testing.assert_close(codes.to_dense(), expect.view_as(pre))


def test_batch_topk_fallback_when_one_token_owns_many() -> None:
    x, W_enc, b_enc, _, _ = _params(seed=3)
    x[0] *= 100.0  # token 0 dominates the batch budget
    k = 2
    codes = batch_topk_codes(x, None, W_enc, b_enc, Workspace(), k).codes
    pre = torch.relu(x @ W_enc + b_enc)
    expect = torch.zeros_like(pre).reshape(-1)
    vals, pos = pre.reshape(-1).topk(k * x.shape[0])
    expect[pos] = vals
    torch.testing.assert_close(codes.to_dense(), expect.view_as(pre))
    assert int(codes.offsets[1]) > 4 * k


def test_sparse_codes_roundtrip() -> None:
    vals = torch.tensor([[1.0, 0.0], [2.0, 3.0]])
    idx = torch.tensor([[4, 1], [0, 4]])
    codes = SparseCodes.from_fixed_k(vals, idx, 5)
    assert codes.to_dense().tolist() == [[0, 0, 0, 0, 1], [2, 0, 0, 0, 3]]
    assert codes.fired().tolist() == [1, 0, 0, 0, 2]
    assert float(codes.l0()) == 1.5


@pytest.mark.parametrize(
    ("arch", "sparse"),
    [("topk", True), ("batchtopk", True), ("standard", True), ("standard", False)],
)
def test_training_forward_grads_match_dense_reference(
    arch: str, sparse: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mistudio.core.sae import standard

    monkeypatch.setattr(standard, "SPARSE_MIN_ELEMENTS", 0)  # small shapes may take the sparse path
    torch.manual_seed(0)
    sae = build_sae(SAEConfig(architecture=arch, d_in=16, d_sae=64, k=4))
    with torch.no_grad():
        sae.b_dec.normal_()
        sae.b_enc.normal_(0, 0.1)
    if arch == "standard":
        sae.last_density = 0.0 if sparse else 1.0  # choose the path
    x = torch.randn(50, 16)
    dead = torch.zeros(64, dtype=torch.bool)
    dead[::3] = True
    ctx = TrainContext(sparsity_coefficient=0.2, dead_mask=dead, aux_k=5, update_threshold=False)
    out = sae.training_forward(x, x, ctx)
    assert (out.codes is not None) == sparse
    out.loss.backward()
    sparse_grads = {n: p.grad.clone() for n, p in sae.named_parameters()}
    sae.zero_grad()

    # Dense reference: same selection pattern, plain autograd.
    with torch.no_grad():
        pre0 = (x - sae.b_dec) @ sae.W_enc + sae.b_enc
    mask = out.codes.to_dense() != 0 if out.codes is not None else pre0 > 0
    bd = sae.b_dec
    pre = (x - bd) @ sae.W_enc + sae.b_enc
    f = torch.relu(pre) * mask
    x_hat = f @ sae.W_dec + bd
    loss = (x_hat - x).pow(2).sum(-1).mean()
    if arch == "standard":
        loss = loss + 0.2 * (f * sae.W_dec.norm(dim=-1)).sum(-1).mean()
    else:
        cols = dead.nonzero().squeeze(1)
        sub = pre.detach()[:, cols]
        pos = sub.topk(5, dim=-1).indices
        amask = torch.zeros_like(pre, dtype=torch.bool)
        amask.scatter_(1, cols[pos], True)
        fa = torch.relu(pre) * amask
        e = (x - x_hat).detach()
        e_hat = fa @ sae.W_dec
        var_e = (e - e.mean(0)).pow(2).sum(-1).mean()
        var_x = (x - x.mean(0)).pow(2).sum(-1).mean()
        scale = min(int(dead.sum()) / 5, 1.0)
        loss = loss + (1 / 32) * scale * (e_hat - e).pow(2).sum(-1).mean() / var_e * var_x
    torch.testing.assert_close(out.loss, loss, rtol=1e-5, atol=1e-5)
    loss.backward()
    for n, p in sae.named_parameters():
        torch.testing.assert_close(sparse_grads[n], p.grad, rtol=1e-5, atol=1e-5, msg=n)


def test_dense_relu_path_with_skip_matches_autograd() -> None:
    sae = build_sae(SAEConfig(architecture="transcoder", d_in=12, d_sae=40, d_out=9, skip=True))
    with torch.no_grad():
        for p in sae.parameters():
            p.normal_(0, 0.3)
    sae.last_density = 1.0
    x, y = torch.randn(30, 12), torch.randn(30, 9)
    out = sae.training_forward(x, y, TrainContext(sparsity_coefficient=0.7))
    out.loss.backward()
    got = {n: p.grad.clone() for n, p in sae.named_parameters()}
    sae.zero_grad()
    f = torch.relu(x @ sae.W_enc + sae.b_enc)
    y_hat = f @ sae.W_dec + sae.b_dec + x @ sae.W_skip.T
    loss = (y_hat - y).pow(2).sum(-1).mean() + 0.7 * (f * sae.W_dec.norm(dim=-1)).sum(-1).mean()
    torch.testing.assert_close(out.loss, loss)
    loss.backward()
    for n, p in sae.named_parameters():
        torch.testing.assert_close(got[n], p.grad, rtol=1e-5, atol=1e-5, msg=n)
