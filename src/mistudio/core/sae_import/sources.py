"""What ``mistudio saes add SOURCE`` and the panel's "Add SAE" name: one string, three kinds.

In this order:

1. a local path (starts with ``/``, ``~`` or ``.``): a folder, a file inside it, or a ``.zip``;
   the studio confines it to the import roots, the headless CLI reads it where it is;
2. a SAELens release name, ``release/sae_id`` (the first segment is a release of the registry,
   :mod:`mistudio.core.sae_import.releases`): resolved to a repo and folder;
3. a Hub path, ``org/name[/folder/inside]`` (``hf://`` and ``https://huggingface.co/`` prefixes
   are accepted): the repo, and the SAE's folder in it (the repo root when absent).

Release names contain no ``/``, so ``release/sae_id`` and ``org/name/folder`` differ only in
whether the first segment is a known release; when an org shares a release's name, the release
wins (write ``hf://org/name`` for the repo).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from mistudio.core.sae_import.releases import ReleaseRegistry, ReleaseSAE, release_registry
from mistudio.errors import InvalidInputError, NotFoundError

SourceKind = Literal["hub", "release", "local"]
_REPO_PART = r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}"
_HUB_PATH = re.compile(rf"^({_REPO_PART})/({_REPO_PART})(?:/(.*))?$")
_PREFIXES = ("hf://", "https://huggingface.co/", "http://huggingface.co/", "huggingface.co/")


@dataclass(frozen=True)
class SAESource:
    """A parsed SAE source."""

    kind: SourceKind
    text: str
    """As given."""
    repo_id: str | None = None
    """Hub repo (hub and release sources)."""
    path: str = ""
    """Folder inside the repo (``""``: the root), or the local path."""
    release: ReleaseSAE | None = None
    """The registry's entry (release sources)."""

    @property
    def origin(self) -> str:
        """``repo/folder``: what readers that name hook and model only there are told."""
        if self.kind == "local":
            return self.path
        return f"{self.repo_id}/{self.path}".rstrip("/")


def is_local(text: str) -> bool:
    """Whether ``text`` names a local path rather than a release or a Hub repo."""
    return text.strip().startswith(("/", "~", "."))


def parse_hub_path(text: str) -> tuple[str, str]:
    """``(repo_id, folder)`` of ``org/name[/folder]``; a one-line error otherwise."""
    cleaned = text.strip()
    for prefix in _PREFIXES:
        cleaned = cleaned.removeprefix(prefix)
    match = _HUB_PATH.match(cleaned.strip("/"))
    if match is None or match[1] in {"datasets", "spaces"}:
        raise InvalidInputError(
            f"{text!r} is not a Hub path (org/name[/folder]), a SAELens release name "
            "(release/sae_id) or a local path (/..., ./..., ~/...)"
        )
    folder = (match[3] or "").strip("/")
    if any(part in ("", ".", "..") for part in folder.split("/")) and folder:
        raise InvalidInputError(f"{text!r}: the folder inside the repo must not contain . or ..")
    return f"{match[1]}/{match[2]}", folder


def parse_source(text: str, registry: ReleaseRegistry | None = None) -> SAESource:
    """Classify ``text`` (see the module docstring); the registry is read only when needed."""
    text = text.strip()
    if not text:
        raise InvalidInputError("give an SAE source: a Hub repo, a SAELens release or a path")
    if is_local(text):
        return SAESource("local", text, path=text)
    if text.startswith(_PREFIXES):
        repo_id, folder = parse_hub_path(text)
        return SAESource("hub", text, repo_id=repo_id, path=folder)
    if registry is None:
        try:
            registry = release_registry()
        except NotFoundError:  # no registry at all: every other kind still works
            registry = None
    if registry is not None and registry.split(text) is not None:
        sae = registry.resolve(text)
        return SAESource("release", text, repo_id=sae.repo_id, path=sae.path, release=sae)
    repo_id, folder = parse_hub_path(text)
    return SAESource("hub", text, repo_id=repo_id, path=folder)
