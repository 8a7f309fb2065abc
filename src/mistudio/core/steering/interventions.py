"""Feature interventions as activation edits: resolve them against a model, combine them per hook.

Each :class:`~mistudio.core.steering.config.FeatureIntervention` becomes a
:class:`ResolvedIntervention` (the SAE object, the hook point, the absolute value), checked
against the loaded model once, before any generation: an index outside the dictionary, an SAE
whose width does not match the hook point, or an SAE trained on another model is a one-line
:class:`~mistudio.errors.InvalidInputError`, not a shape error ten frames deep in a forward pass.

A :class:`Steerer` then turns the resolved list into **one edit per hook point** for
:func:`mistudio.core.hooks.intervene`, so several features at one hook share a single SAE encode.
Within a hook, clamps are computed from the incoming activation (per SAE: encode once, set every
clamped latent, decode both codes, add the difference), then additive directions are summed on.

Clamping adds ``decode(f') - decode(f)`` to ``x``, which is exactly ``decode(f') + (x - sae(x))``
(the modified reconstruction plus the SAE's reconstruction error) but leaves ``x`` bit-for-bit
unchanged wherever the latent already had the clamped value. An additive intervention of
strength zero is no edit at all, so a zero-strength run reproduces the baseline exactly.

Which positions an edit touches depends on where the forward pass is in the sequence: the
generation loop sets :attr:`Steerer.offset` (the absolute position of the activation's first
row) and :attr:`Steerer.prompt_len` before each forward, which is how ``positions="generated"``
leaves the prompt alone even though the prompt and the new tokens go through separate calls.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor

from mistudio.core.hooks import ActivationFn, HookPoint, intervene, resolve_hook_points
from mistudio.core.language_models import LoadedModel
from mistudio.core.sae import SAE
from mistudio.core.sae_import import model_key
from mistudio.core.steering.config import FeatureIntervention, Mode, Positions
from mistudio.errors import InvalidInputError, NotFoundError


@dataclass(frozen=True)
class ResolvedIntervention:
    """A feature intervention checked against the loaded model, with its absolute value."""

    spec: FeatureIntervention
    """The request it came from (strength already replaced by a sweep value, if any)."""
    sae: SAE
    """The SAE whose decoder row (add) or encoder and decoder (clamp) it uses."""
    point: HookPoint
    """Where the edit applies."""
    value: float
    """Added coefficient (add) or clamped activation (clamp, suppress: 0), after ``relative``."""

    @property
    def mode(self) -> Mode:
        return self.spec.mode

    @property
    def index(self) -> int:
        return self.spec.index

    @property
    def positions(self) -> Positions:
        return self.spec.positions


def intervention_hook(sae: SAE, hook: str | None = None) -> str:
    """Where a feature's decoder writes: the override, ``hook_name_out``, or ``hook_name``
    (:meth:`SAE.output_hook`)."""
    return sae.output_hook(hook)


def read_hook(sae: SAE) -> str:
    """Where the SAE reads its input (``hook_name``): where its features are detected."""
    meta = sae.cfg.metadata
    name = meta.get("hook_name") or meta.get("hf_hook_name")
    if not name:
        raise InvalidInputError("the SAE records no hook_name; give the hook point explicitly")
    return str(name)


def check_index(name: str, sae: SAE, index: int) -> None:
    """Refuse a latent index outside the SAE's dictionary."""
    if not 0 <= index < sae.d_sae:
        raise InvalidInputError(
            f"feature {index} does not exist; SAE {name} has features 0..{sae.d_sae - 1}"
        )


def resolve_interventions(
    loaded: LoadedModel,
    interventions: list[FeatureIntervention],
    saes: Mapping[str, SAE],
    strength: float | None = None,
    check_model_name: bool = True,
) -> list[ResolvedIntervention]:
    """Check each intervention against ``loaded`` and compute its absolute value.

    ``strength`` (a sweep value) replaces every intervention's own strength.
    """
    resolved = []
    for iv in interventions:
        if iv.sae not in saes:
            have = ", ".join(sorted(saes)) or "none"
            raise NotFoundError(f"no SAE named {iv.sae!r} was given (have: {have})")
        sae = saes[iv.sae]
        check_index(iv.sae, sae, iv.index)
        trained_on = sae.cfg.metadata.get("model_name")
        # Compared as the import links SAEs to models: a Hub id and the display name of the
        # same model (``HuggingFaceTB/SmolLM2-135M-Instruct``, ``SmolLM2-135M-Instruct``) agree.
        if check_model_name and trained_on and model_key(trained_on) != model_key(loaded.name):
            raise InvalidInputError(
                f"SAE {iv.sae} was trained on {trained_on} but the loaded model is {loaded.name} "
                "(turn off check_model_name to steer it anyway)"
            )
        hook = intervention_hook(sae, iv.hook)
        point = resolve_hook_points(loaded.model, [hook], loaded.layout)[0]
        if point.d != sae.d_out:
            hint = f" (it was trained on {trained_on})" if trained_on else ""
            raise InvalidInputError(
                f"SAE {iv.sae} writes width {sae.d_out} but {point.name} of {loaded.name} has "
                f"width {point.d}{hint}"
            )
        out_hook = sae.cfg.metadata.get("hook_name_out")
        moves = out_hook not in (None, sae.cfg.metadata.get("hook_name"))
        if iv.mode != "add" and (sae.d_out != sae.d_in or moves):
            raise InvalidInputError(
                f"SAE {iv.sae} reads and writes different hook points (a transcoder); "
                f"{iv.mode} needs to encode the activation it edits, so use mode add"
            )
        if strength is not None and iv.mode != "suppress":
            iv = iv.model_copy(update={"strength": strength})
        spec = iv
        resolved.append(ResolvedIntervention(spec, sae, point, spec.value()))
    return resolved


class Steerer:
    """Edits for :func:`intervene` applying a set of resolved interventions, one per hook point."""

    def __init__(self, loaded: LoadedModel, interventions: list[ResolvedIntervention]) -> None:
        self.loaded = loaded
        self.interventions = interventions
        self.offset = 0
        """Absolute position of the first row of the activation the next forward pass sees."""
        self.prompt_len = 0
        """Prompt length of the sequence being generated (``positions="generated"`` needs it)."""

    def _mask(self, seq: int, positions: Positions, device: torch.device) -> Tensor | None:
        """[seq, 1] bool of the rows to edit, or None for all of them."""
        if positions == "all":
            return None
        pos = torch.arange(self.offset, self.offset + seq, device=device)
        return (pos >= self.prompt_len - 1)[:, None]

    def _edit(self, ivs: list[ResolvedIntervention]) -> ActivationFn:
        clamps: dict[int, list[ResolvedIntervention]] = {}
        for iv in ivs:
            if iv.mode != "add":
                clamps.setdefault(id(iv.sae), []).append(iv)
        adds = [iv for iv in ivs if iv.mode == "add" and iv.value != 0.0]

        def edit(x: Tensor) -> Tensor:  # x [batch, seq, d]
            out = x
            flat = x.reshape(-1, x.shape[-1])  # [batch*seq, d]
            for group in clamps.values():
                sae = group[0].sae
                f = sae.encode(flat)  # [batch*seq, d_sae]
                f_set = f.clone()
                for iv in group:
                    keep = self._mask(x.shape[1], iv.positions, x.device)
                    value = torch.full_like(f[:, iv.index], iv.value)
                    if keep is not None:  # rows are batch-major: repeat the [seq] mask per batch
                        value = torch.where(keep[:, 0].repeat(x.shape[0]), value, f[:, iv.index])
                    f_set[:, iv.index] = value
                delta = sae.decode(f_set, flat) - sae.decode(f, flat)  # [batch*seq, d]
                out = out + delta.reshape(x.shape).to(x.dtype)
            for iv in adds:
                vector = (iv.value * iv.sae.W_dec[iv.index].detach()).to(x.dtype)  # [d]
                keep = self._mask(x.shape[1], iv.positions, x.device)
                out = out + vector if keep is None else torch.where(keep, out + vector, out)
            return out

        return edit

    def edits(self) -> dict[str, ActivationFn]:
        """``{hook name: edit}`` with every intervention at that hook in one function."""
        by_hook: dict[str, list[ResolvedIntervention]] = {}
        for iv in self.interventions:
            by_hook.setdefault(iv.point.name, []).append(iv)
        return {name: self._edit(ivs) for name, ivs in by_hook.items()}

    @contextmanager
    def active(self, prompt_len: int, offset: int = 0) -> Iterator[Steerer]:
        """Hooks attached for the duration of the block (positions start at ``offset``)."""
        self.prompt_len = prompt_len
        self.offset = offset
        with intervene(self.loaded.model, self.edits(), self.loaded.layout):
            yield self
