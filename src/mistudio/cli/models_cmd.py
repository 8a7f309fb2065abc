"""``mistudio models``: add (download / dequantize / check) and inspect models.

``models add --config FILE`` reads a :class:`~mistudio.core.language_models.ModelLoadConfig`
(YAML or JSON, the API's model body plus the load's machine-local fields); options typed beside
it override its fields. Core is imported inside the commands: it pulls torch in, and
``mistudio --help`` must stay fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from mistudio.cli import app
from mistudio.cli.config_options import (
    CONFIG_HELP,
    argument_or_file,
    config_from,
    field_help,
    option_fields,
)

models_app = typer.Typer(help="Load and inspect causal LMs.", no_args_is_help=True)
app.add_typer(models_app, name="models")

MODEL_OPTIONS = option_fields(
    "source", "dtype", "quantization", "revision", "trust_remote_code", "device"
)
"""``models add`` options -> :class:`ModelLoadConfig` fields (a test checks them)."""


def _help(field: str) -> str:
    return field_help("ModelLoadConfig", field)


def _load(config: Any) -> Any:
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.language_models import load_model
    from mistudio.core.progress import tqdm_progress

    with tqdm_progress(f"loading {config.source}", unit="B", unit_scale=True) as progress:
        return load_model(config, progress)


@models_app.command("add")
def add(
    ctx: typer.Context,
    source: str | None = typer.Argument(None, help=_help("source")),
    dtype: str = typer.Option("float32", help=_help("dtype")),
    quantization: str = typer.Option("none", help=_help("quantization")),
    token: str | None = typer.Option(
        None, envvar="HF_TOKEN", help="Hub token (gated/private repos); never stored"
    ),
    revision: str | None = typer.Option(None, help=_help("revision")),
    trust_remote_code: bool = typer.Option(False, help=_help("trust_remote_code")),
    device: str = typer.Option("auto", help=_help("device")),
    config_file: Path | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
) -> None:
    """Download (or dequantize) a model into the local cache and check that it loads."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.language_models import ModelLoadConfig

    options = argument_or_file(MODEL_OPTIONS, "source", source, config_file, "a model SOURCE")
    config = config_from(ModelLoadConfig, ctx, config_file, options, locals())
    if token is not None:  # never read from a file into a dump: the token field is excluded
        config = config.model_copy(update={"token": token})
    loaded = _load(config)
    summary = loaded.architecture()
    typer.echo(
        f"{summary.name}: {summary.family}, {summary.n_layers} layers, d_model {summary.d_model}, "
        f"{summary.n_params / 1e6:.1f}M parameters, cached at {loaded.local_path}"
    )


@models_app.command("info")
def info(
    source: str = typer.Argument(..., help="Built-in name, Hub id, folder or .gguf"),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON object"),
    dtype: str = typer.Option("float32", help="float32 | float16 | bfloat16"),
    token: str | None = typer.Option(None, envvar="HF_TOKEN", help="Hub token"),
    revision: str | None = typer.Option(None, help="Hub branch, tag or commit"),
) -> None:
    """Architecture summary, hook points and memory estimate."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.language_models import ModelLoadConfig, estimate_memory

    config = ModelLoadConfig(source=source, dtype=dtype, token=token, revision=revision)  # type: ignore[arg-type]
    loaded = _load(config)
    summary = loaded.architecture()
    memory = estimate_memory(summary)
    if as_json:
        typer.echo(json.dumps({**summary.model_dump(), "memory": memory.model_dump()}, indent=2))
        return
    typer.echo(f"{summary.name} ({summary.family})")
    for key in (
        "n_layers",
        "d_model",
        "d_mlp",
        "n_heads",
        "n_kv_heads",
        "vocab_size",
        "context_length",
    ):
        typer.echo(f"  {key:<15} {getattr(summary, key)}")
    typer.echo(f"  {'n_params':<15} {summary.n_params:,}")
    typer.echo(
        "  memory (weights): "
        + ", ".join(f"{k} {v / 2**20:.0f} MiB" for k, v in memory.bytes_by_format.items())
    )
    per_layer = len(summary.hook_points) // summary.n_layers
    typer.echo(f"  hook points: {len(summary.hook_points)} ({per_layer} per layer), e.g.")
    for tl, hf in list(zip(summary.hook_points, summary.hf_hook_points, strict=True))[:per_layer]:
        typer.echo(f"    {tl:<28} {hf}")


__all__ = ["MODEL_OPTIONS", "models_app"]
