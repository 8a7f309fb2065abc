"""``mistudio models``: add (download / dequantize / check) and inspect models."""

from __future__ import annotations

import json

import typer

from mistudio.cli import app
from mistudio.core.language_models import (
    DType,
    ModelLoadConfig,
    Quantization,
    estimate_memory,
    load_model,
)
from mistudio.core.progress import tqdm_progress

models_app = typer.Typer(help="Load and inspect causal LMs.", no_args_is_help=True)
app.add_typer(models_app, name="models")


def _load(
    source: str, dtype: str, quantization: str, token: str | None, revision: str | None, trust: bool
):
    config = ModelLoadConfig(
        source=source,
        dtype=dtype,  # type: ignore[arg-type]
        quantization=quantization,  # type: ignore[arg-type]
        token=token,
        revision=revision,
        trust_remote_code=trust,
    )
    with tqdm_progress(f"loading {source}", unit="B", unit_scale=True) as progress:
        return load_model(config, progress)


@models_app.command("add")
def add(
    source: str = typer.Argument(..., help="Built-in name (smollm2-135m), Hub id, folder or .gguf"),
    dtype: str = typer.Option("float32", help="float32 | float16 | bfloat16"),
    quantization: str = typer.Option("none", help="none | 8bit | 4bit (CUDA only)"),
    token: str | None = typer.Option(
        None, envvar="HF_TOKEN", help="Hub token (gated/private repos)"
    ),
    revision: str | None = typer.Option(None, help="Hub branch, tag or commit"),
    trust_remote_code: bool = typer.Option(False, help="Run modelling code from the repo"),
) -> None:
    """Download (or dequantize) a model into the local cache and check that it loads."""
    loaded = _load(source, dtype, quantization, token, revision, trust_remote_code)
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
    loaded = _load(source, dtype, "none", token, revision, False)
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


__all__ = ["DType", "Quantization", "models_app"]
