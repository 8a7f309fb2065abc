"""Sparse probing (SAEBench's ``sparse_probing``, on tasks the built-in corpora supply).

For each binary task (:mod:`mistudio.core.lab.probing_tasks`): the hook's activations of every
example (mean over the window for sequence tasks, the last token for token tasks) and the SAE's
latents of the same (encoded per token, then pooled alike); a seeded train/test split; the top-k
latents by absolute difference of class means on the training split; a logistic regression on
those k latents, and one on the raw activations as the reference. Scores are test accuracies
averaged over tasks; the interval resamples test examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from pydantic import Field
from torch import Tensor, nn

from mistudio.core.config import DocumentedModel, OperationConfig
from mistudio.core.hooks import capture, resolve_hook_points
from mistudio.core.lab.bootstrap import Interval, bootstrap_weights, group_mean_interval
from mistudio.core.lab.linear_probe import fit_probe
from mistudio.core.lab.probing_tasks import ProbingTask
from mistudio.core.progress import Progress, report
from mistudio.core.sae.base import SAE
from mistudio.errors import InvalidInputError


class ProbingConfig(OperationConfig):
    """Settings of the sparse-probing eval."""

    ks: list[int] = Field(default_factory=lambda: [1, 5])
    """Numbers of latents the sparse probes use."""
    n_per_class: int = Field(default=64, ge=4)
    """Examples per class and task."""
    window: int = Field(default=32, ge=4)
    """Tokens per example."""
    test_fraction: float = Field(default=0.3, gt=0, lt=1)
    """Share of each task's examples held out for the accuracies."""


class ProbingResult(DocumentedModel):
    """Sparse-probing accuracies with intervals, overall and per task."""

    top_k: dict[str, Interval]
    """str(k) -> mean test accuracy over tasks of the probe on the top-k latents."""
    llm: Interval
    """Mean test accuracy over tasks of the probe on the raw activations."""
    per_task: dict[str, dict[str, Any]]
    """task -> accuracies (``top_<k>``, ``llm``), latents chosen, examples."""
    skipped: list[str]
    """Tasks left out, with why."""


@torch.no_grad()
def task_features(
    model: nn.Module,
    sae: SAE,
    hook_name: str,
    task: ProbingTask,
    layout: Any = None,
    batch_size: int = 16,
) -> tuple[Tensor, Tensor]:
    """``(acts[n, d_in], latents[n, d_sae])`` of a task's examples, pooled or last-token."""
    device = next(model.parameters()).device
    points = resolve_hook_points(model, [hook_name], layout)
    acts, lats = [], []
    with capture(model, points, stop_early=True) as cap:
        for s in range(0, len(task.ids), batch_size):
            ids = torch.tensor(task.ids[s : s + batch_size], device=device)
            a = cap.run(input_ids=ids)[points[0].name]  # [b, w, d]
            if not task.pooled:
                a = a[:, -1:]
            f = sae.encode(a.reshape(-1, a.shape[-1]).to(sae.W_enc.device, sae.W_enc.dtype))
            f = f.reshape(a.shape[0], a.shape[1], -1)  # [b, w', d_sae]
            acts.append(a.float().mean(1).cpu())
            lats.append(f.float().mean(1).cpu())
    return torch.cat(acts), torch.cat(lats)


def probe_task(
    acts: Tensor, latents: Tensor, y: Tensor, ks: Sequence[int], test_fraction: float, seed: int
) -> tuple[dict[str, Tensor], dict[str, list[int]]]:
    """Per test example 0/1 correctness of each probe (``top_<k>`` and ``llm``), and the latents
    each top-k probe used."""
    gen = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(y), generator=gen)
    n_test = max(2, round(len(y) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    if len(y[train].unique()) < 2:
        raise InvalidInputError("a probing task's training split has a single class")
    ytr = y[train].bool()
    diff = (latents[train][ytr].mean(0) - latents[train][~ytr].mean(0)).abs()  # [d_sae]
    correct: dict[str, Tensor] = {}
    chosen: dict[str, list[int]] = {}
    for k in ks:
        top = diff.topk(min(k, diff.numel())).indices
        probe = fit_probe(latents[train][:, top], y[train], 2)
        correct[f"top_{k}"] = (probe.predict(latents[test][:, top]) == y[test]).double()
        chosen[f"top_{k}"] = top.tolist()
    probe = fit_probe(acts[train], y[train], 2)
    correct["llm"] = (probe.predict(acts[test]) == y[test]).double()
    return correct, chosen


def sparse_probing(
    model: nn.Module,
    sae: SAE,
    hook_name: str,
    tasks: Sequence[ProbingTask],
    config: ProbingConfig,
    layout: Any = None,
    skipped: Sequence[str] = (),
    seed: int = 0,
    n_resamples: int = 200,
    progress: Progress | None = None,
) -> ProbingResult:
    """Sparse-probing accuracies of ``sae`` on ``tasks``."""
    if not tasks:
        raise InvalidInputError("no probing task could be built: " + "; ".join(skipped))
    per_task: dict[str, dict[str, Any]] = {}
    rows: dict[str, list[Tensor]] = {}
    groups: list[Tensor] = []
    for t, task in enumerate(tasks):
        acts, lats = task_features(model, sae, hook_name, task, layout)
        correct, chosen = probe_task(
            acts, lats, torch.tensor(task.labels), config.ks, config.test_fraction, seed + t
        )
        for key, values in correct.items():
            rows.setdefault(key, []).append(values)
        groups.append(torch.full((len(correct["llm"]),), t))
        per_task[task.name] = {
            **{key: float(v.mean()) for key, v in correct.items()},
            "latents": chosen,
            "n_examples": len(task.labels),
            "pooled": task.pooled,
        }
        report(progress, t + 1, len(tasks))
    group = torch.cat(groups)
    weights = bootstrap_weights(len(group), n_resamples, seed) if n_resamples else None

    def score(key: str) -> Interval:
        return group_mean_interval(torch.cat(rows[key]), group, len(tasks), weights)

    return ProbingResult(
        top_k={str(k): score(f"top_{k}") for k in config.ks},
        llm=score("llm"),
        per_task=per_task,
        skipped=list(skipped),
    )
