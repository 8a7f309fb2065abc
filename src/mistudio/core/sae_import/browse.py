"""What SAEs a Hub repo holds, before anything large is downloaded.

A repo of 400 SAEs is listed once (:func:`~mistudio.core.sae_import.hub.list_repo`: paths and
sizes). Which folders hold an SAE, and in which format, is decided by the format registry's own
detection (:func:`mistudio.core.formats.detect_format`) run on an empty copy of the tree: every
file of the listing created with no content in a temporary folder. The readers' predicates look
at file names only, so the answer is exactly what reading the downloaded folder will find, and a
format added to the registry is browsable without a change here.

Each SAE is then described from what is cheap: its folder names (``layer_12/width_16k/
average_l0_82``, ``L12R``, ``blocks.6.hook_resid_post``, ``resid_post/layer_10_width_16k_l0_small``)
and, for the first ``read_configs`` SAEs of the page, its small config file (``cfg.json``,
``config.json`` or ``hyperparams.json``, a few KB each, fetched in parallel through the Hub cache);
SAELens' release registry adds the L0 and Neuronpedia id of folders it lists. A config that cannot
be read (a gated repo without a token) leaves the name-derived facts and says why once.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from mistudio.core.formats import detect_format
from mistudio.core.sae_import.hub import (
    CONFIG_MAX_BYTES,
    RepoListing,
    list_repo,
    read_small_file,
)
from mistudio.core.sae_import.releases import ReleaseRegistry, ReleaseSAE, release_registry
from mistudio.core.sae_import.sources import parse_hub_path
from mistudio.errors import MiStudioError

CONFIG_FILES = ("cfg.json", "config.json", "hyperparams.json")
"""Small config files that describe an SAE, in the order they are tried."""
MAX_SKELETON_FILES = 200_000
"""Largest listing recreated for detection (the biggest SAE repos hold a few tens of thousands)."""
CONFIG_THREADS = 8


@dataclass
class SAEEntry:
    """One SAE found in a repo."""

    path: str
    """Its folder inside the repo (``""``: the repo root)."""
    format: str | None
    """Format name (:func:`mistudio.core.formats.registered_formats`); None for a folder a
    release lists whose files no reader recognises."""
    size_bytes: int
    """Total size of the files under the folder."""
    n_files: int
    hook_name: str | None = None
    """TransformerLens-style hook, from the config or the folder names."""
    layer: int | None = None
    d_in: int | None = None
    d_sae: int | None = None
    """Width (number of latents)."""
    l0: float | str | None = None
    """Target or measured L0 (a number), or Gemma Scope 2's ``small``/``medium``/``big``."""
    k: int | None = None
    architecture: str | None = None
    model_name: str | None = None
    release_sae: str | None = None
    """``release/sae_id`` when SAELens' registry lists this folder."""
    neuronpedia: str | None = None
    config_read: bool = False
    """Whether the facts above include its config file (else only folder names)."""


@dataclass
class RepoSAEs:
    """A page of a repo's SAEs."""

    repo_id: str
    sha: str
    gated: bool
    private: bool
    n_files: int
    total: int
    """SAEs found (this page holds at most ``limit`` of them)."""
    entries: list[SAEEntry] = field(default_factory=list)
    config_error: str | None = None
    """Why configs could not be read, when they could not (gated without a token, ...)."""
    release: str | None = None
    """The SAELens release browsed (its SAEs only), when a release name was given."""


def sae_folders(files: Iterable[str]) -> dict[str, str]:
    """``{folder: format}`` for every folder of ``files`` (repo paths) that holds an SAE."""
    paths = [p for p in files if p and not p.startswith("/") and ".." not in p.split("/")]
    if len(paths) > MAX_SKELETON_FILES:
        paths = paths[:MAX_SKELETON_FILES]
    folders = sorted({str(PurePosixPath(p).parent) for p in paths})
    found: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="mistudio-tree-") as tmp:
        root = Path(tmp)
        for path in paths:
            target = root / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
        for folder in folders:
            try:
                found["" if folder == "." else folder] = detect_format(root / folder)
            except MiStudioError:
                continue
    return found


# ---- facts from folder names ----------------------------------------------------------------

_TL_HOOK = re.compile(r"blocks\.(\d+)\.(hook_[a-z_]+|attn\.hook_z)")
_LAYER = [
    re.compile(r"layer[_.-]?(\d+)"),
    re.compile(r"layers\.(\d+)"),
    re.compile(r"blocks\.(\d+)"),
    re.compile(r"(?:^|[/_.-])L(\d+)[RAMT](?:[/_.-]|$)"),
]
_WIDTH = re.compile(r"width[_-]?(\d+)([km])?(?![a-z0-9])", re.IGNORECASE)
_L0 = re.compile(r"l0[_-]?(\d+(?:\.\d+)?|small|medium|big)(?![a-z0-9])", re.IGNORECASE)
_KIND_HOOKS = {
    "resid_post": "hook_resid_post",
    "res": "hook_resid_post",
    "r": "hook_resid_post",
    "attn_out": "hook_attn_out",
    "att": "attn.hook_z",
    "a": "hook_attn_out",
    "mlp_out": "hook_mlp_out",
    "mlp": "hook_mlp_out",
    "m": "hook_mlp_out",
    "transcoder": "hook_mlp_in",
}


def _width(match: re.Match[str]) -> int:
    scale = {"k": 1 << 10, "m": 1 << 20}.get((match[2] or "").lower(), 1)
    return int(match[1]) * scale


def facts_from_names(repo_id: str, path: str) -> dict[str, Any]:
    """Hook, layer, width and L0 as the repo and folder names state them (SAELens' Hub repos,
    Gemma Scope 1 and 2, Llama Scope, sparsify ``layers.N``)."""
    facts: dict[str, Any] = {}
    if m := _TL_HOOK.search(path):
        facts["layer"], facts["hook_name"] = int(m[1]), f"blocks.{m[1]}.{m[2]}"
    for pattern in _LAYER:
        if "layer" not in facts and (m := pattern.search(path)):
            facts["layer"] = int(m[1])
    if m := _WIDTH.search(path):
        facts["d_sae"] = _width(m)
    if m := _L0.search(path):
        value = m[1].lower()
        facts["l0"] = value if value in ("small", "medium", "big") else float(value)
    layer = facts.get("layer")
    if "hook_name" not in facts and layer is not None:
        kind = None
        top = path.split("/", 1)[0].removesuffix("_all")
        if top in ("resid_post", "attn_out", "mlp_out", "transcoder"):
            kind = top  # Gemma Scope 2
        elif m := re.search(r"(?:^|[/_.-])L\d+([RAM])(?:[/_.-]|$)", path):
            kind = m[1].lower()  # Llama Scope
        elif m := re.search(r"-(res|att|mlp)(?:-|$)", repo_id.rsplit("/", 1)[-1]):
            kind = m[1]  # Gemma Scope 1
        elif re.fullmatch(r"layers\.\d+", path.rsplit("/", 1)[-1]):
            kind = "res"  # sparsify: the output of block N
        if kind is not None:
            facts["hook_name"] = f"blocks.{layer}.{_KIND_HOOKS[kind]}"
    return facts


# ---- facts from a config file -------------------------------------------------------------


def _get(data: dict[str, Any], *keys: str) -> Any:
    """The first of ``keys`` (dotted paths) present with a value."""
    for key in keys:
        value: Any = data
        for part in key.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        if value not in (None, ""):
            return value
    return None


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def facts_from_config(data: dict[str, Any]) -> dict[str, Any]:
    """Hook, widths, k, L0, model and architecture from an SAE config of any known format
    (SAELens ``cfg.json`` of every version, sparsify ``cfg.json``, Gemma Scope 2 and
    dictionary_learning ``config.json``, Llama Scope ``hyperparams.json``)."""
    facts: dict[str, Any] = {}
    hook = _get(data, "metadata.hook_name", "hook_name", "hook_point", "hook_point_in")
    if isinstance(hook, str):
        facts["hook_name"] = hook
    d_in = _int(_get(data, "d_in", "d_model", "trainer.activation_dim"))
    if d_in:
        facts["d_in"] = d_in
    d_sae = _int(_get(data, "d_sae", "num_latents", "width", "trainer.dict_size"))
    expansion = _int(_get(data, "expansion_factor"))
    if d_sae is None and expansion and d_in:
        d_sae = expansion * d_in
    if d_sae:
        facts["d_sae"] = d_sae
    k = _int(_get(data, "k", "activation_fn_kwargs.k", "trainer.k", "top_k"))
    if k:
        facts["k"] = k
    l0 = _get(data, "l0")
    if isinstance(l0, int | float) and not isinstance(l0, bool):
        facts["l0"] = float(l0)
    model = _get(data, "metadata.model_name", "model_name", "trainer.lm_name")
    if isinstance(model, str):
        facts["model_name"] = model
    arch = _get(data, "architecture", "activation", "trainer.dict_class", "act_fn")
    if isinstance(arch, str):
        facts["architecture"] = arch
    layer = _get(data, "metadata.hook_layer", "hook_layer", "hook_point_layer", "trainer.layer")
    if _int(layer) is not None or layer == 0:
        facts["layer"] = int(layer)
    return facts


def config_file(folder: str, files: dict[str, int]) -> str | None:
    """The small config file of an SAE folder, if it has one."""
    for name in CONFIG_FILES:
        path = f"{folder}/{name}" if folder else name
        if path in files and files[path] <= CONFIG_MAX_BYTES:
            return path
    return None


ConfigReader = Callable[[str], bytes]


def describe(
    listing: RepoListing,
    folders: dict[str, str | None],
    *,
    release_saes: dict[str, ReleaseSAE] | None = None,
    read: ConfigReader | None = None,
    read_configs: int = 40,
    offset: int = 0,
    limit: int = 100,
) -> RepoSAEs:
    """A page of ``listing``'s SAEs (``folders``: from :func:`sae_folders`), described."""
    ordered = sorted(folders)
    page = ordered[offset : offset + limit]
    result = RepoSAEs(
        listing.repo_id,
        listing.sha,
        listing.gated,
        listing.private,
        len(listing.files),
        len(ordered),
    )
    for folder in page:
        inside = listing.under(folder) if folder else listing.files
        entry = SAEEntry(
            path=folder,
            format=folders[folder],
            size_bytes=sum(inside.values()),
            n_files=len(inside),
        )
        for key, value in facts_from_names(listing.repo_id, folder).items():
            setattr(entry, key, value)
        registered = (release_saes or {}).get(folder)
        if registered is not None:
            entry.release_sae = registered.name
            entry.neuronpedia = registered.neuronpedia
            if registered.l0 is not None:
                entry.l0 = registered.l0
        result.entries.append(entry)
    if read is not None and read_configs > 0:
        _read_configs(result, listing.files, read, read_configs)
    return result


def _read_configs(result: RepoSAEs, files: dict[str, int], read: ConfigReader, n: int) -> None:
    wanted = [(e, config_file(e.path, files)) for e in result.entries[:n]]
    wanted = [(e, path) for e, path in wanted if path is not None]
    if not wanted:
        return

    def fetch(path: str) -> dict[str, Any] | MiStudioError:
        try:
            data = json.loads(read(path))
        except MiStudioError as exc:
            return exc
        except (ValueError, UnicodeDecodeError):
            return {}
        return data if isinstance(data, dict) else {}

    with ThreadPoolExecutor(max_workers=CONFIG_THREADS) as pool:
        answers = list(pool.map(fetch, [path for _, path in wanted]))
    for (entry, _), answer in zip(wanted, answers, strict=True):
        if isinstance(answer, MiStudioError):
            result.config_error = result.config_error or str(answer)
            continue
        for key, value in facts_from_config(answer).items():
            if key == "l0" and entry.l0 is not None:
                continue  # the registry's measured L0 wins over a config's target
            setattr(entry, key, value)
        entry.config_read = True


def hub_config_reader(
    repo_id: str, revision: str, token: str | None, cache_dir: Path | None
) -> ConfigReader:
    """A :data:`ConfigReader` over the Hub (through its cache)."""
    return lambda path: read_small_file(repo_id, path, revision, token, cache_dir)


def browse(
    text: str,
    *,
    revision: str | None = None,
    token: str | None = None,
    offset: int = 0,
    limit: int = 100,
    read_configs: int = 40,
    cache_dir: Path | None = None,
) -> RepoSAEs:
    """The SAEs of a Hub repo (``org/name``, or ``org/name/folder`` for those under a folder)
    or of a SAELens release (``release``, or one ``release/sae_id``), a page at a time."""
    try:
        registry: ReleaseRegistry | None = release_registry()
    except MiStudioError:
        registry = None
    parts = registry.split(text) if registry is not None else None
    release = None
    if registry is not None and parts is not None:
        release, sae_id = parts
        saes = [registry.resolve(text)] if sae_id else registry.saes(release)
        repo_id, prefix = saes[0].repo_id, ""
        by_path = {s.path: s for s in saes if s.repo_id == repo_id}
    else:
        repo_id, prefix = parse_hub_path(text)
        by_path = registry.for_repo(repo_id) if registry is not None else {}
    listing = list_repo(repo_id, revision, token, folder=prefix)
    found: dict[str, str | None] = dict(sae_folders(listing.files))
    if release is not None:
        found = {path: found.get(path) for path in by_path}
    reader = hub_config_reader(repo_id, listing.sha, token, cache_dir)
    result = describe(
        listing,
        found,
        release_saes=by_path,
        read=reader,
        read_configs=read_configs,
        offset=offset,
        limit=limit,
    )
    result.release = release
    return result
