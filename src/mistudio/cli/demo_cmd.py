"""``mistudio demo``: the first run, headless: the built-in model from a cold cache to labelled
features, timed stage by stage (:mod:`mistudio.core.first_run`, the same stages the studio's
"Try it on the built-in model" button runs as a job).

Each stage reuses what an earlier run left in MISTUDIO_HOME, so a second demo starts where the
first got to. The last stage registers everything in the studio database of the same
MISTUDIO_HOME (:mod:`mistudio.store.artifact_rows`), labels included, so ``mistudio serve``
opens the demo's model, corpus, training curves, SAE and labelled features as if the studio had
made them.
"""

from __future__ import annotations

import time
from typing import Any

import typer

from mistudio.cli import app
from mistudio.cli.features_cmd import _highlight
from mistudio.cli.train_cmd import format_evals
from mistudio.cli.workspace import kind_dir
from mistudio.core.progress import tqdm_progress


def _stage(title: str) -> None:
    typer.secho(f"\n== {title}", fg=typer.colors.GREEN, bold=True)


@app.command("demo")
def demo(
    model: str = typer.Option("smollm2-135m", help="Model source"),
    max_length: int = typer.Option(256, help="Sequence length of the tokenization"),
    train_tokens: int = typer.Option(200_000, help="Training tokens of the SAE"),
    extract_tokens: int = typer.Option(200_000, help="Evaluation tokens for feature extraction"),
    d_sae: int = typer.Option(2304, help="Latents of the SAE (4x SmolLM2's d_model)"),
    local_labels: int = typer.Option(
        256, min=0, help="Most frequent latents the rules leave unlabelled to label with `local`"
    ),
    full: bool = typer.Option(
        False, help="Also top-k SAEs on layers 2 and 10, a standard SAE on layer 6 and the KJV"
    ),
    quick: bool = typer.Option(False, help="Small token counts and SAE (tests)"),
    register: bool = typer.Option(
        True, help="Register what the demo made in the studio's database (`mistudio serve`)"
    ),
) -> None:
    """From the built-in model to labelled features: every stage timed, its share shown."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.first_run import (
        FirstRunConfig,
        FirstRunFolders,
        StageClock,
        cache_first_activations,
        import_corpus,
        label_first_features,
        tokenize_for_first_run,
    )
    from mistudio.core.language_models import estimate_memory, load_model
    from mistudio.settings import get_settings
    from mistudio.store.artifact_rows import CorpusArtifacts

    options: dict[str, Any] = {
        "model": model,
        "max_length": max_length,
        "full": full,
        "local_labels": local_labels,
    }
    if quick:
        config = FirstRunConfig.quick(**options)
    else:
        config = FirstRunConfig(
            **options, train_tokens=train_tokens, extract_tokens=extract_tokens, d_sae=d_sae
        )
    clock = StageClock(on_start=lambda name, _s, _e: _stage(name.capitalize()))

    with clock.stage("model"):
        t0 = time.perf_counter()
        with tqdm_progress(f"loading {model}") as progress:
            loaded = load_model(model, progress)
        summary = loaded.architecture()
        memory = estimate_memory(summary)
        typer.echo(
            f"{summary.name}: {summary.family}, {summary.n_layers} layers, d_model "
            f"{summary.d_model}, vocab {summary.vocab_size}, {summary.n_params / 1e6:.1f}M "
            f"parameters, {memory.bytes_by_format['float32'] / 2**20:.0f} MiB fp32 "
            f"(loaded in {time.perf_counter() - t0:.1f} s)"
        )
    folders = FirstRunFolders.under(get_settings().artifacts_dir, config, summary.name)
    corpora = []
    with clock.stage("dataset"):
        infos = {}
        for corpus in (config.corpus, "kjv") if full else (config.corpus,):
            with tqdm_progress(f"importing {corpus}", unit="doc") as progress:
                sub = config.model_copy(update={"corpus": corpus})
                infos[corpus] = import_corpus(sub, kind_dir("datasets") / corpus, progress)
            typer.echo(f"{corpus}: {infos[corpus].n_documents:,} documents")
    with clock.stage("tokenize"):
        toks = {}
        for corpus, info in infos.items():
            sub = config.model_copy(update={"corpus": corpus})
            dest = FirstRunFolders.under(get_settings().artifacts_dir, sub, summary.name)
            with tqdm_progress(f"tokenizing {corpus}", unit="doc") as progress:
                tok = tokenize_for_first_run(
                    sub, dest.dataset, loaded.tokenizer, dest.tokenization, progress
                )
            toks[corpus] = tok
            corpora.append(CorpusArtifacts(corpus, corpus, info, dest.dataset, tok))
            typer.echo(
                f"{corpus}: the first {tok.meta.n_tokens:,} tokens ({tok.meta.n_documents:,} "
                f"documents; the stages read {config.tokens_needed():,}) in {len(tok):,} "
                f"sequences of {config.max_length}"
            )
    tok = toks[config.corpus]
    with clock.stage("activations"):
        layers = ", ".join(str(layer) for layer in config.layers)
        with tqdm_progress(f"caching layer {layers} (one LM pass)", unit="seq") as progress:
            cache = cache_first_activations(config, loaded, tok, folders.activations, progress)
        typer.echo(
            f"{cache.n_tokens:,} tokens of layer {layers} cached (float16) -> {cache.folder}"
        )
    with clock.stage("train"):
        run_config, result = _train(config, loaded, tok, folders.training, cache)
    with clock.stage("extract"):
        extraction_config, extractions = _extract(
            config, loaded, tok, result, folders.extraction, cache
        )
    registered = None
    if register:
        with clock.stage("index"):
            registered = _register(
                loaded, model, corpora, run_config, result, extraction_config, extractions
            )
    with clock.stage("label"):
        main = extractions[config.sae_name]
        with tqdm_progress("labelling (rules, then local patterns)", unit="feat") as progress:
            passes = label_first_features(
                config, main, loaded.tokenizer, main.folder / "labels", progress
            )
        _show_labels(passes, main.d_sae)
        if registered is not None:
            # deferred: the job kit opens the studio database; only a registered demo needs it
            from mistudio.jobs.first_run_labels import record_label_passes

            record_label_passes(registered.extraction_ids[config.sae_name], passes)
            typer.echo("labels recorded in the studio database (Features and Labeling panels)")
    _stage("Done")
    typer.echo("seconds per stage (share of the run):")
    for line in clock.lines():
        typer.echo(line)


def _train(config: Any, loaded: Any, tok: Any, run_dir: Any, cache: Any) -> Any:
    """The first run's SAE(s) on the cached activations."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.first_run import train_first_sae

    what = "4 SAEs on layers 2, 6, 10" if config.full else f"a top-k SAE on layer {config.layer}"
    steps = -(-config.train_tokens // config.batch_tokens)
    with tqdm_progress(f"training {what} ({steps} steps)", unit="step") as bar:

        def progress(step: float, total: float | None, /, **metrics: Any) -> None:
            if metrics.get("sae") == config.sae_name:
                bar(step, total, l0=metrics.get("l0"), fvu=metrics.get("fvu"))

        run_config, result = train_first_sae(config, loaded, tok, run_dir, progress, cache=cache)
    for name, sae in result.saes.items():
        summary = {"sparsity_coefficient": sae.sparsity_coefficient, **sae.evals}
        typer.echo(f"  {name:<16} {format_evals(summary)}")
        for warning in sae.warnings:
            typer.secho(f"  {'':<16} warning: {warning}", fg=typer.colors.YELLOW)
    typer.echo(f"SAEs in SAELens format under {run_dir / 'saes'}")
    return run_config, result


def _extract(
    config: Any, loaded: Any, tok: Any, result: Any, base: Any, cache: Any
) -> tuple[Any, dict[str, Any]]:
    """Extract the layer's SAE(s) from the cache; show frequent and selective latents."""
    # deferred: the science stack loads when a command runs, not for `mistudio --help`
    import numpy as np

    from mistudio.core.first_run import extract_first_features

    n_tokens = config.extract_tokens
    with tqdm_progress(f"extracting over {n_tokens:,} tokens", unit="tok", unit_scale=True) as bar:
        ex_config, extractions = extract_first_features(
            config, loaded, tok, result, base, bar, cache=cache
        )
    small = config.train_tokens < 50_000
    for name, ex in extractions.items():
        table = ex.table()
        alive = int((table["count"] > 0).sum())
        typer.secho(
            f"\n{name}: {alive} of {len(table['count'])} latents fired "
            f"over {ex.meta.n_tokens:,} tokens -> {ex.folder}",
            bold=True,
        )
        frequent = np.argsort(-table["frequency"])[:3]
        # Selective: fires on enough tokens to judge, with its activation mass on few token types.
        enough = table["count"] >= (5 if small else 50)
        proxy = np.where(enough, table["interpretability_proxy"], -1.0)
        selective = np.argsort(-proxy)[:3]
        for title, indices in (("most frequent", frequent), ("most selective", selective)):
            typer.echo(f"  {title}:")
            for i in indices:
                _show_latent(ex, int(i), loaded.tokenizer, _highlight)
    return ex_config, extractions


def _show_labels(passes: Any, d_sae: int) -> None:
    rules, local = passes.rules.summary, passes.local.summary if passes.local else None
    typer.echo(f"rules: {rules.line()}")
    if local is not None:
        typer.echo(f"local (patterns) on the most frequent unlabelled: {local.line()}")
    done = passes.labelled()
    typer.secho(
        f"{len(done)} of {d_sae} latents labelled ({len(done) / max(d_sae, 1):.0%}) -> "
        f"{passes.rules.folder} and {passes.local.folder if passes.local else '-'}",
        bold=True,
    )
    labels = [*(passes.local.labels if passes.local else []), *passes.rules.labels]
    shown = [lab for lab in labels if lab.status == "labelled"][:8]
    for lab in shown:
        extra = f" score {lab.score:.2f}" if lab.score is not None else ""
        typer.echo(f"  {lab.index:>6}  {lab.label}  [{lab.method}]{extra}")


def _register(
    loaded: Any,
    model: str,
    corpora: list[Any],
    run_config: Any,
    result: Any,
    extraction_config: Any,
    extractions: dict[str, Any],
) -> Any:
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
    return done


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
