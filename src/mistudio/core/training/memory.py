"""Memory needed to train a set of SAEs, estimated before a run starts.

Per SAE: parameters, gradients and Adam's two moments (float32), trackers, and the transient
activations of one step. The architecture's class answers the two parts that depend on it
(:meth:`SAE.n_params` and :meth:`SAE.step_bytes`: dense architectures hold several
``[batch, d_sae]`` tensors at once, sparse ones one encoder chunk plus ``[batch, k]`` codes), so a
new architecture is estimated without a change here. Per hook point: the batch of activations
itself. Plus the LM when activations stream live.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from mistudio.core.sae.registry import sae_class
from mistudio.core.training.config import SAETrainConfig, TrainConfig

FLOAT = 4


class SAEMemory(BaseModel):
    """Bytes for one SAE."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    params: int
    """Weights."""
    grads: int
    """Gradients (same size as the weights)."""
    optimizer: int
    """Adam first and second moments."""
    buffers: int
    """Dead-latent trackers and other per-latent state."""
    activations: int
    """Transient tensors of one step."""
    total: int
    """Sum of the above."""


class TrainingMemoryEstimate(BaseModel):
    """Bytes for a training run."""

    model_config = ConfigDict(use_attribute_docstrings=True)

    per_sae: dict[str, SAEMemory]
    """Each SAE by name."""
    per_hook: dict[str, int]
    """Activation batch held per hook point (float32)."""
    lm_bytes: int
    """The language model (when it runs alongside), as given."""
    total: int
    """Everything together."""

    @property
    def total_gib(self) -> float:
        return self.total / 2**30


def estimate_sae_memory(spec: SAETrainConfig, batch_tokens: int) -> SAEMemory:
    """Bytes to train one SAE at ``batch_tokens`` tokens per step."""
    c = spec.sae
    cls = sae_class(c.architecture)
    params = cls.n_params(c) * FLOAT
    buffers = 3 * c.d_sae * 8
    acts = cls.step_bytes(c, batch_tokens, spec.aux_k or c.d_in // 2)
    acts += 3 * batch_tokens * c.out_dim * FLOAT  # x_hat, its grad, the error
    total = params * 4 + buffers + acts
    return SAEMemory(
        params=params,
        grads=params,
        optimizer=2 * params,
        buffers=buffers,
        activations=acts,
        total=total,
    )


def estimate_training_memory(config: TrainConfig, lm_bytes: int = 0) -> TrainingMemoryEstimate:
    """Estimate before a run: per SAE, per hook point, and in total (plus ``lm_bytes``)."""
    per_sae = {s.resolved_name: estimate_sae_memory(s, config.batch_tokens) for s in config.saes}
    per_hook: dict[str, int] = {}
    for s in config.saes:
        per_hook[s.hook_name] = config.batch_tokens * s.sae.d_in * FLOAT
        per_hook[s.target_hook] = config.batch_tokens * s.sae.out_dim * FLOAT
    # One SAE's step temporaries are alive at a time; weights and optimiser state of all persist.
    persistent = sum(m.params + m.grads + m.optimizer + m.buffers for m in per_sae.values())
    peak_step = max(m.activations for m in per_sae.values())
    total = persistent + peak_step + sum(per_hook.values()) + lm_bytes
    return TrainingMemoryEstimate(
        per_sae=per_sae, per_hook=per_hook, lm_bytes=lm_bytes, total=total
    )
