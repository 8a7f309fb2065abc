"""``mistudio export``: an extraction written for Neuronpedia headless, and uploaded.

``export neuronpedia EXTRACTION`` writes both forms the studio's export job writes (the studio
archive ``export.zip`` and Neuronpedia's bulk layout ``neuronpedia/<modelId>/<sourceId>/``)
under ``--out``, from the same :class:`~mistudio.core.neuronpedia.NeuronpediaExportConfig`
(``--config`` file, options override it).

Labels: headless there is no studio database, so labels come from the extraction folder, the
``labels/*/labels.jsonl`` files ``mistudio label`` writes there (the newest ``labelled`` label of
each latent); latents labelled only in the studio are exported by the studio's export (or its
API). ``--latents starred`` needs the studio's stars and is refused here.

``export upload FOLDER`` pushes a bulk folder (or an export folder holding one) to a
Neuronpedia instance through its per-user API. The key comes from an environment variable
(``--api-key-env``, default ``MISTUDIO_NEURONPEDIA_API_KEY``), never from the command line,
which would land in shell history and process lists; a rerun resumes after the last batch the
instance accepted.
"""

from __future__ import annotations

import hashlib
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from mistudio.cli import app
from mistudio.cli.config_options import CONFIG_HELP, config_from
from mistudio.cli.workspace import existing, new_folder
from mistudio.errors import InvalidInputError, NotFoundError

export_app = typer.Typer(
    help="Export an extraction for Neuronpedia (archive + bulk layout), and upload it.",
    no_args_is_help=True,
)
app.add_typer(export_app, name="export")

NEURONPEDIA_OPTIONS = {
    "latents": "latents",
    "examples": "examples",
    "samples": "include_samples",
    "logit_lens": "include_logit_lens",
    "histograms": "include_histograms",
    "top_tokens": "include_top_tokens",
    "explanations": "include_explanations",
    "saelens": "include_saelens",
    "vectors": "include_vectors",
    "model_id": "model_id",
    "source_set": "source_set",
    "layer": "layer",
    "creator_id": "creator_id",
    "creator_name": "creator_name",
    "explanation_type": "explanation_type",
}
"""``export neuronpedia`` option -> :class:`NeuronpediaExportConfig` field."""


def folder_labels(folder: Path) -> dict[int, Any]:
    """The newest ``labelled`` label of each latent in ``folder/labels/*/labels.jsonl``."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.labeling.records import FeatureLabel
    from mistudio.core.neuronpedia import LatentLabel

    newest: dict[int, FeatureLabel] = {}
    for path in sorted((folder / "labels").glob("*/labels.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            label = FeatureLabel.model_validate_json(line)
            if label.status != "labelled" or not label.label.strip():
                continue
            old = newest.get(label.index)
            if old is None or label.created >= old.created:
                newest[label.index] = label
    return {
        i: LatentLabel(
            index=i,
            label=lab.label,
            description=lab.description or None,
            category=lab.category or None,
            method=lab.method,
            model=lab.model,
            confidence=lab.confidence,
            detection=lab.scores.detection if lab.scores else None,
            fuzzing=lab.scores.fuzzing if lab.scores else None,
            labeled_at=lab.created if isinstance(lab.created, datetime) else None,
        )
        for i, lab in newest.items()
    }


@export_app.command("neuronpedia")
def neuronpedia(
    ctx: typer.Context,
    extraction: str = typer.Argument(..., help="Extraction folder or name"),
    out: Path | None = typer.Option(
        None, "--out", help="Output folder (default: artifacts/exports/<extraction>)"
    ),
    latents: str = typer.Option(
        "all",
        help="all, extracted (those that fired), labelled (labels in the extraction folder), "
        "or indices and ranges such as 0-99,512",
    ),
    examples: int = typer.Option(20, min=0, help="Top-activating examples per latent"),
    samples: bool = typer.Option(True, help="Include the quantile-bin samples"),
    logit_lens: bool = typer.Option(True, help="Include the logit-lens tokens"),
    histograms: bool = typer.Option(True, help="Include the histograms"),
    top_tokens: bool = typer.Option(True, help="Include each latent's top tokens (archive)"),
    explanations: bool = typer.Option(
        True, help="Include labels from <extraction>/labels/*/labels.jsonl (none without them)"
    ),
    saelens: bool = typer.Option(True, help="Include the SAE weights as a SAELens folder"),
    vectors: bool = typer.Option(True, help="Include decoder rows as steering vectors"),
    model_id: str = typer.Option("smollm2-135m", help="Neuronpedia model id"),
    source_set: str | None = typer.Option(
        None, help="Neuronpedia source set name (default mistudio-{res|mlp|att}-{width})"
    ),
    layer: int | None = typer.Option(None, help="Layer in the source id (default: the hook's)"),
    creator_id: str = typer.Option(
        "clkht01d40000jv08hvalcvly", help="Neuronpedia user id owning the rows"
    ),
    creator_name: str = typer.Option("miStudio", help="Creator name shown on Neuronpedia"),
    explanation_type: str = typer.Option(
        "eleuther_acts_top20", help="Neuronpedia explanation type of LLM labels"
    ),
    form: str = typer.Option("both", help="archive, neuronpedia or both"),
    config_file: Path | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
) -> None:
    """Write an extraction as the studio archive and Neuronpedia's bulk import layout.

    Headless there is no studio database: labels come from the extraction folder only (what
    `mistudio label` wrote there), and `--latents starred` is not available."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.features import ExtractionResult
    from mistudio.core.neuronpedia import NeuronpediaExportConfig, parse_ranges
    from mistudio.core.neuronpedia.export import export_extraction
    from mistudio.core.neuronpedia.selection import NAMED
    from mistudio.core.progress import tqdm_progress

    forms = {"both": ("archive", "neuronpedia"), "archive": ("archive",)}.get(
        form, ("neuronpedia",) if form == "neuronpedia" else ()
    )
    if not forms:
        raise InvalidInputError(f"--form {form!r}: use archive, neuronpedia or both")
    folder = existing("extractions", extraction, "extraction.json")
    config = config_from(NeuronpediaExportConfig, ctx, config_file, NEURONPEDIA_OPTIONS, locals())
    if config.latents == "starred":
        raise InvalidInputError(
            "starred latents live in the studio's database; export from the studio, or give "
            "indices (e.g. 0-99,512)"
        )
    result = ExtractionResult.open(folder)
    # Checked before the bar starts: a bad list or id is one line, not a line under a bar.
    config.resolved(result.meta.hook_name, result.d_sae)
    if config.latents not in NAMED:
        parse_ranges(config.latents, result.d_sae)
    labels = (
        folder_labels(folder) if config.include_explanations or config.latents == "labelled" else {}
    )
    indices = sorted(labels) if config.latents == "labelled" else None
    if config.latents == "labelled" and not indices:
        raise InvalidInputError(f"no labels in {folder / 'labels'}; run `mistudio label` first")
    sae_folder = Path(result.meta.sae_folder) if result.meta.sae_folder else None
    if sae_folder is not None and not sae_folder.is_dir():
        typer.echo(f"note: the SAE folder {sae_folder} is gone: no weights, no vectors", err=True)
        sae_folder = None
    dest = out or new_folder("exports", folder.name)
    with tqdm_progress("exporting", unit="latent") as progress:
        summary = export_extraction(
            result,
            config,
            dest,
            sae_folder=sae_folder,
            labels=labels if config.include_explanations else {},
            indices=indices,
            lineage={"extraction_folder": str(folder), "origin": "mistudio export neuronpedia"},
            forms=forms,
            progress=progress,
        )
    typer.echo(summary.line())
    if summary.archive:
        typer.echo(f"archive: {summary.archive} ({summary.archive_bytes:,} bytes)")
    if summary.bulk:
        typer.echo(f"neuronpedia: {summary.bulk} ({summary.bulk_bytes:,} bytes)")
    for note in summary.notes:
        typer.echo(f"note: {note}")


def bulk_source(folder: Path) -> Path:
    """``folder`` if it is a bulk folder (``<modelId>/<sourceId>``), else the one bulk folder
    under it (an export folder holding ``neuronpedia/<modelId>/<sourceId>``)."""
    if (folder / "features").is_dir():
        return folder
    found = [p.parent for p in folder.glob("**/features") if p.is_dir()]
    if len(found) == 1:
        return found[0]
    if not found:
        raise NotFoundError(f"no Neuronpedia bulk folder (with features/) in {folder}")
    raise InvalidInputError(
        f"{folder} holds {len(found)} bulk folders; name one: "
        + ", ".join(str(p) for p in found[:4])
    )


@export_app.command("upload")
def upload(
    folder: Path = typer.Argument(..., help="A bulk folder <modelId>/<sourceId>, or an export"),
    url: str | None = typer.Option(
        None, help="Neuronpedia instance (default: MISTUDIO_NEURONPEDIA_URL)"
    ),
    api_key_env: str = typer.Option(
        "MISTUDIO_NEURONPEDIA_API_KEY", help="Environment variable holding your API key"
    ),
    batch_features: int = typer.Option(128, min=1, max=128, help="Features per request"),
) -> None:
    """Upload an export to a Neuronpedia instance (its per-user API; resumes when rerun)."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.neuronpedia.credentials import KEY_ENV, upload_target
    from mistudio.core.neuronpedia.upload import upload_bulk
    from mistudio.core.progress import tqdm_progress

    source = bulk_source(folder)
    key = os.environ.get(api_key_env) or None
    if key is None and api_key_env != KEY_ENV:
        raise InvalidInputError(f"${api_key_env} is not set")
    target, key = upload_target(url, key)
    # Beside the folder, not in it (its files are fingerprinted), one per instance.
    digest = hashlib.sha256(target.encode()).hexdigest()[:12]
    state = source.parent / f".{source.name}.upload-{digest}.json"
    with tqdm_progress(f"uploading to {target}", unit="batch") as progress:
        report = upload_bulk(
            source, target, key, state_file=state, progress=progress, batch_features=batch_features
        )
    for line in report.lines():
        typer.echo(line)
