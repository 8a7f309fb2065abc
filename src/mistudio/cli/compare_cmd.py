"""``mistudio compare A B``: match the latents of SAE A to SAE B's by decoder cosine, headless.

A and B are what ``saes export`` takes (a studio SAE id or name, a folder under
``artifacts/saes``, or a path). Prints the share of A matched, B's coverage and the splits;
``--out pairs.csv`` or ``--out matching.json`` writes the pairs (one row per A latent) or the
whole matching, as ``GET /lab/matchings/{id}/download`` does. The same
:class:`~mistudio.core.matching.MatchingConfig` as ``POST /lab/matchings``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import typer

from mistudio.cli import app
from mistudio.cli.config_options import field_help
from mistudio.cli.saes_cmd import sae_folder
from mistudio.errors import InvalidInputError

SAE_HELP = "Studio SAE id or name, artifacts/saes name, or path"


@app.command("compare")
def compare(
    a: str = typer.Argument(..., help=f"SAE A: {SAE_HELP}"),
    b: str = typer.Argument(..., help=f"SAE B: {SAE_HELP}"),
    threshold: float = typer.Option(0.7, help=field_help("MatchingConfig", "threshold")),
    split_threshold: float = typer.Option(
        0.3, help=field_help("MatchingConfig", "split_threshold")
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Write the pairs (.csv) or the whole matching (.json)"
    ),
    splits: int = typer.Option(10, help="Splits to print (most parts first)"),
) -> None:
    """Match SAE A's latents to SAE B's by decoder cosine (share matched, splits)."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.matching import MatchingConfig, check_decoders, match_decoders
    from mistudio.core.matching_files import pairs_csv, pairs_json, read_decoder, write_matching
    from mistudio.core.progress import tqdm_progress

    if out is not None and out.suffix.lower() not in (".csv", ".json"):
        raise InvalidInputError(f"--out must end in .csv or .json, got {out.name}")
    config = MatchingConfig(threshold=threshold, split_threshold=split_threshold)
    W_a, W_b = read_decoder(sae_folder(a)), read_decoder(sae_folder(b))
    check_decoders(W_a, W_b)
    with tqdm_progress("matching", unit="block") as bar:
        result = match_decoders(W_a, W_b, config, progress=bar)
    with tempfile.TemporaryDirectory(prefix="mistudio-compare-") as tmp:
        summary = write_matching(result, tmp)
        if out is not None:
            if out.suffix.lower() == ".csv":
                out.write_text(pairs_csv(tmp))
            else:
                out.write_text(json.dumps(pairs_json(tmp)))
    typer.echo(
        f"A: {result.n_a:,} latents, B: {result.n_b:,} latents, d {result.d_in}: "
        f"{summary['matched']:,} of A matched at cosine >= {threshold} "
        f"({summary['share_matched']:.1%}), B covered {summary['share_b_covered']:.1%}, "
        f"mean best cosine {summary['mean_best_cosine']:.3f}, {len(result.splits):,} splits "
        f"({result.seconds:.1f} s)"
    )
    for s in sorted(result.splits, key=lambda s: (-len(s.parts), s.a))[:splits]:
        parts = ", ".join(f"{p} ({c:.2f})" for p, c in zip(s.parts, s.cosines, strict=True))
        typer.echo(
            f"  split: A {s.a} -> B {parts}; together {s.r2_parts:.2f}, best alone {s.r2_best:.2f}"
        )
    if out is not None:
        typer.echo(f"wrote {out}")
