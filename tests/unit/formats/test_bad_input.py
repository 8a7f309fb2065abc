"""Bad SAE folders end in one readable line (InvalidInputError / NotFoundError), never a
traceback: wrong shapes and dtypes name the tensor and both shapes, a pickle that is more than
a state dict is refused unexecuted, missing files are named."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from mistudio.core.formats import detect_format, read_sae
from mistudio.core.sae import SAEConfig, build_sae, load_sae, save_sae
from mistudio.errors import InvalidInputError, MiStudioError, NotFoundError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "formats"


def _one_line(err: pytest.ExceptionInfo[MiStudioError]) -> str:
    message = str(err.value)
    assert message and "\n" not in message and "Traceback" not in message
    return message


def _copy(case: str, tmp_path: Path) -> Path:
    return Path(shutil.copytree(FIXTURES / case, tmp_path / case.replace("/", "_")))


def test_saelens_wrong_shape_names_tensor_and_shapes(tmp_path: Path) -> None:
    folder = _copy("saelens/standard", tmp_path)
    tensors = load_file(str(folder / "sae_weights.safetensors"))
    tensors["W_enc"] = torch.zeros(16, 33)
    save_file(tensors, str(folder / "sae_weights.safetensors"))
    with pytest.raises(InvalidInputError) as err:
        read_sae(folder)
    message = _one_line(err)
    assert "'W_enc'" in message and "(16, 33)" in message and "(16, 32)" in message


def test_wrong_dtype(tmp_path: Path) -> None:
    folder = _copy("sparsify/topk", tmp_path) / "layers.3"
    tensors = load_file(str(folder / "sae.safetensors"))
    tensors["b_dec"] = torch.zeros(16, dtype=torch.int64)
    save_file(tensors, str(folder / "sae.safetensors"))
    with pytest.raises(InvalidInputError) as err:
        read_sae(folder)
    message = _one_line(err)
    assert "'b_dec'" in message and "int64" in message


def test_missing_tensor_lists_what_is_there(tmp_path: Path) -> None:
    folder = _copy("saelens/jumprelu", tmp_path)
    tensors = load_file(str(folder / "sae_weights.safetensors"))
    del tensors["threshold"]
    save_file(tensors, str(folder / "sae_weights.safetensors"))
    with pytest.raises(InvalidInputError) as err:
        read_sae(folder)
    assert "'threshold'" in _one_line(err) and "W_enc" in str(err.value)


def test_ae_pt_with_a_pickled_object_is_refused(tmp_path: Path) -> None:
    folder = _copy("dictionary_learning/AutoEncoder", tmp_path)
    marker = tmp_path / "executed"
    state = torch.load(folder / "ae.pt", weights_only=True)
    state["payload"] = _Payload(str(marker))
    torch.save(state, folder / "ae.pt")
    with pytest.raises(InvalidInputError) as err:
        read_sae(folder)
    message = _one_line(err)
    assert "not a plain state dict" in message and "weights_only" in message
    assert not marker.exists()  # nothing in the pickle ran


class _Payload:
    """A pickle that would create a file if it were ever unpickled."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (Path.touch, (Path(self.path),))


def test_ae_pt_that_is_not_a_dict(tmp_path: Path) -> None:
    folder = _copy("dictionary_learning/AutoEncoder", tmp_path)
    torch.save([torch.zeros(2)], folder / "ae.pt")
    with pytest.raises(InvalidInputError, match="state dict of tensors"):
        read_sae(folder)


def test_corrupt_files(tmp_path: Path) -> None:
    folder = _copy("saelens/standard", tmp_path)
    (folder / "sae_weights.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(InvalidInputError) as err:
        read_sae(folder)
    assert "not a readable safetensors file" in _one_line(err)
    (folder / "cfg.json").write_text("{ nope")
    with pytest.raises(InvalidInputError) as err:
        read_sae(folder)
    assert "cfg.json is not valid JSON" in _one_line(err)
    ae = _copy("dictionary_learning/GatedAutoEncoder", tmp_path)
    (ae / "ae.pt").write_bytes(b"\x00garbage")
    with pytest.raises(InvalidInputError) as err:
        read_sae(ae)
    _one_line(err)


def test_missing_files(tmp_path: Path) -> None:
    folder = tmp_path / "gs2"
    folder.mkdir()
    (folder / "config.json").write_text(json.dumps({"architecture": "jump_relu"}))
    with pytest.raises(InvalidInputError) as err:
        detect_format(folder)
    assert "found config.json" in _one_line(err)
    with pytest.raises(NotFoundError) as nf:
        read_sae(folder, format="gemma_scope_2")
    assert "params.safetensors" in _one_line(nf)
    llama = tmp_path / "llama"
    llama.mkdir()
    (llama / "hyperparams.json").write_text("{}")
    with pytest.raises(NotFoundError, match="checkpoints/final.safetensors"):
        read_sae(llama, format="llama_scope")
    with pytest.raises(InvalidInputError, match="unknown SAE format 'nope'"):
        read_sae(llama, format="nope")


def test_gemma_scope_1_bad_arrays(tmp_path: Path) -> None:
    folder = tmp_path / "gemma-scope-2b-pt-res" / "layer_1" / "width_16k" / "average_l0_9"
    folder.mkdir(parents=True)
    np.savez(
        folder / "params.npz",
        W_enc=np.zeros((16, 32), np.float32),
        W_dec=np.zeros((16, 32), np.float32),  # transposed: wrong
        b_enc=np.zeros(32, np.float32),
        b_dec=np.zeros(16, np.float32),
        threshold=np.zeros(32, np.float32),
    )
    with pytest.raises(InvalidInputError) as err:
        read_sae(folder)
    assert "'W_dec' has shape (16, 32), expected (32, 16)" in _one_line(err)
    np.savez(folder / "params.npz", W_enc=np.zeros((16, 32), np.int32))
    with pytest.raises(InvalidInputError, match="int32"):
        read_sae(folder)


def test_saelens_config_problems(tmp_path: Path) -> None:
    folder = _copy("saelens/standard", tmp_path)
    cfg = json.loads((folder / "cfg.json").read_text())
    for patch, words in (
        ({"d_sae": "many"}, "d_sae must be a positive integer"),
        ({"architecture": "abstopk"}, "'abstopk' is not supported"),
        ({"normalize_activations": "covariance_whitening"}, "must be folded"),
        ({"reshape_activations": "hook_q"}, "hook_q"),
    ):
        (folder / "cfg.json").write_text(json.dumps({**cfg, **patch}))
        with pytest.raises(InvalidInputError) as err:
            read_sae(folder)
        assert words in _one_line(err)


def test_expected_average_needs_its_scale(tmp_path: Path) -> None:
    folder = FIXTURES / "saelens" / "norm_expected_average_only_in"
    with pytest.raises(InvalidInputError) as err:
        read_sae(folder)
    assert "norm_scaling_factor" in _one_line(err)
    with pytest.raises(InvalidInputError):
        load_sae(folder)  # our own loader never guesses a scale either
    # A scale written into cfg.json (e.g. by a registry's config_overrides) is used.
    copy = _copy("saelens/norm_expected_average_only_in", tmp_path)
    cfg = json.loads((copy / "cfg.json").read_text())
    (copy / "cfg.json").write_text(json.dumps({**cfg, "norm_scaling_factor": 0.37}))
    imported = read_sae(copy)
    assert imported.metadata["folded_norm_scaling_factor"] == pytest.approx(0.37)


def test_pre6_finetuning_scaling_factor_is_folded(tmp_path: Path) -> None:
    """Pre-6 SAELens multiplied latents by ``scaling_factor`` before decoding."""
    sae = build_sae(SAEConfig(architecture="standard", d_in=8, d_sae=16))
    with torch.no_grad():
        for p in sae.parameters():
            p.add_(0.1 * torch.randn_like(p))
    folder = save_sae(sae, tmp_path / "old")
    factor = 0.5 + torch.rand(16)
    tensors = load_file(str(folder / "sae_weights.safetensors"))
    save_file({**tensors, "scaling_factor": factor}, str(folder / "sae_weights.safetensors"))
    flat = {"d_in": 8, "d_sae": 16, "hook_point": "blocks.0.hook_resid_pre", "dtype": "float32"}
    (folder / "cfg.json").write_text(json.dumps({**flat, "finetuning_scaling_factor": True}))
    x = torch.randn(6, 8)
    with torch.no_grad():
        f = sae.encode(x)
        expected = (f * factor) @ sae.W_dec + sae.b_dec
        torch.testing.assert_close(read_sae(folder).sae(x).x_hat, expected)
    (folder / "cfg.json").write_text(json.dumps({**flat, "finetuning_scaling_factor": False}))
    with pytest.raises(InvalidInputError, match="finetuning_scaling_factor"):
        read_sae(folder)


def test_topk_transcoder_cannot_be_exported_as_saelens(tmp_path: Path) -> None:
    """It is stored (under our own architecture name) but never exported as SAELens."""
    from mistudio.core.sae_export import export_members, write_saelens_folder

    imported = read_sae(FIXTURES / "sparsify" / "skip" / "layers.3")
    stored = save_sae(imported.sae, tmp_path / "out")
    for export in (
        lambda: write_saelens_folder(stored, tmp_path / "a"),
        lambda: write_saelens_folder(FIXTURES / "sparsify" / "skip" / "layers.3", tmp_path / "b"),
        lambda: export_members(stored, "x/"),
    ):
        with pytest.raises(InvalidInputError) as err:
            export()
        assert "no SAELens counterpart" in _one_line(err)


def test_inference_only_architectures_refuse_training() -> None:
    from mistudio.core.sae import TrainContext

    for arch, extra in (
        ("gated", {}),
        ("jumprelu_transcoder", {"d_out": 8}),
        ("topk_transcoder", {"k": 2}),
    ):
        cfg = SAEConfig(architecture=arch, d_in=8, d_sae=16, **extra)
        sae = build_sae(cfg)
        x = torch.randn(4, 8)
        with pytest.raises(InvalidInputError, match="inference only"):
            sae.training_forward(x, x if arch != "jumprelu_transcoder" else x, TrainContext())
        with pytest.raises(InvalidInputError, match="cannot be trained"):
            type(sae).check_trainable(cfg)
    normed = SAEConfig(architecture="topk", d_in=8, d_sae=16, k=2, input_normalization="layer_norm")
    with pytest.raises(InvalidInputError, match="input_normalization"):
        build_sae(normed).check_trainable(normed)
