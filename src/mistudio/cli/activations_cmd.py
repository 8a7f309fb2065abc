"""``mistudio activations``: estimate and cache activations to disk."""

from __future__ import annotations

from pathlib import Path

import typer

from mistudio.cli import app
from mistudio.cli.config_options import CONFIG_HELP, config_from, field_help, option_fields
from mistudio.cli.workspace import existing, new_folder, slug

activations_app = typer.Typer(help="Cache LM activations to disk.", no_args_is_help=True)
app.add_typer(activations_app, name="activations")


CACHE_OPTIONS = option_fields("max_tokens", "batch_size", "dtype", hook="hook_points")
"""``activations cache`` option -> :class:`~mistudio.core.activations.ActivationStreamConfig`
field."""


@activations_app.command("cache")
def cache(
    ctx: typer.Context,
    tokenization: str = typer.Option(
        ..., "--tokenization", "-t", help="Tokenization name or folder"
    ),
    hook: list[str] | None = typer.Option(None, "--hook", help="Hook point (repeatable)"),
    model: str = typer.Option("smollm2-135m", help="Model source"),
    max_tokens: int | None = typer.Option(
        None, help=field_help("ActivationStreamConfig", "max_tokens")
    ),
    batch_size: int = typer.Option(8, help=field_help("ActivationStreamConfig", "batch_size")),
    dtype: str = typer.Option("float32", help="float32 | float16 | bfloat16 on disk"),
    shard_tokens: int = typer.Option(65_536, help="Tokens per shard file"),
    name: str | None = typer.Option(None, help="Name to store it under"),
    estimate_only: bool = typer.Option(False, "--estimate", help="Print disk/time estimate only"),
    config_file: Path | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
) -> None:
    """Run the model over a tokenization and write activation shards for the hook points."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.activations import ActivationStreamConfig, cache_activations, estimate_cache
    from mistudio.core.data import Tokenization
    from mistudio.core.language_models import load_model
    from mistudio.core.progress import tqdm_progress

    config = config_from(ActivationStreamConfig, ctx, config_file, CACHE_OPTIONS, locals())
    hooks = config.hook_points
    tok = Tokenization.open(existing("tokenizations", tokenization, "meta.json"))
    loaded = load_model(model)
    dest = new_folder("activations", name or f"{tok.folder.name}-{slug('_'.join(hooks))}")
    est = estimate_cache(loaded, tok, config, dest, measure=True)
    eta = f", about {est.seconds:.0f} s" if est.seconds else ""
    typer.echo(
        f"{est.n_tokens:,} tokens x {len(hooks)} hook point(s): "
        f"{est.bytes / 2**20:.1f} MiB on disk ({est.free_bytes / 2**30:.1f} GiB free){eta}"
    )
    if estimate_only:
        return
    with tqdm_progress("caching", unit="tok", unit_scale=True) as progress:
        manifest = cache_activations(loaded, tok, config, dest, shard_tokens, progress)
    typer.echo(f"{manifest.n_tokens:,} tokens in {len(manifest.shards)} shard(s) -> {dest}")
