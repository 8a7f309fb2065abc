"""Neuronpedia: export an extraction as the studio archive and as Neuronpedia's bulk import
layout, and upload it through Neuronpedia's per-user API.

- :mod:`.ids`: Neuronpedia's id rules, our defaults (model ``smollm2-135m``, source set
  ``mistudio-res-4k``, source id ``{layer}-{source set}``) and its config names.
- :mod:`.selection`: which latents (``all``, ``extracted``, ``starred``, ``labelled``, ranges).
- :mod:`.config`: :class:`NeuronpediaExportConfig`, the one config of an export, and
  :class:`LatentLabel`, a label as plain data.
- :mod:`.records`: one latent's records, read from the extraction's memory-mapped arrays.
- :mod:`.export`: :func:`export_extraction` writes both forms in one pass over the latents.
- :mod:`.upload`: the upload client (``upload_bulk``) over the bulk layout.
"""

from mistudio.core.neuronpedia.config import LatentLabel, NeuronpediaExportConfig
from mistudio.core.neuronpedia.ids import (
    DEFAULT_CREATOR_ID,
    DEFAULT_MODEL_ID,
    check_model_id,
    check_source_set,
)
from mistudio.core.neuronpedia.selection import parse_ranges, resolve_latents

__all__ = [
    "DEFAULT_CREATOR_ID",
    "DEFAULT_MODEL_ID",
    "LatentLabel",
    "NeuronpediaExportConfig",
    "check_model_id",
    "check_source_set",
    "parse_ranges",
    "resolve_latents",
]
