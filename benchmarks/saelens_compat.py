"""SAELens folder compatibility, both ways, per architecture (FORMATS.md §1).

Run with the benchmark venv (sae-lens is not a product dependency)::

    .venv-bench/bin/python benchmarks/saelens_compat.py

Forward (ours -> SAELens): for each of our architectures an SAE with random weights (biases,
thresholds and decoder norms all non-trivial) is given an activation-normalisation scale folded
in (:meth:`SAE.fold_activation_scale`, as the trainer does before saving), written with our
``save_sae`` and loaded with SAELens' own ``SAE.load_from_disk``. On random inputs SAELens'
``encode`` / ``decode`` / ``forward`` must equal ours (max |diff|, ``allclose`` at 1e-5), and equal
the pre-fold SAE applied to scaled inputs (the fold is exact). cfg.json is checked against the key
table of FORMATS §1 (common keys, per-architecture keys, tensor names and shapes).

Reverse (SAELens -> ours): SAELens SAEs with random weights, written by SAELens itself
(``save_model`` for inference classes, ``save_inference_model`` for training classes, which is
what its trainer produces), loaded with our ``load_sae``; outputs must match.

Prints the JSON report and writes ``benchmarks/results/saelens_compat.json``.
"""

from __future__ import annotations

import json
import platform
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

import sae_lens
import torch
from sae_lens import SAE as SLSAE

from mistudio.core.sae import SAEConfig, build_sae, load_sae, save_sae
from mistudio.core.sae.saelens_format import read_cfg

HERE = Path(__file__).resolve().parent

TOL = 1e-5
D_IN, D_SAE, D_OUT, K, N = 128, 512, 96, 16, 256
HOOK = "blocks.6.hook_resid_post"
META = {"hook_name": HOOK, "hf_hook_name": "model.layers.6", "model_name": "smollm2-135m"}

COMMON_KEYS = {
    "d_in": int,
    "d_sae": int,
    "dtype": str,
    "device": str,
    "apply_b_dec_to_input": bool,
    "normalize_activations": str,
    "reshape_activations": str,
    "architecture": str,
    "metadata": dict,
}
ARCH_KEYS: dict[str, dict[str, Any]] = {
    "standard": {},
    "jumprelu": {},
    "topk": {"k": int, "rescale_acts_by_decoder_norm": bool},
    "transcoder": {"d_out": int},
    "skip_transcoder": {"d_out": int},
}


def arch_tensors(arch: str, d_in: int, d_sae: int, d_out: int) -> dict[str, tuple[int, ...]]:
    base = {"W_enc": (d_in, d_sae), "b_enc": (d_sae,), "W_dec": (d_sae, d_out), "b_dec": (d_out,)}
    if arch == "jumprelu":
        base["threshold"] = (d_sae,)
    if arch == "skip_transcoder":
        base["W_skip"] = (d_out, d_in)
    return base


def diff(a: torch.Tensor, b: torch.Tensor) -> float:
    a, b = a.detach().float(), b.detach().float()
    if a.shape != b.shape:
        return float("inf")
    return float((a - b).abs().max()) if a.numel() else 0.0


def close(*pairs: tuple[torch.Tensor, torch.Tensor]) -> bool:
    return all(
        a.shape == b.shape and torch.allclose(a.float(), b.float(), atol=TOL, rtol=TOL)
        for a, b in pairs
    )


@torch.no_grad()
def randomize_ours(sae: Any, gen: torch.Generator) -> None:
    """Non-trivial weights: random encoder/decoder with uneven row norms, biases, thresholds."""
    d_in, d_sae, d_out = sae.d_in, sae.d_sae, sae.d_out
    sae.W_enc.copy_(torch.randn(d_in, d_sae, generator=gen) / d_in**0.5)
    norms = 0.5 + torch.rand(d_sae, 1, generator=gen)
    w = torch.randn(d_sae, d_out, generator=gen)
    sae.W_dec.copy_(w / w.norm(dim=-1, keepdim=True) * norms)
    sae.b_enc.copy_(0.2 * torch.randn(d_sae, generator=gen) - 0.1)
    sae.b_dec.copy_(0.3 * torch.randn(d_out, generator=gen))
    if sae.W_skip is not None:
        sae.W_skip.copy_(torch.randn(d_out, d_in, generator=gen) / d_in**0.5)
    if hasattr(sae, "log_threshold"):
        sae.log_threshold.copy_((0.05 + 0.5 * torch.rand(d_sae, generator=gen)).log())
    if sae.architecture == "batchtopk":
        sae.threshold.fill_(0.35)


def check_cfg(folder: Path, expected_arch: str, d_out: int) -> tuple[bool, list[str]]:
    """cfg.json and tensors against FORMATS §1; returns (ok, problems)."""
    from safetensors import safe_open

    problems: list[str] = []
    cfg = read_cfg(folder)
    for key, typ in {**COMMON_KEYS, **ARCH_KEYS.get(expected_arch, {})}.items():
        if key not in cfg:
            problems.append(f"missing {key}")
        elif not isinstance(cfg[key], typ):
            problems.append(f"{key} is {type(cfg[key]).__name__}, expected {typ.__name__}")
    if cfg.get("architecture") != expected_arch:
        problems.append(f"architecture {cfg.get('architecture')!r} != {expected_arch!r}")
    if cfg.get("normalize_activations") != "none":
        problems.append("normalize_activations must be 'none' once the scale is folded")
    if cfg.get("reshape_activations") != "none":
        problems.append("reshape_activations must be 'none'")
    if cfg.get("dtype") not in ("float32", "float16", "bfloat16"):
        problems.append(f"dtype {cfg.get('dtype')!r}")
    if expected_arch == "topk" and cfg.get("rescale_acts_by_decoder_norm") is not False:
        problems.append("topk must write rescale_acts_by_decoder_norm false")
    if "transcoder" in expected_arch and cfg.get("apply_b_dec_to_input") is not False:
        problems.append("transcoders must write apply_b_dec_to_input false")
    meta = cfg.get("metadata") or {}
    version = str(meta.get("sae_lens_version", "0"))
    if tuple(int(p) for p in version.split(".")[:3]) < (6, 0, 0):
        problems.append(f"metadata.sae_lens_version {version!r} < 6.0.0")
    for key in ("hook_name", "hf_hook_name", "model_name"):
        if key not in meta:
            problems.append(f"metadata.{key} missing")
    with safe_open(str(folder / "sae_weights.safetensors"), "pt") as f:
        shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}  # noqa: SIM118
    want = arch_tensors(expected_arch, cfg["d_in"], cfg["d_sae"], d_out)
    if set(shapes) != set(want):
        problems.append(f"tensors {sorted(shapes)} != {sorted(want)}")
    for k, shp in want.items():
        if k in shapes and shapes[k] != shp:
            problems.append(f"{k} shape {shapes[k]} != {shp}")
    return not problems, problems


def ours_to_saelens(name: str, spec: dict[str, Any], saved_as: str, tmp: Path) -> dict[str, Any]:
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    d_out = spec.get("d_out") or spec["d_in"]
    trained = build_sae(SAEConfig(**spec, metadata=META))
    randomize_ours(trained, gen)
    x = 3.0 * torch.randn(N, spec["d_in"], generator=gen) + 0.5
    # The trainer trains on x * s (s = sqrt(d) / mean ||x||) and folds s before saving.
    s_in = spec["d_in"] ** 0.5 / float(x.norm(dim=-1).mean())
    s_out = s_in if trained.apply_b_dec_to_input else s_in * 1.7
    ours = build_sae(SAEConfig(**spec, metadata=META))
    ours.load_state_dict(trained.state_dict())
    ours.fold_activation_scale(s_in, s_out)
    folder = save_sae(ours, tmp / f"ours-{name}", metadata=META)
    cfg_ok, problems = check_cfg(folder, saved_as, d_out)

    sl = SLSAE.load_from_disk(str(folder), device="cpu")
    sl.eval()
    with torch.no_grad():
        f_ours = ours.encode(x)
        f_sl = sl.encode(x)
        xh_ours = ours.decode(f_ours, x)
        skip_sl = x @ sl.W_skip.T if hasattr(sl, "W_skip") else 0.0
        xh_sl = sl.decode(f_ours) + skip_sl  # SAELens' decode leaves the skip path to forward
        fw_ours = ours(x).x_hat
        fw_sl = sl(x)
        # Fold exactness: the saved SAE on raw x == the pre-fold SAE on scaled x.
        f_trained = trained.encode(x * s_in)
        fw_trained = trained(x * s_in).x_hat / s_out
        reload = load_sae(folder)
        fw_reload = reload(x).x_hat
    sl_cfg = sl.cfg
    meta_ok = getattr(sl_cfg.metadata, "hook_name", None) == HOOK
    row = {
        "saved_as": saved_as,
        "saelens_class": type(sl).__name__,
        "max_diff_encode": diff(f_ours, f_sl),
        "max_diff_decode": diff(xh_ours, xh_sl),
        "max_diff_forward": diff(fw_ours, fw_sl),
        "max_diff_fold_encode": diff(f_trained, f_sl),
        "max_diff_fold_forward": diff(fw_trained, fw_sl),
        "max_diff_our_reload": diff(fw_ours, fw_reload),
        "l0": float((f_sl > 0).sum(-1).float().mean()),
        "allclose_1e-5": close(
            (f_ours, f_sl),
            (xh_ours, xh_sl),
            (fw_ours, fw_sl),
            (f_trained, f_sl),
            (fw_trained, fw_sl),
            (fw_ours, fw_reload),
        ),
        "cfg_ok": cfg_ok and meta_ok and sl_cfg.d_in == spec["d_in"] and sl_cfg.d_sae == D_SAE,
        "cfg_problems": problems + ([] if meta_ok else ["SAELens metadata.hook_name differs"]),
        "fold_scale_in": s_in,
    }
    row["pass"] = bool(row["allclose_1e-5"] and row["cfg_ok"])
    return row


@torch.no_grad()
def randomize_saelens(sl: Any, gen: torch.Generator) -> None:
    for pname, p in sl.named_parameters():
        if pname == "W_enc":
            p.copy_(torch.randn(p.shape, generator=gen) / p.shape[0] ** 0.5)
        elif pname == "W_dec":
            w = torch.randn(p.shape, generator=gen)
            p.copy_(
                w / w.norm(dim=-1, keepdim=True) * (0.5 + torch.rand(p.shape[0], 1, generator=gen))
            )
        elif pname == "W_skip":
            p.copy_(torch.randn(p.shape, generator=gen) / p.shape[1] ** 0.5)
        elif pname in ("threshold",):
            p.copy_(0.05 + 0.5 * torch.rand(p.shape, generator=gen))
        elif pname == "log_threshold":
            p.copy_((0.05 + 0.5 * torch.rand(p.shape, generator=gen)).log())
        else:
            p.copy_(0.2 * torch.randn(p.shape, generator=gen) - 0.05)
    if hasattr(sl, "topk_threshold"):
        sl.topk_threshold = torch.tensor(0.35)


def saelens_to_ours(name: str, build: Any, saver: str, tmp: Path) -> dict[str, Any]:
    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    sl = build()
    randomize_saelens(sl, gen)
    folder = tmp / f"saelens-{name}"
    getattr(sl, saver)(str(folder))
    cfg = read_cfg(folder)
    # What SAELens' own loader makes of the folder is the reference for the saved function.
    ref = SLSAE.load_from_disk(str(folder), device="cpu")
    ref.eval()
    x = 3.0 * torch.randn(N, ref.cfg.d_in, generator=gen) + 0.5
    row: dict[str, Any] = {
        "saved_as": cfg["architecture"],
        "saelens_class": type(sl).__name__,
        "saved_by": saver,
        "rescale_acts_by_decoder_norm": cfg.get("rescale_acts_by_decoder_norm"),
    }
    try:
        ours = load_sae(folder)
    except Exception as exc:  # noqa: BLE001 - the report says what failed
        row.update(load_error=f"{type(exc).__name__}: {exc}", pass_=False)
        row["pass"] = row.pop("pass_")
        return row
    with torch.no_grad():
        f_ref = ref.encode(x)
        f_ours = ours.encode(x)
        skip = x @ ref.W_skip.T if hasattr(ref, "W_skip") else 0.0
        xh_ref = ref.decode(f_ref) + skip
        xh_ours = ours.decode(f_ref, x)
        fw_ref = ref(x)
        fw_ours = ours(x).x_hat
        # The training-form module itself (before saving) computes the same function.
        sl.eval()
        # (BatchTopK's training forward is batch-level top-k, not the saved threshold: skipped.)
        batch_level = hasattr(sl, "topk_threshold")
        fw_train = sl(x) if saver == "save_inference_model" and not batch_level else None
    row.update(
        loaded_as=ours.architecture,
        max_diff_encode=diff(f_ours, f_ref),
        max_diff_decode=diff(xh_ours, xh_ref),
        max_diff_forward=diff(fw_ours, fw_ref),
        max_diff_vs_training_module=diff(fw_ours, fw_train) if fw_train is not None else None,
        l0=float((f_ref > 0).sum(-1).float().mean()),
    )
    row["allclose_1e-5"] = close((f_ours, f_ref), (xh_ours, xh_ref), (fw_ours, fw_ref))
    row["pass"] = bool(row["allclose_1e-5"])
    return row


def main() -> None:
    torch.manual_seed(0)
    results: dict[str, dict[str, Any]] = {}
    notes: list[str] = []
    base = {"d_in": D_IN, "d_sae": D_SAE}
    forward_cases: list[tuple[str, dict[str, Any], str]] = [
        ("standard", {"architecture": "standard", **base}, "standard"),
        ("jumprelu", {"architecture": "jumprelu", **base}, "jumprelu"),
        ("topk", {"architecture": "topk", "k": K, **base}, "topk"),
        ("batchtopk", {"architecture": "batchtopk", "k": K, **base}, "jumprelu"),
        ("standard_skip", {"architecture": "standard_skip", **base}, "skip_transcoder"),
        ("transcoder", {"architecture": "transcoder", "d_out": D_OUT, **base}, "transcoder"),
        (
            "skip_transcoder",
            {"architecture": "transcoder", "d_out": D_OUT, "skip": True, **base},
            "skip_transcoder",
        ),
    ]
    from sae_lens import (
        BatchTopKTrainingSAE,
        BatchTopKTrainingSAEConfig,
        JumpReLUSAE,
        JumpReLUSAEConfig,
        JumpReLUTrainingSAE,
        JumpReLUTrainingSAEConfig,
        SkipTranscoder,
        SkipTranscoderConfig,
        StandardSAE,
        StandardSAEConfig,
        StandardTrainingSAE,
        StandardTrainingSAEConfig,
        TopKSAE,
        TopKSAEConfig,
        TopKTrainingSAE,
        TopKTrainingSAEConfig,
        Transcoder,
        TranscoderConfig,
    )

    no_b = {"apply_b_dec_to_input": False}
    reverse_cases: list[tuple[str, Any, str]] = [
        ("standard", lambda: StandardSAE(StandardSAEConfig(**base)), "save_model"),
        ("jumprelu", lambda: JumpReLUSAE(JumpReLUSAEConfig(**base)), "save_model"),
        ("topk", lambda: TopKSAE(TopKSAEConfig(k=K, **base)), "save_model"),
        (
            "topk_rescale_unnormalised_decoder",
            lambda: TopKSAE(TopKSAEConfig(k=K, rescale_acts_by_decoder_norm=True, **base)),
            "save_model",
        ),
        (
            "standard_training",
            lambda: StandardTrainingSAE(StandardTrainingSAEConfig(**base)),
            "save_inference_model",
        ),
        (
            "jumprelu_training",
            lambda: JumpReLUTrainingSAE(JumpReLUTrainingSAEConfig(**base)),
            "save_inference_model",
        ),
        (
            "topk_training",
            lambda: TopKTrainingSAE(TopKTrainingSAEConfig(k=K, **base)),
            "save_inference_model",
        ),
        (
            "batchtopk_training",
            lambda: BatchTopKTrainingSAE(BatchTopKTrainingSAEConfig(k=K, **base)),
            "save_inference_model",
        ),
        (
            "transcoder",
            lambda: Transcoder(TranscoderConfig(d_out=D_OUT, **base, **no_b)),
            "save_model",
        ),
        (
            "skip_transcoder",
            lambda: SkipTranscoder(SkipTranscoderConfig(d_out=D_OUT, **base, **no_b)),
            "save_model",
        ),
    ]
    with tempfile.TemporaryDirectory() as tmp_s:
        tmp = Path(tmp_s)
        for name, spec, saved_as in forward_cases:
            try:
                results[f"ours_to_saelens/{name}"] = ours_to_saelens(name, spec, saved_as, tmp)
            except Exception as exc:  # noqa: BLE001
                results[f"ours_to_saelens/{name}"] = {
                    "saved_as": saved_as,
                    "error": f"{type(exc).__name__}: {exc}",
                    "pass": False,
                }
        for name, build, saver in reverse_cases:
            try:
                results[f"saelens_to_ours/{name}"] = saelens_to_ours(name, build, saver, tmp)
            except Exception as exc:  # noqa: BLE001
                results[f"saelens_to_ours/{name}"] = {
                    "error": f"{type(exc).__name__}: {exc}",
                    "pass": False,
                }
    notes.append(
        "standard_skip has no SAELens architecture of its own: it is written as SAELens "
        "'skip_transcoder' with d_out = d_in (apply_b_dec_to_input false), which SAELens loads as "
        "SkipTranscoder; metadata.mistudio_architecture brings it back as standard_skip."
    )
    notes.append(
        "SAELens' Transcoder/SkipTranscoder.decode(f) has no skip term (forward adds "
        "x @ W_skip.T); decode is compared as decode(f) + x @ W_skip.T against ours decode(f, x)."
    )
    notes.append(
        "batchtopk is saved as SAELens 'jumprelu' with threshold = ones(d_sae) * learned "
        "threshold; compared with our BatchTopKSAE's threshold inference path."
    )
    notes.append(
        "Forward cases fold a normalisation scale s = sqrt(d_in)/mean||x|| before saving; "
        "max_diff_fold_* compare SAELens on raw x with the pre-fold SAE on x*s (outputs / s_out; "
        "transcoders use a different output scale)."
    )
    n_pass = sum(1 for r in results.values() if r.get("pass"))
    report = {
        "benchmark": "saelens_compat",
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "machine": f"{platform.machine()}, torch {torch.__version__}, "
        f"sae-lens {sae_lens.__version__}",
        "settings": {
            "d_in": D_IN,
            "d_sae": D_SAE,
            "d_out_transcoder": D_OUT,
            "k": K,
            "tokens": N,
            "tolerance": TOL,
        },
        "results": results,
        "ratios": {"cases_passing": n_pass / len(results)},
        "targets": {"cases_passing": "1.0 (every case allclose at 1e-5, cfg per FORMATS §1)"},
        "notes": " ".join(notes),
    }
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "saelens_compat.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
