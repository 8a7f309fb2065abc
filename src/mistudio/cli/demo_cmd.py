"""``mistudio demo``: the headless pipeline on the built-in model and corpora.

Each stage reuses what an earlier run left in MISTUDIO_HOME, so a second demo starts where the
first got to. The last stage registers everything in the studio database of the same
MISTUDIO_HOME (:mod:`mistudio.store.artifact_rows`), so ``mistudio serve`` opens the demo's model,
corpora, training curves, SAEs and features as if the studio had made them.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import typer

from mistudio.cli import app
from mistudio.cli.features_cmd import _highlight
from mistudio.cli.train_cmd import format_evals
from mistudio.cli.workspace import new_folder
from mistudio.core.progress import tqdm_progress

DEMO_LAYERS = (2, 6, 10)


def _stage(title: str) -> None:
    typer.secho(f"\n== {title}", fg=typer.colors.GREEN, bold=True)


@app.command("demo")
def demo(
    model: str = typer.Option("smollm2-135m", help="Model source"),
    max_length: int = typer.Option(256, help="Sequence length of the tokenizations"),
    stream_tokens: int = typer.Option(50_000, help="Tokens to stream for the activation stage"),
    train_tokens: int = typer.Option(200_000, help="Training tokens per SAE"),
    extract_tokens: int = typer.Option(200_000, help="Evaluation tokens for feature extraction"),
    d_sae: int = typer.Option(2304, help="Latents per SAE (4x SmolLM2's d_model)"),
    quick: bool = typer.Option(False, help="Small corpora and token counts (tests)"),
    register: bool = typer.Option(
        True, help="Register what the demo made in the studio's database (`mistudio serve`)"
    ),
) -> None:
    """Run the pipeline end to end on the built-in defaults and print what each stage made."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.activations import (
        ActivationStreamConfig,
        cache_activations,
        stream_activations,
    )
    from mistudio.core.data import (
        DatasetSource,
        Tokenization,
        TokenizeConfig,
        import_dataset,
        open_dataset,
        tokenize_dataset,
    )
    from mistudio.core.language_models import estimate_memory, load_model
    from mistudio.store.artifact_rows import CorpusArtifacts

    limit = 60 if quick else None
    if quick:
        stream_tokens = min(stream_tokens, 4_000)
        train_tokens = min(train_tokens, 8_192)
        extract_tokens = min(extract_tokens, 4_096)
        d_sae = min(d_sae, 256)

    _stage("Model")
    t0 = time.perf_counter()
    with tqdm_progress(f"loading {model}") as progress:
        loaded = load_model(model, progress)
    summary = loaded.architecture()
    memory = estimate_memory(summary)
    typer.echo(
        f"{summary.name}: {summary.family}, {summary.n_layers} layers, d_model {summary.d_model}, "
        f"vocab {summary.vocab_size}, {summary.n_params / 1e6:.1f}M parameters, "
        f"{memory.bytes_by_format['float32'] / 2**20:.0f} MiB fp32 "
        f"(loaded in {time.perf_counter() - t0:.1f} s)"
    )

    _stage("Datasets")
    tokenizations = {}
    corpora = []
    for corpus in ("python-stdlib", "kjv"):
        name = f"{corpus}-demo" if quick else corpus
        folder = new_folder("datasets", name)
        if (folder / "dataset.json").exists():
            info = open_dataset(folder)
        else:
            source = DatasetSource(kind="builtin", builtin=corpus, name=name, max_documents=limit)
            with tqdm_progress(f"importing {corpus}", unit="doc") as progress:
                info = import_dataset(source, folder, progress)
        tok_folder = new_folder("tokenizations", f"{name}-{summary.name}-{max_length}")
        if (tok_folder / "meta.json").exists():
            tok = Tokenization.open(tok_folder)
        else:
            tok_config = TokenizeConfig(max_length=max_length, stride=max_length // 2)
            with tqdm_progress(f"tokenizing {corpus}", unit="doc") as progress:
                tok = tokenize_dataset(folder, loaded.tokenizer, tok_config, tok_folder, progress)
        tokenizations[corpus] = tok
        corpora.append(CorpusArtifacts(name, corpus, info, folder, tok))
        typer.echo(
            f"{corpus}: {info.n_documents:,} documents -> {tok.meta.n_tokens:,} tokens in "
            f"{len(tok):,} sequences of {max_length}"
        )

    _stage("Activations")
    hooks = [f"blocks.{layer}.hook_resid_post" for layer in DEMO_LAYERS]
    tok = tokenizations["python-stdlib"]
    config = ActivationStreamConfig(hook_points=hooks, batch_size=8, max_tokens=stream_tokens)
    t0 = time.perf_counter()
    n = 0
    norms = dict.fromkeys(hooks, 0.0)
    with tqdm_progress("streaming layers 2, 6, 10", unit="tok", unit_scale=True) as progress:
        for batch in stream_activations(loaded, tok, config, progress):
            n += batch.n_tokens
            for hook in hooks:
                norms[hook] += float(batch.flat(hook).norm(dim=-1).sum())
    seconds = time.perf_counter() - t0
    typer.echo(
        f"{n:,} tokens x 3 hook points in one pass, stopped after layer 10: "
        f"{n / seconds:,.0f} tokens/s"
    )
    for hook in hooks:
        typer.echo(f"  {hook}: mean activation norm {norms[hook] / max(n, 1):.2f}")
    cache_dir = new_folder("activations", f"demo-{'quick-' if quick else ''}layer6")
    cache_config = ActivationStreamConfig(
        hook_points=["blocks.6.hook_resid_post"],
        batch_size=8,
        max_tokens=min(stream_tokens, 20_000),
    )
    with tqdm_progress("caching layer 6", unit="tok", unit_scale=True) as progress:
        manifest = cache_activations(loaded, tok, cache_config, cache_dir, progress=progress)
    typer.echo(
        f"cached {manifest.n_tokens:,} tokens of layer 6 in {len(manifest.shards)} shard(s) "
        f"-> {cache_dir}"
    )

    _stage("Training")
    run_config, result = _train(loaded, tok, train_tokens, d_sae, quick)

    _stage("Features")
    extraction_config, extractions = _extract(loaded, tok, result, extract_tokens, quick)
    if register:
        _stage("Studio")
        _register(loaded, model, corpora, run_config, result, extraction_config, extractions)
    _stage("Done")


def _train(loaded: Any, tok: Any, train_tokens: int, d_sae: int, quick: bool) -> Any:
    """A topk and a standard SAE on layer 6, and topk SAEs on layers 2 and 10: one LM pass."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.pipeline import TrainingRunConfig, run_training
    from mistudio.core.sae.base import SAEConfig
    from mistudio.core.training import SAETrainConfig, TrainConfig

    d_in = loaded.architecture().d_model
    batch_tokens = 1024 if quick else 4096
    saes = [
        SAETrainConfig(
            name=f"layer{layer}-topk",
            hook_name=f"blocks.{layer}.hook_resid_post",
            sae=SAEConfig(architecture="topk", d_in=d_in, d_sae=d_sae, k=32),
            lr=1e-3,
        )
        for layer in DEMO_LAYERS
    ]
    saes.append(
        SAETrainConfig(
            name="layer6-standard",
            hook_name="blocks.6.hook_resid_post",
            sae=SAEConfig(architecture="standard", d_in=d_in, d_sae=d_sae),
            # Auto sparsity needs a few hundred steps to settle; quick runs fix the coefficient.
            target_l0=None if quick else 32,
            sparsity_coefficient=1.0,
            lr=1e-3,
        )
    )
    config = TrainingRunConfig(
        model=loaded.name,
        tokenization=str(tok.folder),
        buffer_tokens=4 * batch_tokens if quick else 65_536,
        eval_sequences=4 if quick else 16,
        train=TrainConfig(
            saes=saes, total_tokens=train_tokens, batch_tokens=batch_tokens, log_every=5
        ),
    )
    # Keyed by the config, so a finished run is reused and a changed config starts afresh.
    digest = hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:10]
    run_dir = new_folder("trainings", f"demo-{'quick-' if quick else ''}{digest}")
    steps = config.train.total_steps
    with tqdm_progress(f"training 4 SAEs on layers 2, 6, 10 ({steps} steps)", unit="step") as bar:

        def progress(step: float, total: float | None, /, **metrics: Any) -> None:
            if metrics.get("sae") == "layer6-topk":
                bar(step, total, l0=metrics.get("l0"), fvu=metrics.get("fvu"))

        result = run_training(config, run_dir, progress, loaded=loaded)
    for name, sae in result.saes.items():
        summary = {"sparsity_coefficient": sae.sparsity_coefficient, **sae.evals}
        typer.echo(f"  {name:<16} {format_evals(summary)}")
        for warning in sae.warnings:
            typer.secho(f"  {'':<16} warning: {warning}", fg=typer.colors.YELLOW)
    typer.echo(f"SAEs in SAELens format under {run_dir / 'saes'}")
    return config, result


def _extract(
    loaded: Any, tok: Any, result: Any, n_tokens: int, quick: bool
) -> tuple[Any, dict[str, Any]]:
    """Extract the layer-6 SAEs' features in one LM pass; show frequent and selective latents."""
    # deferred: the science stack loads when a command runs, not for `mistudio --help`
    import numpy as np

    from mistudio.core.features import ExtractionConfig, ExtractionTarget, extract_features
    from mistudio.core.sae import load_sae

    names = ["layer6-topk", "layer6-standard"]
    targets = [
        ExtractionTarget(
            load_sae(result.saes[n].folder, device=loaded.device), None, result.saes[n].folder
        )
        for n in names
    ]
    base = new_folder("extractions", f"demo-{'quick-' if quick else ''}{n_tokens}")
    dests = [base / n for n in names]
    config = ExtractionConfig(n_tokens=n_tokens, top_k=20 if quick else 100)
    with tqdm_progress(
        f"extracting {len(names)} SAEs over {n_tokens:,} tokens", unit="tok", unit_scale=True
    ) as progress:
        extractions = extract_features(
            loaded, tok, targets, config, dests, progress, overwrite=True
        )
    for name, ex in zip(names, extractions, strict=True):
        table = ex.table()
        alive = int((table["count"] > 0).sum())
        typer.secho(
            f"\n{name}: {alive} of {len(table['count'])} latents fired "
            f"over {n_tokens:,} tokens -> {ex.folder}",
            bold=True,
        )
        frequent = np.argsort(-table["frequency"])[:5]
        # Selective: fires on enough tokens to judge, with its activation mass on few token types.
        enough = table["count"] >= (5 if quick else 50)
        proxy = np.where(enough, table["interpretability_proxy"], -1.0)
        selective = np.argsort(-proxy)[:5]
        for title, indices in (("most frequent", frequent), ("most selective", selective)):
            typer.echo(f"  {title}:")
            for i in indices:
                _show_latent(ex, int(i), loaded.tokenizer, _highlight)
    return config, dict(zip(names, extractions, strict=True))


def _register(
    loaded: Any,
    model: str,
    corpora: list[Any],
    run_config: Any,
    result: Any,
    extraction_config: Any,
    extractions: dict[str, Any],
) -> None:
    """Rows for everything the demo made, so `mistudio serve` opens it like its own work."""
    # deferred: SQLAlchemy and the store load only for commands that use the database
    from mistudio.store import init_db, session_scope
    from mistudio.store.artifact_rows import ExtractionArtifacts, register_cli_pipeline
    from mistudio.store.builtins import register_builtins

    init_db()
    with session_scope() as session:
        register_builtins(session)
    with tqdm_progress("indexing features for the studio", unit="feature") as progress:
        done = register_cli_pipeline(
            loaded,
            model,
            corpora,
            corpora[0].name,  # the training and extraction read the first corpus (stdlib)
            run_config,
            result,
            [ExtractionArtifacts(n, ex, extraction_config) for n, ex in extractions.items()],
            progress,
        )
    typer.echo(
        f"registered in the studio database: model {done.model_id}, datasets "
        f"{done.dataset_ids}, tokenizations {done.tokenization_ids}, training "
        f"{done.training_id}, SAEs {sorted(done.sae_ids.values())}, extractions "
        f"{sorted(done.extraction_ids.values())}; `mistudio serve` opens them (Features, "
        "Labeling and Steering panels)"
    )


def _show_latent(ex: Any, index: int, tokenizer: Any, highlight: Any) -> None:
    stats = ex.stats(index, tokenizer)
    typer.echo(
        f"    #{index:<5} freq {stats.frequency:.4f}  max {stats.max_act:.2f}  "
        f"proxy {stats.interpretability_proxy:.2f}  top tokens: "
        + ", ".join(repr(t) for t in stats.top_tokens[:5])
    )
    for example in ex.examples(index, tokenizer, limit=2):
        assert example.tokens is not None
        text = highlight(example.tokens, example.acts, example.center, stats.max_act)
        typer.echo(f"        {example.value:6.2f}  {text}")
