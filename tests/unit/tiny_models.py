"""Tiny causal LMs of each supported family, built from configs with random weights."""

from __future__ import annotations

import torch
from transformers import (
    AutoModelForCausalLM,
    Gemma2Config,
    GPT2Config,
    GPTNeoXConfig,
    LlamaConfig,
    Qwen2Config,
)

VOCAB = 97


def tiny_config(family: str):
    common = dict(vocab_size=VOCAB)
    if family == "gpt2":
        return GPT2Config(n_layer=3, n_embd=32, n_head=4, n_positions=64, **common)
    if family == "llama":
        return LlamaConfig(
            num_hidden_layers=3,
            hidden_size=32,
            intermediate_size=64,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=64,
            **common,
        )
    if family == "gpt_neox":
        return GPTNeoXConfig(
            num_hidden_layers=3,
            hidden_size=32,
            intermediate_size=64,
            num_attention_heads=4,
            max_position_embeddings=64,
            use_parallel_residual=True,
            **common,
        )
    if family == "gpt_neox_seq":
        return GPTNeoXConfig(
            num_hidden_layers=3,
            hidden_size=32,
            intermediate_size=64,
            num_attention_heads=4,
            max_position_embeddings=64,
            use_parallel_residual=False,
            **common,
        )
    if family == "qwen2":
        return Qwen2Config(
            num_hidden_layers=3,
            hidden_size=32,
            intermediate_size=64,
            num_attention_heads=4,
            num_key_value_heads=2,
            max_position_embeddings=64,
            **common,
        )
    if family == "gemma2":
        return Gemma2Config(
            num_hidden_layers=3,
            hidden_size=32,
            intermediate_size=64,
            num_attention_heads=4,
            num_key_value_heads=2,
            head_dim=8,
            max_position_embeddings=64,
            **common,
        )
    raise ValueError(family)


FAMILIES = ["gpt2", "llama", "gpt_neox", "gpt_neox_seq", "qwen2", "gemma2"]


def tiny_model(family: str, seed: int = 0):
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(tiny_config(family), attn_implementation="eager")
    model.eval()
    return model


def tiny_tokenizer():
    """A word-level tokenizer over VOCAB ids: <bos>=0, <eos>=1, <pad>=2, then w3..w96."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {"<bos>": 0, "<eos>": 1, "<pad>": 2} | {f"w{i}": i for i in range(3, VOCAB)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<pad>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<bos>", eos_token="<eos>", pad_token="<pad>"
    )


def tiny_loaded(family: str = "llama", seed: int = 0):
    """A LoadedModel around a tiny random model and the tiny tokenizer."""
    from pathlib import Path

    from mistudio.core.hooks import layout_for
    from mistudio.core.language_models import LoadedModel

    model = tiny_model(family, seed)
    model.requires_grad_(False)
    return LoadedModel(
        model, tiny_tokenizer(), f"tiny-{family}", "folder", Path("."), layout_for(model)
    )


def random_texts(n_docs: int, seed: int = 0, min_len: int = 3, max_len: int = 40) -> list[str]:
    """Documents of random words w3..w96."""
    import random

    rng = random.Random(seed)
    return [
        " ".join(f"w{rng.randrange(3, VOCAB)}" for _ in range(rng.randrange(min_len, max_len)))
        for _ in range(n_docs)
    ]


TINY_FIRST_RUN = {
    "layer": 1,
    "max_length": 32,
    "train_tokens": 2048,
    "batch_tokens": 256,
    "buffer_tokens": 1024,
    "eval_sequences": 2,
    "d_sae": 64,
    "k": 4,
    "extract_tokens": 1024,
    "top_k": 8,
    "local_labels": 16,
}
"""A first run (``mistudio.core.first_run``) on the tiny llama in seconds: add ``model`` and
``corpus``."""
