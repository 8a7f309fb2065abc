"""``mistudio label``: label (and score) an extraction's latents headless, print a summary.

Labels go to ``--out`` (default ``<extraction>/labels/<method>[-<model>]``) as ``labels.jsonl``
plus ``run.json``; running the same command again resumes, skipping latents already labelled.
Before a paid run (a price per 1k tokens is set) it prints the token and cost estimate and asks
to go on unless ``--yes``. API keys come from ``MISTUDIO_OPENAI_API_KEY`` / ``OPENAI_API_KEY``
(never a command-line option, which would land in shell history and process lists).
"""

from __future__ import annotations

from pathlib import Path

import typer

from mistudio.cli import app
from mistudio.cli.config_options import CONFIG_HELP, config_from, field_help
from mistudio.cli.workspace import existing, kind_dir, slug
from mistudio.errors import NotFoundError

LABEL_OPTIONS = {
    "method": "method",
    "model": "model",
    "base_url": "base_url",
    "score": "score",
    "json_mode": "json_mode",
    "concurrency": "concurrency",
    "rpm": "requests_per_minute",
    "price_in": "price_per_1k_input",
    "price_out": "price_per_1k_output",
}
"""``label`` option -> :class:`~mistudio.core.labeling.LabelingConfig` field."""


@app.command("label")
def label(
    ctx: typer.Context,
    extraction: str = typer.Argument(
        ..., help="Extraction folder or name (or a folder of extractions, one per SAE)"
    ),
    sae: str | None = typer.Option(
        None, "--sae", help="In a folder of extractions (one per SAE): only this SAE's"
    ),
    method: str = typer.Option(
        "rules", "--method", "-m", help=field_help("LabelingConfig", "method")
    ),
    model: str | None = typer.Option(None, help=field_help("LabelingConfig", "model")),
    base_url: str | None = typer.Option(
        None, "--base-url", help=field_help("LabelingConfig", "base_url")
    ),
    indices: str | None = typer.Option(None, help="Latents, e.g. 0-99,120 (default: all live)"),
    limit: int | None = typer.Option(None, min=1, help="At most this many latents"),
    score: bool = typer.Option(False, "--score", help=field_help("LabelingConfig", "score")),
    out: Path | None = typer.Option(None, "--out", help="Output folder"),
    json_mode: bool = typer.Option(False, "--json", help=field_help("LabelingConfig", "json_mode")),
    concurrency: int = typer.Option(4, min=1, help=field_help("LabelingConfig", "concurrency")),
    rpm: float | None = typer.Option(
        None, "--rpm", min=0.001, help=field_help("LabelingConfig", "requests_per_minute")
    ),
    price_in: float = typer.Option(
        0.0, min=0, help=field_help("LabelingConfig", "price_per_1k_input")
    ),
    price_out: float = typer.Option(
        0.0, min=0, help=field_help("LabelingConfig", "price_per_1k_output")
    ),
    template: Path | None = typer.Option(None, help="Prompt template JSON (PromptTemplate)"),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask before a paid run"),
    estimate_only: bool = typer.Option(False, help="Print the estimate and stop"),
    config_file: Path | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
) -> None:
    """Label an extraction's latents by rules or an LLM, optionally scored."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.features import ExtractionResult
    from mistudio.core.labeling import (
        FeatureFilter,
        LabelingConfig,
        PromptTemplate,
        estimate_cost,
        label_features,
        parse_indices,
        select_indices,
    )
    from mistudio.core.progress import tqdm_progress

    folders = extraction_folders(extraction, sae)
    config = config_from(LabelingConfig, ctx, config_file, LABEL_OPTIONS, locals())
    for folder_in in folders:
        result = ExtractionResult.open(folder_in)
        if len(folders) > 1:
            typer.secho(f"\n{folder_in.name}:", bold=True)
        method, model = config.method, config.model
        price_in, price_out = config.price_per_1k_input, config.price_per_1k_output
        if template is not None:
            config.prompt = PromptTemplate.model_validate_json(template.read_text())
        chosen = (
            parse_indices(indices, result.d_sae)
            if indices
            else select_indices(result, FeatureFilter(limit=limit))
        )
        chosen = chosen[:limit] if limit else chosen
        default = result.folder / "labels" / slug(f"{method}-{model}" if model else method)
        folder = (out / folder_in.name if len(folders) > 1 else out) if out else default
        if method != "rules" and (price_in or price_out or estimate_only):
            estimate = estimate_cost(result, chosen, config)
            typer.echo(f"estimate: {estimate.line()}")
            if estimate_only:
                return
            if estimate.cost and not yes and not typer.confirm("go on?", default=False):
                raise typer.Abort()
        with tqdm_progress(f"labelling ({method})", unit="feat") as progress:
            run = label_features(result, config, chosen, out=folder, progress=progress)
        summary = run.summary
        typer.echo(f"{summary.line()} -> {folder}")
        if summary.scored:
            bars = " ".join(str(c) for c in summary.score_histogram)
            typer.echo(f"score histogram (0.0..1.0 by 0.1): {bars}")
        for reason, count in sorted(summary.failures.items(), key=lambda kv: -kv[1])[:3]:
            typer.echo(f"  failed x{count}: {reason}")
        for lab in run.labels[:10]:
            if lab.status == "labelled":
                extra = f" score {lab.score:.2f}" if lab.score is not None else ""
                typer.echo(f"  {lab.index:>6}  {lab.label}  [{lab.category}]{extra}")


def extraction_folders(name_or_path: str, sae: str | None) -> list[Path]:
    """The extraction(s) ``name_or_path`` names: one extraction folder, or a folder holding one
    extraction per SAE (what ``mistudio demo`` writes), all of them or only ``--sae``'s."""
    try:
        folder = existing("extractions", name_or_path, "extraction.json")
    except NotFoundError as exc:
        path = Path(name_or_path).expanduser()
        parent = path if path.is_dir() else kind_dir("extractions") / slug(name_or_path)
        found = (
            sorted(p.parent for p in parent.glob("*/extraction.json")) if parent.is_dir() else []
        )
        if not found:
            nested = sorted(
                f"{p.parent.parent.name}/{p.parent.name}"
                for p in kind_dir("extractions").glob("*/*/extraction.json")
            )
            more = f"; in folders of extractions: {', '.join(nested)}" if nested else ""
            raise NotFoundError(f"{exc}{more}") from None
        names = [p.name for p in found]
        if sae is None:
            typer.echo(
                f"{parent} holds {len(found)} extraction(s), one per SAE: {', '.join(names)}; "
                "labelling all (--sae NAME for one)"
            )
            return found
        chosen = [p for p in found if p.name == sae]
        if not chosen:
            raise NotFoundError(
                f"no extraction of SAE {sae!r} in {parent}; it holds {', '.join(names)}"
            ) from None
        return chosen
    if sae is not None and folder.name != sae:
        raise NotFoundError(f"{folder} is the extraction of {folder.name}, not of SAE {sae!r}")
    return [folder]
