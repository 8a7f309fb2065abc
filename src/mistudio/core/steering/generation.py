"""Seeded sampling with a KV cache, our own loop rather than ``model.generate``.

Why our own loop: a comparison is only fair if the baseline and the steered continuation draw
the same random numbers, and a sweep only if every strength does. Here each continuation starts
a fresh ``torch.Generator`` from the seed and draws exactly one multinomial sample per step, so
with identical logits the tokens are identical (a zero-strength intervention reproduces the
baseline token for token and logit for logit; a test checks it). It also lets the loop tell the
:class:`~mistudio.core.steering.interventions.Steerer` where in the sequence each forward pass
is, and stop cleanly with a message when a strength drives the logits to NaN or infinity.

One sequence per forward pass: batching strengths would make each row's arithmetic depend on the
batch (BLAS blocking), and bit-exact reproducibility matters more here than throughput.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from mistudio.core.language_models import LoadedModel
from mistudio.core.steering.config import GenerationConfig
from mistudio.core.steering.interventions import Steerer
from mistudio.errors import InvalidInputError


@dataclass
class Generation:
    """One continuation."""

    token_ids: list[int]
    """Generated token ids (the prompt excluded; EOS included when it ended the continuation)."""
    finite: bool
    """False when the logits became NaN/inf; the continuation stops at that step."""
    error: str | None = None
    """What went wrong when not ``finite``."""
    logits: Tensor | None = None
    """float32 [n_steps, vocab] next-token logits of each step (only with ``keep_logits``)."""


def context_length(loaded: LoadedModel) -> int | None:
    """Positions the model was trained for (``max_position_embeddings``), if it says."""
    cfg: Any = loaded.model.config
    value = getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", None)
    return int(value) if value else None


def encode_prompt(loaded: LoadedModel, prompt: str, chat_template: bool = False) -> Tensor:
    """[1, P] prompt ids on the model's device: BOS + text, or the chat template's user turn."""
    tok = loaded.tokenizer
    if chat_template:
        if not getattr(tok, "chat_template", None):
            raise InvalidInputError(f"the tokenizer of {loaded.name} has no chat template")
        ids = tok.apply_chat_template(
            [{"role": "user", "content": prompt}], add_generation_prompt=True, tokenize=True
        )
        if hasattr(ids, "keys"):  # transformers 5 returns a BatchEncoding
            ids = ids["input_ids"]
        out = torch.tensor([list(ids)], dtype=torch.long)
    else:
        # Like extraction and ablation: BOS, then the text without the tokenizer's own specials.
        out = tok(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
        bos = getattr(tok, "bos_token_id", None)
        if bos is not None:
            out = torch.cat([torch.tensor([[bos]]), out], dim=1)
    if out.shape[1] == 0:
        raise InvalidInputError("the prompt is empty (no tokens)")
    return out.to(loaded.device)


def check_length(loaded: LoadedModel, n_prompt: int, max_new_tokens: int, label: str) -> None:
    """Refuse a prompt that, with its continuation, would not fit the model's context."""
    ctx = context_length(loaded)
    if ctx is not None and n_prompt + max_new_tokens > ctx:
        raise InvalidInputError(
            f"{label} has {n_prompt} tokens; with {max_new_tokens} new tokens it needs "
            f"{n_prompt + max_new_tokens} positions but {loaded.name}'s context is {ctx}"
        )


def sample_next(logits: Tensor, config: GenerationConfig, generator: torch.Generator) -> int:
    """One token from float32 logits [vocab]: greedy at temperature 0, else top-p sampling."""
    if config.temperature == 0:
        return int(logits.argmax())
    probs = torch.softmax(logits / config.temperature, dim=-1)  # [vocab]
    if config.top_p < 1.0:
        sorted_p, order = probs.sort(descending=True)
        # Keep a token while the mass before it is below top_p (the first is always kept).
        sorted_p = torch.where(sorted_p.cumsum(-1) - sorted_p < config.top_p, sorted_p, 0.0)
        pick = torch.multinomial(sorted_p, 1, generator=generator)
        return int(order[pick])
    return int(torch.multinomial(probs, 1, generator=generator))


def _bad_logits(logits: Tensor) -> bool:
    """NaN or +inf anywhere, or nothing finite: no distribution to sample from."""
    return bool(logits.isnan().any() or logits.isposinf().any() or not logits.isfinite().any())


@torch.no_grad()
def generate(
    loaded: LoadedModel,
    prompt_ids: Tensor,
    config: GenerationConfig,
    steerer: Steerer | None = None,
    keep_logits: bool = False,
) -> Generation:
    """Continue ``prompt_ids`` [1, P], with ``steerer``'s interventions active if given."""
    model: Any = loaded.model
    device = loaded.device
    ids = prompt_ids.to(device)
    n_prompt = ids.shape[1]
    generator = torch.Generator(device=device).manual_seed(config.seed)
    eos = getattr(loaded.tokenizer, "eos_token_id", None)
    tokens: list[int] = []
    kept: list[Tensor] = []
    cache: Any = None
    offset = 0
    hooks = steerer.active(n_prompt) if steerer is not None else nullcontext()
    with hooks:
        step_ids = ids  # [1, P] for the first step, then [1, 1]
        for step in range(config.max_new_tokens):
            if steerer is not None:
                steerer.offset = offset
            out = model(input_ids=step_ids, past_key_values=cache, use_cache=True)
            cache = out.past_key_values
            logits = out.logits[0, -1].float()  # [vocab]
            if _bad_logits(logits):
                return Generation(
                    tokens,
                    finite=False,
                    error=f"the logits became NaN/inf at step {step}",
                    logits=torch.stack(kept) if keep_logits and kept else None,
                )
            if keep_logits:
                kept.append(logits.cpu())
            token = sample_next(logits, config, generator)
            tokens.append(token)
            offset += step_ids.shape[1]
            if config.stop_at_eos and token == eos:
                break
            step_ids = torch.tensor([[token]], device=device)
    return Generation(
        tokens, finite=True, logits=torch.stack(kept) if keep_logits and kept else None
    )
