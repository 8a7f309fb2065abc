"""How far a steered continuation moved from the model's own behaviour.

Both numbers are teacher-forced **on the steered text** (prompt + steered continuation), the
text a researcher is judging: one unsteered and one steered forward pass over that sequence
give, at each position that predicts a generated token, the two next-token distributions.

* KL divergence ``KL(P_steered || P_base)`` per generated position, in nats, with raw
  distributions (temperature 1, no top-p): how much the intervention changed what the model
  would say *at the places where it did say something*. Zero strength gives exactly zero.
* Perplexity of the steered continuation under the unsteered model, ``exp(mean NLL)``: how
  unnatural the steered text looks to the model without the intervention (compare it with the
  baseline's own perplexity, which :func:`perplexity` computes the same way).
* Fire rate of the steered features **in the text**: the fraction of generated tokens on
  which a steered feature fires when the *unsteered* model reads the continuation and the SAE
  encodes it at its own hook point. This is the check of direction: pushing a ``def`` feature
  should produce text where ``def`` features fire (and suppressing one, text where it does
  not), beyond what the baseline continuation already had. It reads the text, not the
  intervention, so a push that only garbles the output does not count.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from mistudio.core.hooks import capture, resolve_hook_points
from mistudio.core.language_models import LoadedModel
from mistudio.core.steering.interventions import ResolvedIntervention, Steerer, read_hook


@torch.no_grad()
def continuation_log_probs(
    loaded: LoadedModel, prompt_ids: Tensor, tokens: list[int], steerer: Steerer | None = None
) -> Tensor:
    """float32 [n, vocab] log-probabilities at the n positions predicting ``tokens``.

    ``prompt_ids`` is [1, P]; the forward pass reads ``prompt + tokens[:-1]`` in one go (no
    cache), with ``steerer``'s interventions (positions counted from 0) when given.
    """
    model: Any = loaded.model
    n_prompt = prompt_ids.shape[1]
    tail = torch.tensor([tokens[:-1]], dtype=torch.long, device=prompt_ids.device)
    ids = torch.cat([prompt_ids, tail], dim=1)  # [1, P + n - 1]
    if steerer is None:
        logits = model(input_ids=ids, use_cache=False).logits
    else:
        with steerer.active(n_prompt):
            logits = model(input_ids=ids, use_cache=False).logits
    return logits[0, n_prompt - 1 :].float().log_softmax(-1)  # [n, vocab]


def kl_per_token(log_p: Tensor, log_q: Tensor) -> Tensor:
    """float32 [n] ``KL(P || Q)`` per row of two [n, vocab] log-probability tables."""
    return torch.nn.functional.kl_div(log_q, log_p, log_target=True, reduction="none").sum(-1)


def perplexity_of(log_probs: Tensor, tokens: list[int]) -> float:
    """``exp(mean NLL)`` of ``tokens`` under [n, vocab] log-probabilities (NaN when empty)."""
    if not tokens:
        return math.nan
    target = torch.tensor(tokens, device=log_probs.device)[:, None]  # [n, 1]
    nll = -log_probs.gather(-1, target)[:, 0]  # [n]
    return float(nll.mean().exp())


def perplexity(loaded: LoadedModel, prompt_ids: Tensor, tokens: list[int]) -> float:
    """Perplexity of a continuation under the unsteered model."""
    if not tokens:
        return math.nan
    return perplexity_of(continuation_log_probs(loaded, prompt_ids, tokens), tokens)


@torch.no_grad()
def fire_rates(
    loaded: LoadedModel,
    prompt_ids: Tensor,
    tokens: list[int],
    interventions: list[ResolvedIntervention],
) -> tuple[float, list[float]]:
    """Where the intervened features fire in a continuation read by the unsteered model.

    One forward pass over ``prompt + tokens`` (stopping at the deepest SAE input hook), each
    SAE encoding its hook's rows at the ``len(tokens)`` generated positions. Returns the
    fraction of those tokens on which **any** of the features fires, and each intervention's
    own fraction (all NaN when ``tokens`` is empty).
    """
    if not tokens:
        return math.nan, [math.nan] * len(interventions)
    n_prompt = prompt_ids.shape[1]
    tail = torch.tensor([tokens], dtype=torch.long, device=prompt_ids.device)
    ids = torch.cat([prompt_ids, tail], dim=1)  # [1, P + n]
    hooks = sorted({read_hook(iv.sae) for iv in interventions})
    points = dict(zip(hooks, resolve_hook_points(loaded.model, hooks, loaded.layout), strict=True))
    with capture(loaded.model, list({p.name: p for p in points.values()}.values())) as cap:
        acts = cap.run(input_ids=ids)
    latents: dict[int, Tensor] = {}  # id(sae) -> [n, d_sae]
    fired = []
    for iv in interventions:
        if id(iv.sae) not in latents:
            x = acts[points[read_hook(iv.sae)].name][0, n_prompt:]  # [n, d_in]
            latents[id(iv.sae)] = iv.sae.encode(x.to(iv.sae.W_dec.dtype))
        fired.append(latents[id(iv.sae)][:, iv.index] > 0)  # [n]
    per = [float(f.float().mean()) for f in fired]
    any_fired = torch.stack(fired).any(0)  # [n]
    return float(any_fired.float().mean()), per
