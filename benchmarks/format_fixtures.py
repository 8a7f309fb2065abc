"""Write the SAE-format fixtures the unit tests read: small random SAEs saved by each format's own
library, with that library's outputs beside them.

Run with the benchmark venv (the peers are not product dependencies)::

    .venv-bench/bin/python benchmarks/format_fixtures.py

For every case a folder ``tests/fixtures/formats/<format>/<case>/`` gets the library's own files
(SAELens ``save_model`` / ``save_inference_model``, sparsify ``SparseCoder.save_to_disk`` into a
hookpoint subfolder, dictionary_learning's ``torch.save(ae.state_dict(), "ae.pt")`` beside a
``config.json`` in the shape ``training.py`` writes) and ``reference.safetensors``:

- ``x``: random inputs ``[N, d_in]`` (hook_z cases: flattened from ``[N, n_heads, d_head]``);
- ``latents``: the library's ``encode(x)`` on the folder as the library reads it back
  (SAELens ``SAE.load_from_disk``, sparsify ``SparseCoder.load_from_disk``, dictionary_learning
  the class with ``load_state_dict``);
- ``decoded``: the library's ``decode(latents)`` plus the skip path where its ``forward`` adds
  one (SAELens' and sparsify's ``decode`` leave ``x @ W_skip.T`` to ``forward``);
- ``forward``: the library's ``forward(x)``;
- ``norm_scaling_factor`` (expected_average_only_in only): the scale SAELens folds, as its
  ``from_pretrained`` does with the registry's ``norm_scaling_factor``.

Weights are random with non-trivial biases, thresholds and decoder norms; shapes are tiny
(d_in 16, d_sae 32, sparsify d_sae 40 so that ``d_in != d_sae``), so every file stays a few KB.
Also writes ``tests/fixtures/formats/VERSIONS.json`` (library versions that wrote them).
"""

from __future__ import annotations

import json
import shutil
import zlib
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file
from torch import Tensor

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "formats"

D_IN, D_SAE, D_OUT, K, N = 16, 32, 12, 4, 8
N_HEADS, D_HEAD = 4, 4  # hook_z: D_IN = N_HEADS * D_HEAD
SPARSIFY_D_SAE = 40


def configure(out: Path, d_in: int, d_sae: int, d_out: int, k: int, n: int) -> None:
    """Other sizes and another output folder (``benchmarks/format_compat.py`` uses larger SAEs);
    ``d_in`` must be a square for the hook_z case."""
    global OUT, D_IN, D_SAE, D_OUT, K, N, N_HEADS, D_HEAD, SPARSIFY_D_SAE
    OUT, D_IN, D_SAE, D_OUT, K, N = out, d_in, d_sae, d_out, k, n
    N_HEADS = D_HEAD = int(d_in**0.5)
    SPARSIFY_D_SAE = d_sae + d_sae // 4


def _gen(name: str) -> torch.Generator:
    return torch.Generator().manual_seed(zlib.crc32(name.encode()))


def _inputs(name: str) -> Tensor:
    return 2.0 * torch.randn(N, D_IN, generator=_gen("x/" + name)) + 0.3


@torch.no_grad()
def randomize(module: torch.nn.Module, gen: torch.Generator) -> None:
    """Random parameters with uneven decoder norms and thresholds that let about half fire."""
    for name, p in module.named_parameters():
        leaf = name.rsplit(".", 1)[-1]
        if "threshold" in leaf:
            value = 0.05 + 0.4 * torch.rand(p.shape, generator=gen)
            p.copy_(value.log() if leaf.startswith("log") else value)
        elif p.ndim == 2:
            w = torch.randn(p.shape, generator=gen) / max(p.shape) ** 0.5
            p.copy_(w * (0.5 + torch.rand(p.shape[0], 1, generator=gen)))
        elif leaf == "r_mag":
            p.copy_(0.3 * torch.randn(p.shape, generator=gen))
        else:
            p.copy_(0.2 * torch.randn(p.shape, generator=gen) - 0.05)


def _reset(folder: Path) -> Path:
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def write_reference(folder: Path, **tensors: Tensor) -> None:
    save_file(
        {k: v.detach().float().contiguous() for k, v in tensors.items()},
        str(folder / "reference.safetensors"),
    )


# ---- SAELens -------------------------------------------------------------------------------


def saelens_cases() -> dict[str, tuple[Callable[[], Any], str, dict[str, Any]]]:
    from sae_lens import (
        BatchTopKTrainingSAE,
        BatchTopKTrainingSAEConfig,
        GatedSAE,
        GatedSAEConfig,
        JumpReLUSAE,
        JumpReLUSAEConfig,
        JumpReLUSkipTranscoder,
        JumpReLUSkipTranscoderConfig,
        JumpReLUTranscoder,
        JumpReLUTranscoderConfig,
        SkipTranscoder,
        SkipTranscoderConfig,
        StandardSAE,
        StandardSAEConfig,
        TopKSAE,
        TopKSAEConfig,
        Transcoder,
        TranscoderConfig,
    )

    base = {"d_in": D_IN, "d_sae": D_SAE}
    tc = {**base, "d_out": D_OUT, "apply_b_dec_to_input": False}
    return {
        # name: (builder, saver, extra)
        "standard": (lambda: StandardSAE(StandardSAEConfig(**base)), "save_model", {}),
        "topk": (lambda: TopKSAE(TopKSAEConfig(k=K, **base)), "save_model", {}),
        "topk_rescale": (
            lambda: TopKSAE(TopKSAEConfig(k=K, rescale_acts_by_decoder_norm=True, **base)),
            "save_model",
            {},
        ),
        "jumprelu": (lambda: JumpReLUSAE(JumpReLUSAEConfig(**base)), "save_model", {}),
        "gated": (lambda: GatedSAE(GatedSAEConfig(**base)), "save_model", {}),
        "batchtopk": (
            lambda: BatchTopKTrainingSAE(BatchTopKTrainingSAEConfig(k=K, **base)),
            "save_inference_model",
            {},
        ),
        "transcoder": (lambda: Transcoder(TranscoderConfig(**tc)), "save_model", {}),
        "skip_transcoder": (lambda: SkipTranscoder(SkipTranscoderConfig(**tc)), "save_model", {}),
        "jumprelu_transcoder": (
            lambda: JumpReLUTranscoder(JumpReLUTranscoderConfig(**tc)),
            "save_model",
            {},
        ),
        "jumprelu_skip_transcoder": (
            lambda: JumpReLUSkipTranscoder(JumpReLUSkipTranscoderConfig(**tc)),
            "save_model",
            {},
        ),
        "norm_constant_norm_rescale": (
            lambda: StandardSAE(
                StandardSAEConfig(normalize_activations="constant_norm_rescale", **base)  # type: ignore[arg-type]
            ),
            "save_model",
            {},
        ),
        "norm_layer_norm": (
            lambda: StandardSAE(StandardSAEConfig(normalize_activations="layer_norm", **base)),
            "save_model",
            {},
        ),
        "norm_expected_average_only_in": (
            lambda: JumpReLUSAE(
                JumpReLUSAEConfig(normalize_activations="expected_average_only_in", **base)
            ),
            "save_model",
            {"norm_scaling_factor": 0.37},
        ),
    }


def pre6_configs() -> dict[str, dict[str, Any]]:
    """Flat pre-6.0 configs (FORMATS §8), written over weights saved by SAELens' StandardSAE."""
    return {
        "pre6_standard": {
            "model_name": "gpt2-small",
            "hook_point": "blocks.3.hook_resid_pre",
            "hook_point_layer": 3,
            "hook_point_head_index": None,
            "d_in": D_IN,
            "d_sae": D_SAE,
            "dtype": "torch.float32",
            "device": "cpu",
            "context_size": 128,
            "dataset_path": "Skylion007/openwebtext",
            "prepend_bos": True,
            "normalize_activations": False,
            "apply_b_dec_to_input": True,
            "activation_fn_str": "relu",
            "finetuning_scaling_factor": False,
            "sae_lens_training_version": "3.13.0",
            "neuronpedia_id": "gpt2-small/3-res-jb",
        },
        "pre6_topk": {
            "model_name": "pythia-70m-deduped",
            "hook_point": "blocks.2.hook_resid_post",
            "hook_point_layer": 2,
            "d_in": D_IN,
            "d_sae": D_SAE,
            "dtype": "float32",
            "context_size": 1024,
            "normalize_activations": "none",
            "apply_b_dec_to_input": True,
            "activation_fn_str": "topk",
            "activation_fn_kwargs": {"k": K},
            "sae_lens_version": "4.4.1",
        },
        "pre6_hook_z": {
            "model_name": "gpt2-small",
            "hook_point": "blocks.1.attn.hook_z",
            "hook_point_layer": 1,
            "d_in": D_IN,
            "d_sae": D_SAE,
            "dtype": "float32",
            "context_size": 128,
            "apply_b_dec_to_input": True,
            "activation_fn_str": "relu",
        },
    }


@torch.no_grad()
def saelens_reference(folder: Path, name: str, extra: dict[str, Any]) -> None:
    from sae_lens import SAE

    ref = SAE.load_from_disk(str(folder), device="cpu")
    ref.eval()
    if "norm_scaling_factor" in extra:  # what SAE.from_pretrained does with the registry's scale
        ref.fold_activation_norm_scaling_factor(extra["norm_scaling_factor"])
    x = _inputs(name)
    hook_z = ref.cfg.reshape_activations == "hook_z"
    x_in = x.view(N, N_HEADS, D_HEAD) if hook_z else x
    latents = ref.encode(x_in)
    decoded = ref.decode(latents)
    if hasattr(ref, "W_skip"):
        decoded = decoded + x @ ref.W_skip.T
    forward = ref(x_in)
    refs = {"x": x, "latents": latents, "decoded": decoded.reshape(N, -1)}
    refs["forward"] = forward.reshape(N, -1)
    if "norm_scaling_factor" in extra:
        refs["norm_scaling_factor"] = torch.tensor(float(extra["norm_scaling_factor"]))
    write_reference(folder, **refs)


def write_saelens() -> list[str]:
    from sae_lens import StandardSAE, StandardSAEConfig

    written = []
    for name, (build, saver, extra) in saelens_cases().items():
        folder = _reset(OUT / "saelens" / name)
        sae = build()
        randomize(sae, _gen("saelens/" + name))
        if hasattr(sae, "topk_threshold"):  # BatchTopK's learned threshold, saved as jumprelu's
            sae.topk_threshold = torch.tensor(0.35)
        getattr(sae, saver)(str(folder))
        saelens_reference(folder, name, extra)
        written.append(f"saelens/{name}")
    for name, cfg in pre6_configs().items():
        folder = _reset(OUT / "saelens" / name)
        sae = StandardSAE(StandardSAEConfig(d_in=D_IN, d_sae=D_SAE))
        randomize(sae, _gen("saelens/" + name))
        sae.save_model(str(folder))
        (folder / "cfg.json").write_text(json.dumps(cfg, indent=2))
        saelens_reference(folder, name, {})
        written.append(f"saelens/{name}")
    return written


# ---- sparsify ------------------------------------------------------------------------------

SPARSIFY_CASES = {
    # name: (hookpoint, SparseCoderConfig kwargs)
    "topk": ("layers.3", {}),
    "skip": ("layers.3", {"skip_connection": True}),
    "transcode": ("layers.3.mlp", {"transcode": True}),
    "transcode_skip": ("layers.3.mlp", {"transcode": True, "skip_connection": True}),
}


@torch.no_grad()
def write_sparsify() -> list[str]:
    from sparsify import SparseCoder, SparseCoderConfig

    written = []
    for name, (hookpoint, kw) in SPARSIFY_CASES.items():
        case = _reset(OUT / "sparsify" / name)
        cfg = SparseCoderConfig(num_latents=SPARSIFY_D_SAE, k=K, **kw)
        coder = SparseCoder(D_IN, cfg)
        randomize(coder, _gen("sparsify/" + name))
        coder.save_to_disk(case / hookpoint)
        # sparsify's run config one folder up names the model (the part SAELens reads).
        (case / "config.json").write_text(json.dumps({"model": "EleutherAI/pythia-70m"}))
        ref = SparseCoder.load_from_disk(case / hookpoint)
        x = _inputs("sparsify/" + name)
        top_acts, top_indices, _pre = ref.encode(x)
        latents = torch.zeros(N, SPARSIFY_D_SAE).scatter_(-1, top_indices, top_acts)
        decoded = ref.decode(top_acts, top_indices)
        if ref.W_skip is not None:
            decoded = decoded + x @ ref.W_skip.mT
        forward = ref(x).sae_out
        write_reference(case, x=x, latents=latents, decoded=decoded, forward=forward)
        written.append(f"sparsify/{name}")
    return written


# ---- dictionary_learning -------------------------------------------------------------------


def dictionary_learning_cases() -> dict[str, tuple[Callable[[], Any], dict[str, Any]]]:
    from dictionary_learning.dictionary import (
        AutoEncoder,
        AutoEncoderNew,
        GatedAutoEncoder,
        JumpReluAutoEncoder,
    )
    from dictionary_learning.trainers.batch_top_k import BatchTopKSAE
    from dictionary_learning.trainers.matryoshka_batch_top_k import MatryoshkaBatchTopKSAE
    from dictionary_learning.trainers.top_k import AutoEncoderTopK

    return {
        "AutoEncoder": (lambda: AutoEncoder(D_IN, D_SAE), {}),
        "AutoEncoderNew": (lambda: AutoEncoderNew(D_IN, D_SAE), {}),
        "AutoEncoderTopK": (lambda: AutoEncoderTopK(D_IN, D_SAE, K), {"k": K}),
        "BatchTopKSAE": (lambda: BatchTopKSAE(D_IN, D_SAE, K), {"k": K, "threshold": 0.3}),
        "BatchTopKSAE_unset_threshold": (lambda: BatchTopKSAE(D_IN, D_SAE, K), {"k": K}),
        "MatryoshkaBatchTopKSAE": (
            lambda: MatryoshkaBatchTopKSAE(D_IN, D_SAE, K, [D_SAE // 4, D_SAE // 4, D_SAE // 2]),
            {"k": K, "threshold": 0.3},
        ),
        "JumpReluAutoEncoder": (lambda: JumpReluAutoEncoder(D_IN, D_SAE), {}),
        "GatedAutoEncoder": (lambda: GatedAutoEncoder(D_IN, D_SAE), {}),
    }


@torch.no_grad()
def write_dictionary_learning() -> list[str]:
    written = []
    for name, (build, extra) in dictionary_learning_cases().items():
        folder = _reset(OUT / "dictionary_learning" / name)
        ae = build()
        randomize(ae, _gen("dictionary_learning/" + name))
        if "threshold" in extra:
            ae.threshold.fill_(extra["threshold"])
        torch.save({k: v.cpu() for k, v in ae.state_dict().items()}, folder / "ae.pt")
        dict_class = type(ae).__name__
        trainer = {
            "dict_class": dict_class,
            "activation_dim": D_IN,
            "dict_size": D_SAE,
            "layer": 3,
            "lm_name": "EleutherAI/pythia-70m-deduped",
            "submodule_name": "resid_3",
            **({"k": extra["k"]} if "k" in extra else {}),
        }
        config = {"trainer": trainer, "buffer": {"ctx_len": 128, "d_submodule": D_IN}}
        (folder / "config.json").write_text(json.dumps(config, indent=4))
        ref = build()
        ref.load_state_dict(torch.load(folder / "ae.pt", weights_only=True))
        ref.eval()
        x = _inputs("dictionary_learning/" + name)
        latents = ref.encode(x)
        write_reference(folder, x=x, latents=latents, decoded=ref.decode(latents), forward=ref(x))
        written.append(f"dictionary_learning/{name}")
    return written


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    written = write_saelens() + write_sparsify() + write_dictionary_learning()
    versions = {
        "torch": version("torch"),
        "sae-lens": version("sae-lens"),
        "eai-sparsify": version("eai-sparsify"),
        "dictionary-learning": version("dictionary-learning"),
        "cases": written,
    }
    (OUT / "VERSIONS.json").write_text(json.dumps(versions, indent=2) + "\n")
    print(json.dumps(versions, indent=2))


if __name__ == "__main__":
    main()
