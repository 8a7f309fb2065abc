"""Detection and the bad-input errors every reader shares: one line, never a traceback."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import torch

from mistudio.core.formats import detect_format, read_sae, registered_formats
from mistudio.core.sae import SAEConfig, build_sae, save_sae
from mistudio.errors import InvalidInputError, NotFoundError


def _saved(tmp_path: Path) -> Path:
    sae = build_sae(SAEConfig(architecture="jumprelu", d_in=8, d_sae=16))
    meta = {"hook_name": "blocks.2.hook_resid_post", "model_name": "tiny"}
    return save_sae(sae, tmp_path / "sae", metadata=meta)


def test_our_folder_reads_back_as_saelens(tmp_path: Path) -> None:
    folder = _saved(tmp_path)
    assert detect_format(folder) == "saelens"
    assert detect_format(folder / "cfg.json") == "saelens"  # a file inside the folder
    imported = read_sae(folder)
    assert imported.format == "saelens"
    assert imported.hook_name == "blocks.2.hook_resid_post"
    assert imported.model_name == "tiny"
    assert imported.reshape == "none"
    assert set(imported.files) == {"cfg.json", "sae_weights.safetensors"}
    assert all(len(h) == 64 for h in imported.files.values())
    x = torch.randn(5, 8)
    assert imported.sae(x).x_hat.shape == (5, 8)


def test_unknown_folder_names_what_it_found(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"0")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(InvalidInputError) as err:
        detect_format(tmp_path)
    message = str(err.value)
    assert "\n" not in message
    assert "notes.txt" in message and "weights.bin" in message
    for name in registered_formats():
        assert name in message


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="does not exist"):
        read_sae(tmp_path / "nope")


def test_nested_saes_are_named(tmp_path: Path) -> None:
    _saved(tmp_path / "a")
    _saved(tmp_path / "b")
    with pytest.raises(InvalidInputError, match=r"2 SAEs in subfolders \(a/sae, b/sae\)"):
        detect_format(tmp_path)


def test_zip_archive(tmp_path: Path) -> None:
    folder = _saved(tmp_path)
    archive = tmp_path / "sae.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in folder.iterdir():
            zf.write(f, f"my-sae/{f.name}")
    assert detect_format(archive) == "saelens"
    assert read_sae(archive).hook_name == "blocks.2.hook_resid_post"


def test_zip_member_outside_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../escape.txt", "x")
    with pytest.raises(InvalidInputError, match="outside"):
        read_sae(archive)
    assert not (tmp_path.parent / "escape.txt").exists()


def test_a_release_config_override_replaces_the_folders_key() -> None:
    """SAELens applies a release's ``config_overrides`` over cfg.json (e.g. mistral-7b-res-wg's
    ``normalize_activations: constant_norm_rescale``); so does the reader."""
    folder = Path(__file__).resolve().parents[2] / "fixtures" / "formats" / "saelens" / "jumprelu"
    plain = read_sae(folder)
    assert plain.sae.cfg.input_normalization == "none"
    overridden = read_sae(
        folder, config_overrides={"normalize_activations": "constant_norm_rescale"}
    )
    assert overridden.sae.cfg.input_normalization == "constant_norm_rescale"
    assert overridden.metadata["source_config"]["normalize_activations"] == "constant_norm_rescale"
