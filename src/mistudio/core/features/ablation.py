"""Ablating one latent: remove its contribution at the hook and measure what changes.

At the SAE's output hook (``hook_name_out`` for transcoders, else the hook it reads) the
activation ``x`` becomes ``x - c * f_i(x) * W_dec[i]``, where ``f_i`` is latent ``i``'s activation
on the same input (so the SAE's own reconstruction error and every other latent stay in place).
``c = 1`` removes the latent; ``c = 0`` changes nothing (a test checks exactly that); ``c = -1``
doubles it. The edit goes through :func:`mistudio.core.hooks.intervene`, so it applies to every
position of a forward pass and to every step of ``generate``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from mistudio.core.data import decode
from mistudio.core.data.decoding import token_labels
from mistudio.core.features.result import ExtractionResult
from mistudio.core.hooks import intervene
from mistudio.core.language_models import LoadedModel
from mistudio.core.sae import SAE


@dataclass
class TokenShift:
    token_id: int
    text: str
    delta: float
    """Mean change of its next-token probability over the evaluated positions."""


@dataclass
class AblationResult:
    """What removing a latent did to next-token prediction on some sequences."""

    latent: int
    coefficient: float
    n_tokens: int
    """Positions evaluated (targets that exist and are not padding)."""
    loss_clean: float
    """Mean next-token cross-entropy (nats) without the edit."""
    loss_ablated: float
    """... and with it."""
    most_decreased: list[TokenShift]
    """Tokens whose probability fell most on average."""
    most_increased: list[TokenShift]
    per_token_delta: Tensor
    """float32 [batch, seq - 1] change of the actual next token's log-probability (0 at padding)."""

    @property
    def delta_loss(self) -> float:
        return self.loss_ablated - self.loss_clean

    @property
    def perplexity_clean(self) -> float:
        return float(torch.tensor(self.loss_clean).exp())

    @property
    def perplexity_ablated(self) -> float:
        return float(torch.tensor(self.loss_ablated).exp())


def ablation_edit(sae: SAE, latent: int, coefficient: float = 1.0) -> Any:
    """The activation edit ``x -> x - c * f_i(x) * W_dec[i]`` for :func:`intervene`."""
    direction = sae.W_dec[latent].detach()  # [d_out]

    def edit(x: Tensor) -> Tensor:  # x [batch, seq, d]
        if coefficient == 0:
            return x
        f = sae.encode(x.reshape(-1, x.shape[-1]))[:, latent].reshape(x.shape[:-1])  # [b, s]
        return x - coefficient * f[..., None].to(x.dtype) * direction.to(x.dtype)

    return edit


@torch.no_grad()
def ablate_latent(
    loaded: LoadedModel,
    sae: SAE,
    latent: int,
    input_ids: Tensor,
    attention_mask: Tensor | None = None,
    coefficient: float = 1.0,
    hook: str | None = None,
    n_shifts: int = 10,
) -> AblationResult:
    """Next-token loss and probability shifts with latent ``latent`` ablated on input_ids [b, s]."""
    model = loaded.model
    device = loaded.device
    input_ids = input_ids.to(device)
    mask = (
        torch.ones_like(input_ids, dtype=torch.bool) if attention_mask is None else attention_mask
    )
    mask = mask.to(device).bool()
    kwargs = {"input_ids": input_ids, "attention_mask": mask.long(), "use_cache": False}
    clean = model(**kwargs).logits[:, :-1].float()  # [b, s-1, vocab]
    with intervene(
        model, {sae.output_hook(hook): ablation_edit(sae, latent, coefficient)}, loaded.layout
    ):
        ablated = model(**kwargs).logits[:, :-1].float()
    target = input_ids[:, 1:]  # [b, s-1]
    valid = mask[:, 1:] & mask[:, :-1]
    lp_clean = clean.log_softmax(-1)
    lp_ablated = ablated.log_softmax(-1)
    t_clean = lp_clean.gather(-1, target[..., None])[..., 0]  # [b, s-1]
    t_ablated = lp_ablated.gather(-1, target[..., None])[..., 0]
    n = int(valid.sum())
    shift = ((lp_ablated.exp() - lp_clean.exp()) * valid[..., None]).sum((0, 1)) / max(n, 1)
    down = shift.topk(n_shifts, largest=False)
    up = shift.topk(n_shifts)
    tok = loaded.tokenizer

    def shifts(top: Any) -> list[TokenShift]:
        ids = top.indices.tolist()
        return [
            TokenShift(i, t, float(v))
            for i, t, v in zip(ids, token_labels(tok, ids), top.values.tolist(), strict=True)
        ]

    return AblationResult(
        latent=latent,
        coefficient=coefficient,
        n_tokens=n,
        loss_clean=float(-(t_clean * valid).sum() / max(n, 1)),
        loss_ablated=float(-(t_ablated * valid).sum() / max(n, 1)),
        most_decreased=shifts(down),
        most_increased=shifts(up),
        per_token_delta=((t_ablated - t_clean) * valid).cpu(),
    )


@dataclass
class CompletionComparison:
    prompt: str
    clean: str
    """Greedy continuation without the edit."""
    ablated: str
    """Greedy continuation with the latent ablated."""


@torch.no_grad()
def compare_completions(
    loaded: LoadedModel,
    sae: SAE,
    latent: int,
    prompt: str,
    max_new_tokens: int = 20,
    coefficient: float = 1.0,
    hook: str | None = None,
) -> CompletionComparison:
    """Greedy completions of ``prompt`` with and without latent ``latent``."""
    tok = loaded.tokenizer
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
    bos = getattr(tok, "bos_token_id", None)
    if bos is not None:
        ids = torch.cat([torch.tensor([[bos]]), ids], dim=1)
    ids = ids.to(loaded.device)
    kwargs: dict[str, Any] = {
        "max_new_tokens": max_new_tokens,
        "do_sample": False,
        "pad_token_id": getattr(tok, "pad_token_id", None) or getattr(tok, "eos_token_id", 0),
    }
    model: Any = loaded.model
    clean = model.generate(ids, attention_mask=torch.ones_like(ids), **kwargs)
    edit = ablation_edit(sae, latent, coefficient)
    with intervene(model, {sae.output_hook(hook): edit}, loaded.layout):
        ablated = model.generate(ids, attention_mask=torch.ones_like(ids), **kwargs)
    n = ids.shape[1]
    return CompletionComparison(
        prompt=prompt,
        clean=decode(tok, clean[0, n:].tolist()),
        ablated=decode(tok, ablated[0, n:].tolist()),
    )


def example_batch(
    result: ExtractionResult, index: int, n: int, bos: int | None
) -> tuple[Tensor, Tensor] | None:
    """Latent ``index``'s top ``n`` example windows as a right-padded batch to ablate on (BOS
    first when the tokenizer has one): ``input_ids`` int64 [b, s] and ``attention_mask`` bool
    [b, s]; None when the latent never fired."""
    rows = []
    for example in result.examples(index, limit=n):
        ids = list(example.token_ids)
        if bos is not None and (not ids or ids[0] != bos):
            ids = [bos, *ids]
        rows.append(ids)
    if not rows:
        return None
    width = max(len(r) for r in rows)
    input_ids = torch.zeros(len(rows), width, dtype=torch.long)  # [b, s]
    mask = torch.zeros(len(rows), width, dtype=torch.bool)  # [b, s]
    for r, ids in enumerate(rows):
        input_ids[r, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        mask[r, : len(ids)] = True
    return input_ids, mask
