"""``mistudio steer``: generate with SAE feature interventions beside the unsteered baseline.

``--feature``, ``--strength``, ``--sae`` and ``--extraction`` repeat: one value applies to every
feature, or give one per feature. One strength prints baseline and steered in two columns; a
``--sweep`` prints the baseline then one row per strength. Each steered continuation is
followed by its metrics (KL to the baseline distributions, perplexity under the unsteered
model, similarity to the baseline text, and how often the steered features fire in the text
itself). ``--json`` prints the whole run as JSON instead and
``--out`` saves it.

``--prompt-template "Write about {topic}."`` with ``--value topic=cats --value topic=tides`` runs
one prompt per value (after any ``--prompt``); several variables run every combination, or pair
their i-th values with ``--combine zip``.

``--config FILE`` reads a :class:`~mistudio.core.steering.SteeringConfig` (YAML or JSON; each
intervention's ``sae`` is a folder or name); the options typed beside it override its fields,
and ``--feature`` options, when given, replace its interventions.
"""

from __future__ import annotations

import math
import shutil
import textwrap
from pathlib import Path
from typing import Any, TypeVar

import typer

from mistudio.cli import app
from mistudio.cli.config_options import CONFIG_HELP, config_from, field_help
from mistudio.cli.workspace import existing
from mistudio.errors import InvalidInputError

T = TypeVar("T")

STEER_OPTIONS = {
    "prompt": "prompts",
    "sweep": "strengths",
    "similarity": "similarity",
    "any_model": "check_model_name",
    "max_tokens": "generation.max_new_tokens",
    "temperature": "generation.temperature",
    "top_p": "generation.top_p",
    "seed": "generation.seed",
    "chat": "generation.chat_template",
    "prompt_template": "prompt_template",
}
"""``steer`` option -> :class:`~mistudio.core.steering.SteeringConfig` field (dotted: nested);
the interventions come from the repeated ``--sae``/``--feature``/``--strength`` options."""

_GEN_DEFAULTS: dict[str, Any] = {}


def _gen_default(name: str) -> Any:
    """Defaults shared with :class:`GenerationConfig`, so the CLI and the API agree."""
    if not _GEN_DEFAULTS:
        # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
        from mistudio.core.steering import GenerationConfig

        _GEN_DEFAULTS.update({k: f.default for k, f in GenerationConfig.model_fields.items()})
    return _GEN_DEFAULTS[name]


def _per_feature(values: list[T], n: int, flag: str) -> list[T]:
    """One value for every feature, or exactly one per feature."""
    if len(values) == 1:
        return values * n
    if len(values) != n:
        raise InvalidInputError(f"give one {flag} for all features or one per feature ({n})")
    return values


def _parse_sweep(text: str) -> list[float]:
    try:
        return [float(v) for v in text.replace(" ", "").split(",") if v]
    except ValueError:
        raise InvalidInputError(
            f"--sweep takes comma-separated numbers, e.g. 0,2,4,8 (got {text!r})"
        ) from None


def _prompt_template(text: str | None, values: list[str], combine: str) -> dict[str, Any] | None:
    """The ``prompt_template`` of ``--prompt-template`` and its ``--value NAME=VALUE`` options
    (values of one name in the order given)."""
    if text is None:
        if values:
            raise InvalidInputError("--value fills a --prompt-template's variables: give one")
        return None
    variables: dict[str, list[str]] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise InvalidInputError(f"--value takes NAME=VALUE, e.g. topic=cats (got {item!r})")
        variables.setdefault(name.strip(), []).append(value)
    return {"text": text, "variables": variables, "combine": combine}


def _columns(left: tuple[str, str], right: tuple[str, str], width: int) -> list[str]:
    """Two titled, wrapped text columns side by side."""
    col = max(20, (width - 3) // 2)
    a = [left[0]] + textwrap.wrap(left[1].replace("\n", " \u23ce "), col) or [""]
    b = [right[0]] + textwrap.wrap(right[1].replace("\n", " \u23ce "), col) or [""]
    rows = max(len(a), len(b))
    a += [""] * (rows - len(a))
    b += [""] * (rows - len(b))
    return [f"{x:<{col}} \u2502 {y}" for x, y in zip(a, b, strict=True)]


def _metrics_line(out: Any) -> str:
    if not out.finite:
        return typer.style(f"not finite: {out.error}", fg=typer.colors.RED)
    m = out.metrics
    if m is None:
        return "no tokens generated"
    sim = "cosine" if m.similarity_method == "embedding" else "token Jaccard"

    def f(v: float) -> str:
        return f"{v:.3g}" if math.isfinite(v) else "n/a"

    return (
        f"KL {f(m.kl_mean)} nats/token (max {f(m.kl_max)}); perplexity {f(m.perplexity)} "
        f"(baseline {f(m.baseline_perplexity)}); similarity {f(m.similarity)} ({sim}); "
        f"features fire on {_pct(m.fire_rate)} of its tokens "
        f"(baseline {_pct(m.baseline_fire_rate)})"
    )


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%" if math.isfinite(v) else "n/a"


def _print_run(run: Any) -> None:
    width = min(max(shutil.get_terminal_size((120, 24)).columns, 60), 180)
    sweep = run.config.strengths is not None
    for iv, value in zip(run.config.interventions, run.prompts[0].steered[0].values, strict=True):
        lineage = next(s for s in run.saes if s.name == iv.sae)
        scale = f" x max act {iv.max_act:.4g}" if iv.relative and iv.max_act else ""
        if iv.mode == "suppress":
            how = "suppressed"
        elif sweep:
            how = f"{iv.mode}, strength swept{scale}"
        else:
            how = f"{iv.mode} {value:.4g}" + (f" ({iv.strength:g}{scale})" if scale else "")
        typer.echo(f"feature {iv.index} of {lineage.hook_name}: {how}, positions {iv.positions}")
    if run.similarity_note:
        typer.secho(run.similarity_note, fg=typer.colors.YELLOW)
    for result in run.prompts:
        typer.secho(f"\nprompt: {result.prompt}", bold=True)
        if not sweep:
            out = result.steered[0]
            for line in _columns(("baseline", result.baseline.text), ("steered", out.text), width):
                typer.echo(line)
            typer.echo("  " + _metrics_line(out))
            continue
        indent = 14
        wrap = max(30, width - indent)

        def block(label: str, text: str, wrap: int = wrap, indent: int = indent) -> None:
            lines = textwrap.wrap(text.replace("\n", " \u23ce "), wrap) or [""]
            typer.echo(f"{label:<{indent}}{lines[0]}")
            for line in lines[1:]:
                typer.echo(" " * indent + line)

        block("baseline", result.baseline.text)
        for out in result.steered:
            block(f"strength {out.strength:g}", out.text)
            typer.echo(" " * indent + _metrics_line(out))


@app.command("steer")
def steer_command(
    ctx: typer.Context,
    sae: list[str] = typer.Option([], "--sae", help="SAE folder or name (repeatable)"),
    feature: list[int] = typer.Option([], "--feature", "-f", help="Latent index (repeatable)"),
    prompt: list[str] = typer.Option(
        [], "--prompt", "-p", help=field_help("SteeringConfig", "prompts")
    ),
    strength: list[float] = typer.Option(
        [], "--strength", "-s", help="Added coefficient or clamped value (repeatable)"
    ),
    mode: str = typer.Option("add", help="add | clamp | suppress"),
    relative: bool = typer.Option(False, help="Strengths are multiples of the max activation"),
    extraction: list[str] = typer.Option(
        [], "--extraction", help="Extraction folder or name giving max activations (repeatable)"
    ),
    positions: str = typer.Option("all", help="all | generated (leave the prompt unsteered)"),
    sweep: str | None = typer.Option(None, help="Comma-separated strengths, e.g. 0,2,4,8,16"),
    model: str = typer.Option("smollm2-135m", help="Model source"),
    max_tokens: int = typer.Option(
        40, "--max-tokens", min=1, help=field_help("SteeringConfig", "generation.max_new_tokens")
    ),
    temperature: float | None = typer.Option(
        None, min=0.0, help=field_help("SteeringConfig", "generation.temperature")
    ),
    top_p: float | None = typer.Option(None, help=field_help("SteeringConfig", "generation.top_p")),
    seed: int = typer.Option(0, help=field_help("SteeringConfig", "generation.seed")),
    chat: bool = typer.Option(False, help=field_help("SteeringConfig", "generation.chat_template")),
    similarity: str = typer.Option("embedding", help=field_help("SteeringConfig", "similarity")),
    any_model: bool = typer.Option(False, help="Allow an SAE trained on a differently named model"),
    prompt_template: str | None = typer.Option(
        None, "--prompt-template", help=field_help("SteeringConfig", "prompt_template")
    ),
    value: list[str] = typer.Option(
        [], "--value", help="NAME=VALUE for a --prompt-template variable (repeat per value)"
    ),
    combine: str = typer.Option(
        "product", help="Several --prompt-template variables: product (every combination) | zip"
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the run as JSON"),
    out: Path | None = typer.Option(None, "--out", help="Also save the run as JSON here"),
    config_file: Path | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
) -> None:
    """Generate with feature interventions, beside the baseline, with comparison metrics."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.language_models import load_model
    from mistudio.core.progress import tqdm_progress
    from mistudio.core.sae import load_sae
    from mistudio.core.steering import SteeringConfig, check_index, steer

    if not feature and config_file is None:
        raise InvalidInputError("give --feature and --sae (or a --config file with interventions)")
    sweep_values = _parse_sweep(sweep) if sweep is not None else None
    values = {
        "prompt": prompt,
        "sweep": sweep_values,
        "similarity": similarity,
        "any_model": not any_model,
        "max_tokens": max_tokens,
        "temperature": _gen_default("temperature") if temperature is None else temperature,
        "top_p": _gen_default("top_p") if top_p is None else top_p,
        "seed": seed,
        "chat": chat,
        "prompt_template": _prompt_template(prompt_template, value, combine),
    }
    fixed = None
    if feature:
        if not strength and sweep_values is None and mode != "suppress":
            raise InvalidInputError("give --strength (or --sweep) for add and clamp")
        options = (strength, mode, relative, extraction, positions)
        interventions = _interventions(sae, feature, *options)
        fixed = {"interventions": [iv.model_dump() for iv in interventions]}
    config = config_from(SteeringConfig, ctx, config_file, STEER_OPTIONS, values, fixed)
    # A file names SAEs by folder or name; the run keys them by folder.
    interventions = [
        iv.model_copy(update={"sae": str(existing("saes", iv.sae, "cfg.json"))})
        for iv in config.interventions
    ]
    config = config.model_copy(update={"interventions": interventions})
    folders = [Path(iv.sae) for iv in interventions]
    # SAEs first: a wrong feature index fails before the model's (slow) load.
    saes = {str(f): load_sae(f) for f in dict.fromkeys(folders)}
    for iv in interventions:
        check_index(iv.sae, saes[iv.sae], iv.index)
    loaded = load_model(model)
    with tqdm_progress("steering", unit="gen") as progress:
        run = steer(loaded, config, saes, {k: k for k in saes}, progress)
    if out is not None:
        run.save(out)
    if json_out:
        typer.echo(run.to_json())
        return
    _print_run(run)
    if out is not None:
        typer.echo(f"\nsaved {out}")


def _interventions(
    sae: list[str],
    feature: list[int],
    strength: list[float],
    mode: str,
    relative: bool,
    extraction: list[str],
    positions: str,
) -> list[Any]:
    """The interventions the repeated options describe (max activations read when relative)."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.features import ExtractionResult
    from mistudio.core.steering import FeatureIntervention

    n = len(feature)
    if not sae:
        raise InvalidInputError("give --sae for the features (one for all, or one per feature)")
    folders = _per_feature([existing("saes", s, "cfg.json") for s in sae], n, "--sae")
    strengths = _per_feature(strength or [0.0], n, "--strength")
    max_acts: list[float | None] = [None] * n
    if relative:
        if not extraction:
            raise InvalidInputError("--relative needs --extraction (for the max activations)")
        ext_names = _per_feature(extraction, n, "--extraction")
        for j, (name, index) in enumerate(zip(ext_names, feature, strict=True)):
            result = ExtractionResult.open(existing("extractions", name, "extraction.json"))
            recorded = result.meta.sae_folder
            if recorded and Path(recorded).resolve() != folders[j].resolve():
                raise InvalidInputError(f"extraction {name} is of SAE {recorded}, not {folders[j]}")
            max_acts[j] = result.stats(index).max_act
    return [
        FeatureIntervention(
            sae=str(folder),
            index=index,
            mode=mode,  # type: ignore[arg-type]
            strength=s,
            relative=relative,
            max_act=max_act,
            positions=positions,  # type: ignore[arg-type]
        )
        for folder, index, s, max_act in zip(folders, feature, strengths, max_acts, strict=True)
    ]
