"""The one config of a Neuronpedia export, and a latent's label as plain data.

One :class:`NeuronpediaExportConfig` is the API body, the stored job config and the CLI's
options. Ids are checked where the config is built (one line naming the rule), so a bad id is
a 422 before any job runs. Defaults that depend on the SAE (the source set name, the layer) are
``None`` here and filled by :meth:`NeuronpediaExportConfig.resolved` from the extraction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from pydantic import Field, field_validator

from mistudio.core.config import OperationConfig
from mistudio.core.neuronpedia.ids import (
    DEFAULT_CREATOR_ID,
    DEFAULT_EXPLANATION_TYPE,
    DEFAULT_MODEL_ID,
    EXPLANATION_TYPES,
    check_creator_id,
    check_model_id,
    check_source_set,
    default_source_set,
    hook_kind,
    layer_of,
    width_name,
)
from mistudio.core.neuronpedia.selection import check_selection
from mistudio.errors import InvalidInputError


class NeuronpediaExportConfig(OperationConfig):
    """What a Neuronpedia export carries and under which ids."""

    latents: str = Field(default="all", max_length=20_000)
    """Which latents: ``all``, ``extracted`` (those that fired), ``starred``, ``labelled``, or
    indices and inclusive ranges such as ``0-99,512``."""
    examples: int = Field(default=20, ge=0, le=1000)
    """Top-activating examples per latent (at most what the extraction kept)."""
    include_samples: bool = True
    """Also carry the quantile-bin samples, when the extraction kept them (Neuronpedia shows
    them as activation intervals)."""
    include_logit_lens: bool = True
    """Top and bottom logit-lens tokens and values."""
    include_histograms: bool = True
    """The activation histogram and the histogram of logit effects."""
    include_top_tokens: bool = True
    """The tokens each latent fires on most (archive only: Neuronpedia has no field for it)."""
    include_explanations: bool = True
    """Labels and their scores as explanations."""
    include_saelens: bool = True
    """The SAE's weights as a SAELens folder (``saelens/`` in the archive)."""
    include_vectors: bool = True
    """Each latent's decoder row as its Neuronpedia steering ``vector``."""
    model_id: str = DEFAULT_MODEL_ID
    """Neuronpedia model id (lowercase letters, digits, '-' and '.')."""
    source_set: str | None = Field(default=None, max_length=64)
    """Neuronpedia source set name; default ``mistudio-{res|mlp|att}-{width}``, e.g.
    ``mistudio-res-4k``. The source id is ``{layer}-{source_set}``."""
    layer: int | None = Field(default=None, ge=0, le=10_000)
    """Layer in the source id; default: the block number in the SAE's hook name."""
    creator_id: str = DEFAULT_CREATOR_ID
    """Neuronpedia user id that owns the rows (default: its seeded default user)."""
    creator_name: str = Field(default="miStudio", min_length=1, max_length=100)
    """Creator name shown on the release and source set."""
    release: str | None = Field(default=None, max_length=100)
    """Release name (default: ``{model_id}-{source_set}``)."""
    description: str | None = Field(default=None, max_length=128)
    """Source set description (default: the hook and width, e.g. ``Residual Stream - 4k``)."""
    explanation_type: str = DEFAULT_EXPLANATION_TYPE
    """Neuronpedia explanation type of LLM labels (rules and hand-written labels get none)."""

    @field_validator("latents")
    @classmethod
    def _latents(cls, value: str) -> str:
        return check_selection(value)

    @field_validator("model_id")
    @classmethod
    def _model_id(cls, value: str) -> str:
        return check_model_id(value)

    @field_validator("source_set")
    @classmethod
    def _source_set(cls, value: str | None) -> str | None:
        return check_source_set(value) if value is not None else None

    @field_validator("release")
    @classmethod
    def _release(cls, value: str | None) -> str | None:
        return check_source_set(value) if value is not None else None

    @field_validator("creator_id")
    @classmethod
    def _creator_id(cls, value: str) -> str:
        return check_creator_id(value)

    @field_validator("explanation_type")
    @classmethod
    def _explanation_type(cls, value: str) -> str:
        if value not in EXPLANATION_TYPES:
            raise InvalidInputError(
                f"explanation type {value!r} is not one of Neuronpedia's: "
                + ", ".join(EXPLANATION_TYPES)
            )
        return value

    def resolved(self, hook_name: str, d_sae: int) -> NeuronpediaExportConfig:
        """A copy with ``source_set``, ``layer``, ``release`` and ``description`` filled for an
        SAE reading ``hook_name`` with ``d_sae`` latents."""
        source_set = self.source_set or default_source_set(hook_name, d_sae)
        layer = self.layer if self.layer is not None else layer_of(hook_name)
        if layer is None:
            raise InvalidInputError(
                f"hook {hook_name!r} names no layer; give the layer for the source id"
            )
        return self.model_copy(
            update={
                "source_set": source_set,
                "layer": layer,
                "release": self.release or f"{self.model_id}-{source_set}"[:100],
                "description": self.description or _describe(hook_name, d_sae),
            }
        )

    @property
    def source_id(self) -> str:
        """``{layer}-{source_set}`` (after :meth:`resolved`)."""
        if self.layer is None or self.source_set is None:
            raise InvalidInputError("the export's layer and source set are not resolved yet")
        return f"{self.layer}-{self.source_set}"


def _describe(hook_name: str, d_sae: int) -> str:
    what = {"res": "Residual Stream", "mlp": "MLP Out", "att": "Attention Out"}[
        hook_kind(hook_name)
    ]
    return f"{what} - {width_name(d_sae)}"


@dataclass(frozen=True)
class LatentLabel:
    """One latent's label as the export needs it (from the studio's database or a label file;
    core never reads either)."""

    index: int
    """Latent index."""
    label: str
    """Short label (Neuronpedia's explanation ``description``)."""
    description: str | None = None
    """Longer explanation (kept in the explanation's ``notes``)."""
    category: str | None = None
    """Category."""
    method: str | None = None
    """``rules``, ``local``, ``ollama``, ``openai`` or ``manual``."""
    model: str | None = None
    """Model that wrote it."""
    confidence: float | None = None
    """0..1 as stated by the method."""
    detection: float | None = None
    """Detection balanced accuracy."""
    fuzzing: float | None = None
    """Fuzzing balanced accuracy."""
    labeled_at: datetime | None = None
    """When it was written."""
