"""The real built-in SmolLM2-135M-Instruct: load, summary, generation, activations."""

from __future__ import annotations

import time

import pytest
import torch

from mistudio.core.hooks import capture, resolve_hook_points
from mistudio.core.language_models import load_model

pytestmark = pytest.mark.smollm


def test_builtin_summary(smollm2):
    summary = smollm2.architecture()
    assert summary.family == "llama"
    assert (summary.n_layers, summary.d_model, summary.vocab_size) == (30, 576, 49152)
    assert summary.n_heads == 9 and summary.n_kv_heads == 3 and summary.d_mlp == 1536
    assert 134e6 < summary.n_params < 136e6
    assert "blocks.6.hook_resid_post" in summary.hook_points
    assert "model.layers.6" in summary.hf_hook_points
    assert len(summary.hook_points) == 30 * 6


def test_second_load_is_fast(smollm2):
    # The fixture already loaded once (dequantizing if needed), so this load reads safetensors.
    t0 = time.perf_counter()
    again = load_model("smollm2-135m")
    assert time.perf_counter() - t0 < 5
    assert again.local_path == smollm2.local_path


def test_greedy_completion_is_sensible(smollm2):
    tok = smollm2.tokenizer
    ids = tok("The capital of France is", return_tensors="pt")
    out = smollm2.model.generate(**ids, max_new_tokens=6, do_sample=False)
    text = tok.decode(out[0][ids["input_ids"].shape[1] :])
    assert "Paris" in text


def test_layer6_activations_equal_hidden_states(smollm2):
    tok = smollm2.tokenizer
    ids = tok(
        ["def main():\n    return 42\n", "In the beginning God created"],
        return_tensors="pt",
        padding=True,
    )
    with torch.no_grad():
        ref = smollm2.model(**ids, output_hidden_states=True).hidden_states[7]
    points = resolve_hook_points(smollm2.model, ["blocks.6.hook_resid_post"])
    with capture(smollm2.model, points) as cap:
        acts = cap.run(**ids)
    assert torch.equal(acts["blocks.6.hook_resid_post"], ref)
