"""Feature absorption on the first-letter task, as SAEBench measures it (Chanin et al. 2024, with
Demian Till's absorption fraction; ``sae_bench/evals/absorption``).

1. Words: single tokens of the tokenizer's vocabulary that are a space and two or more ASCII
   letters (`` tiger``), grouped by first letter (:func:`first_letter_words`).
2. Each word's activation at the hook, read at the word's position in an in-context prompt
   ``"<w1>: W\\n<w2>: ...\\n<word>:"`` (SAEBench's template ``{word}:``; the examples are fixed
   here so every prompt has the same length and batches without padding).
3. A 26-way logistic-regression probe on the raw activations of a training split: its class
   directions are the ground truth of "starts with L".
4. Per letter, the SAE's main latents: latents ranked by mean activation on the letter's words
   minus the rest (training split), grown one at a time while a probe on them gains more than
   ``f1_jump`` in F1 (SAEBench's k-sparse probing, ranked by mean difference).
5. On test words the probe gets right: the **absorption fraction** (the share of the activation's
   projection on the probe direction carried by up to three other probe-aligned latents rather
   than the main ones) and **full absorption** (no main latent fires, and the single latent
   projecting most on the probe is aligned with it and carries at least 40% of it). Thresholds
   are SAEBench's. A latent's projection on the probe is ``f_i * (W_dec[i] . p)``: SAEBench's
   ``f_i * cos(W_dec[i], p)`` for unit-norm decoders, and still the true contribution when the
   decoder norms are not one.

Scores are means over letters of the per-letter means (SAEBench's ``mean_absorption_fraction_score``
and ``mean_full_absorption_score``); the interval resamples words.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

import torch
from pydantic import Field
from torch import Tensor, nn

from mistudio.core.config import DocumentedModel, OperationConfig
from mistudio.core.hooks import capture, resolve_hook_points
from mistudio.core.lab.bootstrap import Interval, bootstrap_weights, group_mean_interval
from mistudio.core.lab.linear_probe import fit_probe
from mistudio.core.progress import Progress, report
from mistudio.core.sae.base import SAE
from mistudio.errors import InvalidInputError

LETTERS = string.ascii_lowercase


class AbsorptionConfig(OperationConfig):
    """Settings of the first-letter absorption eval (defaults: SAEBench's)."""

    max_words_per_letter: int = Field(default=40, gt=1)
    """Vocabulary words kept per letter (a seeded sample)."""
    test_fraction: float = Field(default=0.3, gt=0, lt=1)
    """Share of each letter's words held out from the probes."""
    f1_jump: float = 0.03
    """A further main latent is kept while it raises the k-sparse probe's F1 by more than this."""
    max_main_latents: int = Field(default=5, ge=1)
    """At most this many main latents per letter."""
    full_cos_threshold: float = 0.025
    """Full absorption: the top projecting latent's cosine with the probe is at least this."""
    fraction_cos_threshold: float = 0.1
    """Absorption fraction: a candidate absorber's cosine with the probe is at least this."""
    projection_share: float = 0.4
    """The absorbing latents carry at least this share of the probe projection."""
    max_absorbing: int = 3
    """At most this many latents absorb together (absorption fraction)."""


class AbsorptionResult(DocumentedModel):
    """Absorption scores with intervals, and what they rest on."""

    absorption_fraction: Interval
    """Mean over letters of the mean absorption fraction of the probe's true positives."""
    full_absorption: Interval
    """Mean over letters of the share of true positives fully absorbed by one latent."""
    probe_accuracy: float
    """The raw-activation first-letter probe's test accuracy."""
    n_words: int
    """Vocabulary words used."""
    n_letters: int
    """Letters scored (with test true positives)."""
    per_letter: dict[str, dict[str, Any]]
    """letter -> main latents, true positives, mean absorption fraction, full-absorption rate."""


def first_letter_words(
    tokenizer: Any, max_per_letter: int = 40, seed: int = 0
) -> list[tuple[int, str]]:
    """``(token id, word)`` for vocabulary tokens that are a space and >= 2 ASCII letters."""
    by_letter: dict[str, list[tuple[int, str]]] = {c: [] for c in LETTERS}
    vocab = tokenizer.get_vocab()
    for tid in sorted(vocab.values()):
        text = tokenizer.decode([tid])
        if len(text) < 3 or text[0] != " " or not text[1:].isascii() or not text[1:].isalpha():
            continue
        by_letter[text[1].lower()].append((tid, text[1:]))
    gen = torch.Generator().manual_seed(seed)
    out: list[tuple[int, str]] = []
    for words in by_letter.values():
        order = torch.randperm(len(words), generator=gen)[:max_per_letter].tolist()
        out.extend(words[i] for i in sorted(order))
    return out


@torch.no_grad()
def word_activations(
    model: nn.Module,
    tokenizer: Any,
    hook_name: str,
    words: Sequence[tuple[int, str]],
    layout: Any = None,
    batch_size: int = 32,
    progress: Progress | None = None,
) -> Tensor:
    """``[n_words, d]`` the hook's activation at each word in the first-letter prompt."""
    examples = ["tiger", "apple", "river", "mountain"]
    prefix = "".join(f" {w}: {w[0].upper()}\n" for w in examples)
    prefix_ids = tokenizer(prefix, add_special_tokens=True)["input_ids"]
    colon = tokenizer(":", add_special_tokens=False)["input_ids"]
    device = next(model.parameters()).device
    points = resolve_hook_points(model, [hook_name], layout)
    pos = len(prefix_ids)
    out = []
    with capture(model, points, stop_early=True) as cap:
        for start in range(0, len(words), batch_size):
            chunk = words[start : start + batch_size]
            ids = torch.tensor([prefix_ids + [tid] + colon for tid, _ in chunk], device=device)
            out.append(cap.run(input_ids=ids)[points[0].name][:, pos].float().cpu())
            report(progress, start + len(chunk), len(words))
    return torch.cat(out)


def _split(letters: Tensor, test_fraction: float, seed: int) -> Tensor:
    """[n] bool: the test words (a seeded share of each letter)."""
    gen = torch.Generator().manual_seed(seed)
    test = torch.zeros(len(letters), dtype=torch.bool)
    for c in letters.unique():
        idx = (letters == c).nonzero().squeeze(1)
        n_test = max(1, round(len(idx) * test_fraction)) if len(idx) > 1 else 0
        test[idx[torch.randperm(len(idx), generator=gen)[:n_test]]] = True
    return test


def _f1(pred: Tensor, y: Tensor) -> float:
    tp = float((pred & y).sum())
    denom = float(pred.sum() + y.sum())
    return 2 * tp / denom if denom else 0.0


def _main_latents(f: Tensor, y: Tensor, config: AbsorptionConfig) -> list[int]:
    """Latents of a letter (train split ``f[n, d_sae]``, ``y[n]`` bool), k-sparse probing."""
    diff = f[y].mean(0) - f[~y].mean(0)  # [d_sae]
    ranked = diff.argsort(descending=True)[: config.max_main_latents].tolist()
    chosen: list[int] = []
    best = 0.0
    for latent in ranked:
        cols = chosen + [latent]
        probe = fit_probe(f[:, cols], y.long(), 2)
        score = _f1(probe.predict(f[:, cols]).bool(), y)
        if chosen and score - best <= config.f1_jump:
            break
        chosen, best = cols, score
    return chosen


@torch.no_grad()
def absorption(
    acts: Tensor,
    letters: Tensor,
    sae: SAE,
    config: AbsorptionConfig,
    seed: int = 0,
    n_resamples: int = 200,
) -> AbsorptionResult:
    """Absorption scores from word activations ``acts[n, d_in]`` with first letters
    ``letters[n]`` (0 = a) for ``sae``."""
    if len(acts) < 2 * len(LETTERS) and len(letters.unique()) < 2:
        raise InvalidInputError("too few vocabulary words for the first-letter task")
    test = _split(letters, config.test_fraction, seed)
    probe = fit_probe(acts[~test], letters[~test], len(LETTERS))
    probe_ok = probe.predict(acts) == letters  # [n]
    dirs = probe.directions()
    dirs = dirs / dirs.norm(dim=-1, keepdim=True).clamp_min(1e-12)  # [26, d]
    w_dec = sae.W_dec.detach().float().cpu()  # [d_sae, d]
    cos_all = (w_dec / w_dec.norm(dim=-1, keepdim=True).clamp_min(1e-12)) @ dirs.T  # [d_sae, 26]
    proj_all = w_dec @ dirs.T  # [d_sae, 26] a unit of each latent along each probe
    f = sae.encode(acts.to(sae.W_enc.device, sae.W_enc.dtype)).float().cpu()  # [n, d_sae]
    per_letter: dict[str, dict[str, Any]] = {}
    unit_rows: list[tuple[int, float, float]] = []  # (letter, fraction, full) per scored word
    for c in letters.unique().tolist():
        is_c = letters == c
        main = _main_latents(f[~test], is_c[~test], config)
        tp = (test & is_c & probe_ok).nonzero().squeeze(1)
        fracs, fulls = [], []
        for i in tp.tolist():
            frac, full = _word_absorption(
                f[i], acts[i] @ dirs[c], cos_all[:, c], proj_all[:, c], main, config
            )
            fracs.append(frac)
            fulls.append(full)
            unit_rows.append((c, frac, float(full)))
        per_letter[LETTERS[c]] = {
            "main_latents": main,
            "n_true_positives": len(tp),
            "absorption_fraction": sum(fracs) / len(fracs) if fracs else None,
            "full_absorption": sum(fulls) / len(fulls) if fulls else None,
        }
    if not unit_rows:
        raise InvalidInputError("the first-letter probe got no test word right")
    groups = torch.tensor([c for c, _, _ in unit_rows])
    weights = bootstrap_weights(len(unit_rows), n_resamples, seed) if n_resamples else None
    k = len(LETTERS)
    return AbsorptionResult(
        absorption_fraction=group_mean_interval(
            torch.tensor([r[1] for r in unit_rows]), groups, k, weights
        ),
        full_absorption=group_mean_interval(
            torch.tensor([r[2] for r in unit_rows]), groups, k, weights
        ),
        probe_accuracy=float(probe_ok[test].float().mean()),
        n_words=len(acts),
        n_letters=len(groups.unique()),
        per_letter=per_letter,
    )


def _word_absorption(
    f: Tensor,
    act_proj: Tensor,
    cos: Tensor,
    unit_proj: Tensor,
    main: list[int],
    config: AbsorptionConfig,
) -> tuple[float, bool]:
    """One word: (absorption fraction, full absorption), SAEBench's rules.

    f: [d_sae] latents; act_proj: the activation's projection on the probe; cos, unit_proj:
    [d_sae] each latent's decoder cosine with / projection on the probe."""
    proj = f * unit_proj  # [d_sae] each latent's contribution along the probe
    total = float(act_proj)
    main_proj = float(proj[main].sum())
    candidates = torch.ones_like(f, dtype=torch.bool)
    candidates[main] = False
    candidates &= (cos >= config.fraction_cos_threshold) & (proj > 0)
    top = proj[candidates].topk(min(config.max_absorbing, int(candidates.sum()))).values
    absorbing = float(top.sum())
    if total <= 0 or main_proj >= total or absorbing / total < config.projection_share:
        frac = 0.0
    elif main_proj <= 0:
        frac = 1.0
    else:
        absorbed = min(absorbing, total - main_proj)
        frac = min(max(absorbed / (absorbed + main_proj), 0.0), 1.0)
    top1 = int(proj.argmax())
    full = (
        bool((f[main] <= 1e-8).all())
        and total > 0
        and float(cos[top1]) >= config.full_cos_threshold
        and float(proj[top1]) / total >= config.projection_share
    )
    return frac, full
