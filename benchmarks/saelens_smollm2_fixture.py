"""Train a small SAE with real SAELens on SmolLM2-135M layer 6 and commit it as a fixture.

Run with the benchmark venv (SAELens is not a product dependency)::

    .venv-bench/bin/python benchmarks/saelens_smollm2_fixture.py

The end-to-end test of issue 16 (``tests/integration/test_saelens_sae_smollm2.py``) imports this
folder into the studio, extracts, labels and steers with it on the real SmolLM2: an SAE that
SAELens trained and saved, not one we wrote in its layout.

Data: the first ``--tokens`` rows of the shuffled float16 ``[tokens, 576]`` array of
SmolLM2-135M ``blocks.6.hook_resid_post`` (= HF ``model.layers.6``) over KJV and python-stdlib
that ``benchmarks/training.py`` caches as ``benchmarks/.cache/train-128-*.npy`` (run it once to
make it). Training: SAELens' own ``TopKTrainingSAE`` + ``SAETrainer``, wired as in
``peer_training.py`` (``expected_average_only_in``, which the trainer folds into the weights
before saving). Saved with SAELens' ``save_inference_model`` into
``tests/fixtures/formats/saelens_smollm2/``, with the ``metadata`` a SAELens training run on the
model records (``model_name`` the Hub id, so the studio links it to the built-in SmolLM2, and
``hook_name``). d_sae 128 keeps the float32 weights near 600 KB.

Beside the SAELens files: ``saelens_outputs.safetensors`` (``x``: 16 held-back activation rows
in float32; ``latents``: SAELens' ``encode(x)`` on the folder as ``SAE.load_from_disk`` reads it
back), and ``training.json`` (library versions, settings, final L0 and explained variance on
those held-back rows). The file is not named ``reference.safetensors`` so that the format unit
tests, which walk those, leave this case to the integration test.
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "benchmarks" / ".cache"
OUT = ROOT / "tests" / "fixtures" / "formats" / "saelens_smollm2"
MODEL_NAME = "HuggingFaceTB/SmolLM2-135M-Instruct"
HOOK = "blocks.6.hook_resid_post"
HF_HOOK = "model.layers.6"
N_REFERENCE = 16


def cached_activations(tokens: int) -> tuple[torch.Tensor, torch.Tensor, str]:
    """The first ``tokens`` rows of the cached training array (float16), the next
    ``N_REFERENCE`` rows (held back, float32) and the array's file name."""
    found = sorted(CACHE.glob("train-128-*.npy"))
    if not found:
        raise SystemExit(f"no train-128-*.npy in {CACHE}: run benchmarks/training.py once first")
    array = np.load(found[-1], mmap_mode="r")
    if array.shape[0] < tokens + N_REFERENCE or array.shape[1] != 576:
        raise SystemExit(f"{found[-1].name} is {array.shape}, need [{tokens}+, 576]")
    train = torch.from_numpy(np.ascontiguousarray(array[:tokens]))
    held = torch.from_numpy(np.ascontiguousarray(array[tokens : tokens + N_REFERENCE])).float()
    return train, held, found[-1].name


def batches(data: torch.Tensor, batch: int, start: int = 0) -> Any:
    """Cyclic float32 batches ``[batch, d_in]`` of rows ``[i*B, (i+1)*B)``."""
    n = data.shape[0] // batch
    for i in itertools.count(start):
        j = i % n
        yield data[j * batch : (j + 1) * batch].float()


def train(args: argparse.Namespace, data: torch.Tensor) -> tuple[Any, dict[str, Any]]:
    from sae_lens import TopKTrainingSAE, TopKTrainingSAEConfig
    from sae_lens.config import LoggingConfig, SAETrainerConfig
    from sae_lens.training.sae_trainer import SAETrainer

    sae = TopKTrainingSAE(
        TopKTrainingSAEConfig(
            d_in=data.shape[1],
            d_sae=args.d_sae,
            k=args.k,
            normalize_activations="expected_average_only_in",
        )
    )
    cfg = SAETrainerConfig(
        total_training_samples=args.steps * args.batch,
        train_batch_size_samples=args.batch,
        lr=args.lr,
        lr_end=args.lr,
        lr_scheduler_name="constant",
        lr_warm_up_steps=0,
        lr_decay_steps=max(1, args.steps // 5),
        device="cpu",
        dead_feature_window=max(1, args.steps // 2),
        feature_sampling_window=args.steps,
        logger=LoggingConfig(log_to_wandb=False),
        n_batches_for_norm_estimate=args.norm_batches,
    )
    # The norm estimate reads its own batches; training then starts at batch 0.
    provider = itertools.chain(
        itertools.islice(batches(data, args.batch), args.norm_batches),
        batches(data, args.batch),
    )
    trainer = SAETrainer(cfg=cfg, sae=sae, data_provider=provider)
    sae = trainer.fit()
    settings = {
        "architecture": "topk",
        "d_sae": args.d_sae,
        "k": args.k,
        "steps": trainer.n_training_steps,
        "batch_tokens": args.batch,
        "lr": args.lr,
        "normalize_activations": "expected_average_only_in (folded by SAETrainer.fit)",
        "n_batches_for_norm_estimate": args.norm_batches,
    }
    return sae, settings


@torch.no_grad()
def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--tokens", type=int, default=200_000)
    p.add_argument("--steps", type=int, default=400)
    p.add_argument("--batch", type=int, default=1024)
    p.add_argument("--d-sae", type=int, default=128)
    p.add_argument("--k", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--norm-batches", type=int, default=20)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    data, held, array_name = cached_activations(args.tokens)
    with torch.enable_grad():
        sae, settings = train(args, data)
    sae.cfg.metadata.model_name = MODEL_NAME
    sae.cfg.metadata.hook_name = HOOK
    sae.cfg.metadata.hf_hook_name = HF_HOOK
    sae.cfg.metadata.context_size = 128
    sae.cfg.metadata.prepend_bos = False
    sae.cfg.metadata.dataset_path = "miStudio built-ins: kjv + python-stdlib"
    if args.out.exists():
        shutil.rmtree(args.out)
    sae.save_inference_model(str(args.out))

    from sae_lens import SAE

    ref = SAE.load_from_disk(str(args.out), device="cpu")
    ref.eval()
    latents = ref.encode(held)
    x_hat = ref.decode(latents)
    fvu = float((held - x_hat).pow(2).sum() / (held - held.mean(0)).pow(2).sum())
    save_file(
        {"x": held.contiguous(), "latents": latents.contiguous()},
        str(args.out / "saelens_outputs.safetensors"),
    )
    info = {
        "sae-lens": version("sae-lens"),
        "torch": version("torch"),
        "model": MODEL_NAME,
        "hook_name": HOOK,
        "data": f"benchmarks/.cache/{array_name}, first {args.tokens} rows",
        "settings": settings,
        "held_out_rows": N_REFERENCE,
        "held_out_l0": float((latents > 0).sum(-1).float().mean()),
        "held_out_explained_variance": 1 - fvu,
    }
    (args.out / "training.json").write_text(json.dumps(info, indent=2) + "\n")
    print(json.dumps(info, indent=2))


if __name__ == "__main__":
    main()
