"""``mistudio activations``: estimate and cache activations to disk."""

from __future__ import annotations

import typer

from mistudio.cli import app
from mistudio.cli.workspace import existing, new_folder, slug
from mistudio.core.activations import CacheDType
from mistudio.core.progress import tqdm_progress

activations_app = typer.Typer(help="Cache LM activations to disk.", no_args_is_help=True)
app.add_typer(activations_app, name="activations")


@activations_app.command("cache")
def cache(
    tokenization: str = typer.Option(
        ..., "--tokenization", "-t", help="Tokenization name or folder"
    ),
    hook: list[str] = typer.Option(..., "--hook", help="Hook point (repeatable)"),
    model: str = typer.Option("smollm2-135m", help="Model source"),
    max_tokens: int | None = typer.Option(None, help="Stop after this many tokens"),
    batch_size: int = typer.Option(8, help="Sequences per forward pass"),
    dtype: CacheDType = typer.Option("float32", help="float32 | float16 | bfloat16 on disk"),
    shard_tokens: int = typer.Option(65_536, help="Tokens per shard file"),
    name: str | None = typer.Option(None, help="Name to store it under"),
    estimate_only: bool = typer.Option(False, "--estimate", help="Print disk/time estimate only"),
) -> None:
    """Run the model over a tokenization and write activation shards for the hook points."""
    from mistudio.core.activations import ActivationStreamConfig, cache_activations, estimate_cache
    from mistudio.core.data import Tokenization
    from mistudio.core.models import load_model

    tok = Tokenization.open(existing("tokenizations", tokenization, "meta.json"))
    loaded = load_model(model)
    config = ActivationStreamConfig(
        hook_points=hook,
        batch_size=batch_size,
        dtype=dtype,
        max_tokens=max_tokens,
    )
    dest = new_folder("activations", name or f"{tok.folder.name}-{slug('_'.join(hook))}")
    est = estimate_cache(loaded, tok, config, dest, measure=True)
    eta = f", about {est.seconds:.0f} s" if est.seconds else ""
    typer.echo(
        f"{est.n_tokens:,} tokens x {len(hook)} hook point(s): {est.bytes / 2**20:.1f} MiB on disk "
        f"({est.free_bytes / 2**30:.1f} GiB free){eta}"
    )
    if estimate_only:
        return
    with tqdm_progress("caching", unit="tok", unit_scale=True) as progress:
        manifest = cache_activations(loaded, tok, config, dest, shard_tokens, progress)
    typer.echo(f"{manifest.n_tokens:,} tokens in {len(manifest.shards)} shard(s) -> {dest}")
