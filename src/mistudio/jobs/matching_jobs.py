"""The matching job: the latents of SAE A matched to SAE B's by decoder cosine.

The API has checked both SAEs (ready, same decoder width) and written a pending ``matchings``
row holding the :class:`~mistudio.core.matching.MatchingConfig`; the job reads both decoders
(``W_dec`` only, from the SAE folders), runs :func:`~mistudio.core.matching.match_decoders` in
bounded memory with the job's progress (blocks of A done), writes ``matching.json`` and
``pairs.parquet`` under ``artifacts/matchings/<id>/`` and marks the row ready with the summary.
"""

from __future__ import annotations

from typing import Any

from mistudio.core.matching import MatchingConfig, match_decoders
from mistudio.core.matching_files import read_decoder, write_matching
from mistudio.errors import NotFoundError
from mistudio.jobs.handlers import handler
from mistudio.jobs.runtime import JobContext, job_row
from mistudio.store import MatchingRow, SAERow, artifact_dir
from mistudio.store.lineage import Lineage


@handler("matching", queue="cpu")
def matching_job(ctx: JobContext) -> dict[str, Any]:
    """Match one pair of SAEs (see the module docstring)."""
    matching_id = int(ctx.config["matching_id"])
    with job_row(MatchingRow, matching_id, "matching") as (session, row):
        config = MatchingConfig.model_validate(row.config or {})
        folders = {}
        for key, sae_id in (("a", row.sae_a_id), ("b", row.sae_b_id)):
            sae = session.get(SAERow, sae_id)
            if sae is None or not sae.path:
                raise NotFoundError(f"SAE {sae_id} of matching {matching_id} is gone")
            folders[key] = sae.path
        ids = {"sae_a_id": row.sae_a_id, "sae_b_id": row.sae_b_id}
    ctx.stage(0.0, 0.1, "reading decoders")
    W_a, W_b = read_decoder(folders["a"]), read_decoder(folders["b"])
    ctx.stage(0.1, 1.0, "matching")
    result = match_decoders(W_a, W_b, config, progress=ctx.progress)
    dest = artifact_dir("matchings", matching_id)
    summary = write_matching(result, dest)
    with job_row(MatchingRow, matching_id, "matching", "matching") as (session, row):
        row.status = "ready"
        row.path = str(dest)
        row.result = summary
        row.error = None
        row.lineage = Lineage(ctx.job_id, ids, config).as_json()
    ctx.log(
        f"{summary['matched']:,} of {summary['n_a']:,} latents of A matched at cosine >= "
        f"{config.threshold} ({summary['share_matched']:.1%}), {summary['n_splits']:,} splits, "
        f"{summary['seconds']:.1f} s"
    )
    return {"matching_id": matching_id, **{k: v for k, v in summary.items() if k != "histogram"}}
