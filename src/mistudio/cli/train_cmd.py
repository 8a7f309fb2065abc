"""``mistudio train --config FILE``: train SAEs from a YAML/JSON :class:`TrainingRunConfig`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
import yaml
from pydantic import ValidationError

from mistudio.cli import app
from mistudio.cli.workspace import existing, new_folder
from mistudio.errors import InvalidInputError


def read_config(path: Path) -> dict[str, Any]:
    """A YAML or JSON file as a dict, with a one-line error for unreadable input."""
    if not path.exists():
        raise InvalidInputError(f"config file {path} does not exist")
    try:
        data = yaml.safe_load(path.read_text())  # YAML is a superset of JSON
    except yaml.YAMLError as exc:
        raise InvalidInputError(f"{path} is not valid YAML/JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"{path} must hold a mapping of settings")
    return data


def _progress_line(as_json: bool) -> Any:
    def progress(step: float, total: float | None, /, **metrics: Any) -> None:
        if as_json:
            return
        name = metrics.pop("sae", "")
        shown = " ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in metrics.items()
            if k in ("loss", "mse", "l0", "fvu", "dead", "lr", "tokens_per_s", "coefficient")
        )
        sys.stderr.write(f"\r[{int(step)}/{int(total or 0)}] {name} {shown}\033[K")
        sys.stderr.flush()

    return progress


@app.command("train")
def train(
    config: Path = typer.Option(..., "--config", "-c", help="YAML or JSON TrainingRunConfig"),
    out: Path | None = typer.Option(None, help="Run folder (default artifacts/trainings/NAME)"),
    name: str | None = typer.Option(None, help="Run name (default: the config file's stem)"),
    no_resume: bool = typer.Option(False, help="Start over even if the run folder has checkpoints"),
    as_json: bool = typer.Option(False, "--json", help="Print the final evals as JSON"),
    nproc: int | None = typer.Option(
        None,
        "--nproc",
        help="Data-parallel ranks for this run (torch.distributed: gloo on CPU, one GPU per "
        "rank on CUDA); overrides the config's nproc",
    ),
    devices: str | None = typer.Option(
        None,
        "--devices",
        help="One device per rank, comma-separated (cuda:0,cuda:1 or cpu,cpu); overrides the "
        "config's devices",
    ),
) -> None:
    """Train the config's SAEs (many hook points from one LM pass) and evaluate them."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.pipeline import TrainingRunConfig, run_training
    from mistudio.core.sae.base import validation_message

    data = read_config(config)
    if "tokenization" in data:
        data["tokenization"] = str(
            existing("tokenizations", str(data["tokenization"]), "meta.json")
        )
    try:
        run_config = TrainingRunConfig.model_validate(data)
    except InvalidInputError:
        raise
    except Exception as exc:  # pydantic ValidationError
        if isinstance(exc, ValidationError):
            raise InvalidInputError(f"invalid config {config}: {validation_message(exc)}") from None
        raise
    if nproc is not None or devices is not None:
        if nproc is not None and nproc < 1:
            raise InvalidInputError(f"--nproc must be >= 1, got {nproc}")
        ranks = run_config.model_dump(exclude={"nproc", "devices"}, exclude_unset=True)
        if devices is not None:
            ranks["devices"] = [d.strip() for d in devices.split(",") if d.strip()] or None
        if nproc is not None:
            ranks["nproc"] = nproc
        run_config = TrainingRunConfig.model_validate(ranks)  # contradictions: one line
    run_dir = out or new_folder("trainings", name or config.stem)
    result = run_training(run_config, run_dir, _progress_line(as_json), resume=not no_resume)
    sys.stderr.write("\n")
    summary = {
        sae_name: {
            "folder": str(r.folder),
            "sparsity_coefficient": r.sparsity_coefficient,
            "reached_l0": r.reached_l0,
            "warnings": r.warnings,
            **r.evals,
        }
        for sae_name, r in result.saes.items()
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2, default=str))
        return
    typer.echo(f"{result.steps} steps, {result.tokens_seen:,} tokens -> {run_dir}")
    for sae_name, s in summary.items():
        typer.echo(f"  {sae_name}: {format_evals(s)}")
        for warning in s["warnings"]:
            typer.secho(f"    warning: {warning}", fg=typer.colors.YELLOW)


def format_evals(summary: dict[str, Any]) -> str:
    """One line of the evals that matter: FVU, L0, dead fraction, CE-loss and KL scores."""
    held = summary.get("held_out", {})
    splice = summary.get("splice", {})
    parts = [
        f"FVU {held.get('fvu', float('nan')):.3f}",
        f"L0 {held.get('l0', summary.get('reached_l0', float('nan'))):.1f}",
        f"dead {held.get('dead_fraction', float('nan')):.1%}",
    ]
    if splice:
        parts += [f"CE score {splice['ce_loss_score']:.3f}", f"KL score {splice['kl_score']:.3f}"]
    if summary.get("sparsity_coefficient") is not None:
        parts.append(f"coef {summary['sparsity_coefficient']:.3g}")
    return ", ".join(parts)
