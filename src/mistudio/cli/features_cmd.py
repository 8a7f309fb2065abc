"""``mistudio extract`` and ``mistudio feature``: feature extraction and one latent's page.

``extract`` runs one LM pass over the evaluation tokens for all given SAEs (they must share the
model) and writes one extraction folder per SAE (``--out`` itself for a single SAE, else
``--out/<sae name>``). ``feature`` prints a latent's statistics, top examples with the
activating tokens highlighted, its logit lens and correlated latents; with ``--ablate`` it also
loads the model and SAE and measures what removing the latent does on its top examples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mistudio.cli import app
from mistudio.cli.config_options import CONFIG_HELP, config_from, field_help
from mistudio.cli.workspace import existing, new_folder, slug
from mistudio.errors import InvalidInputError

EXTRACT_OPTIONS = {
    "tokens": "n_tokens",
    "top_k": "top_k",
    "context": "context_before",
    "after": "context_after",
    "batch_size": "batch_size",
    "samples": "n_samples",
    "random_contexts": "n_random_contexts",
    "coactivation_tokens": "coactivation_tokens",
    "min_document_tokens": "min_document_tokens",
    "float16": "acts_dtype",
}
"""``extract`` option -> :class:`~mistudio.core.features.ExtractionConfig` field."""


@app.command("extract")
def extract(
    ctx: typer.Context,
    sae: list[str] = typer.Option(..., "--sae", help="SAE folder or name (repeatable)"),
    tokenization: str = typer.Option(
        ..., "--tokenization", "-t", help="Tokenization name or folder"
    ),
    tokens: int = typer.Option(
        100_000, "--tokens", min=1, help=field_help("ExtractionConfig", "n_tokens")
    ),
    top_k: int = typer.Option(100, "--top-k", min=1, help=field_help("ExtractionConfig", "top_k")),
    context: int = typer.Option(
        32, "--context", min=0, help=field_help("ExtractionConfig", "context_before")
    ),
    after: int = typer.Option(
        8, "--after", min=0, help=field_help("ExtractionConfig", "context_after")
    ),
    model: str = typer.Option("smollm2-135m", help="Model source"),
    hook: str | None = typer.Option(None, help="Hook point (single SAE without hook_name)"),
    out: Path | None = typer.Option(None, "--out", help="Output folder"),
    batch_size: int = typer.Option(8, min=1, help=field_help("ExtractionConfig", "batch_size")),
    samples: int = typer.Option(40, min=0, help=field_help("ExtractionConfig", "n_samples")),
    random_contexts: int = typer.Option(
        200, min=0, help=field_help("ExtractionConfig", "n_random_contexts")
    ),
    coactivation_tokens: int = typer.Option(
        65_536, min=0, help=field_help("ExtractionConfig", "coactivation_tokens")
    ),
    min_document_tokens: int = typer.Option(
        0, min=0, help=field_help("ExtractionConfig", "min_document_tokens")
    ),
    float16: bool = typer.Option(False, help="Store example activations as float16"),
    overwrite: bool = typer.Option(False, help="Replace an existing extraction"),
    config_file: Path | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
) -> None:
    """Extract per-latent statistics, examples, logit lens and correlations of SAE(s)."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.data import Tokenization
    from mistudio.core.features import ExtractionConfig, ExtractionTarget, extract_features
    from mistudio.core.language_models import load_model
    from mistudio.core.progress import tqdm_progress
    from mistudio.core.sae import load_sae

    if hook is not None and len(sae) > 1:
        raise InvalidInputError("--hook applies to a single --sae; multiple SAEs need hook_name")
    folders = [existing("saes", s, "cfg.json") for s in sae]
    tok = Tokenization.open(existing("tokenizations", tokenization, "meta.json"))
    values = dict(locals())
    values["float16"] = "float16" if float16 else "float32"
    config = config_from(ExtractionConfig, ctx, config_file, EXTRACT_OPTIONS, values)
    loaded = load_model(model)
    targets = [ExtractionTarget(load_sae(f, device=loaded.device), hook, f) for f in folders]
    base = out or new_folder(
        "extractions", f"{tok.folder.name}-{folders[0].name if len(folders) == 1 else 'multi'}"
    )
    dests = [base] if len(folders) == 1 else [base / slug(f.name) for f in folders]
    (base if len(folders) > 1 else base.parent).mkdir(parents=True, exist_ok=True)
    with tqdm_progress("extracting", unit="tok", unit_scale=True) as progress:
        results = extract_features(
            loaded, tok, targets, config, dests, progress, overwrite=overwrite
        )
    for result in results:
        m = result.meta
        table = result.table()
        dead = int((table["count"] == 0).sum())
        typer.echo(
            f"{m.d_sae:,} latents of {m.hook_name}: {m.n_tokens:,} tokens in {m.seconds:.1f} s, "
            f"{dead:,} dead -> {result.folder}"
        )


def _highlight(tokens: list[str], acts: list[float], center: int, top: float) -> str:
    """The window with active tokens bold (green above half of the latent's max)."""
    parts = []
    for j, (text, act) in enumerate(zip(tokens, acts, strict=True)):
        text = text.replace("\n", "\u23ce")
        if act > 0:
            colour = typer.colors.GREEN if act >= 0.5 * top else typer.colors.YELLOW
            parts.append(typer.style(text, fg=colour, bold=True, underline=j == center))
        else:
            parts.append(text)
    return "".join(parts)


@app.command("feature")
def feature(
    extraction: str = typer.Argument(..., help="Extraction folder or name"),
    index: int = typer.Argument(..., help="Latent index"),
    examples: int = typer.Option(10, min=0, help="Top examples to show"),
    ablate: bool = typer.Option(False, help="Also ablate the latent on its top examples"),
    prompt: str | None = typer.Option(None, help="Greedy completion with/without the latent"),
) -> None:
    """Show one latent: statistics, top examples, logit lens, correlated latents."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.features import ExtractionResult

    result = ExtractionResult.open(existing("extractions", extraction, "extraction.json"))
    tokenizer = result.tokenizer()
    stats = result.stats(index, tokenizer)
    m = result.meta
    typer.secho(f"latent {index} of {m.hook_name} ({m.model_name})", bold=True)
    typer.echo(
        f"  fires on {stats.count:,} of {m.n_tokens:,} tokens (frequency {stats.frequency:.3g}); "
        f"max {stats.max_act:.4g}, mean when active {stats.mean_act:.4g}; "
        f"interpretability proxy {stats.interpretability_proxy:.2f}"
    )
    if stats.top_tokens:
        tops = ", ".join(
            f"{t!r} x{c} ({w:.0%})"
            for t, c, w in zip(
                stats.top_tokens, stats.top_token_counts, stats.top_token_mass, strict=True
            )
        )
        typer.echo(f"  activating tokens: {tops}")
    hist = result.histogram(index)
    typer.echo(
        f"  histogram: {_sparkline(hist.counts)}  ({hist.edges[0]:.0e}..{hist.edges[-1]:.0e}, log)"
    )
    typer.secho("\ntop examples", bold=True)
    for ex in result.examples(index, tokenizer, limit=examples):
        assert ex.tokens is not None
        typer.echo(f"  {ex.value:8.4g}  {_highlight(ex.tokens, ex.acts, ex.center, stats.max_act)}")
    lens = result.logit_lens(index, tokenizer)
    typer.secho("\nlogit lens", bold=True)
    typer.echo("  promotes:   " + _logits(lens.positive_text, lens.positive))
    typer.echo("  suppresses: " + _logits(lens.negative_text, lens.negative))
    corr = result.correlated(index)
    typer.secho("\ncorrelated latents", bold=True)
    typer.echo("  pearson: " + (", ".join(f"{j} {v:.2f}" for j, v in corr.pearson) or "none"))
    typer.echo("  jaccard: " + (", ".join(f"{j} {v:.2f}" for j, v in corr.jaccard) or "none"))
    typer.echo("  decoder cosine: " + ", ".join(f"{j} {v:.2f}" for j, v in corr.decoder))
    if ablate or prompt:
        _ablation(result, index, prompt)


def _logits(texts: list[str], pairs: list[tuple[int, float]]) -> str:
    return ", ".join(f"{t!r} {v:+.3g}" for t, (_, v) in zip(texts[:10], pairs[:10], strict=True))


def _sparkline(counts: Any) -> str:
    blocks = " \u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"
    nz = [i for i, c in enumerate(counts) if c]
    if not nz:
        return "(never fired)"
    span = counts[nz[0] : nz[-1] + 1]
    top = max(span)
    return "".join(blocks[min(8, int(round(8 * c / top)))] if c else " " for c in span)


def _ablation(result: Any, index: int, prompt: str | None) -> None:
    # deferred: torch takes seconds to import; only this command needs it
    import torch

    from mistudio.core.data import Tokenization
    from mistudio.core.features import ablate_latent, compare_completions
    from mistudio.core.language_models import load_model
    from mistudio.core.sae import load_sae

    m = result.meta
    if m.sae_folder is None:
        raise InvalidInputError("this extraction records no SAE folder; cannot ablate")
    loaded = load_model(m.model_path)
    sae = load_sae(m.sae_folder, device=loaded.device)
    hook = m.hook_name
    typer.secho("\nablation", bold=True)
    locations = result.array("top_locations")[index]
    seqs = sorted({int(s) for s, _ in locations if s >= 0})[:16]
    if seqs:
        rows = Tokenization.open(m.tokenization_folder).get_rows(seqs)
        ab = ablate_latent(
            loaded,
            sae,
            index,
            torch.from_numpy(rows.input_ids),
            torch.from_numpy(rows.attention_mask),
            hook=hook,
        )
        typer.echo(
            f"  on {len(seqs)} top-example sequences ({ab.n_tokens:,} tokens): loss "
            f"{ab.loss_clean:.4f} -> {ab.loss_ablated:.4f} ({ab.delta_loss:+.4f}); perplexity "
            f"{ab.perplexity_clean:.2f} -> {ab.perplexity_ablated:.2f}"
        )
        typer.echo(
            "  less likely: "
            + ", ".join(f"{s.text!r} {s.delta:+.2e}" for s in ab.most_decreased[:8])
        )
        typer.echo(
            "  more likely: "
            + ", ".join(f"{s.text!r} {s.delta:+.2e}" for s in ab.most_increased[:8])
        )
    if prompt:
        cmp = compare_completions(loaded, sae, index, prompt, hook=hook)
        typer.echo(f"  clean:   {prompt}{cmp.clean}")
        typer.echo(f"  ablated: {prompt}{cmp.ablated}")
