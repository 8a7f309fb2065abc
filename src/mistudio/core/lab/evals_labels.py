"""Label score summary: how much of an SAE its labels cover, and how well they score.

Inputs are per latent (of the SAE's extraction that holds the labels): whether it has a label,
and its detection / fuzzing scores where scored (NaN where not). The interval resamples latents.
"""

from __future__ import annotations

import torch
from torch import Tensor

from mistudio.core.lab.bootstrap import Interval, bootstrap_weights, mean_interval


def label_summary(
    labelled: Tensor, detection: Tensor, fuzzing: Tensor, seed: int = 0, n_resamples: int = 200
) -> dict[str, Interval]:
    """``labelled[n]`` bool, ``detection[n]`` / ``fuzzing[n]`` float (NaN: not scored) ->
    ``label_share``, and ``label_detection`` / ``label_fuzzing`` (means over scored latents)."""
    out = {
        "label_share": mean_interval(
            labelled.double(),
            bootstrap_weights(len(labelled), n_resamples, seed) if n_resamples else None,
        )
    }
    for name, scores in (("label_detection", detection), ("label_fuzzing", fuzzing)):
        scored = scores[~torch.isnan(scores)]
        if len(scored):
            weights = bootstrap_weights(len(scored), n_resamples, seed) if n_resamples else None
            out[name] = mean_interval(scored, weights)
    return out
