"""What a labeller sees of one latent, gathered from an extraction, split for honest scoring.

The labeller is shown the top examples (``n_explain`` of them); scoring uses examples it never
saw: the remaining top examples and the extraction's uniform activating samples (spread over
activation quantiles, so a label must also explain weak activations, as delphi scores), against
random windows where the latent stays at zero. :class:`FeatureContext` is plain data so rules,
prompts and scoring can be tested on constructed features without an extraction.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from mistudio.core.features.result import Example, ExtractionResult
from mistudio.core.linguistics import Linguistics, LinguisticSummary


@dataclass
class FeatureContext:
    """One latent, as the labeller and the scorer see it."""

    index: int
    examples: list[Example]
    """Top-activating examples shown to the labeller (tokens decoded), largest first."""
    max_act: float = 0.0
    """The latent's largest activation (0 -> taken from the examples)."""
    frequency: float = 0.0
    """Fraction of tokens where it fires."""
    top_tokens: list[tuple[str, float]] = field(default_factory=list)
    """(decoded token, share of top-activation mass), most first."""
    logit_lens: list[str] = field(default_factory=list)
    """Tokens the latent's decoder direction promotes most."""
    held_out: list[Example] = field(default_factory=list)
    """Activating examples not shown to the labeller (scoring positives)."""
    negatives: list[Example] = field(default_factory=list)
    """Windows where the latent is zero throughout (scoring negatives)."""
    linguistics: LinguisticSummary | None = None
    """What its top-activating tokens are linguistically, when the extraction was analysed
    (:mod:`mistudio.core.linguistics`; prompts may show it, see ``PromptTemplate``)."""

    def __post_init__(self) -> None:
        if self.max_act <= 0:
            self.max_act = max((max(e.acts, default=0.0) for e in self.examples), default=0.0)


def _key(e: Example) -> tuple[int, int]:
    return (e.sequence, e.position)


def _spread(samples: list[Example], n: int, rng: random.Random) -> list[Example]:
    """Up to ``n`` samples, round-robin over quantile bins (weakest bins included)."""
    bins: dict[int, list[Example]] = {}
    for s in samples:
        bins.setdefault(s.quantile or 0, []).append(s)
    for members in bins.values():
        rng.shuffle(members)
    out: list[Example] = []
    order = sorted(bins)
    while len(out) < n and any(bins.values()):
        for q in order:
            if bins[q] and len(out) < n:
                out.append(bins[q].pop())
    return out


def gather_feature(
    result: ExtractionResult,
    index: int,
    tokenizer: Any,
    n_explain: int = 20,
    n_held_out: int = 10,
    n_negatives: int = 10,
    seed: int = 0,
    linguistics: bool = True,
) -> FeatureContext:
    """Read latent ``index`` from ``result``: shown examples, held-out positives, negatives, and
    (with ``linguistics``, when the extraction was analysed) its linguistic summary."""
    rng = random.Random(seed * 1_000_003 + index)
    stats = result.stats(index, tokenizer)
    top = result.examples(index, tokenizer)
    shown = top[:n_explain]
    seen = {_key(e) for e in shown}
    rest = [e for e in top[n_explain:] if _key(e) not in seen]
    samples = [e for e in result.samples(index, tokenizer) if _key(e) not in seen]
    held = _spread(samples, n_held_out // 2 if rest else n_held_out, rng)
    held_keys = {_key(e) for e in held}
    rng.shuffle(rest)
    held += [e for e in rest if _key(e) not in held_keys][: n_held_out - len(held)]
    if len(held) < n_held_out:  # few top examples left: use more samples
        more = [e for e in samples if _key(e) not in {_key(h) for h in held}]
        held += more[: n_held_out - len(held)]
    negatives = result.random_contexts(index, tokenizer)
    rng.shuffle(negatives)
    total_mass = sum(stats.top_token_mass) or 1.0
    has_lens = (result.folder / "logit_pos_ids.npy").is_file()
    lens = result.logit_lens(index, tokenizer) if has_lens else None
    return FeatureContext(
        index=index,
        examples=shown,
        max_act=stats.max_act,
        frequency=stats.frequency,
        top_tokens=[
            (t, m / total_mass)
            for t, m in zip(stats.top_tokens or [], stats.top_token_mass, strict=False)
        ],
        logit_lens=lens.positive_text[:10] if lens is not None else [],
        held_out=held,
        negatives=negatives[:n_negatives],
        linguistics=(
            Linguistics.open(result.folder).summary(index)
            if linguistics and Linguistics.exists(result.folder)
            else None
        ),
    )
