"""Steering: generate with SAE feature interventions and compare with the unsteered model.

Steering is how a researcher tests that a feature does what its label says: push on it during
generation and see whether the text moves in the predicted direction.

* :mod:`.config` -- :class:`SteeringConfig`, :class:`FeatureIntervention`,
  :class:`GenerationConfig` (add / clamp / suppress, absolute or relative strengths, sweeps);
* :mod:`.interventions` -- the interventions as one combined activation edit per hook point;
* :mod:`.generation` -- seeded sampling with a KV cache (zero strength reproduces the baseline);
* :mod:`.metrics`, :mod:`.similarity` -- KL, perplexity, the steered features' fire rate in
  the text, embedding similarity;
* :mod:`.prompt_templates` -- :class:`TemplatedPrompt`: one prompt with ``{variables}`` filled
  from lists of values (product or zip, capped at :data:`MAX_PROMPTS`);
* :mod:`.run` -- :func:`steer` and its JSON-exportable :class:`SteeringRun`.
"""

from mistudio.core.steering.config import (
    FeatureIntervention,
    GenerationConfig,
    InterventionOptions,
    Mode,
    Positions,
    SteeringConfig,
    SteeringOptions,
)
from mistudio.core.steering.generation import (
    Generation,
    encode_prompt,
    generate,
    sample_next,
)
from mistudio.core.steering.interventions import (
    ResolvedIntervention,
    Steerer,
    check_index,
    intervention_hook,
    resolve_interventions,
)
from mistudio.core.steering.metrics import (
    continuation_log_probs,
    fire_rates,
    kl_per_token,
    perplexity,
)
from mistudio.core.steering.prompt_templates import (
    MAX_PROMPTS,
    FilledPrompt,
    TemplatedPrompt,
    template_variables,
)
from mistudio.core.steering.run import (
    BaselineOutput,
    ComparisonMetrics,
    PromptResult,
    SAELineage,
    SteeredOutput,
    SteeringRun,
    steer,
)
from mistudio.core.steering.similarity import TextEmbedder, load_embedder, token_jaccard

__all__ = [
    "MAX_PROMPTS",
    "BaselineOutput",
    "ComparisonMetrics",
    "FeatureIntervention",
    "FilledPrompt",
    "Generation",
    "GenerationConfig",
    "InterventionOptions",
    "Mode",
    "Positions",
    "PromptResult",
    "ResolvedIntervention",
    "SAELineage",
    "SteeredOutput",
    "Steerer",
    "SteeringConfig",
    "SteeringOptions",
    "SteeringRun",
    "TemplatedPrompt",
    "TextEmbedder",
    "check_index",
    "continuation_log_probs",
    "encode_prompt",
    "fire_rates",
    "generate",
    "intervention_hook",
    "kl_per_token",
    "load_embedder",
    "perplexity",
    "resolve_interventions",
    "sample_next",
    "steer",
    "template_variables",
    "token_jaccard",
]
