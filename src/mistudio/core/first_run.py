"""The first run: the built-in model from a cold cache to labelled features, doing only the work
that path needs (issue 22). ``mistudio demo`` and the studio's ``first_run`` job call the same
stage functions in the same order, so the terminal and the browser run one pipeline:

``model`` (dequantize the GGUF once, load) -> ``dataset`` (import the stdlib corpus) ->
``tokenize`` (only the tokens the stages read) -> ``activations`` (the one LM pass: layer 6 of
the training sequences, cached) -> ``train`` (one top-k SAE on layer 6, from the cache) ->
``extract`` (its features, from the same cache) -> ``label`` (rules with scores, then the
``local`` pattern labeller on the most frequent latents the rules leave unlabelled).

Decisions, from the issue's measurement of the old demo (9 min 52 s, 6.4 GB peak RSS):

- The old demo tokenized the whole standard library and the whole KJV (4.4M tokens) although
  training reads 200k tokens and extraction 200k: :func:`tokenize_for_first_run` stops reading
  documents once ``max(train_tokens, extract_tokens)`` plus the held-out sequences are stored
  (``TokenizeConfig.max_tokens``), whole documents in dataset order, so the first sequences are
  the same ones the old demo trained on.
- One top-k SAE on layer 6 (the issue's quality bar: held-out FVU 0.229, CE score 0.850 on 200k
  tokens); the LM pass stops at layer 6 instead of layer 10, and no second SAE's training or
  extraction state is held. The other demo SAEs stay behind ``FirstRunConfig.full``.
- Streaming tokenization straight into the activation pass would save the few seconds the
  capped tokenization takes, but the trainer's data source and the held-out evaluation index
  sequences by position (epochs, the last ``eval_sequences``), so it reads a tokenization folder.
- One LM pass, not two: training and extraction read the same sequences, so the first run
  caches their layer-6 activations once (float16, about 0.23 GB on disk for 200k tokens) and
  both replay it (:func:`~mistudio.core.activations.replay_activations`). Streaming them live
  ran the LM twice over the same tokens (220 s of training and 181 s of extraction, most of
  it the LM, measured in session 8); a cached epoch also costs only the SAE's steps, so the
  SAE can take more, smaller steps over the same tokens.
- On two cores the stages do not overlap: each one (LM forward, SAE step, labelling) already
  uses both, and running two at once only adds their memory.

:class:`StageClock` records each stage's seconds; the callers show them with their share.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import Field

from mistudio.core.activations import ActivationCache, ActivationStreamConfig, cache_activations
from mistudio.core.config import OperationConfig
from mistudio.core.data import (
    DatasetSource,
    Tokenization,
    TokenizeConfig,
    import_dataset,
    open_dataset,
    tokenize_dataset,
)
from mistudio.core.features import ExtractionConfig, ExtractionTarget, extract_features
from mistudio.core.labeling import LabelingConfig, LabelStore, label_features, select_indices
from mistudio.core.pipeline import TrainingRunConfig, run_training
from mistudio.core.progress import Progress
from mistudio.core.sae import load_sae
from mistudio.core.sae.base import SAEConfig
from mistudio.core.training import SAETrainConfig, TrainConfig
from mistudio.errors import InvalidInputError

STAGES: dict[str, float] = {
    "model": 0.07,
    "dataset": 0.01,
    "tokenize": 0.01,
    "activations": 0.40,
    "train": 0.12,
    "extract": 0.05,
    "index": 0.02,
    "label": 0.32,
}
"""Stage -> its expected share of the run (a job's progress bar maps each stage into it);
measured on the 2-core reference machine (``benchmarks/first_run.py``)."""


class FirstRunConfig(OperationConfig):
    """The first run's settings: the defaults are the issue's quality bar on the built-in model."""

    model: str = "smollm2-135m"
    """Model source (the built-in SmolLM2-135M-Instruct GGUF by default)."""
    corpus: str = "python-stdlib"
    """Built-in corpus the SAE is trained and its features extracted on, or the folder of an
    imported dataset (an absolute path)."""
    layer: int = Field(default=6, ge=0)
    """Residual-stream layer of the SAE (``blocks.{layer}.hook_resid_post``)."""
    max_length: int = Field(default=256, ge=8)
    """Sequence length of the tokenization."""
    train_tokens: int = Field(default=200_000, gt=0)
    """Training tokens of the SAE."""
    batch_tokens: int = Field(default=1024, gt=0)
    """Tokens per training step. From the cache a step costs only the SAE's work, so 195 small
    steps over 200k tokens take the time 49 steps of 4,096 did, and reach held-out FVU 0.117 and
    CE score 0.967 instead of 0.191 and 0.818 (issue 22, measured on the 2-core machine)."""
    buffer_tokens: int = Field(default=32_768, gt=0)
    """Shuffle buffer of the training's activation stream, in tokens. Its float32 copies are the
    training's largest memory (65,536 tokens: 0.3 GB more at peak than 32,768, for held-out FVU
    0.117 instead of 0.123 and the same CE score; issue 22's memory target is 3 GB)."""
    eval_sequences: int = Field(default=16, ge=1)
    """Held-out sequences (the tokenization's last) for the SAE's FVU and CE score."""
    d_sae: int = Field(default=2304, gt=0)
    """Latents of the SAE (4x SmolLM2's d_model)."""
    k: int = Field(default=32, gt=0)
    """Active latents per token (top-k)."""
    lr: float = Field(default=1e-3, gt=0)
    """Learning rate of the SAE."""
    extract_tokens: int = Field(default=200_000, gt=0)
    """Tokens the feature extraction reads."""
    top_k: int = Field(default=100, gt=0)
    """Top-activating examples kept per latent."""
    score: bool = True
    """Score the rule labels on held-out examples (detection score)."""
    local_labels: int = Field(default=256, ge=0)
    """Most frequent latents the rules leave unlabelled that the ``local`` pattern labeller
    then labels (0: none)."""
    full: bool = False
    """Also the old demo's other SAEs (top-k on layers 2 and 10, a standard SAE on layer 6)
    and the KJV corpus: slower, for a tour of more than the first feature."""

    @classmethod
    def quick(cls, **overrides: Any) -> FirstRunConfig:
        """Tiny token counts and SAE (tests, smoke runs): seconds instead of minutes."""
        values: dict[str, Any] = {
            "train_tokens": 8_192,
            "batch_tokens": 1024,
            "buffer_tokens": 4096,
            "eval_sequences": 4,
            "d_sae": 256,
            "extract_tokens": 4_096,
            "top_k": 20,
            "local_labels": 32,
        }
        return cls(**(values | overrides))

    @property
    def hook(self) -> str:
        return f"blocks.{self.layer}.hook_resid_post"

    @property
    def layers(self) -> tuple[int, ...]:
        """The layers SAEs are trained on (three with ``full``)."""
        return (2, self.layer, 10) if self.full else (self.layer,)

    @property
    def sae_name(self) -> str:
        return f"layer{self.layer}-topk"

    def tokens_needed(self) -> int:
        """Tokens the stages read: the longer of training and extraction, plus held-out."""
        return max(self.train_tokens, self.extract_tokens) + self.eval_sequences * self.max_length


@dataclass
class StageClock:
    """Seconds per stage; ``on_start(name, start_fraction, end_fraction)`` as each begins."""

    on_start: Callable[[str, float, float], None] | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        names = list(STAGES)
        start = sum(STAGES[n] for n in names[: names.index(name)]) if name in STAGES else 0.0
        end = start + STAGES.get(name, 0.0)
        if self.on_start is not None:
            self.on_start(name, start, min(end, 1.0))
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0

    def rows(self) -> list[tuple[str, float, float]]:
        """``(stage, seconds, share of the total)`` in run order."""
        total = sum(self.seconds.values()) or 1.0
        return [(n, s, s / total) for n, s in self.seconds.items()]

    def lines(self) -> list[str]:
        total = sum(self.seconds.values())
        w = max([len("total"), *map(len, self.seconds)])
        out = [f"  {n:<{w}} {s:7.1f} s  {share:6.1%}" for n, s, share in self.rows()]
        out.append(f"  {'total':<{w}} {total:7.1f} s  ({int(total // 60)} min {total % 60:.0f} s)")
        return out


@dataclass(frozen=True)
class FirstRunFolders:
    """Where a first run's artifacts go (named, so a second run reuses what the first made)."""

    dataset: Path
    tokenization: Path
    activations: Path
    training: Path
    extraction: Path

    @classmethod
    def under(cls, artifacts: Path, config: FirstRunConfig, model_name: str) -> FirstRunFolders:
        """The folders under an artifacts root, named by the settings that shape each one."""
        # deferred: hashing the config's JSON needs only the standard library, but keep the
        # module import light for `mistudio --help`
        import hashlib

        small = "quick-" if config.train_tokens < 50_000 else ""
        given = Path(config.corpus)
        dataset = given if given.is_absolute() else artifacts / "datasets" / config.corpus
        tok = f"{dataset.name}-{model_name}-{config.max_length}-first{config.tokens_needed()}"
        digest = hashlib.sha256(config.model_dump_json().encode()).hexdigest()[:10]
        layers = "-".join(str(layer) for layer in config.layers)
        return cls(
            dataset=dataset,
            tokenization=artifacts / "tokenizations" / tok,
            activations=artifacts / "activations" / f"{tok}-held{config.eval_sequences}-L{layers}",
            training=artifacts / "trainings" / f"first-run-{small}{digest}",
            extraction=artifacts / "extractions" / f"first-run-{small}{digest}",
        )


def import_corpus(
    config: FirstRunConfig, folder: Path, progress: Progress | None = None, name: str | None = None
) -> Any:
    """The built-in corpus as a dataset folder (reused when it is already there)."""

    if (folder / "dataset.json").exists() or Path(config.corpus).is_absolute():
        return open_dataset(folder)
    source = DatasetSource(kind="builtin", builtin=config.corpus, name=name or config.corpus)
    return import_dataset(source, folder, progress)


def tokenize_for_first_run(
    config: FirstRunConfig,
    dataset: Path,
    tokenizer: Any,
    folder: Path,
    progress: Progress | None = None,
    max_tokens: int | None = -1,
) -> Any:
    """The corpus's first ``config.tokens_needed()`` tokens (whole documents) as sequences of
    ``max_length`` (windows half a sequence apart, as the old demo); reused when present.
    ``max_tokens=None`` tokenizes the whole corpus."""

    if (folder / "meta.json").exists():
        return Tokenization.open(folder)
    cap = config.tokens_needed() if max_tokens == -1 else max_tokens
    tok_config = TokenizeConfig(
        max_length=config.max_length, stride=config.max_length // 2, max_tokens=cap
    )
    return tokenize_dataset(dataset, tokenizer, tok_config, folder, progress)


def cache_first_activations(
    config: FirstRunConfig,
    loaded: Any,
    tokenization: Any,
    folder: Path,
    progress: Progress | None = None,
) -> ActivationCache:
    """The trained layers' activations over every sequence but the held-out ones (float16),
    read by both training and extraction; reused when a complete cache is there (one an
    interrupted attempt left half written is written again)."""

    if (folder / "manifest.json").exists():
        try:
            return ActivationCache.open(folder)
        except InvalidInputError:
            pass
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    stream = ActivationStreamConfig(
        hook_points=[f"blocks.{layer}.hook_resid_post" for layer in config.layers],
        dtype="float16",
        stop_sequence=len(tokenization) - config.eval_sequences,
    )
    # Small shards: the writer holds one shard in memory (16,384 x 576 float16: 19 MB).
    cache_activations(loaded, tokenization, stream, folder, shard_tokens=16_384, progress=progress)
    return ActivationCache.open(folder)


def training_config(
    config: FirstRunConfig, loaded: Any, tokenization: Path, cache: Path | None = None
) -> Any:
    """The :class:`~mistudio.core.pipeline.TrainingRunConfig` of the first run's SAE(s), from
    ``cache`` when given (else the LM runs live)."""

    d_in = loaded.architecture().d_model
    layers = config.layers
    saes = [
        SAETrainConfig(
            name=f"layer{layer}-topk",
            hook_name=f"blocks.{layer}.hook_resid_post",
            sae=SAEConfig(architecture="topk", d_in=d_in, d_sae=config.d_sae, k=config.k),
            lr=config.lr,
        )
        for layer in layers
    ]
    if config.full:
        saes.append(
            SAETrainConfig(
                name=f"layer{config.layer}-standard",
                hook_name=config.hook,
                sae=SAEConfig(architecture="standard", d_in=d_in, d_sae=config.d_sae),
                # Auto sparsity needs a few hundred steps to settle; small runs fix it.
                target_l0=None if config.train_tokens < 50_000 else config.k,
                sparsity_coefficient=1.0,
                lr=1e-3,
            )
        )
    return TrainingRunConfig(
        model=loaded.name,
        tokenization=str(tokenization),
        activation_cache=str(cache) if cache is not None else None,
        buffer_tokens=config.buffer_tokens,
        eval_sequences=config.eval_sequences,
        train=TrainConfig(
            saes=saes,
            total_tokens=config.train_tokens,
            batch_tokens=config.batch_tokens,
            log_every=5,
        ),
    )


def train_first_sae(
    config: FirstRunConfig,
    loaded: Any,
    tokenization: Any,
    run_dir: Path,
    progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
    cache: ActivationCache | None = None,
) -> tuple[Any, Any]:
    """Train the first run's SAE(s) (resuming a run folder a killed attempt left), from
    ``cache`` when given; returns the run config and the ``TrainResult``."""

    folder = cache.folder if cache is not None else None
    run_config = training_config(config, loaded, tokenization.folder, folder)
    result = run_training(run_config, run_dir, progress, stop=stop, loaded=loaded)
    return run_config, result


def extract_first_features(
    config: FirstRunConfig,
    loaded: Any,
    tokenization: Any,
    train_result: Any,
    folder: Path,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    cache: ActivationCache | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Extract the layer's SAE(s) in one pass (over ``cache`` when given, else the LM), one
    subfolder per SAE under ``folder``; returns the ``ExtractionConfig`` and
    ``{sae name: ExtractionResult}``."""

    names = [n for n in train_result.saes if n.startswith(f"layer{config.layer}-")]
    names.sort(key=lambda n: n != config.sae_name)  # the top-k SAE first
    targets = [
        ExtractionTarget(
            load_sae(train_result.saes[n].folder, device=loaded.device),
            None,
            train_result.saes[n].folder,
        )
        for n in names
    ]
    ex_config = ExtractionConfig(n_tokens=config.extract_tokens, top_k=config.top_k)
    results = extract_features(
        loaded,
        tokenization,
        targets,
        ex_config,
        [folder / n for n in names],
        progress,
        should_stop=should_stop,
        overwrite=True,
        cache=cache,
    )
    return ex_config, dict(zip(names, results, strict=True))


@dataclass
class LabelPasses:
    """What :func:`label_first_features` did: each pass's run and its labelling config."""

    rules: Any
    rules_config: Any
    local: Any | None
    local_config: Any | None
    done: set[int] = field(default_factory=set)
    """Latents labelled by either pass, this run or an earlier one it resumed."""

    def labelled(self) -> set[int]:
        """Latents with a label from either pass (resumed ones included)."""
        return set(self.done)


def label_first_features(
    config: FirstRunConfig,
    extraction: Any,
    tokenizer: Any,
    out: Path,
    progress: Progress | None = None,
    on_rules: Callable[[Any], None] | None = None,
    on_local: Callable[[Any], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> LabelPasses:
    """Rules (scored when ``config.score``) over every live latent, then the ``local`` pattern
    labeller on the ``config.local_labels`` most frequent latents the rules left unlabelled.
    Label files go to ``out/rules`` and ``out/local`` (what ``mistudio label`` writes)."""

    def labelled_in(folder: Path) -> set[int]:
        # The run's own labels and those an earlier (resumed) run left in the folder.
        return {i for i, lab in LabelStore(folder).read().items() if lab.status == "labelled"}

    rules_config = LabelingConfig(method="rules", score=config.score)
    live = select_indices(extraction, None)
    rules = label_features(
        extraction,
        rules_config,
        live,
        out=out / "rules",
        on_label=on_rules,
        progress=progress,
        should_stop=should_stop,
        tokenizer=tokenizer,
    )
    labelled = labelled_in(out / "rules")
    if not config.local_labels:
        return LabelPasses(rules, rules_config, None, None, labelled)
    frequency = extraction.table()["frequency"]
    rest = [i for i in live if i not in labelled]
    rest.sort(key=lambda i: -float(frequency[i]))
    chosen = sorted(int(i) for i in np.asarray(rest[: config.local_labels], dtype=np.int64))
    local_config = LabelingConfig(method="local", score=config.score)
    local = label_features(
        extraction,
        local_config,
        chosen,
        out=out / "local",
        on_label=on_local,
        progress=progress,
        should_stop=should_stop,
        tokenizer=tokenizer,
    )
    return LabelPasses(
        rules, rules_config, local, local_config, labelled | labelled_in(out / "local")
    )
