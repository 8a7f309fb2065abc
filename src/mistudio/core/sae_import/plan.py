"""Before anything large moves: what importing an SAE source will download and read.

:func:`plan_import` turns a parsed source (:mod:`mistudio.core.sae_import.sources`) into an
:class:`SAEImportPlan`, using only the repo listing and at most two small requests, so that every
mistake a person can make is refused in one line before a job is queued:

- the repo does not exist, the revision or the folder does not either (404s from the listing);
- ``allow_patterns`` match no file of the repo (the listing, filtered as ``snapshot_download``
  will filter it);
- the matched files hold no SAE of a known format, or several (detection on the listing's names,
  :func:`~mistudio.core.sae_import.browse.sae_folders`; the message is the format registry's own,
  naming the repo folder);
- the repo is gated and no token is available, or the token has no access (one HEAD request for
  one matched file: the Hub serves listings of gated repos to anyone);
- the SAE's config file (a few KB), when its format has one, gives ``d_in``, the hook and the
  model, which the caller checks against the linked model before the job runs.

The plan pins the commit the listing saw, so the job downloads exactly what was checked, and it
is the job's stored config.
"""

from __future__ import annotations

import json
import posixpath
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from mistudio.core.config import OperationConfig
from mistudio.core.formats import ImportedSAE, detect_format, read_sae, registered_formats
from mistudio.core.progress import Progress
from mistudio.core.sae_import.browse import (
    config_file,
    facts_from_config,
    facts_from_names,
)
from mistudio.core.sae_import.hub import (
    check_access,
    download_files,
    list_repo,
    matching,
    read_small_file,
)
from mistudio.core.sae_import.sources import SAESource, parse_source
from mistudio.errors import InvalidInputError, MiStudioError, NotFoundError

MAX_PATTERNS = 32
"""Most ``allow_patterns`` a request may give."""


class SAEImportConfig(OperationConfig):
    """Which SAE to import and how: what ``mistudio saes add`` and the studio's Add SAE take."""

    source: str = Field(min_length=1, max_length=4096)
    """Hub path ``org/name[/folder]``, SAELens release ``release/sae_id``, or a local folder,
    file or .zip (in the studio: under an import root)."""
    revision: str | None = Field(default=None, max_length=200)
    """Hub branch, tag or commit (default: main); not used for local paths."""
    allow_patterns: list[str] | None = Field(default=None, max_length=MAX_PATTERNS)
    """Files to download, as huggingface_hub patterns relative to the repo root, so one SAE of a
    large repo downloads alone (default: everything under the SAE's folder)."""
    format: str | None = Field(default=None, max_length=64)
    """Read as this format instead of detecting it (saelens, gemma_scope, gemma_scope_2,
    llama_scope, sparsify, dictionary_learning)."""


class SAEImportPlan(OperationConfig):
    """What an SAE import job downloads and reads: checked by the API (or the CLI) first."""

    kind: Literal["hub", "release", "local"]
    """Where the SAE comes from."""
    source: str
    """The source as given (Hub path, release name or local path)."""
    repo_id: str | None = None
    """Hub repo (hub and release sources)."""
    revision: str | None = None
    """Commit the listing saw; the download is pinned to it."""
    folder: str = ""
    """The SAE's folder inside the repo (``""``: the root), or the local path."""
    allow_patterns: list[str] | None = None
    """Files downloaded, as ``snapshot_download`` patterns (None: the whole repo)."""
    n_files: int = 0
    """Files the patterns match."""
    total_bytes: int = 0
    """Their total size."""
    format: str
    """Format detected from the file names (the reader is chosen by it)."""
    release: str | None = None
    """``release/sae_id`` of a SAELens release."""
    norm_scaling_factor: float | None = None
    """Dataset scale of an ``expected_average_only_in`` SAE (from the release registry)."""
    config_overrides: dict[str, Any] = Field(default_factory=dict)
    """A release's config overrides, applied to the SAE's config when it is read."""
    facts: dict[str, Any] = Field(default_factory=dict)
    """What the folder names, the config file and the registry say before download: hook_name,
    d_in, d_sae, l0, k, model_name, layer, architecture, neuronpedia."""

    @property
    def origin(self) -> str:
        """``repo/folder``, or the local path: what readers naming hook and model only in the
        repo and folder names are told."""
        if self.kind == "local":
            return self.folder
        return f"{self.repo_id}/{self.folder}".rstrip("/")


def _skeleton_format(files: list[str], folder: str, label: str) -> str:
    """The format of ``folder`` in a listing, by the registry's detection on empty copies of
    the files; its one-line error names ``label`` instead of the temporary folder."""
    with tempfile.TemporaryDirectory(prefix="mistudio-tree-") as tmp:
        root = Path(tmp)
        for path in files:
            (root / path).parent.mkdir(parents=True, exist_ok=True)
            (root / path).touch()
        target = root / folder if folder else root
        try:
            return detect_format(target)
        except MiStudioError as exc:
            message = str(exc).replace(str(target), label).replace(str(root), label)
            raise type(exc)(message) from None


def _common_folder(files: list[str]) -> str:
    parents = [posixpath.dirname(f) for f in files]
    common = posixpath.commonpath(parents) if all(parents) else ""
    return common.strip("/")


def _checked_patterns(patterns: list[str] | None) -> list[str] | None:
    if patterns is None:
        return None
    cleaned = [p.strip() for p in patterns if p.strip()]
    if not cleaned:
        return None
    if len(cleaned) > MAX_PATTERNS:
        raise InvalidInputError(f"at most {MAX_PATTERNS} allow_patterns, got {len(cleaned)}")
    for pattern in cleaned:
        if pattern.startswith("/") or ".." in pattern.split("/"):
            raise InvalidInputError(f"allow_patterns: {pattern!r} must be relative to the repo")
    return cleaned


def release_facts(source: SAESource) -> tuple[dict[str, Any], float | None]:
    """What a release's registry entry adds: model, hook overrides, L0, Neuronpedia id."""
    sae = source.release
    if sae is None:
        return {}, None
    facts: dict[str, Any] = {}
    overrides = sae.config_overrides
    if sae.model:
        facts["model_name"] = sae.model
    for key in ("model_name", "hook_name"):
        if isinstance(overrides.get(key), str):
            facts[key] = overrides[key]
    if sae.l0 is not None:
        facts["l0"] = sae.l0
    if sae.neuronpedia:
        facts["neuronpedia"] = sae.neuronpedia
    scale = sae.norm_scaling_factor
    return facts, scale


def _known_format(name: str) -> str:
    if name not in registered_formats():
        raise InvalidInputError(
            f"unknown SAE format {name!r}; known: {', '.join(registered_formats())}"
        )
    return name


def plan_local(source: SAESource, folder: Path, format: str | None = None) -> SAEImportPlan:
    """The plan of a local folder, file or ``.zip`` (already confined by the caller)."""
    fmt = _known_format(format) if format else detect_format(folder)
    base = folder if folder.is_dir() else folder.parent
    files = [p for p in base.rglob("*") if p.is_file()] if folder.is_dir() else [folder]
    facts: dict[str, Any] = facts_from_names("", base.name)
    if folder.is_dir():
        for name in ("cfg.json", "config.json", "hyperparams.json"):
            path = base / name
            if path.is_file() and path.stat().st_size < 256 * 1024:
                try:
                    data = json.loads(path.read_text())
                except (OSError, ValueError):
                    break
                if isinstance(data, dict):
                    facts.update(facts_from_config(data))
                break
    return SAEImportPlan(
        kind="local",
        source=source.text,
        folder=str(folder),
        n_files=len(files),
        total_bytes=sum(p.stat().st_size for p in files),
        format=fmt,
        facts=facts,
    )


def plan_import(
    source: SAESource,
    *,
    revision: str | None = None,
    allow_patterns: list[str] | None = None,
    token: str | None = None,
    cache_dir: Path | None = None,
    read_config: bool = True,
    format: str | None = None,
) -> SAEImportPlan:
    """The checked plan of a Hub or release source (see the module docstring)."""
    if source.kind == "local" or source.repo_id is None:
        raise InvalidInputError("plan_import takes a Hub or release source; use plan_local")
    repo_id, folder = source.repo_id, source.path
    patterns = _checked_patterns(allow_patterns)
    listing = list_repo(repo_id, revision, token, folder=folder if patterns is None else "")
    short = listing.sha[:7]
    if patterns is None:
        patterns = [f"{folder}/*"] if folder else None
    candidates = listing.under(folder) if folder and allow_patterns is None else listing.files
    matched = matching(candidates, patterns)
    if folder and allow_patterns is not None:
        matched = [f for f in matched if f.startswith(folder + "/")]
    if not matched:
        where = f" under {folder}/" if folder else ""
        if allow_patterns:
            raise InvalidInputError(
                f"allow_patterns {', '.join(patterns or [])} match no file of {repo_id} at "
                f"{short}{where} ({len(listing.files)} files in the repo)"
            )
        raise NotFoundError(f"{repo_id} has no files{where} at {short}")
    folder = folder or _common_folder(matched)
    label = f"{repo_id}/{folder}".rstrip("/")
    fmt = _known_format(format) if format else _skeleton_format(matched, folder, label)
    check_access(repo_id, matched[0], listing.sha, token, listing.gated)
    facts = facts_from_names(repo_id, folder)
    extra, scale = release_facts(source)
    config = config_file(folder, {f: listing.files[f] for f in matched})
    if read_config and config is not None:
        try:
            data = json.loads(read_small_file(repo_id, config, listing.sha, token, cache_dir))
        except ValueError:
            data = {}
        if isinstance(data, dict):
            facts.update(facts_from_config(data))
    facts.update(extra)
    return SAEImportPlan(
        kind=source.kind,
        source=source.text,
        repo_id=repo_id,
        revision=listing.sha,
        folder=folder,
        allow_patterns=patterns,
        n_files=len(matched),
        total_bytes=sum(listing.files[f] for f in matched),
        format=fmt,
        release=source.release.name if source.release else None,
        norm_scaling_factor=scale,
        config_overrides=dict(source.release.config_overrides) if source.release else {},
        facts=facts,
    )


def plan_for(
    config: SAEImportConfig,
    token: str | None = None,
    cache_dir: Path | None = None,
    local_path: Callable[[str], Path] = lambda text: Path(text).expanduser().resolve(),
) -> SAEImportPlan:
    """The plan of an import config; ``local_path`` turns a local source into the path to read
    (the studio confines it to the import roots there)."""
    source = parse_source(config.source)
    if source.kind == "local":
        path = local_path(source.path)
        if not path.exists():
            raise NotFoundError(f"{source.path} does not exist")
        return plan_local(source, path, config.format)
    return plan_import(
        source,
        revision=config.revision,
        allow_patterns=config.allow_patterns,
        token=token,
        cache_dir=cache_dir,
        format=config.format,
    )


def fetch_planned(
    plan: SAEImportPlan,
    token: str | None,
    cache_dir: Path,
    progress: Progress | None = None,
) -> Path:
    """The folder to read for ``plan``: downloaded (Hub and release sources, into the Hub cache
    at ``cache_dir``, pinned to the plan's commit) or the local path itself."""
    if plan.kind == "local":
        return Path(plan.folder)
    if plan.repo_id is None or plan.revision is None:
        raise InvalidInputError("a Hub import plan needs its repo and revision")
    root = download_files(
        plan.repo_id,
        plan.revision,
        plan.allow_patterns,
        token,
        cache_dir,
        plan.total_bytes,
        progress,
    )
    return root / plan.folder if plan.folder else root


def read_planned(plan: SAEImportPlan, folder: Path, device: str = "cpu") -> ImportedSAE:
    """Read the planned SAE from ``folder`` with its format's reader (one-line errors for a bad
    folder), telling the reader the origin and the release's dataset scale."""
    return read_sae(
        folder,
        plan.format,
        device,
        origin=plan.origin,
        norm_scaling_factor=plan.norm_scaling_factor,
        config_overrides=plan.config_overrides,
    )
