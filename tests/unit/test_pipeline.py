"""A training run wired end to end on a tiny model: stream -> SAEs -> held-out evals."""

from __future__ import annotations

import json
import math

import pytest

from mistudio.core.activations import ActivationStreamConfig, cache_activations
from mistudio.core.data import DatasetSource, TokenizeConfig, import_dataset, tokenize_dataset
from mistudio.core.pipeline import TrainingRunConfig, run_training
from mistudio.core.sae.base import SAEConfig
from mistudio.core.training import SAETrainConfig, TrainConfig
from mistudio.errors import InvalidInputError
from tests.unit.tiny_models import random_texts, tiny_loaded, tiny_tokenizer


@pytest.fixture
def tok_folder(tmp_path):
    src = tmp_path / "docs.jsonl"
    src.write_text("\n".join(json.dumps({"text": t}) for t in random_texts(120)))
    import_dataset(DatasetSource.local(src), tmp_path / "ds")
    tokenize_dataset(
        tmp_path / "ds",
        tiny_tokenizer(),
        TokenizeConfig(max_length=32, stride=16),
        tmp_path / "tok",
    )
    return tmp_path / "tok"


def _config(tok_folder, **kw):
    saes = [
        SAETrainConfig(
            hook_name="blocks.1.hook_resid_post",
            sae=SAEConfig(architecture="topk", d_in=32, d_sae=64, k=4),
        ),
        SAETrainConfig(  # an HF module path is accepted and normalised
            hook_name="model.layers.0",
            sae=SAEConfig(architecture="standard", d_in=32, d_sae=64),
            sparsity_coefficient=1.0,
        ),
    ]
    train = TrainConfig(saes=saes, total_tokens=4096, batch_tokens=256, log_every=4)
    return TrainingRunConfig(
        model="tiny",
        tokenization=str(tok_folder),
        train=train,
        buffer_tokens=1024,
        eval_sequences=4,
        **kw,
    )


def test_run_trains_two_hooks_in_one_pass_and_evaluates_held_out(tok_folder, tmp_path):
    loaded = tiny_loaded("llama")
    events = []
    result = run_training(
        _config(tok_folder),
        tmp_path / "run",
        progress=lambda s, t, **m: events.append(m),
        loaded=loaded,
    )
    assert result.steps == 16 and not result.stopped
    assert {e["sae"] for e in events} == set(result.saes)
    for sae in result.saes.values():
        cfg = json.loads((sae.folder / "cfg.json").read_text())
        assert cfg["metadata"]["hook_name"].startswith("blocks.")
        assert cfg["metadata"]["hf_hook_name"].startswith("model.layers.")
        held = sae.evals["held_out"]
        assert held["n_tokens"] > 0 and math.isfinite(held["fvu"])
        splice = sae.evals["splice"]
        assert splice["n_tokens"] > 0 and splice["kl_sae"] >= 0 and splice["kl_zero"] > 0
        assert math.isfinite(splice["ce_loss_score"])
        lineage = json.loads((sae.folder / "training.json").read_text())
        assert "tokenizer_fingerprint" in json.dumps(lineage)


def test_run_from_cache_equals_hooks_in_cache(tok_folder, tmp_path):
    loaded = tiny_loaded("llama")
    from mistudio.core.data import Tokenization

    cache_activations(
        loaded,
        Tokenization.open(tok_folder),
        ActivationStreamConfig(hook_points=["blocks.1.hook_resid_post"]),
        tmp_path / "cache",
    )
    config = _config(tok_folder, activation_cache=str(tmp_path / "cache"))
    with pytest.raises(InvalidInputError, match="no blocks.0.hook_resid_post"):
        run_training(config, tmp_path / "run", loaded=loaded)
    config.train.saes = config.train.saes[:1]
    result = run_training(config, tmp_path / "run2", loaded=loaded)
    assert result.tokens_seen == 4096


def test_width_mismatch_is_a_clear_error(tok_folder, tmp_path):
    config = _config(tok_folder)
    config.train.saes[0].sae.d_in = 48
    with pytest.raises(InvalidInputError, match="width 32"):
        run_training(config, tmp_path / "run", loaded=tiny_loaded("llama"))


def test_settings_are_the_inverse_of_with_inputs(tok_folder):
    """A CLI run's stored config (``settings()``) reads back as the studio's ``TrainingSettings``
    and gives the same run config over the same inputs (the demo's training row used to be put
    together by hand)."""
    from mistudio.core.pipeline import TrainingSettings

    config = _config(tok_folder, lm_batch_size=3)
    stored = config.settings().model_dump(mode="json")
    assert set(stored) == {"train", "run"}
    again = TrainingSettings.model_validate(stored).with_inputs(
        config.model, config.tokenization, config.activation_cache
    )
    assert again == config
