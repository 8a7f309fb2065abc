"""The e2e walkthrough's SAE, made headless once and reused (issue 19 part 4's measured set).

``tests/e2e/test_walkthrough.py`` imports 120 documents of the Python standard library, tokenizes
them into sequences of 128 tokens, trains a top-k SAE (512 latents, k 16) on SmolLM2-135M's
``blocks.6.hook_resid_post`` for 200 steps of 128 tokens with an 8,192-token shuffle buffer, and
extracts features over 20,000 tokens with the extraction defaults. :func:`walkthrough_extraction`
does the same through the core API under ``<artifacts>/bench-walkthrough/`` (each stage skipped
when its folder is there) and adds the linguistic analysis (part 1), which the labellers read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

HOOK = "blocks.6.hook_resid_post"
DOCUMENTS = 120
MAX_LENGTH = 128
D_SAE, K = 512, 16
STEPS, BATCH, BUFFER = 200, 128, 8192
EXTRACT_TOKENS = 20_000


def walkthrough_extraction(loaded: Any, root: Path | None = None) -> Any:
    """The walkthrough's extraction (an opened ``ExtractionResult``) with linguistics."""
    from mistudio.core.data import (
        DatasetSource,
        Tokenization,
        TokenizeConfig,
        import_dataset,
        tokenize_dataset,
    )
    from mistudio.core.features import ExtractionConfig, ExtractionTarget, extract_features
    from mistudio.core.features.result import ExtractionResult
    from mistudio.core.linguistics import LinguisticConfig, analyse_extraction
    from mistudio.core.linguistics.analyze import Linguistics
    from mistudio.core.pipeline import TrainingRunConfig, run_training
    from mistudio.core.sae.saelens_format import load_sae
    from mistudio.core.training import TrainConfig
    from mistudio.settings import get_settings

    root = root or get_settings().artifacts_dir / "bench-walkthrough"
    ds, tok_dir = root / "python-stdlib", root / "tokens-128"
    run_dir, ext_dir = root / "training", root / "extraction"
    if not (tok_dir / "meta.json").exists():
        if not (ds / "dataset.json").exists():
            import_dataset(
                DatasetSource.builtin_corpus("python-stdlib", max_documents=DOCUMENTS), ds
            )
        config = TokenizeConfig(max_length=MAX_LENGTH, stride=MAX_LENGTH // 2)
        tokenize_dataset(ds, loaded.tokenizer, config, tok_dir)
    sae_dirs = sorted(run_dir.glob("saes/*/cfg.json"))
    if not sae_dirs:
        train = TrainConfig.model_validate(
            {
                "saes": [
                    {
                        "hook_name": HOOK,
                        "sae": {"architecture": "topk", "d_in": 576, "d_sae": D_SAE, "k": K},
                    }
                ],
                "total_tokens": STEPS * BATCH,
                "batch_tokens": BATCH,
            }
        )
        config = TrainingRunConfig(
            tokenization=str(tok_dir), train=train, buffer_tokens=BUFFER, eval_splice=False
        )
        result = run_training(config, run_dir, loaded=loaded)
        sae_folder = next(iter(result.saes.values())).folder
    else:
        sae_folder = sae_dirs[0].parent
    if not (ext_dir / "extraction.json").exists():
        sae = load_sae(sae_folder)
        extract_features(
            loaded,
            Tokenization.open(tok_dir),
            [ExtractionTarget(sae, HOOK, sae_folder)],
            ExtractionConfig(n_tokens=EXTRACT_TOKENS),
            [ext_dir],
        )
    result = ExtractionResult.open(ext_dir)
    if not Linguistics.exists(ext_dir):
        analyse_extraction(result, LinguisticConfig(), tokenizer=loaded.tokenizer)
    return result
