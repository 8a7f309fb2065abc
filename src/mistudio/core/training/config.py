"""Training configuration: a :class:`SAETrainConfig` per SAE, many SAEs in a :class:`TrainConfig`.

All SAEs of a run consume the same stream of batches (``dict[hook_name, Tensor[tokens, d]]``), so
several hook points and several sweeps over one hook point cost one data pass. Every field is
documented and validated here; a bad value raises :class:`~mistudio.errors.InvalidInputError` with
one line.
"""

from __future__ import annotations

import math
import re
from typing import Literal

from pydantic import ConfigDict, model_validator

from mistudio.core.sae.base import SAEConfig, StrictModel
from mistudio.core.sae.registry import registered_architectures, sae_class
from mistudio.core.training.auto_sparsity import MIN_ADJUST_STEPS
from mistudio.errors import InvalidInputError


def safe_name(name: str) -> str:
    """A folder-safe version of an SAE name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "sae"


class SAETrainConfig(StrictModel):
    """How to train one SAE of a run."""

    # NaN passes every ``x <= 0`` check and only fails deep in the optimiser: refuse it (and
    # infinities) here, with the field's name.
    model_config = ConfigDict(allow_inf_nan=False)

    name: str | None = None
    """Unique name within the run (used for folders and progress); default from hook and shape."""
    hook_name: str
    """Hook point the SAE reads (a key of every batch dict)."""
    hook_name_out: str | None = None
    """Hook point a transcoder reconstructs (a batch key); None: the input hook (plain SAE)."""
    sae: SAEConfig
    """Architecture and shape."""
    lr: float = 3e-4
    """Adam learning rate after warm-up."""
    adam_betas: tuple[float, float] = (0.9, 0.999)
    """Adam (beta1, beta2)."""
    adam_eps: float = 1e-8
    """Adam epsilon."""
    lr_warmup_steps: int = 0
    """Steps of linear learning-rate warm-up from 0."""
    lr_decay: Literal["constant", "linear", "cosine"] = "linear"
    """Shape of the decay phase at the end of training."""
    lr_decay_start_fraction: float = 0.8
    """Fraction of training after which the learning rate decays (Anthropic: last 20%)."""
    lr_end_fraction: float = 0.0
    """Learning rate at the end, as a fraction of ``lr``."""
    sparsity_coefficient: float | None = None
    """L1 (standard, transcoder) or L0 (jumprelu) weight; the start value when target_l0 is set."""
    target_l0: float | None = None
    """Find the sparsity coefficient automatically so that L0 reaches this value."""
    sparsity_warmup_steps: int = 0
    """Steps of linear warm-up of the sparsity coefficient (ignored with target_l0)."""
    auto_sparsity_fraction: float = 1.0
    """With target_l0: fraction of training during which the thresholds are held at the target
    (the coefficient adapts during the first 20%); after it, the loss alone sets L0."""
    grad_clip_norm: float | None = 1.0
    """Clip the global gradient norm of this SAE to this value (None: no clipping)."""
    normalize_activations: Literal["none", "expected_average_only_in"] = "expected_average_only_in"
    """Scale inputs by sqrt(d) / mean ||x|| during training; folded into the weights at save."""
    b_dec_init: Literal["geometric_median", "mean", "zeros"] = "geometric_median"
    """How b_dec starts, estimated from the init batches."""
    dead_window_tokens: int = 1_000_000
    """A latent that has not fired for this many tokens is dead (AuxK, resampling, metrics)."""
    aux_k: int | None = None
    """TopK/BatchTopK: dead latents used by AuxK per token; None: d_in // 2 (Gao et al.)."""
    aux_coefficient: float = 1 / 32
    """TopK/BatchTopK: weight of the AuxK loss (Gao et al. 2024)."""
    resample_steps: list[int] = []
    """Standard/JumpReLU: steps at which dead latents are re-initialised (Bricken et al. 2023)."""
    threshold_start_step: int = 0
    """BatchTopK: step from which the inference threshold is estimated."""

    @model_validator(mode="after")
    def _check(self) -> SAETrainConfig:
        arch = self.sae.architecture
        cls = sae_class(arch)  # the architecture's facts: sparsity control, hooks, resampling
        cls.check_trainable(self.sae)  # imported-only architectures and normalisations refused
        if self.lr <= 0:
            raise InvalidInputError(f"lr must be > 0, got {self.lr}")
        b1, b2 = self.adam_betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise InvalidInputError(f"adam_betas must be in [0, 1), got {self.adam_betas}")
        if not 0 <= self.lr_decay_start_fraction <= 1 or not 0 <= self.lr_end_fraction <= 1:
            raise InvalidInputError("lr_decay_start_fraction and lr_end_fraction must be in [0, 1]")
        if min(self.lr_warmup_steps, self.sparsity_warmup_steps, self.threshold_start_step) < 0:
            raise InvalidInputError("warm-up and start steps must be >= 0")
        if self.dead_window_tokens <= 0:
            raise InvalidInputError("dead_window_tokens must be > 0")
        if self.grad_clip_norm is not None and self.grad_clip_norm <= 0:
            raise InvalidInputError("grad_clip_norm must be > 0 or None")
        if cls.sparsity_control == "penalty":
            if self.sparsity_coefficient is None and self.target_l0 is None:
                raise InvalidInputError(
                    f"{arch} needs sparsity_coefficient or target_l0 (to find it automatically)"
                )
        elif self.sparsity_coefficient is not None or self.target_l0 is not None:
            how = "with k" if cls.sparsity_control == "k" else "by its threshold"
            raise InvalidInputError(
                f"{arch} fixes L0 {how}; sparsity_coefficient and target_l0 do not apply"
            )
        if self.sparsity_coefficient is not None and self.sparsity_coefficient < 0:
            raise InvalidInputError("sparsity_coefficient must be >= 0")
        if self.target_l0 is not None and not 0 < self.target_l0 < self.sae.d_sae:
            raise InvalidInputError(
                f"target_l0 must be in (0, d_sae={self.sae.d_sae}), got {self.target_l0}"
            )
        if not 0 < self.auto_sparsity_fraction <= 1:
            raise InvalidInputError("auto_sparsity_fraction must be in (0, 1]")
        if self.resample_steps and not cls.supports_resampling:
            able = ", ".join(
                a for a in registered_architectures() if sae_class(a).supports_resampling
            )
            raise InvalidInputError(f"resample_steps applies to {able} SAEs only")
        if self.aux_k is not None and self.aux_k <= 0:
            raise InvalidInputError("aux_k must be > 0")
        if cls.reconstructs_other_hook and self.hook_name_out is None:
            raise InvalidInputError(f"a {arch} needs hook_name_out (the activation it predicts)")
        if not cls.reconstructs_other_hook and self.hook_name_out not in (None, self.hook_name):
            raise InvalidInputError("only a transcoder reads one hook and reconstructs another")
        return self

    @property
    def target_hook(self) -> str:
        return self.hook_name_out or self.hook_name

    def adjust_steps(self, total_steps: int) -> int:
        """Steps during which auto sparsity holds the thresholds in a run of ``total_steps``."""
        return max(1, int(self.auto_sparsity_fraction * total_steps))

    @property
    def resolved_name(self) -> str:
        if self.name:
            return self.name
        c = self.sae
        parts = [self.hook_name, c.architecture, str(c.d_sae)]
        if c.k is not None:
            parts.append(f"k{c.k}")
        if self.target_l0 is not None:
            parts.append(f"l0_{self.target_l0:g}")
        elif self.sparsity_coefficient is not None:
            parts.append(f"c{self.sparsity_coefficient:g}")
        return ".".join(parts)


class TrainConfig(StrictModel):
    """One training run: many SAEs, one pass over the data."""

    model_config = ConfigDict(allow_inf_nan=False)

    saes: list[SAETrainConfig]
    """The SAEs to train (different hook points and/or sweeps over one hook point)."""
    total_tokens: int
    """Tokens to train on; steps = total_tokens // batch_tokens."""
    batch_tokens: int = 4096
    """Tokens per batch (rows of each Tensor in a batch dict)."""
    seed: int = 0
    """Seed for initialisation and resampling."""
    device: str = "cpu"
    """Device for SAEs and batches ("cpu", "cuda", ...)."""
    autocast: Literal["none", "bfloat16", "float16"] = "none"
    """Mixed precision for the forward on CUDA (weights stay float32)."""
    init_batches: int = 4
    """Batches read first to estimate normalisation scales and b_dec (then trained on)."""
    log_every: int = 50
    """Report metrics through progress every this many steps."""
    checkpoint_every: int | None = None
    """Write a checkpoint every this many steps (None: only at the end or on stop)."""
    keep_checkpoints: int = 2
    """Checkpoints kept besides the best one."""
    final_eval_tokens: int = 65_536
    """Tokens at the end of training over which the final metrics in training.json are measured."""
    threads: int | None = None
    """torch CPU threads (None: leave as is)."""

    @model_validator(mode="after")
    def _check(self) -> TrainConfig:
        if not self.saes:
            raise InvalidInputError("a training run needs at least one SAE")
        if self.batch_tokens <= 0:
            raise InvalidInputError(f"batch_tokens must be > 0, got {self.batch_tokens}")
        if self.total_tokens < self.batch_tokens:
            raise InvalidInputError(
                f"total_tokens ({self.total_tokens}) is less than one batch ({self.batch_tokens})"
            )
        if self.log_every <= 0 or self.init_batches <= 0 or self.keep_checkpoints < 1:
            raise InvalidInputError("log_every and init_batches must be > 0, keep_checkpoints >= 1")
        if self.checkpoint_every is not None and self.checkpoint_every <= 0:
            raise InvalidInputError("checkpoint_every must be > 0 or None")
        if self.autocast != "none" and not self.device.startswith("cuda"):
            raise InvalidInputError("autocast needs a CUDA device")
        names = [s.resolved_name for s in self.saes]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise InvalidInputError(f"SAE names must be unique; repeated: {', '.join(dup)}")
        folders = [safe_name(n) for n in names]
        if len(set(folders)) != len(folders):
            raise InvalidInputError("SAE names collide once made folder-safe; give explicit names")
        for s in self.saes:
            if s.target_l0 is not None and s.adjust_steps(self.total_steps) < MIN_ADJUST_STEPS:
                need = math.ceil(MIN_ADJUST_STEPS / s.auto_sparsity_fraction)
                raise InvalidInputError(
                    f"{s.resolved_name}: target_l0 needs {MIN_ADJUST_STEPS} adjusting steps "
                    f"(auto_sparsity_fraction {s.auto_sparsity_fraction:g} of "
                    f"{self.total_steps} steps gives {s.adjust_steps(self.total_steps)}): train "
                    f"on at least {need * self.batch_tokens:,} tokens, or set "
                    "sparsity_coefficient instead"
                )
        return self

    @property
    def total_steps(self) -> int:
        return self.total_tokens // self.batch_tokens
