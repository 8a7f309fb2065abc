"""Checkpoint folders: SAELens folders for each SAE plus the trainer state, with retention.

Layout under ``<run>/checkpoints/step_000001234/``::

    checkpoint.json          step, tokens, data position, score (for listing and "best")
    trainer_state.pt         everything resume needs: weights in training scale, Adam state,
                             RNG states, dead-latent trackers, controllers, data position
    <sae name>/              SAELens folder (cfg.json, sae_weights.safetensors,
                             sparsity.safetensors), scales folded in: usable as is

A checkpoint is written to a temporary folder and renamed, so a crash never leaves half of one.
Retention keeps the newest ``keep`` checkpoints plus the best-scoring one.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

STATE_FILE = "trainer_state.pt"
INFO_FILE = "checkpoint.json"
PREFIX = "step_"


@dataclass
class CheckpointInfo:
    """What checkpoint.json holds."""

    path: Path
    step: int
    tokens_seen: int
    position: int
    score: float | None


def checkpoint_dir(run_dir: Path) -> Path:
    return run_dir / "checkpoints"


def list_checkpoints(run_dir: str | Path) -> list[CheckpointInfo]:
    """Complete checkpoints of a run, oldest first."""
    root = checkpoint_dir(Path(run_dir))
    out: list[CheckpointInfo] = []
    if not root.is_dir():
        return out
    for folder in root.iterdir():
        info_path = folder / INFO_FILE
        if (
            not folder.name.startswith(PREFIX)
            or folder.name.endswith(".tmp")
            or not info_path.is_file()
        ):
            continue
        info = json.loads(info_path.read_text())
        out.append(
            CheckpointInfo(
                path=folder,
                step=int(info["step"]),
                tokens_seen=int(info["tokens_seen"]),
                position=int(info["position"]),
                score=info.get("score"),
            )
        )
    return sorted(out, key=lambda c: c.step)


def latest_checkpoint(run_dir: str | Path) -> CheckpointInfo | None:
    items = list_checkpoints(run_dir)
    return items[-1] if items else None


def best_checkpoint(run_dir: str | Path) -> CheckpointInfo | None:
    scored = [c for c in list_checkpoints(run_dir) if c.score is not None]
    return min(scored, key=lambda c: (c.score, -c.step)) if scored else None


class CheckpointWriter:
    """Writes one checkpoint atomically; the caller fills the SAE folders through ``folder``."""

    def __init__(self, run_dir: Path, step: int) -> None:
        self.final = checkpoint_dir(run_dir) / f"{PREFIX}{step:09d}"
        self.folder = self.final.with_name(self.final.name + ".tmp")
        if self.folder.exists():
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)

    def commit(self, state: dict[str, Any], info: dict[str, Any]) -> Path:
        torch.save(state, self.folder / STATE_FILE)
        (self.folder / INFO_FILE).write_text(json.dumps(info, indent=2))
        if self.final.exists():
            shutil.rmtree(self.final)
        self.folder.rename(self.final)
        return self.final


def apply_retention(run_dir: str | Path, keep: int) -> None:
    """Delete all but the newest ``keep`` checkpoints and the best one."""
    items = list_checkpoints(run_dir)
    best = best_checkpoint(run_dir)
    keep_paths = {c.path for c in items[-keep:]}
    if best is not None:
        keep_paths.add(best.path)
    for c in items:
        if c.path not in keep_paths:
            shutil.rmtree(c.path, ignore_errors=True)


def load_state(checkpoint: CheckpointInfo | Path) -> dict[str, Any]:
    path = checkpoint.path if isinstance(checkpoint, CheckpointInfo) else checkpoint
    state: dict[str, Any] = torch.load(path / STATE_FILE, map_location="cpu", weights_only=True)
    return state
