"""What the linguistic analysis costs next to the extraction it reads (issue 19: at most 20%).

    .venv/bin/python benchmarks/linguistics_cost.py                       # the walkthrough's SAE
    .venv/bin/python benchmarks/linguistics_cost.py --corpus kjv          # prose instead of code

The walkthrough's setting: SmolLM2-135M layer 6, a top-k SAE of 512 latents (k 16; random
weights here, trained in the walkthrough: the analysis reads the same number of top examples
either way), 20,000 evaluation tokens of the Python standard library with the extraction's
defaults (top 100, windows of 32 + 1 + 8 tokens). Measures ``extraction_s`` (``extraction.json``'s
``seconds``, the LM pass included) and ``analysis_s`` (:func:`analyse_extraction`, spaCy's load
included) and prints one JSON line with their ratio.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

HOOK = "blocks.6.hook_resid_post"


def tokenization(corpus: str, documents: int) -> Any:
    from mistudio.core.data import (
        DatasetSource,
        Tokenization,
        TokenizeConfig,
        import_dataset,
        tokenize_dataset,
    )
    from mistudio.core.language_models import load_tokenizer
    from mistudio.settings import get_settings

    root = get_settings().artifacts_dir / "bench-linguistics"
    ds, tok = root / f"{corpus}-{documents}", root / f"{corpus}-{documents}-tok"
    if not (tok / "meta.json").exists():
        if not (ds / "dataset.json").exists():
            source = DatasetSource.builtin_corpus(corpus, max_documents=documents)
            import_dataset(source, ds)
        tokenize_dataset(ds, load_tokenizer("smollm2-135m"), TokenizeConfig(), tok)
    return Tokenization.open(tok)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default="python-stdlib", choices=["python-stdlib", "kjv"])
    parser.add_argument("--documents", type=int, default=400)
    parser.add_argument("--tokens", type=int, default=20_000)
    parser.add_argument("--d-sae", type=int, default=512)
    parser.add_argument("--k", type=int, default=16)
    args = parser.parse_args()

    import torch

    from mistudio.core.features import ExtractionConfig, ExtractionTarget, extract_features
    from mistudio.core.language_models import load_model
    from mistudio.core.linguistics import LinguisticConfig, analyse_extraction
    from mistudio.core.sae import SAEConfig, build_sae

    loaded = load_model("smollm2-135m")
    tok = tokenization(args.corpus, args.documents)
    torch.manual_seed(0)
    sae = build_sae(
        SAEConfig(
            architecture="topk",
            d_in=576,
            d_sae=args.d_sae,
            k=args.k,
            metadata={"hook_name": HOOK},
        )
    )
    with tempfile.TemporaryDirectory() as tmp:
        (result,) = extract_features(
            loaded,
            tok,
            [ExtractionTarget(sae, HOOK)],
            ExtractionConfig(n_tokens=args.tokens),
            [Path(tmp) / "x"],
        )
        t0 = time.perf_counter()
        meta = analyse_extraction(result, LinguisticConfig(), tokenizer=loaded.tokenizer)
        analysis_s = time.perf_counter() - t0
        out: dict[str, Any] = {
            "corpus": args.corpus,
            "tokens": result.meta.n_tokens,
            "d_sae": args.d_sae,
            "extraction_s": round(result.meta.seconds, 2),
            "analysis_s": round(analysis_s, 2),
            "ratio": round(analysis_s / result.meta.seconds, 3),
            "windows": meta.n_windows,
            "code_windows": meta.n_code_windows,
            "pipeline": meta.pipeline,
        }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
