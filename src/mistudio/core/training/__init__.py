"""Training SAEs: config, schedules, the many-SAEs-one-pass trainer, checkpoints, auto-sparsity."""

from mistudio.core.training.auto_sparsity import L0Controller, start_at_target, target_warning
from mistudio.core.training.checkpoints import (
    CheckpointInfo,
    best_checkpoint,
    latest_checkpoint,
    list_checkpoints,
)
from mistudio.core.training.config import SAETrainConfig, TrainConfig
from mistudio.core.training.memory import (
    SAEMemory,
    TrainingMemoryEstimate,
    estimate_training_memory,
)
from mistudio.core.training.sae_state import TrainingDivergedError
from mistudio.core.training.schedules import lr_factor, warmup_factor
from mistudio.core.training.trainer import (
    SAEResult,
    SAETrainer,
    TrainResult,
    train_saes,
)

__all__ = [
    "CheckpointInfo",
    "L0Controller",
    "SAEMemory",
    "SAEResult",
    "SAETrainConfig",
    "SAETrainer",
    "TrainConfig",
    "TrainResult",
    "TrainingMemoryEstimate",
    "TrainingDivergedError",
    "best_checkpoint",
    "estimate_training_memory",
    "latest_checkpoint",
    "list_checkpoints",
    "lr_factor",
    "start_at_target",
    "target_warning",
    "train_saes",
    "warmup_factor",
]
