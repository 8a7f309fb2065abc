"""Tiny causal LMs of each supported family, built from configs with random weights."""

from __future__ import annotations

import torch
from transformers import (
    AutoModelForCausalLM,
    GPT2Config,
    GPTNeoXConfig,
    LlamaConfig,
    Qwen2Config,
    Gemma2Config,
)

VOCAB = 97


def tiny_config(family: str):
    common = dict(vocab_size=VOCAB)
    if family == "gpt2":
        return GPT2Config(n_layer=3, n_embd=32, n_head=4, n_positions=64, **common)
    if family == "llama":
        return LlamaConfig(
            num_hidden_layers=3, hidden_size=32, intermediate_size=64, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=64, **common,
        )
    if family == "gpt_neox":
        return GPTNeoXConfig(
            num_hidden_layers=3, hidden_size=32, intermediate_size=64, num_attention_heads=4,
            max_position_embeddings=64, use_parallel_residual=True, **common,
        )
    if family == "gpt_neox_seq":
        return GPTNeoXConfig(
            num_hidden_layers=3, hidden_size=32, intermediate_size=64, num_attention_heads=4,
            max_position_embeddings=64, use_parallel_residual=False, **common,
        )
    if family == "qwen2":
        return Qwen2Config(
            num_hidden_layers=3, hidden_size=32, intermediate_size=64, num_attention_heads=4,
            num_key_value_heads=2, max_position_embeddings=64, **common,
        )
    if family == "gemma2":
        return Gemma2Config(
            num_hidden_layers=3, hidden_size=32, intermediate_size=64, num_attention_heads=4,
            num_key_value_heads=2, head_dim=8, max_position_embeddings=64, **common,
        )
    raise ValueError(family)


FAMILIES = ["gpt2", "llama", "gpt_neox", "gpt_neox_seq", "qwen2", "gemma2"]


def tiny_model(family: str, seed: int = 0):
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(tiny_config(family), attn_implementation="eager")
    model.eval()
    return model
