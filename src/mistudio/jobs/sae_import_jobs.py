"""The SAE import job: download (Hub, release) or read (local), convert, link, record.

The API has already checked the plan (:mod:`mistudio.core.sae_import.plan`); the job

1. downloads the plan's files into the Hub cache, pinned to the commit the plan saw, with the
   token the API sealed for it (progress in bytes);
2. reads the folder with :func:`mistudio.core.formats.read_sae` (any registered format), which
   refuses a bad folder in one line (a tensor of the wrong shape, a pickle that is not a state
   dict);
3. links it: to the model the request named (a hook it lacks or a width that differs fails the
   job in one line) or, when none was named, to the registered model its config names, if that
   model has the hook at the right width (else it stays unlinked and the lineage says why);
4. writes it as a SAELens folder (our native layout, cfg.json metadata naming the hook both ways
   and where it came from) under ``artifacts/saes/<id>``: first to ``<id>.partial``, renamed
   when complete, so a killed job never leaves a folder that looks finished;
5. fills the row: ``ready``, its columns, cfg.json, and the lineage (format, repo, revision,
   folder, release, sha256 of every file read).

Until step 5 the row stays ``pending``; a failure or a lost worker marks it ``failed`` with the
one line (the job kit's failure path), and a retry starts over: the Hub cache resumes a
half-downloaded file, and the folder is written afresh.
"""

from __future__ import annotations

import shutil
from typing import Any

from mistudio.core.formats import ImportedSAE
from mistudio.core.sae import save_sae
from mistudio.core.sae.saelens_format import load_firing_fraction
from mistudio.core.sae_import import SAEImportPlan, fetch_planned, read_planned
from mistudio.errors import InvalidInputError
from mistudio.jobs.handlers import handler
from mistudio.jobs.runtime import JobContext, job_row
from mistudio.settings import get_settings
from mistudio.store import LanguageModel, SAERow, artifact_dir, session_scope
from mistudio.store.artifact_rows import jsonable, read_sae_cfg, sae_cfg_columns
from mistudio.store.job_secrets import drop_job_secret, get_job_secret
from mistudio.store.sae_links import Link, check_link, match_by_name


def _link(
    sae_id: int, imported: ImportedSAE, plan: SAEImportPlan, name: str
) -> tuple[Link | None, str]:
    """The link (or None) and how it was made, for the lineage."""
    hook = imported.hook_name or plan.facts.get("hook_name")
    d_in = imported.sae.d_in
    with session_scope() as session:
        row = session.get(SAERow, sae_id)
        if row is not None and row.model_id is not None:
            model = session.get(LanguageModel, row.model_id)
            if model is None:
                return None, "the model picked was deleted"
            return check_link(model, hook, imported.hf_hook_name, d_in, f"SAE {name}"), "picked"
        model_name = imported.model_name or plan.facts.get("model_name")
        model = match_by_name(session, model_name)
        if model is None:
            return None, f"no registered model is named {model_name!r}" if model_name else "none"
        try:
            link = check_link(model, hook, imported.hf_hook_name, d_in, f"SAE {name}")
        except InvalidInputError as exc:
            return None, f"matched model {model.name} by name but not linked: {exc}"
        return link, f"matched by name ({model_name})"


def _metadata(imported: ImportedSAE, plan: SAEImportPlan, link: Link | None) -> dict[str, Any]:
    hook = link.hook.name if link is not None else imported.hook_name
    hf_hook = link.hook.hf_name if link is not None else imported.hf_hook_name
    keep = {k: v for k, v in imported.metadata.items() if k != "source_config"}
    meta: dict[str, Any] = {
        **jsonable(keep),
        "hook_name": hook or plan.facts.get("hook_name"),
        "hf_hook_name": hf_hook,
        "hook_name_out": imported.hook_name_out,
        "hf_hook_name_out": imported.hf_hook_name_out,
        "model_name": imported.model_name or plan.facts.get("model_name"),
        "mistudio_origin": _origin(imported, plan),
    }
    return {k: v for k, v in meta.items() if v is not None}


def _origin(imported: ImportedSAE, plan: SAEImportPlan) -> dict[str, Any]:
    origin: dict[str, Any] = {
        "kind": plan.kind,
        "source": plan.source,
        "format": imported.format,
        "repo": plan.repo_id,
        "revision": plan.revision,
        "path": plan.folder if plan.kind != "local" else None,
        "local_path": plan.folder if plan.kind == "local" else None,
        "release": plan.release,
        "files": dict(imported.files),
    }
    return {k: v for k, v in origin.items() if v is not None}


@handler("sae_import", queue="cpu")
def sae_import_job(ctx: JobContext) -> dict[str, Any]:
    """Import one SAE (see the module docstring)."""
    sae_id = int(ctx.config["sae_id"])
    plan = SAEImportPlan.model_validate(ctx.config["plan"])
    with job_row(SAERow, sae_id, "SAE") as (_session, row):
        name = row.name
    token = get_job_secret(ctx.job_id, "hub_token")  # sealed by the API, never in the config
    if plan.kind != "local":
        ctx.stage(0.0, 0.85, "downloading")
    folder = fetch_planned(plan, token, get_settings().cache_dir / "hub", ctx.progress)
    ctx.stage(0.85, 0.95, "reading")
    imported = read_planned(plan, folder)
    link, how = _link(sae_id, imported, plan, name)
    ctx.stage(0.95, 1.0, "writing")
    dest = artifact_dir("saes", sae_id, create=False)
    partial = dest.with_name(dest.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    sparsity = load_firing_fraction(folder) if folder.is_dir() else None
    save_sae(imported.sae, partial, _metadata(imported, plan, link), firing_fraction=sparsity)
    shutil.rmtree(dest, ignore_errors=True)
    partial.rename(dest)
    cfg = read_sae_cfg(dest)
    columns = sae_cfg_columns(cfg, f"SAE {name}")
    metrics = {k: plan.facts[k] for k in ("l0",) if isinstance(plan.facts.get(k), int | float)}
    with job_row(SAERow, sae_id, "SAE", "importing") as (_session, row):
        row.status = "ready"
        row.path = str(dest)
        for key, value in columns.model_dump().items():
            setattr(row, key, value)
        row.model_id = link.model_id if link is not None else None
        row.cfg = cfg
        row.metrics = metrics
        row.lineage = {
            "job_id": ctx.job_id,
            "origin": plan.kind,
            **_origin(imported, plan),
            "model_id": row.model_id,
            "model_link": how,
            "plan": plan.model_dump(mode="json", exclude={"facts"}),
        }
        row.error = None
    drop_job_secret(ctx.job_id)
    return {"sae_id": sae_id, "format": imported.format, "d_sae": imported.sae.d_sae}
