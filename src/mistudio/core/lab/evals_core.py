"""Core metrics of FORMATS.md §6 on held-out sequences, per sequence, with bootstrap intervals.

The definitions are :mod:`mistudio.core.evals`'s (explained variance accumulated in float64,
dead/dense at 10% and 1%, CE-loss and KL scores with per-token losses averaged over the whole
set before the ratio); here every sum is also kept per sequence, so that a bootstrap over
sequences (:mod:`mistudio.core.lab.bootstrap`) gives each metric an interval. Over all sequences
the values equal :func:`~mistudio.core.evals.evaluate_reconstruction` on the same non-special
tokens and :func:`~mistudio.core.evals.evaluate_splice` on the same batches.

Each batch costs three forward passes: a clean one that also records the hook's activation (the
reconstruction metrics' input), one with the SAE spliced in, one with the hook zeroed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from mistudio.core.evals import DENSE_THRESHOLD, DENSE_THRESHOLD_LOW
from mistudio.core.hooks import intervene
from mistudio.core.lab.bootstrap import Interval, interval
from mistudio.core.progress import Progress, report
from mistudio.core.sae.base import SAE
from mistudio.errors import InvalidInputError

RECON = ("n_tok", "sq_err", "sq_x", "cos", "ratio", "active")
SPLICE = ("n_pred", "ce_clean", "ce_sae", "ce_zero", "kl_sae", "kl_zero")


@dataclass
class CoreSums:
    """Per-sequence sums from which every core metric follows."""

    recon: Tensor
    """[n_seq, 6] float64: tokens, sum ||x - x_hat||^2, sum ||x||^2, sum cos, sum ||x_hat||/||x||,
    active latents (columns as :data:`RECON`)."""
    sum_x: Tensor
    """[n_seq, d_in] float64 sum of x."""
    fired: Tensor
    """[n_seq, d_sae] float64 tokens each latent fired on."""
    splice: Tensor | None
    """[n_seq, 6] float64 (:data:`SPLICE`): predicted tokens, sums of per-token CE clean / with
    the SAE / zero-ablated and KL(clean || SAE), KL(clean || zero); None when not spliced."""


def _row_sums(values: Tensor, rows: Tensor, n_rows: int) -> Tensor:
    """values: [n, ...] per token, rows: [n] sequence of each -> [n_rows, ...] float64 sums."""
    out = torch.zeros(n_rows, *values.shape[1:], dtype=torch.float64, device=values.device)
    return out.index_add_(0, rows, values.double())


@torch.no_grad()
def core_sums(
    model: nn.Module,
    sae: SAE,
    hook_name: str,
    batches: Iterable[tuple[Tensor, Tensor]],
    special_ids: list[int],
    layout: Any = None,
    splice: bool = True,
    total: int | None = None,
    progress: Progress | None = None,
) -> CoreSums:
    """Per-sequence sums over ``batches`` of ``(input_ids[b, s], attention_mask[b, s])``.

    Reconstruction metrics use the non-special, non-padding positions (as training's held-out
    evaluation does); CE and KL use every next-token prediction between real tokens (as
    :func:`~mistudio.core.evals.evaluate_splice`)."""
    if sae.reconstructs_other_hook or sae.d_out != sae.d_in:
        raise InvalidInputError("the lab evaluates SAEs on one hook point, not transcoders yet")
    device = sae.W_enc.device
    parts: dict[str, list[Tensor]] = {"recon": [], "sum_x": [], "fired": [], "splice": []}
    seen = 0
    for input_ids, attention_mask in batches:
        b = input_ids.shape[0]
        am = attention_mask.bool()
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask.long()}
        recorded: list[Tensor] = []

        def record(act: Tensor, recorded: list[Tensor] = recorded) -> Tensor:
            recorded.append(act.detach())
            return act

        with intervene(model, {hook_name: record}, layout):
            clean_logits = model(**kwargs).logits
        act = recorded[0]  # [b, s, d]
        mask = am.clone()
        if special_ids:
            mask &= ~torch.isin(input_ids, torch.tensor(special_ids, device=input_ids.device))
        rows = torch.arange(b, device=input_ids.device).unsqueeze(1).expand_as(mask)[mask]
        x = act[mask].to(device, sae.W_enc.dtype)  # [n, d_in]
        out = sae(x)
        assert out.latents is not None
        x64, h64 = x.double(), out.x_hat.double()
        xn, hn = x64.norm(dim=-1), h64.norm(dim=-1)
        active = (out.latents > 0).double()  # [n, d_sae]
        per_token = torch.stack(
            [
                torch.ones_like(xn),
                (x64 - h64).pow(2).sum(-1),
                x64.pow(2).sum(-1),
                (x64 * h64).sum(-1) / (xn * hn).clamp_min(1e-12),
                hn / xn.clamp_min(1e-12),
                active.sum(-1),
            ],
            1,
        )  # [n, 6]
        rows = rows.to(device)
        parts["recon"].append(_row_sums(per_token, rows, b).cpu())
        parts["sum_x"].append(_row_sums(x64, rows, b).cpu())
        parts["fired"].append(_row_sums(active, rows, b).cpu())
        if splice:
            parts["splice"].append(
                _splice_rows(model, sae, hook_name, kwargs, clean_logits, layout)
            )
        seen += b
        report(progress, seen, total)
    if seen == 0 or not parts["recon"]:
        raise InvalidInputError("no held-out sequences to evaluate")
    return CoreSums(
        recon=torch.cat(parts["recon"]),
        sum_x=torch.cat(parts["sum_x"]),
        fired=torch.cat(parts["fired"]),
        splice=torch.cat(parts["splice"]) if splice else None,
    )


def _splice_rows(
    model: nn.Module,
    sae: SAE,
    hook_name: str,
    kwargs: dict[str, Tensor],
    clean_logits: Tensor,
    layout: Any,
) -> Tensor:
    """[b, 6] per-sequence CE/KL sums (:data:`SPLICE`) for one batch."""
    device = sae.W_enc.device
    input_ids, am = kwargs["input_ids"], kwargs["attention_mask"].bool()
    valid = am[:, 1:] & am[:, :-1]  # [b, s-1]
    tgt = input_ids[:, 1:].unsqueeze(-1)

    def with_sae(a: Tensor) -> Tensor:
        flat = a.reshape(-1, a.shape[-1]).to(device, sae.W_enc.dtype)
        return sae(flat).x_hat.reshape(a.shape).to(a.dtype).to(a.device)

    def zeros(a: Tensor) -> Tensor:
        return torch.zeros_like(a)

    lp_clean = torch.log_softmax(clean_logits[:, :-1].float(), dim=-1)  # [b, s-1, vocab]
    p_clean = lp_clean.exp()
    cols = [valid.double().sum(1), _masked(-lp_clean.gather(-1, tgt).squeeze(-1), valid)]
    kls = []
    for fn in (with_sae, zeros):
        with intervene(model, {hook_name: fn}, layout):
            lp = torch.log_softmax(model(**kwargs).logits[:, :-1].float(), dim=-1)
        cols.append(_masked(-lp.gather(-1, tgt).squeeze(-1), valid))
        kls.append(_masked((p_clean * (lp_clean - lp)).sum(-1), valid))
    return torch.stack(cols + kls, 1).cpu()  # [b, 6]


def _masked(per_pos: Tensor, valid: Tensor) -> Tensor:
    """[b, s-1] values -> [b] float64 sums over valid positions."""
    return (per_pos.double() * valid.double()).sum(1)


# ---------------------------------------------------------------------------------------------
# Metrics from the sums: each is a function of summed columns, evaluated on all sequences and on
# each bootstrap resample.

Stat = Callable[[Tensor], Tensor]


def _col(name: str, names: tuple[str, ...] = RECON) -> int:
    return names.index(name)


def _ratio(num: str, den: str, names: tuple[str, ...] = RECON) -> Stat:
    i, j = _col(num, names), _col(den, names)
    return lambda s: s[:, i] / s[:, j]


def _explained_variance(s: Tensor) -> Tensor:
    """s: [R, 6 + d_in] recon columns then sum_x."""
    n = s[:, 0]
    mean = s[:, len(RECON) :] / n.unsqueeze(1)
    total = s[:, _col("sq_x")] / n - mean.pow(2).sum(1)
    return 1.0 - (s[:, _col("sq_err")] / n) / total


def _density_stat(kind: str) -> Stat:
    """s: [R, 1 + d_sae] tokens then fired counts."""

    def stat(s: Tensor) -> Tensor:
        dens = s[:, 1:] / s[:, :1]
        if kind == "dead":
            return (s[:, 1:] == 0).double().mean(1)
        threshold = DENSE_THRESHOLD if kind == "dense" else DENSE_THRESHOLD_LOW
        return (dens > threshold).double().mean(1)

    return stat


def _score(a: str, b: str, c: str) -> Stat:
    """(s[a] - s[b]) / (s[a] - s[c]) over splice columns."""
    i, j, k = (_col(n, SPLICE) for n in (a, b, c))
    return lambda s: (s[:, i] - s[:, j]) / (s[:, i] - s[:, k])


def core_metrics(sums: CoreSums, weights: Tensor | None) -> dict[str, Interval]:
    """Every core metric with its interval (``weights``: ``[B, n_seq]`` resample counts)."""
    recon_x = torch.cat([sums.recon, sums.sum_x], 1)
    ev = interval(_explained_variance, recon_x, weights)
    out = {
        "l0": interval(_ratio("active", "n_tok"), sums.recon, weights),
        "fvu": Interval(
            value=1.0 - ev.value,
            low=None if ev.high is None else 1.0 - ev.high,
            high=None if ev.low is None else 1.0 - ev.low,
        ),
        "explained_variance": ev,
        "mse": interval(_ratio("sq_err", "n_tok"), sums.recon, weights),
        "cosine": interval(_ratio("cos", "n_tok"), sums.recon, weights),
        "shrinkage": interval(_ratio("ratio", "n_tok"), sums.recon, weights),
    }
    fired = torch.cat([sums.recon[:, :1], sums.fired], 1)
    out["dead_fraction"] = interval(_density_stat("dead"), fired, weights)
    out["dense_fraction"] = interval(_density_stat("dense"), fired, weights)
    out["dense_fraction_1pct"] = interval(_density_stat("dense_1pct"), fired, weights)
    if sums.splice is not None:
        s = sums.splice
        out["ce_loss_score"] = interval(_score("ce_zero", "ce_sae", "ce_clean"), s, weights)
        kz, ks = _col("kl_zero", SPLICE), _col("kl_sae", SPLICE)
        out["kl_score"] = interval(lambda r: (r[:, kz] - r[:, ks]) / r[:, kz], s, weights)
        for name in ("ce_clean", "ce_sae", "ce_zero", "kl_sae", "kl_zero"):
            out[name] = interval(_ratio(name, "n_pred", SPLICE), s, weights)
    return out
