"""Linking an SAE row to a model row: which model, under which hook name, and does it fit.

Shared by the API (``POST /saes``, ``PATCH /saes/{id}``: refused with one 422 line before any job
runs) and the import job (which matches the model by name when none was picked). The rules:

- a model whose hook points are not recorded yet (never loaded) is accepted as it is: its load
  records them and every later job checks again;
- an SAE whose source names no hook fits a model only if some hook has its ``d_in`` (the
  person names the hook then: ``PATCH /saes/{id}`` with ``hook_name``);
- otherwise the SAE's hook must be one of the model's, under either naming
  (:func:`mistudio.core.sae_import.hook_for_model`), and the model's width there must equal the
  SAE's ``d_in``; the row then keeps the hook as that model names it.

Attention-``z`` hooks (``blocks.L.attn.hook_z``: heads before ``o_proj``) are not hook points of
ours yet; such an SAE imports and exports, and linking it says so in one line.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from mistudio.core.sae_import import HookNames, ModelCandidate, hook_for_model, match_model
from mistudio.errors import InvalidInputError
from mistudio.store.tables import LanguageModel


def model_points(model: LanguageModel) -> tuple[list[str], list[str]]:
    """The model's hook points as recorded by its load: TransformerLens names, HF paths."""
    arch = model.architecture or {}
    tl = [str(p) for p in arch.get("hook_points") or []]
    hf = [str(p) for p in arch.get("hf_hook_points") or []]
    if not tl:
        tl = list((model.hook_dims or {}).keys())
        hf = []
    return tl, hf


@dataclass(frozen=True)
class Link:
    """An SAE's fit to a model."""

    model_id: int
    hook: HookNames
    checked: bool
    """False when the model's hook points are not known yet (checked again by later jobs)."""


def check_link(
    model: LanguageModel,
    hook_name: str | None,
    hf_hook_name: str | None,
    d_in: int | None,
    what: str,
) -> Link:
    """The SAE's hook under ``model``'s names, or a one-line refusal (hook missing, width
    different)."""
    tl, hf = model_points(model)
    hook = hook_for_model(hook_name, hf_hook_name, tl, hf)
    if not tl:
        return Link(model.id, hook, False)
    given = hook_name or hf_hook_name
    if given is None:
        widths = sorted({int(w) for w in (model.hook_dims or {}).values()})
        if d_in is not None and widths and int(d_in) not in widths:
            raise InvalidInputError(
                f"{what} has d_in {d_in} but no hook of model {model.name} has that width "
                f"(widths: {', '.join(map(str, widths))})"
            )
        return Link(model.id, hook, False)
    if not hook.known:
        if "hook_z" in given:
            raise InvalidInputError(
                f"{what} reads {given} (attention heads before the output projection), which is "
                f"not a hook point of model {model.name}: attention-z SAEs are not supported for "
                "analysis yet"
            )
        sample = ", ".join(tl[:4])
        raise InvalidInputError(
            f"{what} reads {given}, which model {model.name} does not have (its hook points "
            f"include {sample}, ...); link it to the model it was trained on"
        )
    width = (model.hook_dims or {}).get(hook.name or "")
    if width is not None and d_in is not None and int(width) != int(d_in):
        raise InvalidInputError(
            f"{what} has d_in {d_in} but {hook.name} of model {model.name} has width {width}"
        )
    return Link(model.id, hook, True)


def candidates(session: Session) -> list[ModelCandidate]:
    """Registered models (ready ones first, then by id) by every name they are known by."""
    rows = session.scalars(select(LanguageModel).order_by(LanguageModel.id)).all()
    rows = sorted(rows, key=lambda r: (r.status != "ready", r.id))
    return [
        ModelCandidate(r.id, (r.name, r.source, str((r.architecture or {}).get("name") or "")))
        for r in rows
    ]


def match_by_name(session: Session, model_name: str | None) -> LanguageModel | None:
    """The registered model ``model_name`` names (any spelling), if one is."""
    found = match_model(model_name, candidates(session))
    return session.get(LanguageModel, found) if found is not None else None
