"""Feature labelling: rule labels, LLM backends (local / Ollama / OpenAI-compatible), prompt
templates, detection and fuzzing scores, and semantic search over labels.

Entry points: :func:`label_features` runs a method over many latents (resumable, concurrent for
HTTP backends); :class:`LabelingConfig` says how; :data:`METHODS` is the registry of methods;
:class:`SemanticIndex` searches labels by meaning.
"""

from mistudio.core.labeling.config import FeatureFilter, LabelingConfig
from mistudio.core.labeling.context import FeatureContext, gather_feature
from mistudio.core.labeling.errors import (
    AuthenticationError,
    BackendError,
    BackendUnreachableError,
    MalformedReplyError,
    ModelNotFoundError,
    RateLimitedError,
)
from mistudio.core.labeling.methods import (
    METHODS,
    Labeler,
    LLMLabeler,
    RuleLabeler,
    create_labeler,
    register_method,
)
from mistudio.core.labeling.prompts import PromptTemplate
from mistudio.core.labeling.records import FeatureLabel, LabelingSummary, LabelScores
from mistudio.core.labeling.rules import RULES, match_rules
from mistudio.core.labeling.run import (
    CostEstimate,
    LabelingRun,
    LabelStore,
    estimate_cost,
    label_features,
    parse_indices,
    select_indices,
)
from mistudio.core.labeling.scoring import balanced_accuracy, f1_score, score_label
from mistudio.core.labeling.semantic import SemanticIndex

__all__ = [
    "METHODS",
    "RULES",
    "AuthenticationError",
    "BackendError",
    "BackendUnreachableError",
    "CostEstimate",
    "FeatureContext",
    "FeatureFilter",
    "FeatureLabel",
    "LLMLabeler",
    "LabelScores",
    "LabelStore",
    "Labeler",
    "LabelingConfig",
    "LabelingRun",
    "LabelingSummary",
    "MalformedReplyError",
    "ModelNotFoundError",
    "PromptTemplate",
    "RateLimitedError",
    "RuleLabeler",
    "SemanticIndex",
    "balanced_accuracy",
    "create_labeler",
    "estimate_cost",
    "f1_score",
    "gather_feature",
    "label_features",
    "match_rules",
    "parse_indices",
    "register_method",
    "score_label",
    "select_indices",
]
