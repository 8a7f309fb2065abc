"""``mistudio saes``: import SAEs (Hub, SAELens releases, local folders), find them, export them.

Headless like the other commands: ``saes add`` writes the SAE as a SAELens folder under
``MISTUDIO_HOME/artifacts/saes/<name>`` (what ``mistudio extract`` and ``steer`` take by name),
after the same checks the studio makes before its import job; ``saes export`` writes any SAE
(a studio row by id or name, a named folder, a path) as a SAELens folder or ``.zip``.
``saes registry update`` regenerates the SAELens release registry shipped in the package from an
installed sae-lens (or a ``pretrained_saes.yaml`` given with ``--from``).

Core is imported inside the commands: it pulls torch in, and ``mistudio --help`` must stay fast.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mistudio.cli import app
from mistudio.cli.config_options import (
    CONFIG_HELP,
    argument_or_file,
    config_from,
    field_help,
    option_fields,
)
from mistudio.cli.workspace import existing, new_folder
from mistudio.errors import InvalidInputError, NotFoundError
from mistudio.settings import get_settings

saes_app = typer.Typer(help="Import, find and export SAEs.", no_args_is_help=True)
registry_app = typer.Typer(help="SAELens' release registry.", no_args_is_help=True)
app.add_typer(saes_app, name="saes")
saes_app.add_typer(registry_app, name="registry")

SAE_ADD_OPTIONS = option_fields("source", "revision", "format", allow_pattern="allow_patterns")
"""``saes add`` options -> :class:`SAEImportConfig` fields (a test checks them)."""


def _help(field: str) -> str:
    return field_help("SAEImportConfig", field)


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


@saes_app.command("add")
def add(
    ctx: typer.Context,
    source: str | None = typer.Argument(None, help=_help("source")),
    revision: str | None = typer.Option(None, help=_help("revision")),
    allow_pattern: list[str] | None = typer.Option(
        None, "--allow-pattern", help=_help("allow_patterns")
    ),
    format: str | None = typer.Option(None, "--format", help=_help("format")),  # noqa: A002
    token: str | None = typer.Option(
        None, envvar="HF_TOKEN", help="Hub token (gated/private repos); never stored"
    ),
    name: str | None = typer.Option(None, help="Folder name under artifacts/saes"),
    config_file: Path | None = typer.Option(None, "--config", "-c", help=CONFIG_HELP),
) -> None:
    """Import an SAE: Hub repo[/folder], SAELens release/sae_id, or a local path."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.progress import tqdm_progress
    from mistudio.core.sae import save_sae
    from mistudio.core.sae_import import (
        SAEImportConfig,
        fetch_planned,
        is_local,
        plan_for,
        read_planned,
    )

    options = argument_or_file(SAE_ADD_OPTIONS, "source", source, config_file, "an SAE SOURCE")
    values: dict[str, Any] = {
        "source": source,
        "revision": revision,
        "allow_pattern": list(allow_pattern) if allow_pattern else None,
        "format": format,
    }
    config = config_from(SAEImportConfig, ctx, config_file, options, values)
    if not is_local(config.source) and Path(config.source).exists():
        # On the command line an existing relative path (``runs/sae``) is that folder, not a
        # Hub repo of that name; the studio, which has no working directory, keeps the rule.
        config = config.model_copy(update={"source": str(Path(config.source).resolve())})
    cache = get_settings().cache_dir / "hub"
    plan = plan_for(config, token, cache)
    if plan.kind != "local":
        typer.echo(
            f"{plan.origin} at {str(plan.revision)[:7]}: {plan.format}, {plan.n_files} files, "
            f"{_size(plan.total_bytes)}"
        )
    with tqdm_progress("downloading", unit="B", unit_scale=True) as progress:
        folder = fetch_planned(plan, token, cache, progress)
    imported = read_planned(plan, folder)
    label = name or plan.release or (Path(plan.folder).name if plan.kind == "local" else "")
    dest = new_folder("saes", label or plan.origin.replace("/", "-"))
    metadata = {
        "hook_name": imported.hook_name or plan.facts.get("hook_name"),
        "hf_hook_name": imported.hf_hook_name,
        "hook_name_out": imported.hook_name_out,
        "hf_hook_name_out": imported.hf_hook_name_out,
        "model_name": imported.model_name or plan.facts.get("model_name"),
        "mistudio_origin": {
            "kind": plan.kind,
            "source": plan.source,
            "format": imported.format,
            "repo": plan.repo_id,
            "revision": plan.revision,
            "path": plan.folder,
            "release": plan.release,
            "files": imported.files,
        },
    }
    save_sae(imported.sae, dest, {k: v for k, v in metadata.items() if v is not None})
    sae = imported.sae
    typer.echo(
        f"{dest.name}: {imported.format} -> {sae.architecture}, d_in {sae.d_in}, d_sae "
        f"{sae.d_sae}, hook {metadata['hook_name'] or 'unknown'}, model "
        f"{metadata['model_name'] or 'unknown'}; saved to {dest}"
    )


def sae_folder(id_or_name: str) -> Path:
    """A studio SAE row (by id or name), a named folder under artifacts/saes, or a path."""
    # deferred: the store imports SQLAlchemy; only this command needs it
    from sqlalchemy import select

    from mistudio.store import SAERow, init_db, session_scope

    path = Path(id_or_name).expanduser()
    if path.exists():
        return path
    try:
        return existing("saes", id_or_name, "cfg.json")
    except NotFoundError as exc:
        init_db()
        with session_scope() as session:
            if id_or_name.isdigit():
                row = session.get(SAERow, int(id_or_name))
            else:
                row = session.scalars(select(SAERow).where(SAERow.name == id_or_name)).first()
            if row is None or not row.path:
                raise NotFoundError(
                    f"no SAE {id_or_name!r}: not a path, a folder under artifacts/saes or a "
                    "studio SAE (by id or name)"
                ) from exc
            return Path(row.path)


@saes_app.command("export")
def export(
    id_or_name: str = typer.Argument(
        ..., help="Studio SAE id or name, artifacts/saes name, or path"
    ),
    dest: Path = typer.Argument(..., help="Folder to write, or a file ending in .zip"),
) -> None:
    """Write an SAE (trained or imported) as a SAELens folder or .zip."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    import shutil
    import tempfile

    from mistudio.core.sae_export import export_members, write_saelens_folder, write_zip

    folder = sae_folder(id_or_name)
    if dest.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory(prefix="mistudio-export-") as tmp:
            out = write_saelens_folder(folder, Path(tmp) / dest.stem)
            write_zip(export_members(out, f"{dest.stem}/"), dest)
    else:
        if dest.exists() and any(dest.iterdir()):
            raise InvalidInputError(f"{dest} exists and is not empty")
        try:
            write_saelens_folder(folder, dest)
        except Exception:
            shutil.rmtree(dest, ignore_errors=True)
            raise
    typer.echo(f"wrote {dest} (SAELens folder of {folder})")


@saes_app.command("browse")
def browse_cmd(
    source: str = typer.Argument(..., help="Hub repo[/folder] or SAELens release"),
    revision: str | None = typer.Option(None, help="Hub branch, tag or commit"),
    token: str | None = typer.Option(None, envvar="HF_TOKEN", help="Hub token"),
    limit: int = typer.Option(100, min=1, max=500, help="SAEs listed"),
) -> None:
    """List the SAEs of a Hub repo or release (folder, format, hook, width, L0, size)."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.sae_import import browse

    found = browse(
        source,
        revision=revision,
        token=token,
        limit=limit,
        cache_dir=get_settings().cache_dir / "hub",
    )
    typer.echo(f"{found.repo_id} at {found.sha[:7]}: {found.total} SAEs")
    for e in found.entries:
        l0 = f"{e.l0:g}" if isinstance(e.l0, float) else (e.l0 or "-")
        typer.echo(
            f"  {e.path or '.':<48} {e.format or '?':<20} {e.hook_name or '-':<28} "
            f"{e.d_sae or '-':>8} L0 {l0:<6} {_size(e.size_bytes):>9}"
        )


@saes_app.command("search")
def search_cmd(
    text: str = typer.Argument("", help="Text in the repo id or release name"),
    library: str = typer.Option("saelens", help="Library tag (empty: any repo)"),
    limit: int = typer.Option(20, min=1, max=100, help="Results of each kind"),
) -> None:
    """Search the Hub for SAE repos (by library tag and text) and SAELens releases."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.sae_import import release_registry, search_repos

    for repo in search_repos(text, library or None, limit):
        typer.echo(f"repo     {repo.repo_id:<60} {repo.downloads:>10,} downloads")
    registry = release_registry()
    for release in registry.search(text, limit):
        typer.echo(f"release  {release.name:<60} {release.n_saes:>6} SAEs  {release.repo_id}")


@registry_app.command("update")
def registry_update(
    source: Path | None = typer.Option(
        None, "--from", help="pretrained_saes.yaml to read (default: the installed sae-lens')"
    ),
    sae_lens_version: str | None = typer.Option(
        None, help="sae-lens version of that file, when it cannot be read beside it"
    ),
    dest: Path | None = typer.Option(None, help="Where to write (default: the package's copy)"),
) -> None:
    """Regenerate the SAELens release registry shipped with miStudio."""
    # deferred: core imports torch (seconds); `mistudio --help` must not pay for it
    from mistudio.core.sae_import.releases import SHIPPED_REGISTRY, write_registry

    written = write_registry(source, dest or SHIPPED_REGISTRY, sae_lens_version)
    dropped = f"; dropped {', '.join(written.dropped)}" if written.dropped else ""
    typer.echo(
        f"wrote {written.path}: {written.n_releases} releases, {written.n_saes} SAEs, "
        f"{written.size_bytes / 1024:.0f} KB, from sae-lens "
        f"{written.sae_lens_version or 'unknown'}{dropped}"
    )


__all__ = ["SAE_ADD_OPTIONS", "saes_app"]
