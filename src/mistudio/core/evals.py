"""SAE evaluation metrics, as SAEBench / SAELens define them (FORMATS.md §6).

* Reconstruction: explained variance ``1 - E||x - x_hat||^2 / (E||x||^2 - ||E x||^2)`` and
  FVU = 1 - explained variance, accumulated in float64 over any number of batches (summing
  float32 squares over millions of tokens loses digits); L0; dead (never fired in the window) and
  dense (> 10%, > 1% of tokens) latent fractions; mean cosine(x, x_hat); shrinkage
  ``mean ||x_hat|| / ||x||``.
* Splicing: the SAE's reconstruction replaces the hook's activation inside the LM (through
  :func:`mistudio.core.hooks.intervene`). CE loss score
  ``(CE_zero - CE_sae) / (CE_zero - CE_clean)`` and KL score ``(KL_zero - KL_sae) / KL_zero``,
  with per-token losses averaged over the whole evaluation set before the ratios are taken.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from pydantic import BaseModel
from torch import Tensor, nn

from mistudio.core.hooks import intervene
from mistudio.core.progress import Progress, report
from mistudio.core.sae.base import SAE
from mistudio.errors import InvalidInputError

DENSE_THRESHOLD = 0.10
"""A latent firing on more than 10% of tokens is dense (SAEBench)."""
DENSE_THRESHOLD_LOW = 0.01
"""Also reported: latents firing on more than 1% of tokens."""


class ReconstructionMetrics(BaseModel):
    """Reconstruction quality and sparsity over an evaluation set."""

    n_tokens: int
    """Tokens measured."""
    mse: float
    """Mean over tokens of ||x - x_hat||^2."""
    explained_variance: float
    """1 - E||x - x_hat||^2 / (E||x||^2 - ||E x||^2)."""
    fvu: float
    """Fraction of variance unexplained (1 - explained_variance)."""
    l0: float
    """Mean number of latents > 0 per token."""
    dead_fraction: float
    """Fraction of latents that never fired."""
    dense_fraction: float
    """Fraction of latents firing on more than 10% of tokens."""
    dense_fraction_1pct: float
    """Fraction of latents firing on more than 1% of tokens."""
    cosine: float
    """Mean cosine similarity between x and x_hat."""
    shrinkage: float
    """Mean ||x_hat|| / ||x|| (< 1: the SAE shrinks its reconstructions)."""
    n_dead: int
    """Number of dead latents."""
    n_dense: int
    """Number of latents firing on more than 10% of tokens."""


class ReconstructionAccumulator:
    """Streams batches into float64 sums; :meth:`result` gives :class:`ReconstructionMetrics`."""

    def __init__(self, d_sae: int, device: torch.device | str = "cpu") -> None:
        self.d_sae = d_sae
        dev = torch.device(device)
        self.n = 0
        self.sq_err = torch.zeros((), dtype=torch.float64, device=dev)
        self.sq_x = torch.zeros((), dtype=torch.float64, device=dev)
        self.sum_x: Tensor | None = None
        self.cos = torch.zeros((), dtype=torch.float64, device=dev)
        self.ratio = torch.zeros((), dtype=torch.float64, device=dev)
        self.active = torch.zeros((), dtype=torch.float64, device=dev)
        self.fired = torch.zeros(d_sae, dtype=torch.int64, device=dev)

    @torch.no_grad()
    def update(self, x: Tensor, x_hat: Tensor, fired: Tensor, n_active: Tensor | float) -> None:
        """x, x_hat: [n, d] target and reconstruction; fired: [d_sae] tokens each latent fired on;
        n_active: total number of non-zero latents over the n tokens."""
        x64 = x.reshape(-1, x.shape[-1]).double()
        h64 = x_hat.reshape(-1, x_hat.shape[-1]).double()
        self.n += x64.shape[0]
        self.sq_err += (x64 - h64).pow(2).sum()
        self.sq_x += x64.pow(2).sum()
        s = x64.sum(0)
        self.sum_x = s if self.sum_x is None else self.sum_x + s
        xn = x64.norm(dim=-1)
        hn = h64.norm(dim=-1)
        self.cos += ((x64 * h64).sum(-1) / (xn * hn).clamp_min(1e-12)).sum()
        self.ratio += (hn / xn.clamp_min(1e-12)).sum()
        self.fired += fired.to(self.fired.device, torch.int64)
        self.active += torch.as_tensor(n_active, dtype=torch.float64, device=self.active.device)

    @property
    def density(self) -> Tensor:
        """[d_sae] fraction of tokens on which each latent fired."""
        return self.fired.double() / max(self.n, 1)

    def result(self) -> ReconstructionMetrics:
        if self.n == 0 or self.sum_x is None:
            raise InvalidInputError("no tokens were evaluated")
        n = self.n
        mean = self.sum_x / n
        total_var = float(self.sq_x / n - mean.pow(2).sum())
        mse = float(self.sq_err / n)
        ev = 1.0 - mse / total_var if total_var > 0 else float("nan")
        dens = self.density
        n_dead = int((self.fired == 0).sum())
        n_dense = int((dens > DENSE_THRESHOLD).sum())
        return ReconstructionMetrics(
            n_tokens=n,
            mse=mse,
            explained_variance=ev,
            fvu=1.0 - ev,
            l0=float(self.active / n),
            dead_fraction=n_dead / self.d_sae,
            dense_fraction=n_dense / self.d_sae,
            dense_fraction_1pct=float((dens > DENSE_THRESHOLD_LOW).sum()) / self.d_sae,
            cosine=float(self.cos / n),
            shrinkage=float(self.ratio / n),
            n_dead=n_dead,
            n_dense=n_dense,
        )


Batch = Tensor | tuple[Tensor, Tensor]


@torch.no_grad()
def evaluate_reconstruction(
    sae: SAE,
    batches: Iterable[Batch],
    max_tokens: int | None = None,
    progress: Progress | None = None,
) -> ReconstructionMetrics:
    """Reconstruction metrics of ``sae`` over batches of raw activations.

    Each batch is ``x[n, d_in]`` (or ``[batch, seq, d_in]``), or ``(x, target)`` for transcoders.
    """
    acc = ReconstructionAccumulator(sae.d_sae, sae.W_enc.device)
    for batch in batches:
        x, target = batch if isinstance(batch, tuple) else (batch, batch)
        x = x.reshape(-1, x.shape[-1]).to(sae.W_enc.device)
        target = target.reshape(-1, target.shape[-1]).to(sae.W_enc.device)
        if max_tokens is not None:
            left = max_tokens - acc.n
            if left <= 0:
                break
            x, target = x[:left], target[:left]
        out = sae(x, target)
        assert out.latents is not None
        active = out.latents > 0
        acc.update(target, out.x_hat, active.sum(0), active.sum())
        report(progress, acc.n, max_tokens)
    return acc.result()


class SpliceMetrics(BaseModel):
    """Downstream quality with the SAE spliced into the LM."""

    n_tokens: int
    """Next-token predictions measured."""
    ce_clean: float
    """Mean next-token cross-entropy of the unmodified model."""
    ce_sae: float
    """... with the hook's activation replaced by the SAE reconstruction."""
    ce_zero: float
    """... with the hook's activation replaced by zeros."""
    ce_loss_score: float
    """(CE_zero - CE_sae) / (CE_zero - CE_clean): 1 is perfect, 0 is as bad as ablation."""
    kl_sae: float
    """Mean KL(clean || with SAE) per token."""
    kl_zero: float
    """Mean KL(clean || zero ablation) per token."""
    kl_score: float
    """(KL_zero - KL_sae) / KL_zero."""


SPLICE_ROWS = 1
"""Sequences per spliced forward pass: with SmolLM2's 49k vocabulary a 256-token sequence's
float32 log-probs are 50 MB, and a batch of 8 held several copies of them (3 GB at the end of
the first run's training, issue 22). One sequence at a time, with only the clean log-probs,
their probabilities and one edit's log-probs alive at once: the first run's worker peaked at
2.34 GB in this evaluation with two sequences and every copy kept, 1.63 GB now."""


def _token_losses(logits: Tensor, input_ids: Tensor) -> tuple[Tensor, Tensor]:
    """Per-position next-token CE ``[batch, seq-1]`` and the log-probs ``[batch, seq-1, vocab]``
    (the caller masks: indexing the log-probs by a mask would copy them)."""
    logp = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    del logits  # the caller passes the model's output straight in: this frees it
    ce = -logp.gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)
    return ce, logp


def _row_dots(a: Tensor, b: Tensor) -> Tensor:
    """``(a * b).sum(-1)`` for ``[..., vocab]`` tensors without the ``a * b`` temporary."""
    v = a.shape[-1]
    return torch.bmm(a.reshape(-1, 1, v), b.reshape(-1, v, 1)).reshape(a.shape[:-1])


@torch.no_grad()
def evaluate_splice(
    model: nn.Module,
    sae: SAE,
    hook_name: str,
    batches: Iterable[tuple[Tensor, Tensor]],
    layout: Any = None,
    max_batches: int | None = None,
    progress: Progress | None = None,
) -> SpliceMetrics:
    """CE-loss and KL scores of ``sae`` spliced at ``hook_name``.

    batches: ``(input_ids[batch, seq], attention_mask[batch, seq])``; layout: the model's
    BlockLayout (``LoadedModel.layout``) or None to detect it.
    """

    if sae.reconstructs_other_hook or sae.d_out != sae.d_in:
        raise InvalidInputError("splicing a transcoder (two hook points) is not supported yet")
    device = sae.W_enc.device

    def with_sae(act: Tensor) -> Tensor:
        flat = act.reshape(-1, act.shape[-1]).to(device, sae.W_enc.dtype)
        out = sae(flat).x_hat
        return out.reshape(act.shape).to(act.dtype).to(act.device)

    def zeros(act: Tensor) -> Tensor:
        return torch.zeros_like(act)

    sums = {"clean": 0.0, "sae": 0.0, "zero": 0.0, "kl_sae": 0.0, "kl_zero": 0.0}
    n = 0

    def rows() -> Iterator[tuple[int, Tensor, Tensor]]:
        # Each batch in chunks of SPLICE_ROWS sequences: the sums are the same, and the float32
        # log-probs held at once ([rows, seq, vocab] for clean, SAE and zero ablation, plus
        # their products) stay a few hundred MB instead of gigabytes.
        for i, (ids, mask) in enumerate(batches):
            if max_batches is not None and i >= max_batches:
                return
            for start in range(0, ids.shape[0], SPLICE_ROWS):
                yield i, ids[start : start + SPLICE_ROWS], mask[start : start + SPLICE_ROWS]

    for i, input_ids, attention_mask in rows():
        am = attention_mask.bool()
        valid = am[:, 1:] & am[:, :-1]
        kwargs = {"input_ids": input_ids, "attention_mask": attention_mask}
        ce_c, lp_c = _token_losses(model(**kwargs).logits, input_ids)
        p_c = lp_c.exp()
        sums["clean"] += float(ce_c[valid].double().sum())
        edits: dict[str, Callable[[Tensor], Tensor]] = {"sae": with_sae, "zero": zeros}
        for key, fn in edits.items():
            with intervene(model, {hook_name: fn}, layout):
                ce, lp = _token_losses(model(**kwargs).logits, input_ids)
            sums[key] += float(ce[valid].double().sum())
            kl = _row_dots(p_c, lp.neg_().add_(lp_c))  # sum p_c (lp_c - lp), in place
            del lp
            sums[f"kl_{key}"] += float(kl[valid].double().sum())
        del lp_c, p_c
        n += int(valid.sum())
        report(progress, i + 1, max_batches)
    if n == 0:
        raise InvalidInputError("no tokens to evaluate (empty batches or all padding)")
    ce_clean, ce_sae, ce_zero = sums["clean"] / n, sums["sae"] / n, sums["zero"] / n
    kl_sae, kl_zero = sums["kl_sae"] / n, sums["kl_zero"] / n
    denom = ce_zero - ce_clean
    return SpliceMetrics(
        n_tokens=n,
        ce_clean=ce_clean,
        ce_sae=ce_sae,
        ce_zero=ce_zero,
        ce_loss_score=(ce_zero - ce_sae) / denom if denom != 0 else float("nan"),
        kl_sae=kl_sae,
        kl_zero=kl_zero,
        kl_score=(kl_zero - kl_sae) / kl_zero if kl_zero != 0 else float("nan"),
    )
