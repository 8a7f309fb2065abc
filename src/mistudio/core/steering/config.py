"""What a steering run is asked to do: the features to push on, the prompts, the sampling.

One :class:`SteeringConfig` describes a whole run (the CLI flags, a saved template and, later,
the API request all build it). Strengths are plain floats that may be NaN or infinite on
purpose: a sweep that blows the residual stream up is a result to report per strength, not a
config to refuse, so configs serialise non-finite floats as the strings ``"NaN"``/``"Infinity"``
(JSON has no literal for them) and read them back.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from mistudio.core.sae.base import StrictModel
from mistudio.core.steering.prompt_templates import MAX_PROMPTS, FilledPrompt, TemplatedPrompt
from mistudio.errors import InvalidInputError

Mode = Literal["add", "clamp", "suppress"]
Positions = Literal["all", "generated"]
SimilarityKind = Literal["embedding", "jaccard"]


class SteeringModel(StrictModel):
    """Strict pydantic base whose JSON keeps NaN/inf strengths as strings (round-trips)."""

    model_config = ConfigDict(ser_json_inf_nan="strings")


class InterventionOptions(SteeringModel):
    """How one feature is steered, whichever way its SAE is named (a folder here, an id in the
    API's request, which derives from this class)."""

    index: int = Field(ge=0)
    """Latent index in that SAE (checked against its ``d_sae`` when the run starts)."""
    mode: Mode = "add"
    """``add``: add ``value * W_dec[index]`` to the activation (the raw decoder row, so the value
    is in units of the latent's own activation); ``clamp``: encode with the SAE, set the latent
    to ``value``, decode, and add back the SAE's reconstruction error so only this latent's
    contribution changes; ``suppress``: clamp to zero (strength ignored)."""
    strength: float = 0.0
    """The added coefficient (add) or the clamped activation (clamp); may be negative. NaN and
    inf are accepted so a run can report what they do."""
    relative: bool = False
    """Interpret ``strength`` as a multiple of the feature's max activation (``max_act``), which
    makes strengths comparable across features of very different scales."""
    positions: Positions = "all"
    """``all``: every position of every forward pass (prompt included); ``generated``: only the
    positions that predict a generated token (the last prompt position and each new token), so
    the prompt is read unsteered."""


class FeatureIntervention(InterventionOptions):
    """One feature to steer with, and how."""

    sae: str
    """Which SAE: a key of the ``saes`` mapping given to :func:`steer` (the CLI uses folders)."""
    max_act: float | None = None
    """The feature's max activation from an extraction (``ExtractionResult.stats(i).max_act``);
    needed when ``relative``."""
    hook: str | None = None
    """Hook point override; default the SAE's ``hook_name`` (``hook_name_out`` for transcoders)."""

    @model_validator(mode="after")
    def _check(self) -> FeatureIntervention:
        if self.relative and self.mode != "suppress":
            if self.max_act is None:
                raise InvalidInputError(
                    f"feature {self.index}: a relative strength needs the feature's max "
                    "activation (max_act, from an extraction)"
                )
            if not math.isfinite(self.max_act) or self.max_act <= 0:
                raise InvalidInputError(
                    f"feature {self.index}: max_act is {self.max_act}; a relative strength "
                    "needs a feature that fired (max_act > 0)"
                )
        return self

    def value(self, strength: float | None = None) -> float:
        """The absolute added coefficient or clamped activation (``strength`` overrides ours)."""
        if self.mode == "suppress":
            return 0.0
        s = self.strength if strength is None else strength
        if self.relative:
            assert self.max_act is not None  # checked by the validator
            return s * self.max_act
        return s


class GenerationConfig(SteeringModel):
    """How continuations are sampled; baseline and steered use the same settings and seed."""

    max_new_tokens: int = Field(default=40, ge=1, le=4096)
    """Tokens to generate per continuation (fewer if EOS comes first and ``stop_at_eos``)."""
    temperature: float = Field(default=0.7, ge=0.0)
    """Softmax temperature; 0 means greedy decoding (0.7 with top-p 0.9: the common chat
    defaults, varied but rarely off the rails)."""
    top_p: float = Field(default=0.9, gt=0.0, le=1.0)
    """Nucleus sampling: keep the smallest set of tokens whose probability reaches ``top_p``."""
    seed: int = 0
    """Seeds a fresh ``torch.Generator`` before every continuation, so baseline and steered
    draw the same random numbers and differ only through the intervention."""
    chat_template: bool = False
    """Wrap each prompt as one user turn with the tokenizer's chat template (instruct models)."""
    stop_at_eos: bool = True
    """End a continuation at the tokenizer's EOS token (kept in the token ids)."""


class SteeringOptions(SteeringModel):
    """A steering run's settings besides its prompts and features (the API's request derives
    from this class and adds those, naming SAEs by id)."""

    generation: GenerationConfig = Field(default_factory=GenerationConfig)
    """Sampling settings shared by baseline and steered continuations."""
    strengths: list[float] | None = None
    """A sweep: one steered continuation per value, the value replacing the strength of every
    add/clamp intervention (suppress stays at zero). None: one continuation at the
    interventions' own strengths."""
    similarity: SimilarityKind = "embedding"
    """How outputs are compared: cosine of all-MiniLM-L6-v2 embeddings (falls back to token
    Jaccard, saying so, when the model is unavailable) or token Jaccard directly."""
    check_model_name: bool = True
    """Refuse an SAE whose recorded ``model_name`` differs from the loaded model's name (widths
    are always checked). Turn off to steer a sibling model, e.g. base vs instruct."""
    prompt_template: TemplatedPrompt | None = None
    """A prompt with ``{variables}`` and their values: one more prompt per value (per
    combination with several variables), run after the plain ``prompts``."""


class SteeringConfig(SteeringOptions):
    """A steering run: prompts x (baseline + one steered continuation per strength)."""

    prompts: list[str] = Field(default_factory=list)
    """Prompts to continue; each gets its own baseline (may be empty with a
    ``prompt_template``)."""
    interventions: list[FeatureIntervention] = Field(min_length=1)
    """Features applied together (one combined hook per hook point)."""

    @model_validator(mode="after")
    def _check_prompts(self) -> SteeringConfig:
        filled = self.prompt_template.count() if self.prompt_template is not None else 0
        total = len(self.prompts) + filled
        if total == 0:
            raise InvalidInputError("give at least one prompt (or a prompt template)")
        if total > MAX_PROMPTS:
            raise InvalidInputError(
                f"{len(self.prompts)} prompts and {filled} from the template make {total}; "
                f"a run takes at most {MAX_PROMPTS}"
            )
        return self

    def all_prompts(self) -> list[FilledPrompt]:
        """The prompts to run: the plain ones, then the template's, each with its values."""
        out = [FilledPrompt(p, {}) for p in self.prompts]
        if self.prompt_template is not None:
            out.extend(self.prompt_template.expand())
        return out

    @model_validator(mode="after")
    def _check_sweep(self) -> SteeringConfig:
        if self.strengths is not None:
            if not self.strengths:
                raise InvalidInputError("a sweep needs at least one strength")
            if all(iv.mode == "suppress" for iv in self.interventions):
                raise InvalidInputError(
                    "a strength sweep needs an add or clamp intervention (suppress has none)"
                )
        return self

    def sweep(self) -> list[float | None]:
        """The strengths to run: the sweep, or ``[None]`` for the interventions' own."""
        return list(self.strengths) if self.strengths is not None else [None]
