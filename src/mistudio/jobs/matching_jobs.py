"""The matching job: the latents of SAE A matched to SAE B's by decoder cosine.

The API has checked both SAEs (ready, same decoder width) and written a pending ``matchings``
row holding the :class:`~mistudio.core.matching.MatchingConfig`; the job

1. reads both decoders (``W_dec`` only, from the SAE folders) and runs
   :func:`~mistudio.core.matching.match_decoders` in bounded memory with the job's progress;
2. when both SAEs have a ready extraction on the same tokenization with the same model (and
   ``correlation_tokens`` > 0), correlates each A latent's activations with its best match's on
   the first ``correlation_tokens`` tokens of it
   (:func:`~mistudio.core.matching_activations.activation_correlation`: one LM pass); otherwise
   the summary says why it was skipped;
3. writes ``matching.json`` and ``pairs.parquet`` under ``artifacts/matchings/<id>/`` and marks
   the row ready with the summary.
"""

from __future__ import annotations

from typing import Any

import torch
from sqlalchemy import select
from sqlalchemy.orm import Session

from mistudio.core.data import Tokenization
from mistudio.core.language_models import load_model
from mistudio.core.matching import MatchingConfig, MatchResult, match_decoders
from mistudio.core.matching_activations import activation_correlation
from mistudio.core.matching_files import read_decoder, write_matching
from mistudio.core.sae.saelens_format import load_sae
from mistudio.errors import NotFoundError
from mistudio.jobs.handlers import handler
from mistudio.jobs.runtime import JobContext, job_row
from mistudio.store import (
    Extraction,
    LanguageModel,
    MatchingRow,
    SAERow,
    TokenizationRow,
    artifact_dir,
)
from mistudio.store.lineage import Lineage
from mistudio.store.model_load import model_load_config


def shared_tokens(session: Session, a: SAERow, b: SAERow) -> tuple[Any, str, int] | str:
    """(model load config, tokenization folder, tokenization id) both SAEs were extracted on,
    or why there is none (one line)."""
    found: dict[int, set[tuple[int, int]]] = {}
    for sae in (a, b):
        rows = session.scalars(
            select(Extraction).where(Extraction.sae_id == sae.id, Extraction.status == "ready")
        ).all()
        found[sae.id] = {
            (r.model_id, r.tokenization_id) for r in rows if r.model_id and r.tokenization_id
        }
    if not found[a.id] or not found[b.id]:
        missing = [f"SAE {s.id}" for s in (a, b) if not found[s.id]]
        return f"{' and '.join(missing)} not extracted"
    for model_id, tok_id in sorted(found[a.id] & found[b.id]):
        model = session.get(LanguageModel, model_id)
        tok = session.get(TokenizationRow, tok_id)
        if model is not None and tok is not None and tok.path:
            return model_load_config(model), tok.path, tok_id
    return "the two SAEs were extracted on different tokenizations or models"


def _correlate(
    ctx: JobContext,
    result: MatchResult,
    folders: dict[str, str],
    hooks: dict[str, str | None],
    shared: tuple[Any, str, int],
    n_tokens: int,
) -> list[float | None]:
    load_config, tok_path, _ = shared
    ctx.stage(0.7, 0.75, "loading model")
    loaded = load_model(load_config, ctx.progress)
    sae_a = load_sae(folders["a"], device=loaded.device)
    sae_b = load_sae(folders["b"], device=loaded.device)
    pairs = torch.stack(
        [torch.arange(result.n_a), torch.tensor(result.best_b, dtype=torch.int64)], dim=1
    )
    ctx.stage(0.75, 1.0, "correlating activations")
    return activation_correlation(
        loaded,
        Tokenization.open(tok_path),
        sae_a,
        hooks["a"] or sae_a.output_hook(),
        sae_b,
        hooks["b"] or sae_b.output_hook(),
        pairs,
        n_tokens=n_tokens,
        progress=ctx.progress,
    )


@handler("matching", queue="gpu")
def matching_job(ctx: JobContext) -> dict[str, Any]:
    """Match one pair of SAEs (see the module docstring)."""
    matching_id = int(ctx.config["matching_id"])
    with job_row(MatchingRow, matching_id, "matching") as (session, row):
        config = MatchingConfig.model_validate(row.config or {})
        saes: dict[str, SAERow] = {}
        for key, sae_id in (("a", row.sae_a_id), ("b", row.sae_b_id)):
            sae = session.get(SAERow, sae_id)
            if sae is None or not sae.path:
                raise NotFoundError(f"SAE {sae_id} of matching {matching_id} is gone")
            saes[key] = sae
        folders = {k: str(s.path) for k, s in saes.items()}
        hooks = {k: s.hook_name for k, s in saes.items()}
        shared = shared_tokens(session, saes["a"], saes["b"])
        ids = {"sae_a_id": row.sae_a_id, "sae_b_id": row.sae_b_id}
    correlate = config.correlation_tokens > 0 and not isinstance(shared, str)
    ctx.stage(0.0, 0.05, "reading decoders")
    W_a, W_b = read_decoder(folders["a"]), read_decoder(folders["b"])
    ctx.stage(0.05, 0.7 if correlate else 1.0, "matching")
    result = match_decoders(W_a, W_b, config, progress=ctx.progress)
    correlation: list[float | None] | None = None
    if config.correlation_tokens == 0:
        info: dict[str, Any] = {"skipped": "correlation_tokens is 0"}
    elif isinstance(shared, str):
        info = {"skipped": shared}
    else:
        correlation = _correlate(ctx, result, folders, hooks, shared, config.correlation_tokens)
        info = {"tokens": config.correlation_tokens, "tokenization_id": shared[2]}
    dest = artifact_dir("matchings", matching_id)
    summary = write_matching(result, dest, correlation, info)
    with job_row(MatchingRow, matching_id, "matching", "matching") as (session, row):
        row.status = "ready"
        row.path = str(dest)
        row.result = summary
        row.error = None
        row.lineage = Lineage(ctx.job_id, ids, config).as_json()
    ctx.log(
        f"{summary['matched']:,} of {summary['n_a']:,} latents of A matched at cosine >= "
        f"{config.threshold} ({summary['share_matched']:.1%}), {summary['n_splits']:,} splits, "
        f"{summary['seconds']:.1f} s; activation correlation: "
        + (f"mean {summary['correlation']['mean']}" if correlation else info["skipped"])
    )
    return {"matching_id": matching_id, **{k: v for k, v in summary.items() if k != "histogram"}}
