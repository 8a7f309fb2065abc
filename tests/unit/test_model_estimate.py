"""Memory estimate before download (core/model_estimate.py) against the fake Hub: the parameter
count is checked against the model itself once loaded, the download size against the bytes a
real load fetches, and a gated repo needs its token."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from mistudio.core.language_models import count_parameters, quantization_problem
from mistudio.core.model_estimate import EstimateRequest, estimate_model
from mistudio.errors import InvalidInputError

if TYPE_CHECKING:
    from tests.fake_hub import FakeHub

pytest_plugins = ["tests.fake_hub"]


@pytest.fixture(scope="module")
def tiny_gpt2(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.fake_hub import build_tiny_gpt2

    return build_tiny_gpt2(tmp_path_factory.mktemp("tiny_gpt2"))


def test_hub_estimate_matches_the_loaded_model(
    fake_hub: FakeHub, tiny_gpt2: Path, tmp_path: Path
) -> None:
    from huggingface_hub import snapshot_download
    from transformers import AutoModelForCausalLM

    sha = fake_hub.add_repo("org/tiny-gpt2", tiny_gpt2)
    est = estimate_model(EstimateRequest(source="org/tiny-gpt2", batch_size=2, seq_len=16))
    # Nothing large was fetched: no weight file body, only its header (a Range request).
    # (The fake Hub logs a request after answering it: give the last one a moment.)
    deadline = time.monotonic() + 3
    while not [r for r in fake_hub.requests_to("model.safetensors") if r[0] == "GET"]:
        assert time.monotonic() < deadline, fake_hub.requests
        time.sleep(0.02)
    weight_gets = [r for r in fake_hub.requests_to("model.safetensors") if r[0] == "GET"]
    assert weight_gets and all(r[3] is not None for r in weight_gets)

    model = AutoModelForCausalLM.from_pretrained(tiny_gpt2)
    assert est.params_source == "safetensors"
    assert est.n_params == count_parameters(model)
    assert (est.sha, est.family, est.n_layers, est.d_model, est.vocab_size) == (
        sha,
        "gpt2",
        2,
        32,
        97,
    )
    assert est.d_mlp == 4 * 32 and est.context_length == 64
    assert est.bytes_by_format["float32"] == 4 * est.n_params == est.weight_bytes
    assert est.logits_bytes == 2 * 16 * 97 * 4
    assert est.activation_bytes == 2 * 16 * (6 * 32 + 2 * 128) * 4
    assert est.total_bytes == est.weight_bytes + est.activation_bytes + est.logits_bytes

    local = Path(
        snapshot_download(
            "org/tiny-gpt2",
            cache_dir=tmp_path / "dl",
            allow_patterns=[
                "*.json",
                "*.safetensors",
                "tokenizer*",
                "*.model",
                "*.txt",
                "*.tiktoken",
            ],
        )
    )
    fetched = sum(p.stat().st_size for p in local.rglob("*") if p.is_file())
    assert est.download_bytes == fetched

    half = estimate_model(
        EstimateRequest(source="org/tiny-gpt2", dtype="bfloat16", quantization="4bit")
    )
    assert half.weight_bytes == half.bytes_by_format["4bit"] < est.bytes_by_format["float16"]


def test_folder_estimate_equals_hub_estimate(fake_hub: FakeHub, tiny_gpt2: Path) -> None:
    fake_hub.add_repo("org/tiny-gpt2", tiny_gpt2)
    hub = estimate_model(EstimateRequest(source="org/tiny-gpt2"))
    folder = estimate_model(EstimateRequest(source=str(tiny_gpt2)))
    assert folder.n_params == hub.n_params and folder.download_bytes == 0
    assert folder.total_bytes == hub.total_bytes


def test_config_only_repo_is_estimated_from_shapes(
    fake_hub: FakeHub, tiny_gpt2: Path, tmp_path: Path
) -> None:
    only = tmp_path / "only-config"
    only.mkdir()
    shutil.copy(tiny_gpt2 / "config.json", only / "config.json")
    fake_hub.add_repo("org/config-only", only)
    est = estimate_model(EstimateRequest(source="org/config-only"))
    assert est.params_source == "config"
    # GPT-2 blocks: 4 d^2 attention + 8 d^2 MLP (no biases counted) + embeddings.
    assert est.n_params == 2 * (12 * 32 * 32 + 2 * 32) + 97 * 32 + 32


def test_gated_repo_needs_its_token(fake_hub: FakeHub, tiny_gpt2: Path) -> None:
    fake_hub.add_repo("org/gated", tiny_gpt2, gated=True)
    with pytest.raises(InvalidInputError, match="gated") as info:
        estimate_model(EstimateRequest(source="org/gated"))
    assert "\n" not in str(info.value)
    est = estimate_model(EstimateRequest(source="org/gated"), token=fake_hub.valid_token)
    assert est.gated and est.n_params > 0


def test_gguf_and_builtin_are_refused_in_one_line() -> None:
    with pytest.raises(InvalidInputError, match="once loaded"):
        estimate_model(EstimateRequest(source="smollm2-135m"))


def test_quantization_refusal_names_what_is_missing() -> None:
    assert quantization_problem("none") is None
    problem = quantization_problem("8bit", "cpu")
    import importlib.util

    if importlib.util.find_spec("bitsandbytes") is None:
        assert problem is not None and "bitsandbytes" in problem and "\n" not in problem
