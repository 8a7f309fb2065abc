"""A config value of the wrong JSON type ends in one line naming the file and the key (and what
was expected and found), never a TypeError, KeyError, AttributeError or ValueError from deep in a
reader. Each case copies a valid folder, library-written or hand-built as in the other tests, and
corrupts one key of its config: a value replaced (a dotted key reaches into an object), or
removed (``MISSING``)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mistudio.core.formats import read_sae
from mistudio.errors import InvalidInputError
from tests.unit.formats.test_bad_input import _copy, _one_line
from tests.unit.formats.test_hand_built import (
    D_IN,
    D_SAE,
    _gemma_scope_2,
    _llama_scope,
    _llama_weights,
    _weights,
)

MISSING = object()
"""The key is removed instead of replaced."""


def _sparsify(tmp: Path) -> Path:
    return _copy("sparsify/topk", tmp) / "layers.3"


def _gemma_scope_2_transcoder(tmp: Path) -> Path:
    config = {
        "architecture": "jump_relu",
        "hf_hook_point_in": "model.layers.7.pre_feedforward_layernorm.output",
        "hf_hook_point_out": "model.layers.7.post_feedforward_layernorm.output",
        "model_name": "gemma-3-270m-pt",
        "type": "transcoder",
    }
    return _gemma_scope_2(tmp / "transcoder" / "layer_7_width_16k", _weights(4), config, None)


def _llama_scope_transcoder(tmp: Path) -> Path:
    hp = {
        "d_model": D_IN,
        "d_sae": D_SAE,
        "jump_relu_threshold": 0.1,
        "dataset_average_activation_norm": {"in": 4.0, "out": 0.8},
        "hook_point_in": "blocks.8.ln2.hook_normalized",
        "hook_point_out": "blocks.8.hook_mlp_out",
        "model_name": "meta-llama/Llama-3.1-8B",
    }
    return _llama_scope(tmp / "Llama3_1-8B-Base-L8TC-8x", hp, _llama_weights(9))


def _fixture(case: str) -> Callable[[Path], Path]:
    return lambda tmp: _copy(case, tmp)


FOLDERS: dict[str, tuple[Callable[[Path], Path], str]] = {
    # name: (how to build the valid folder, its config file relative to the folder)
    "saelens": (_fixture("saelens/standard"), "cfg.json"),
    "saelens-topk": (_fixture("saelens/topk"), "cfg.json"),
    "saelens-transcoder": (_fixture("saelens/transcoder"), "cfg.json"),
    "saelens-expected-average": (_fixture("saelens/norm_expected_average_only_in"), "cfg.json"),
    "saelens-pre6": (_fixture("saelens/pre6_standard"), "cfg.json"),
    "saelens-pre6-topk": (_fixture("saelens/pre6_topk"), "cfg.json"),
    "gemma-scope-2": (_gemma_scope_2_transcoder, "config.json"),
    "llama-scope": (_llama_scope_transcoder, "hyperparams.json"),
    "sparsify": (_sparsify, "cfg.json"),
    "sparsify-run": (_sparsify, "../config.json"),
    "dictionary-learning": (_fixture("dictionary_learning/AutoEncoderTopK"), "config.json"),
}

CASES: list[tuple[str, str, Any]] = [
    # (folder, dotted key, corrupt value)
    ("saelens", "metadata", "gpt2"),
    ("saelens", "metadata", [1, 2]),
    ("saelens-topk", "metadata", 6),
    ("saelens-pre6-topk", "activation_fn_kwargs", "k"),
    ("saelens-pre6-topk", "activation_fn_kwargs", [4]),
    ("saelens-pre6-topk", "activation_fn_kwargs.k", MISSING),
    ("saelens-pre6-topk", "activation_fn_kwargs.k", "four"),
    ("saelens-pre6-topk", "activation_fn_kwargs.k", [4]),
    ("saelens-topk", "k", MISSING),
    ("saelens-topk", "k", None),
    ("saelens-topk", "k", "four"),
    ("saelens-topk", "k", {"k": 4}),
    ("saelens-topk", "k", 1.5),
    ("saelens-topk", "k", True),
    ("saelens-topk", "k", 0),
    ("saelens", "metadata.mistudio_architecture", ["topk"]),
    ("saelens", "metadata.hook_name", 6),
    ("saelens", "metadata.model_name", True),
    ("saelens-transcoder", "metadata.hf_hook_name_out", []),
    ("saelens-transcoder", "d_out", "12"),
    ("saelens-expected-average", "norm_scaling_factor", "big"),
    ("saelens-expected-average", "norm_scaling_factor", math.inf),
    ("saelens-pre6", "hook_point", 3),
    ("saelens-pre6", "model_name", {}),
    ("gemma-scope-2", "hf_hook_point_in", 7),
    ("gemma-scope-2", "hf_hook_point_in", True),
    ("gemma-scope-2", "hf_hook_point_out", 7.5),
    ("gemma-scope-2", "hf_hook_point_out", False),
    ("gemma-scope-2", "model_name", 3),
    ("gemma-scope-2", "model_name", True),
    ("gemma-scope-2", "model_name", ["gemma"]),
    ("llama-scope", "hook_point_in", 8),
    ("llama-scope", "hook_point_in", True),
    ("llama-scope", "hook_point_out", 8),
    ("llama-scope", "hook_point_out", False),
    ("llama-scope", "model_name", 8),
    ("llama-scope", "dataset_average_activation_norm.in", True),
    ("llama-scope", "dataset_average_activation_norm.out", math.nan),
    ("sparsify", "transcode", "false"),
    ("sparsify", "skip_connection", 1),
    ("sparsify", "k", "4"),
    ("sparsify", "num_latents", "40"),
    ("sparsify-run", "model", 70),
    ("dictionary-learning", "trainer", "topk"),
    ("dictionary-learning", "buffer", []),
    ("dictionary-learning", "trainer.layer", "3"),
    ("dictionary-learning", "trainer.lm_name", 70),
    ("dictionary-learning", "trainer.dict_class", []),
]


def _id(case: tuple[str, str, Any]) -> str:
    folder, key, value = case
    return f"{folder}:{key}=" + ("missing" if value is MISSING else json.dumps(value))


def _corrupt(config: dict[str, Any], key: str, value: Any) -> None:
    """Set (or, for ``MISSING``, remove) a dotted key of ``config``, in place."""
    *outer, last = key.split(".")
    for part in outer:
        config = config[part]
    if value is MISSING:
        del config[last]
    else:
        config[last] = value


@pytest.mark.parametrize(("folder_name", "key", "value"), CASES, ids=[_id(c) for c in CASES])
def test_wrong_json_type_is_one_line_naming_file_and_key(
    tmp_path: Path, folder_name: str, key: str, value: Any
) -> None:
    build, file = FOLDERS[folder_name]
    folder = build(tmp_path)
    path = folder / file
    config = json.loads(path.read_text())
    _corrupt(config, key, value)
    path.write_text(json.dumps(config))
    with pytest.raises(InvalidInputError) as err:
        read_sae(folder)
    message = _one_line(err)
    assert message.startswith(f"{Path(file).name}: {key} must be "), message
    assert "found" in message, message
