"""SAEs from elsewhere: the Hub, SAELens' release registry and local folders, up to the point
where :func:`mistudio.core.formats.read_sae` takes over.

- :mod:`~.sources`: what a source string names (local path, ``release/sae_id``,
  ``org/name/folder``);
- :mod:`~.releases`: SAELens' ``pretrained_saes.yaml`` (installed) or our shipped copy of it;
- :mod:`~.hub`: listing, small files, search and downloads through ``huggingface_hub``, with
  one-line errors;
- :mod:`~.browse`: which folders of a repo hold SAEs and what their names and configs say;
- :mod:`~.plan`: the checked plan of one import, made before any job runs;
- :mod:`~.link`: the registered model an SAE reads, and its hook under that model's names.

Reading the downloaded folder, whatever its format, is :mod:`mistudio.core.formats`' job; the
studio's import job (``jobs/sae_import_jobs.py``) and ``mistudio saes add`` wire these together.
"""

from mistudio.core.sae_import.browse import RepoSAEs, SAEEntry, browse, describe, sae_folders
from mistudio.core.sae_import.hub import (
    HubRepo,
    RepoListing,
    download_files,
    list_repo,
    search_repos,
)
from mistudio.core.sae_import.link import (
    HookNames,
    ModelCandidate,
    hook_for_model,
    match_model,
    model_key,
)
from mistudio.core.sae_import.plan import (
    SAEImportConfig,
    SAEImportPlan,
    fetch_planned,
    plan_for,
    plan_import,
    plan_local,
    read_planned,
)
from mistudio.core.sae_import.releases import (
    ReleaseRegistry,
    ReleaseSAE,
    ReleaseSummary,
    release_registry,
)
from mistudio.core.sae_import.sources import SAESource, is_local, parse_source

__all__ = [
    "HookNames",
    "HubRepo",
    "ModelCandidate",
    "ReleaseRegistry",
    "ReleaseSAE",
    "ReleaseSummary",
    "RepoListing",
    "RepoSAEs",
    "SAEEntry",
    "SAEImportConfig",
    "SAEImportPlan",
    "SAESource",
    "browse",
    "describe",
    "fetch_planned",
    "download_files",
    "hook_for_model",
    "is_local",
    "list_repo",
    "match_model",
    "model_key",
    "parse_source",
    "plan_for",
    "plan_import",
    "plan_local",
    "read_planned",
    "release_registry",
    "sae_folders",
    "search_repos",
]
