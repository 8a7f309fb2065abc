"""SAELens' pretrained-SAE registry: a release name to the Hub repo and folder that hold it.

``gemma-scope-2b-pt-res-canonical/layer_12/width_16k/canonical`` is release
``gemma-scope-2b-pt-res-canonical`` (names never contain ``/``) and SAE id
``layer_12/width_16k/canonical`` (ids may), which SAELens' ``pretrained_saes.yaml`` maps to repo
``google/gemma-scope-2b-pt-res``, folder ``layer_12/width_16k/average_l0_82``, plus what the
folder itself does not say: the L0, the Neuronpedia id, the model, ``norm_scaling_factor`` for
SAEs trained with ``expected_average_only_in`` and release-wide ``config_overrides``.

Where the registry comes from, in order:

1. the ``pretrained_saes.yaml`` of an installed ``sae-lens`` (its folder is found with
   ``importlib.util.find_spec``, which does not run the package: ``import sae_lens`` pulls in
   TransformerLens and takes seconds, and core never depends on it);
2. else the copy shipped in this package, ``saelens_releases.json.gz``, written from that YAML by
   ``mistudio saes registry update`` (:func:`write_registry`). It keeps every field (about 100 KB
   gzipped for 170 releases and 13,857 SAEs, under the 1 MB the wheel allows it) and records the
   sae-lens version it was generated from; fields are dropped, least useful first, only if a
   future registry outgrows the limit.

Both are parsed once per process (the YAML takes about a second with libyaml).
"""

from __future__ import annotations

import gzip
import importlib.metadata
import importlib.util
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ConfigDict

from mistudio.core.config import DocumentedModel
from mistudio.errors import InvalidInputError, NotFoundError

SHIPPED_REGISTRY = Path(__file__).with_name("saelens_releases.json.gz")
"""The registry generated from sae-lens' YAML, shipped in the wheel."""
YAML_NAME = "pretrained_saes.yaml"
MAX_REGISTRY_BYTES = 1 << 20
"""Largest shipped registry file (the wheel should not grow by more than a megabyte for it)."""
TRIM_ORDER = (("links",), ("saes", "variance_explained"), ("saes", "neuronpedia"))
"""Fields dropped, in this order, when the gzipped registry would exceed the limit."""
FORMAT_VERSION = 1


@dataclass(frozen=True)
class ReleaseSAE:
    """One SAE of a SAELens release, as the registry lists it."""

    release: str
    sae_id: str
    repo_id: str
    path: str
    """Folder inside the repo."""
    model: str | None = None
    """The model as SAELens names it (``gemma-2-2b``, ``gpt2-small``)."""
    conversion_func: str | None = None
    """SAELens' loader for the layout (None: a native SAELens folder)."""
    l0: float | None = None
    neuronpedia: str | None = None
    norm_scaling_factor: float | None = None
    """Dataset scale of an ``expected_average_only_in`` SAE, folded into the weights on import."""
    variance_explained: float | None = None
    config_overrides: dict[str, Any] = field(default_factory=dict)
    """Release-wide cfg keys SAELens applies over the folder's own (``model_name``,
    ``hook_name``, ``dataset_path``, ...)."""

    @property
    def name(self) -> str:
        return f"{self.release}/{self.sae_id}"


class ReleaseSummary(DocumentedModel):
    """One release, for search results."""

    model_config = ConfigDict(frozen=True)

    name: str
    """Release name; add ``/<sae id>`` to import one of its SAEs."""
    repo_id: str
    """The Hub repo that stores it."""
    model: str | None
    """The model its SAEs read, as SAELens names it."""
    conversion_func: str | None
    """SAELens' loader for its layout (none: SAELens folders)."""
    n_saes: int
    """How many SAEs it lists."""


def _float(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class ReleaseRegistry:
    """Releases by name, parsed from the YAML or the shipped file."""

    def __init__(self, releases: dict[str, dict[str, Any]], source: str, version: str | None):
        self.releases = releases
        self.source = source
        """Where it was read from, for messages and the API (``sae-lens 6.54.12 (installed)``)."""
        self.sae_lens_version = version
        """The sae-lens version whose YAML it is, when known."""

    def __len__(self) -> int:
        return len(self.releases)

    @property
    def n_saes(self) -> int:
        return sum(len(r.get("saes") or []) for r in self.releases.values())

    def split(self, name: str) -> tuple[str, str] | None:
        """``(release, sae_id)`` when ``name`` starts with a known release, else None."""
        release, _, sae_id = name.strip().strip("/").partition("/")
        return (release, sae_id) if release in self.releases else None

    def saes(self, release: str) -> list[ReleaseSAE]:
        """Every SAE of a release."""
        raw = self.releases.get(release)
        if raw is None:
            raise NotFoundError(f"no SAELens release named {release!r} ({self.source})")
        return [self._sae(release, raw, entry) for entry in raw.get("saes") or []]

    def resolve(self, name: str) -> ReleaseSAE:
        """The SAE ``release/sae_id``; one-line errors for an unknown release or id."""
        parts = self.split(name)
        if parts is None:
            raise NotFoundError(f"{name!r} does not start with a SAELens release ({self.source})")
        release, sae_id = parts
        saes = self.saes(release)
        if not sae_id:
            sample = ", ".join(s.sae_id for s in saes[:3])
            raise InvalidInputError(
                f"{release} is a release of {len(saes)} SAEs: name one, e.g. {release}/"
                f"{saes[0].sae_id if saes else 'ID'} (ids: {sample}, ...)"
            )
        for sae in saes:
            if sae.sae_id == sae_id:
                return sae
        close = [s.sae_id for s in saes if sae_id.split("/")[0] in s.sae_id][:3] or [
            s.sae_id for s in saes[:3]
        ]
        raise NotFoundError(
            f"release {release} has no SAE {sae_id!r} ({len(saes)} SAEs; e.g. {', '.join(close)})"
        )

    def for_repo(self, repo_id: str) -> dict[str, ReleaseSAE]:
        """SAEs of every release stored in ``repo_id``, by folder (for L0s when browsing)."""
        found: dict[str, ReleaseSAE] = {}
        for release, raw in self.releases.items():
            for entry in raw.get("saes") or []:
                sae = self._sae(release, raw, entry)
                if sae.repo_id == repo_id:
                    found.setdefault(sae.path.strip("/"), sae)
        return found

    def search(self, query: str, limit: int = 20) -> list[ReleaseSummary]:
        """Releases where every word of ``query`` starts a word of the release's name, repo or
        model (``gemma scope 2b`` finds ``gemma-scope-2b-pt-res``, not ``gemma-scope-2-12b``);
        a query word holding ``-``, ``/`` or ``_`` matches anywhere in them."""
        words = [w for w in query.lower().split() if w]
        out = []
        for name, raw in self.releases.items():
            text = f"{name} {raw.get('repo_id', '')} {raw.get('model', '')}".lower()
            tokens = [t for t in re.split(r"[^a-z0-9.]+", text) if t]
            if all(
                w in text if re.search(r"[-/_]", w) else any(t.startswith(w) for t in tokens)
                for w in words
            ):
                out.append(
                    ReleaseSummary(
                        name=name,
                        repo_id=str(raw.get("repo_id", "")),
                        model=raw.get("model"),
                        conversion_func=raw.get("conversion_func"),
                        n_saes=len(raw.get("saes") or []),
                    )
                )
                if len(out) >= limit:
                    break
        return out

    @staticmethod
    def _sae(release: str, raw: dict[str, Any], entry: dict[str, Any]) -> ReleaseSAE:
        # An entry may override the release's repo, model or loader (a few do).
        return ReleaseSAE(
            release=release,
            sae_id=str(entry["id"]),
            repo_id=str(entry.get("repo_id") or raw["repo_id"]),
            path=str(entry.get("path") or "").strip("/"),
            model=entry.get("model") or raw.get("model"),
            conversion_func=entry.get("conversion_func", raw.get("conversion_func")),
            l0=_float(entry.get("l0")),
            neuronpedia=entry.get("neuronpedia"),
            norm_scaling_factor=_float(entry.get("norm_scaling_factor")),
            variance_explained=_float(entry.get("variance_explained")),
            config_overrides=dict(raw.get("config_overrides") or {}),
        )


# ---- where the registry comes from --------------------------------------------------------


def installed_yaml() -> Path | None:
    """``pretrained_saes.yaml`` of an installed sae-lens, found without importing it."""
    try:
        spec = importlib.util.find_spec("sae_lens")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / YAML_NAME
    return path if path.is_file() else None


def yaml_version(path: Path) -> str | None:
    """The sae-lens version a YAML belongs to: the installed distribution's when ``path`` is in
    its package folder, else the ``sae_lens-*.dist-info`` beside that folder, else None."""
    if path == installed_yaml():
        try:
            return importlib.metadata.version("sae-lens")
        except importlib.metadata.PackageNotFoundError:
            pass
    for info in sorted(path.parent.parent.glob("sae_lens-*.dist-info")):
        match = re.match(r"sae_lens-(.+)\.dist-info$", info.name)
        if match:
            return match[1]
    return None


def parse_yaml(path: Path) -> dict[str, dict[str, Any]]:
    """Releases of a ``pretrained_saes.yaml``, checked to have the fields we rely on."""
    import yaml  # deferred: only the registry update and an installed sae-lens need it

    try:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        data = yaml.load(path.read_text(), Loader=loader)  # noqa: S506 - a safe loader
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise InvalidInputError(f"cannot read {path}: {str(exc).splitlines()[0]}") from None
    return _checked(data, str(path))


def _checked(data: Any, where: str) -> dict[str, dict[str, Any]]:
    if not isinstance(data, dict) or not data:
        raise InvalidInputError(f"{where} holds no releases (expected a mapping of release names)")
    for name, release in data.items():
        if "/" in str(name):
            raise InvalidInputError(f"{where}: release name {name!r} contains '/'")
        if not isinstance(release, dict) or not isinstance(release.get("saes"), list):
            raise InvalidInputError(f"{where}: release {name!r} has no list of saes")
        if not release.get("repo_id") and not all(
            isinstance(s, dict) and s.get("repo_id") for s in release["saes"]
        ):
            raise InvalidInputError(f"{where}: release {name!r} has no repo_id")
        for sae in release["saes"]:
            if not isinstance(sae, dict) or "id" not in sae or "path" not in sae:
                raise InvalidInputError(f"{where}: an SAE of release {name!r} lacks id or path")
    return {str(k): v for k, v in data.items()}


def read_shipped(path: Path = SHIPPED_REGISTRY) -> tuple[dict[str, dict[str, Any]], str | None]:
    """Releases and source sae-lens version of a registry file written by :func:`write_registry`."""
    try:
        data = json.loads(gzip.decompress(path.read_bytes()))
    except (OSError, ValueError) as exc:
        raise NotFoundError(f"the SAELens release registry {path} is unreadable: {exc}") from None
    return _checked(data.get("releases"), str(path)), data.get("sae_lens_version")


@lru_cache(maxsize=4)
def _load(source: str, mtime: float) -> ReleaseRegistry:
    path = Path(source)
    if path.suffix == ".gz":
        releases, version = read_shipped(path)
        where = f"registry shipped with miStudio (from sae-lens {version or 'unknown'})"
        return ReleaseRegistry(releases, where, version)
    version = yaml_version(path)
    return ReleaseRegistry(parse_yaml(path), f"sae-lens {version or ''} (installed)", version)


def release_registry() -> ReleaseRegistry:
    """The registry of the installed sae-lens, else the shipped one (parsed once)."""
    path = installed_yaml() or SHIPPED_REGISTRY
    if not path.is_file():
        raise NotFoundError(
            "no SAELens release registry: sae-lens is not installed and the shipped copy is "
            "missing (run `mistudio saes registry update`)"
        )
    return _load(str(path), path.stat().st_mtime)


# ---- writing the shipped copy -------------------------------------------------------------


@dataclass(frozen=True)
class RegistryWritten:
    """What ``mistudio saes registry update`` wrote."""

    path: Path
    n_releases: int
    n_saes: int
    size_bytes: int
    sae_lens_version: str | None
    dropped: list[str]
    """Fields left out to stay under :data:`MAX_REGISTRY_BYTES` (normally none)."""


def _drop(releases: dict[str, dict[str, Any]], what: tuple[str, ...]) -> None:
    for release in releases.values():
        if len(what) == 1:
            release.pop(what[0], None)
        else:
            for sae in release.get("saes") or []:
                sae.pop(what[1], None)


def _encode(payload: dict[str, Any]) -> bytes:
    text = json.dumps(payload, separators=(",", ":"), sort_keys=True, default=str)
    return gzip.compress(text.encode(), compresslevel=9, mtime=0)  # same bytes for the same YAML


def write_registry(
    yaml_path: Path | None = None,
    dest: Path = SHIPPED_REGISTRY,
    sae_lens_version: str | None = None,
) -> RegistryWritten:
    """Write the shipped registry from a ``pretrained_saes.yaml`` (default: the installed
    sae-lens'); ``sae_lens_version`` names its version when it cannot be found beside it."""
    path = yaml_path or installed_yaml()
    if path is None:
        raise NotFoundError(
            f"sae-lens is not installed here; give the path of its {YAML_NAME} (--from FILE)"
        )
    if not path.is_file():
        raise NotFoundError(f"{path} does not exist")
    releases = parse_yaml(path)
    version = sae_lens_version or yaml_version(path)
    payload: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "sae_lens_version": version,
        "source": path.name,
        "releases": releases,
    }
    dropped: list[str] = []
    data = _encode(payload)
    for what in TRIM_ORDER:
        if len(data) <= MAX_REGISTRY_BYTES:
            break
        _drop(releases, what)
        dropped.append(".".join(what))
        data = _encode(payload)
    if len(data) > MAX_REGISTRY_BYTES:
        raise InvalidInputError(
            f"the registry is {len(data) / 2**20:.1f} MiB gzipped even without "
            f"{', '.join(dropped)}; more than the {MAX_REGISTRY_BYTES >> 20} MiB allowed"
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".partial")
    tmp.write_bytes(data)
    tmp.replace(dest)
    _load.cache_clear()
    return RegistryWritten(
        dest,
        len(releases),
        sum(len(r["saes"]) for r in releases.values()),
        len(data),
        version,
        dropped,
    )
