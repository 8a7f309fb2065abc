"""``mistudio datasets``: import, tokenize, inspect."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from mistudio.cli import app
from mistudio.cli.config_options import CONFIG_HELP, config_from, field_help, option_fields
from mistudio.cli.workspace import existing, kind_dir, new_folder, slug
from mistudio.core.progress import tqdm_progress

datasets_app = typer.Typer(help="Import and tokenize text datasets.", no_args_is_help=True)
app.add_typer(datasets_app, name="datasets")


@datasets_app.command("import")
def import_(
    spec: str = typer.Argument(
        ..., help="Built-in (python-stdlib, kjv), a file/folder, or a Hub id (hub:owner/name)"
    ),
    name: str | None = typer.Option(None, help="Name to store it under"),
    config: str | None = typer.Option(None, help="Hub dataset configuration"),
    split: str = typer.Option("train", help="Hub split"),
    revision: str | None = typer.Option(None, help="Hub branch, tag or commit"),
    token: str | None = typer.Option(None, envvar="HF_TOKEN", help="Hub token"),
    streaming: bool = typer.Option(False, help="Stream from the Hub (use with --limit)"),
    text_column: str | None = typer.Option(None, help="Column holding the text (auto by default)"),
    limit: int | None = typer.Option(None, help="Import at most this many documents"),
) -> None:
    """Import a dataset into MISTUDIO_HOME/artifacts/datasets/NAME."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.data import DatasetSource, import_dataset

    fields = {"name": name, "text_column": text_column, "max_documents": limit}
    source = DatasetSource.parse(spec, **{k: v for k, v in fields.items() if v is not None})
    if source.kind == "hub":
        source = source.model_copy(
            update={
                "config": config,
                "split": split,
                "revision": revision,
                "token": token,
                "streaming": streaming,
            }
        )
    dest = new_folder("datasets", source.default_name())
    with tqdm_progress(f"importing {spec}", unit="doc") as progress:
        info = import_dataset(source, dest, progress)
    typer.echo(
        f"{info.name}: {info.n_documents:,} documents, {info.n_bytes / 1e6:.1f} MB -> {dest}"
    )


TOKENIZE_OPTIONS = option_fields(
    "max_length",
    "stride",
    "long_documents",
    "prepend_bos",
    "pack",
    "min_tokens",
    "drop_special_only",
    limit="max_documents",
)
"""``datasets tokenize`` option -> :class:`~mistudio.core.data.TokenizeConfig` field."""


@datasets_app.command("tokenize")
def tokenize(
    ctx: typer.Context,
    dataset: str = typer.Argument(..., help="Dataset name or folder"),
    model: str = typer.Option("smollm2-135m", help="Model whose tokenizer to use"),
    max_length: int = typer.Option(512, help=field_help("TokenizeConfig", "max_length")),
    stride: int = typer.Option(256, help=field_help("TokenizeConfig", "stride")),
    long_documents: str = typer.Option(
        "windows", help=field_help("TokenizeConfig", "long_documents")
    ),
    prepend_bos: bool = typer.Option(True, help=field_help("TokenizeConfig", "prepend_bos")),
    pack: bool = typer.Option(True, help=field_help("TokenizeConfig", "pack")),
    min_tokens: int = typer.Option(1, help=field_help("TokenizeConfig", "min_tokens")),
    drop_special_only: bool = typer.Option(
        True, help=field_help("TokenizeConfig", "drop_special_only")
    ),
    limit: int | None = typer.Option(None, help=field_help("TokenizeConfig", "max_documents")),
    name: str | None = typer.Option(None, help="Name to store it under"),
    config_file: Path | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
) -> None:
    """Tokenize a dataset with a model's tokenizer into fixed-length sequences."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.data import TokenizeConfig, tokenize_dataset
    from mistudio.core.language_models import load_tokenizer

    # First: a bad option fails before anything loads.
    config = config_from(TokenizeConfig, ctx, config_file, TOKENIZE_OPTIONS, locals())
    folder = existing("datasets", dataset, "dataset.json")
    tokenizer = load_tokenizer(model)
    dest = new_folder("tokenizations", name or f"{folder.name}-{slug(model)}-{config.max_length}")
    with tqdm_progress(f"tokenizing {folder.name}", unit="doc") as progress:
        tok = tokenize_dataset(folder, tokenizer, config, dest, progress)
    m = tok.meta
    typer.echo(
        f"{m.n_documents:,} documents, {m.n_tokens:,} tokens, {m.n_sequences:,} sequences of "
        f"{m.max_length} -> {dest}"
    )


@datasets_app.command("stats")
def stats(
    name: str = typer.Argument(..., help="Tokenization (or dataset) name or folder"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
) -> None:
    """Statistics of a tokenization: documents, tokens, lengths, top tokens, coverage."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.data import Tokenization, load_stats

    folder = existing("tokenizations", name, "meta.json")
    stats = load_stats(Tokenization.open(folder))
    if as_json:
        typer.echo(stats.model_dump_json(indent=2))
        return
    data = json.loads(stats.model_dump_json())
    for key, value in data.items():
        if isinstance(value, list | dict):
            continue
        typer.echo(f"  {key:<28} {value}")
    top = ", ".join(f"{t['text']!r}:{t['count']}" for t in data.get("top_tokens", [])[:15])
    typer.echo(f"  top tokens: {top}")


@datasets_app.command("list")
def list_() -> None:
    """Datasets and tokenizations in MISTUDIO_HOME."""
    for kind, marker in (("datasets", "dataset.json"), ("tokenizations", "meta.json")):
        names = sorted(p.name for p in kind_dir(kind).iterdir() if (p / marker).exists())
        typer.echo(f"{kind}: {', '.join(names) if names else '(none)'}")
