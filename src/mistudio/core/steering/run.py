"""A steering run: every prompt's baseline beside one steered continuation per strength.

:func:`steer` checks everything it can before generating anything (feature indices, SAE widths
and models, hook points, prompt lengths), so a bad request fails in a second with one line. A
strength that breaks the model (NaN, inf, or a finite value large enough to overflow) does not
fail the run: that strength's result says ``finite=False`` and why, and the others go on.

The :class:`SteeringRun` result is self-describing JSON: the config, the seed, the model and
each SAE's lineage travel with the outputs and metrics, so a saved run can be read (and the
comparison repeated) without the command line that made it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from mistudio import __version__
from mistudio.core.data import decode
from mistudio.core.language_models import LoadedModel
from mistudio.core.progress import Progress, report
from mistudio.core.sae import SAE
from mistudio.core.steering.config import FeatureIntervention, SteeringConfig, SteeringModel
from mistudio.core.steering.generation import check_length, encode_prompt, generate
from mistudio.core.steering.interventions import (
    Steerer,
    intervention_hook,
    resolve_interventions,
)
from mistudio.core.steering.metrics import (
    continuation_log_probs,
    fire_rates,
    kl_per_token,
    perplexity,
    perplexity_of,
)
from mistudio.core.steering.similarity import (
    EMBEDDING_NAME,
    TextEmbedder,
    cosine_similarity,
    load_embedder,
    token_jaccard,
)

FORMAT_VERSION = 1
SimilarityMethod = Literal["embedding", "token_jaccard"]


class SAELineage(SteeringModel):
    """Which SAE an intervention used, enough to find and trust it again."""

    name: str
    """Key in the run's ``saes`` mapping (the folder path in the CLI)."""
    folder: str | None
    """SAE folder, when it was loaded from one."""
    architecture: str
    """Registry name of the architecture."""
    d_in: int
    """Input width."""
    d_sae: int
    """Number of latents."""
    hook_name: str
    """Hook point its interventions applied to."""
    model_name: str | None
    """Model it was trained on, as recorded in its ``cfg.json`` metadata."""
    metadata: dict[str, Any] = {}
    """Its full ``cfg.json`` metadata (training lineage included)."""


class ComparisonMetrics(SteeringModel):
    """How one steered continuation differs from the baseline (see ``metrics.py``)."""

    kl_mean: float
    """Mean ``KL(P_steered || P_base)`` in nats over the generated positions, teacher-forced
    on the steered text."""
    kl_max: float
    """Largest per-position KL."""
    kl_per_token: list[float]
    """KL at each position that predicted a steered token."""
    perplexity: float
    """Perplexity of the steered continuation under the unsteered model."""
    baseline_perplexity: float
    """Perplexity of the baseline continuation under the same model, for scale."""
    similarity: float
    """Embedding cosine (or token Jaccard) of the steered and baseline continuations."""
    similarity_method: SimilarityMethod
    """Which of the two ``similarity`` is."""
    fire_rate: float = math.nan
    """Fraction of the steered continuation's tokens on which any steered feature fires when
    the unsteered model reads it: did the text move towards what the features detect?"""
    fire_rates: list[float] = []
    """The same per intervention, in the config's order."""
    baseline_fire_rate: float = math.nan
    """``fire_rate`` of the baseline continuation, for scale."""


class BaselineOutput(SteeringModel):
    """The unsteered continuation of a prompt."""

    text: str
    """Decoded continuation (prompt excluded)."""
    token_ids: list[int]
    """Its token ids."""
    perplexity: float
    """Its perplexity under the model (NaN when empty)."""
    fire_rate: float = math.nan
    """Fraction of its tokens on which any of the run's features fires (see metrics)."""
    fire_rates: list[float] = []
    """The same per intervention."""


class SteeredOutput(SteeringModel):
    """One steered continuation (one strength of a sweep)."""

    strength: float | None
    """The sweep value, or None when the interventions kept their own strengths."""
    interventions: list[FeatureIntervention]
    """The interventions as applied (sweep value substituted)."""
    values: list[float]
    """Each intervention's absolute added coefficient or clamped activation."""
    text: str
    """Decoded continuation (up to the failing step when not ``finite``)."""
    token_ids: list[int]
    """Its token ids."""
    finite: bool
    """False when this strength drove the logits to NaN/inf."""
    error: str | None = None
    """Why it is not finite."""
    metrics: ComparisonMetrics | None = None
    """Comparison with the baseline (None when not finite or empty)."""


class PromptResult(SteeringModel):
    """A prompt, its baseline, and its steered continuations in sweep order."""

    prompt: str
    """The prompt as given (a template's with its variables filled in)."""
    variables: dict[str, str] = {}
    """The values a prompt template filled in (empty for a plain prompt)."""
    prompt_token_ids: list[int]
    """What the model read (BOS or chat template included)."""
    baseline: BaselineOutput
    """Unsteered continuation with the same seed."""
    steered: list[SteeredOutput]
    """One per strength."""


class SteeringRun(SteeringModel):
    """Everything a steering run produced, exportable as JSON."""

    format_version: int = FORMAT_VERSION
    """Version of this JSON layout."""
    model_name: str
    """Loaded model's name."""
    model_path: str
    """Folder it was loaded from."""
    saes: list[SAELineage]
    """SAEs the interventions used."""
    config: SteeringConfig
    """The request, verbatim."""
    seed: int
    """Sampling seed shared by every continuation (also in ``config.generation``)."""
    similarity_method: SimilarityMethod
    """How output similarity was measured."""
    similarity_note: str | None = None
    """Why the embedding model was not used, when it was asked for but unavailable."""
    prompts: list[PromptResult]
    """Results per prompt."""
    seconds: float
    """Wall time of the run."""
    mistudio_version: str = __version__
    """Version that produced it."""
    created: datetime = Field(default_factory=lambda: datetime.now(UTC))
    """When it finished (UTC)."""

    def to_json(self) -> str:
        """Indented JSON (NaN/inf as strings, so it reads back)."""
        return self.model_dump_json(indent=2)

    def save(self, path: str | Path) -> Path:
        """Write the run as JSON; returns the path."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(self.to_json())
        return out

    @classmethod
    def load(cls, path: str | Path) -> SteeringRun:
        """Read a run written by :meth:`save`."""
        return cls.model_validate_json(Path(path).read_text())


def _finite_or_nan(value: float) -> float:
    return value if math.isfinite(value) else math.nan


def _lineage(
    name: str, sae: SAE, hook: str, folders: Mapping[str, str | Path] | None
) -> SAELineage:
    meta = dict(sae.cfg.metadata)
    folder = (folders or {}).get(name)
    return SAELineage(
        name=name,
        folder=str(folder) if folder is not None else None,
        architecture=sae.architecture,
        d_in=sae.d_in,
        d_sae=sae.d_sae,
        hook_name=hook,
        model_name=meta.get("model_name"),
        metadata=meta,
    )


def steer(
    loaded: LoadedModel,
    config: SteeringConfig,
    saes: Mapping[str, SAE],
    folders: Mapping[str, str | Path] | None = None,
    progress: Progress | None = None,
    embedder: TextEmbedder | None = None,
) -> SteeringRun:
    """Generate baseline and steered continuations of every prompt and compare them.

    ``saes`` maps the names used by ``config.interventions`` to SAE modules (moved to the
    model's device here); ``folders`` optionally gives their folders for the lineage;
    ``embedder`` reuses an already loaded embedding model.
    """
    start = time.perf_counter()
    for sae in saes.values():
        sae.to(loaded.device)
    gen = config.generation
    # Everything that can be wrong with the request is found before the first forward pass.
    sweep = config.sweep()
    resolved = [
        resolve_interventions(loaded, config.interventions, saes, strength, config.check_model_name)
        for strength in sweep
    ]
    prompts = config.all_prompts()
    prompt_ids = [encode_prompt(loaded, p.text, gen.chat_template) for p in prompts]
    for i, ids in enumerate(prompt_ids):
        check_length(loaded, ids.shape[1], gen.max_new_tokens, f"prompt {i + 1}")

    method: SimilarityMethod = "token_jaccard"
    note = None
    if config.similarity == "embedding":
        if embedder is None:
            embedder, note = load_embedder(loaded.device)
        if embedder is not None:
            method = "embedding"
        else:
            note = f"{EMBEDDING_NAME} unavailable ({note}); similarity is token Jaccard"

    tok = loaded.tokenizer
    total = len(prompt_ids) * (1 + len(sweep))
    done = 0
    results = []
    for prompt, ids in zip(prompts, prompt_ids, strict=True):
        base = generate(loaded, ids, gen)
        base_text = decode(tok, base.token_ids)
        base_ppl = _finite_or_nan(perplexity(loaded, ids, base.token_ids))
        base_fire, base_fires = fire_rates(loaded, ids, base.token_ids, resolved[0])
        done += 1
        report(progress, done, total, stage="baseline")
        steered = []
        for strength, ivs in zip(sweep, resolved, strict=True):
            steerer = Steerer(loaded, ivs)
            out = generate(loaded, ids, gen, steerer)
            metrics = None
            if out.finite and out.token_ids:
                log_base = continuation_log_probs(loaded, ids, out.token_ids)
                log_steer = continuation_log_probs(loaded, ids, out.token_ids, steerer)
                kl = kl_per_token(log_steer, log_base)
                text = decode(tok, out.token_ids)
                if method == "embedding":
                    assert embedder is not None
                    similarity = cosine_similarity(embedder, base_text, text)
                else:
                    similarity = token_jaccard(base.token_ids, out.token_ids)
                fire, fires = fire_rates(loaded, ids, out.token_ids, ivs)
                metrics = ComparisonMetrics(
                    kl_mean=float(kl.mean()),
                    kl_max=float(kl.max()),
                    kl_per_token=[float(v) for v in kl],
                    perplexity=_finite_or_nan(perplexity_of(log_base, out.token_ids)),
                    baseline_perplexity=base_ppl,
                    similarity=similarity,
                    similarity_method=method,
                    fire_rate=fire,
                    fire_rates=fires,
                    baseline_fire_rate=base_fire,
                )
            steered.append(
                SteeredOutput(
                    strength=strength,
                    interventions=[iv.spec for iv in ivs],
                    values=[iv.value for iv in ivs],
                    text=decode(tok, out.token_ids),
                    token_ids=out.token_ids,
                    finite=out.finite,
                    error=out.error,
                    metrics=metrics,
                )
            )
            done += 1
            report(progress, done, total, stage="steered", strength=strength)
        results.append(
            PromptResult(
                prompt=prompt.text,
                variables=prompt.values,
                prompt_token_ids=ids[0].tolist(),
                baseline=BaselineOutput(
                    text=base_text,
                    token_ids=base.token_ids,
                    perplexity=base_ppl,
                    fire_rate=base_fire,
                    fire_rates=base_fires,
                ),
                steered=steered,
            )
        )

    seen: dict[str, SAELineage] = {}
    for iv in config.interventions:
        if iv.sae not in seen:
            sae = saes[iv.sae]
            seen[iv.sae] = _lineage(iv.sae, sae, intervention_hook(sae, iv.hook), folders)
    return SteeringRun(
        model_name=loaded.name,
        model_path=str(loaded.local_path),
        saes=list(seen.values()),
        config=config,
        seed=gen.seed,
        similarity_method=method,
        similarity_note=note,
        prompts=results,
        seconds=time.perf_counter() - start,
    )
