"""The workspace the CLI tests share: the tiny llama saved as a HuggingFace folder, 30 random
documents tokenized as ``tiny`` under the test home, and an untrained topk SAE on its layer 1."""

from __future__ import annotations

import json
from pathlib import Path

from mistudio.core.data import DatasetSource, TokenizeConfig, import_dataset, tokenize_dataset
from mistudio.core.sae import SAEConfig, build_sae, save_sae
from tests.unit.tiny_models import random_texts, tiny_model, tiny_tokenizer

HOOK = "blocks.1.hook_resid_post"


def cli_workspace(home: Path, folder: Path) -> tuple[Path, Path, Path]:
    """(model folder, SAE folder, tokenization folder) written under ``folder`` and ``home``."""
    model_dir = folder / "tiny-llama"
    tiny_model("llama").save_pretrained(model_dir)
    tiny_tokenizer().save_pretrained(model_dir)
    tok_dir = tiny_tokenization(home, folder, 30)
    sae = build_sae(SAEConfig(architecture="topk", d_in=32, d_sae=24, k=4))
    save_sae(sae, folder / "sae", metadata={"hook_name": HOOK})
    return model_dir, folder / "sae", tok_dir


def tiny_tokenization(home: Path, folder: Path, n_texts: int) -> Path:
    """``n_texts`` random documents imported under ``folder`` and tokenized by the tiny
    tokenizer as ``tiny`` under ``home`` (sequences of 16, stride 8); the tokenization folder."""
    src = folder / "docs.jsonl"
    src.write_text("\n".join(json.dumps({"text": t}) for t in random_texts(n_texts)))
    import_dataset(DatasetSource.local(src), folder / "ds")
    tok_dir = home / "artifacts" / "tokenizations" / "tiny"
    tokenize_dataset(
        folder / "ds", tiny_tokenizer(), TokenizeConfig(max_length=16, stride=8), tok_dir
    )
    return tok_dir
