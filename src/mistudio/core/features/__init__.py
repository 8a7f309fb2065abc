"""Feature extraction and analysis: what each SAE latent responds to and what it does.

:func:`extract_features` streams evaluation tokens once through the LM and every SAE of it, and
writes per-latent statistics, histograms, top and sampled examples with context, logit lens,
decoder neighbours and co-activation into a folder that :class:`ExtractionResult` pages by latent
index. :func:`ablate_latent` and :func:`compare_completions` measure a latent's causal effect.
See each module's docstring for the decisions behind it.
"""

from mistudio.core.features.ablation import (
    AblationResult,
    CompletionComparison,
    TokenShift,
    ablate_latent,
    ablation_edit,
    compare_completions,
)
from mistudio.core.features.coactivation import Coactivation, CoactivationAccumulator, TopPairs
from mistudio.core.features.config import ExtractionConfig
from mistudio.core.features.extract import (
    ExtractionInterrupted,
    ExtractionTarget,
    extract_features,
    resolve_target,
)
from mistudio.core.features.histogram import HistogramAccumulator, calibrated_top, log_edges
from mistudio.core.features.logit_lens import (
    LogitLensTables,
    decoder_neighbours,
    logit_effects,
    logit_lens_tables,
)
from mistudio.core.features.result import (
    ActivationHistogram,
    Correlated,
    Example,
    ExtractionMeta,
    ExtractionResult,
    LatentStats,
    LogitLens,
)
from mistudio.core.features.slots import TopSlots
from mistudio.core.features.summary import TokenSummary, interpretability_proxy, token_summary

__all__ = [
    "AblationResult",
    "ActivationHistogram",
    "Coactivation",
    "CoactivationAccumulator",
    "CompletionComparison",
    "Correlated",
    "Example",
    "ExtractionConfig",
    "ExtractionInterrupted",
    "ExtractionMeta",
    "ExtractionResult",
    "ExtractionTarget",
    "HistogramAccumulator",
    "LatentStats",
    "LogitLens",
    "LogitLensTables",
    "TokenShift",
    "TokenSummary",
    "TopPairs",
    "TopSlots",
    "ablate_latent",
    "ablation_edit",
    "calibrated_top",
    "compare_completions",
    "decoder_neighbours",
    "extract_features",
    "interpretability_proxy",
    "log_edges",
    "logit_effects",
    "logit_lens_tables",
    "resolve_target",
    "token_summary",
]
