"""``mistudio eval``: the lab's evaluations of one SAE, headless (:mod:`mistudio.core.lab`).

The same :class:`~mistudio.core.lab.EvalConfig` the API's ``POST /saes/{id}/evals`` takes:
core metrics on the last ``--sequences`` sequences of ``--tokenization`` (held out: training
keeps them out of its batches), first-letter absorption, sparse probing on the built-in corpora;
each metric printed with its 95% bootstrap interval, and written as CSV or JSON with ``--out``.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import typer

from mistudio.cli import app
from mistudio.cli.config_options import CONFIG_HELP, config_from, field_help
from mistudio.cli.workspace import existing
from mistudio.errors import InvalidInputError

EVAL_OPTIONS = {
    "metrics": "metrics",
    "sequences": "n_sequences",
    "batch_size": "batch_size",
    "resamples": "n_resamples",
    "seed": "seed",
    "splice": "splice",
}
"""``eval`` option -> :class:`~mistudio.core.lab.EvalConfig` field."""


@app.command("eval")
def eval_sae(
    ctx: typer.Context,
    sae: str = typer.Argument(..., help="SAE folder or name"),
    tokenization: str | None = typer.Option(
        None, "--tokenization", "-t", help="Tokenization name or folder (core metrics)"
    ),
    metrics: str = typer.Option(
        "core,absorption,probing",
        help="Comma-separated metric groups: core, absorption, probing",
    ),
    model: str = typer.Option("smollm2-135m", help="Model source"),
    hook: str | None = typer.Option(None, help="Hook point (an SAE without hook_name)"),
    sequences: int = typer.Option(32, min=2, help=field_help("EvalConfig", "n_sequences")),
    batch_size: int = typer.Option(8, min=1, help=field_help("EvalConfig", "batch_size")),
    resamples: int = typer.Option(200, min=0, help=field_help("EvalConfig", "n_resamples")),
    seed: int = typer.Option(0, help=field_help("EvalConfig", "seed")),
    splice: bool = typer.Option(True, help=field_help("EvalConfig", "splice")),
    out: Path | None = typer.Option(None, "--out", help="Write the metrics to a .csv or .json"),
    config_file: Path | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
) -> None:
    """Evaluate an SAE: core metrics, absorption, sparse probing, with bootstrap intervals."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.data import Tokenization
    from mistudio.core.lab import EvalConfig, run_evals
    from mistudio.core.lab.evals_run import report_rows
    from mistudio.core.language_models import load_model
    from mistudio.core.progress import tqdm_progress
    from mistudio.core.sae import load_sae

    if out is not None and out.suffix not in (".csv", ".json"):
        raise InvalidInputError(f"--out must end in .csv or .json, not {out.name!r}")
    folder = existing("saes", sae, "cfg.json")
    values = dict(locals())
    values["metrics"] = [m.strip() for m in metrics.split(",") if m.strip()]
    config = config_from(EvalConfig, ctx, config_file, EVAL_OPTIONS, values)
    if "labels" in config.metrics:
        raise InvalidInputError("the label summary reads the studio's labels: use the API")
    if "core" in config.metrics and tokenization is None:
        raise InvalidInputError("core metrics need --tokenization (held-out text)")
    tok = (
        Tokenization.open(existing("tokenizations", tokenization, "meta.json"))
        if tokenization
        else None
    )
    loaded = load_model(model)
    sae_model = load_sae(folder, device=loaded.device)
    cfg = json.loads((folder / "cfg.json").read_text())
    hook_name = hook or (cfg.get("metadata") or {}).get("hook_name") or cfg.get("hook_name")
    if not hook_name:
        raise InvalidInputError(f"{folder} has no hook_name: pass --hook")
    with tqdm_progress("evaluating") as progress:
        report = run_evals(loaded, sae_model, hook_name, config, tok, progress=progress)
    for name, m in report.metrics.items():
        span = f"  [{m.low:.4g}, {m.high:.4g}]" if m.low is not None and m.high is not None else ""
        typer.echo(f"{name:>22}  {m.value:.4g}{span}")
    for group, seconds in report.seconds.items():
        typer.echo(f"{group}: {seconds:.1f} s")
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        if out.suffix == ".json":
            out.write_text(json.dumps(report.model_dump(mode="json"), indent=1))
        else:
            with out.open("w", newline="") as f:
                writer = csv.DictWriter(f, fieldnames=["metric", "value", "low", "high"])
                writer.writeheader()
                writer.writerows(report_rows(report))
        typer.echo(f"-> {out}")
