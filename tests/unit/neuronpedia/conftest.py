"""A tiny extraction (tiny llama, a random top-k SAE saved as a SAELens folder) shared by the
Neuronpedia export tests of this folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from mistudio.core.data import DatasetSource, TokenizeConfig, import_dataset, tokenize_dataset
from mistudio.core.features import (
    ExtractionConfig,
    ExtractionResult,
    ExtractionTarget,
    extract_features,
)
from mistudio.core.sae import SAE, SAEConfig, build_sae, save_sae
from tests.unit.tiny_models import random_texts, tiny_loaded, tiny_tokenizer

HOOK = "blocks.1.hook_resid_post"
D_SAE = 40


@dataclass
class TinyExtraction:
    result: ExtractionResult
    sae: SAE
    sae_folder: Path
    loaded: object


@pytest.fixture(scope="package")
def tiny_extraction(tmp_path_factory: pytest.TempPathFactory) -> TinyExtraction:
    tmp = tmp_path_factory.mktemp("np-export")
    src = tmp / "docs.jsonl"
    src.write_text("\n".join(json.dumps({"text": t}) for t in random_texts(60)))
    import_dataset(DatasetSource.local(src), tmp / "ds")
    tokenization = tokenize_dataset(
        tmp / "ds", tiny_tokenizer(), TokenizeConfig(max_length=16, stride=8), tmp / "tok"
    )
    loaded = tiny_loaded("llama")
    torch.manual_seed(0)
    sae = build_sae(
        SAEConfig(architecture="topk", d_in=32, d_sae=D_SAE, k=5, metadata={"hook_name": HOOK})
    )
    folder = save_sae(sae, tmp / "sae", metadata={"hook_name": HOOK, "model_name": "tiny"})
    config = ExtractionConfig(
        n_tokens=100_000,
        top_k=6,
        context_before=4,
        context_after=2,
        n_samples=5,
        n_random_contexts=12,
        batch_size=5,
        coactivation_latents_per_token=40,
    )
    (result,) = extract_features(
        loaded, tokenization, [ExtractionTarget(sae, None, folder)], config, [tmp / "ext"]
    )
    return TinyExtraction(result, sae, folder, loaded)
