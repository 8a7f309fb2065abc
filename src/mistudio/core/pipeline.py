"""Training runs wired end to end: model + tokenization -> activations -> SAEs -> evaluations.

:func:`mistudio.core.training.train_saes` knows nothing of language models: it consumes batches
``{hook_name: Tensor[tokens, d]}``. This module supplies them, from the live LM stream (one
forward pass per LM batch serves every hook point and stops after the deepest) or from a disk
cache, and evaluates each finished SAE on held-out sequences the training never saw: the last
``eval_sequences`` of the tokenization. The CLI, the API and saved templates all use
:class:`TrainingRunConfig`.

Resuming a live-stream run re-creates the stream and skips the batches already consumed, so the
data order is exactly that of an uninterrupted run; the skipped LM forwards are the price (a
cached-activation run skips by reading shards only).

**Several ranks** (``nproc`` > 1, data parallel, :mod:`mistudio.core.training.distributed`):
:func:`run_training` starts the ranks and each runs this same pipeline on its shard of every
global batch. With a cache, every rank memory-maps it and builds the same shuffled global
batches (the same order as one process), keeping its own rows: the cache's pages are read from
disk once for all ranks (one page cache), each rank copies out what the shuffle buffer needs.
With a live stream the LM runs once, on rank 0, which scatters each batch's shards
(:func:`scattered_source`): only rank 0 holds the LM, and the data order is that of one process
by construction. The alternative (every rank runs the LM on its own sequences) would spread the
LM forward too, but changes the data order with the number of ranks, which would break "2 ranks
equal 1 process" and resuming on another number of ranks; it is what remains to measure on
GPUs, where the LM forward rather than the SAE step may be the bottleneck.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.distributed as dist
from pydantic import Field, model_validator

import mistudio
from mistudio.core.activations import (
    ActivationCache,
    ActivationStreamConfig,
    ShuffledBatches,
    flat_batches,
    stream_activations,
)
from mistudio.core.config import OperationConfig
from mistudio.core.data import Tokenization, check_compatible
from mistudio.core.evals import evaluate_reconstruction, evaluate_splice
from mistudio.core.hooks import resolve_hook_points
from mistudio.core.language_models import LoadedModel, ModelLoadConfig, load_model
from mistudio.core.progress import Progress
from mistudio.core.sae.base import SAE
from mistudio.core.training import TrainConfig, TrainResult, train_saes
from mistudio.core.training.distributed import (
    RankGroup,
    check_rank_devices,
    check_training_device,
    launch,
    planned_devices,
    shard_bounds,
)
from mistudio.errors import InvalidInputError

Batch = dict[str, Any]


class TrainingRunOptions(OperationConfig):
    """How a training run produces activations and evaluates its SAEs (besides its inputs and
    its :class:`TrainConfig`); the API's ``run`` object is this class."""

    lm_batch_size: int = Field(default=8, gt=0)
    """Sequences per LM forward pass."""
    buffer_tokens: int = Field(default=262_144, gt=0)
    """Shuffle buffer size in tokens (mixes tokens across sequences)."""
    skip_special_tokens: bool = True
    """Leave BOS/padding/separator positions out of training."""
    eval_sequences: int = Field(default=16, ge=0)
    """Held-out sequences (the tokenization's last) for the final evaluation; 0 skips it."""
    eval_splice: bool = True
    """Also measure CE-loss and KL scores with each SAE spliced into the LM."""
    nproc: int = Field(default=1, ge=1, le=64)
    """Data-parallel ranks training this one run (torch.distributed: gloo on CPU, one GPU per
    rank from the training device on CUDA); the result equals one process's within float
    tolerance. batch_tokens must split evenly over them. Set by ``devices`` when that is given."""
    devices: list[str] | None = Field(default=None, min_length=1, max_length=64)
    """One device per rank (``["cuda:0", "cuda:2"]``, or ``["cpu", "cpu"]`` for CPU ranks);
    None: ``nproc`` ranks from the training device. Rank 0 (the first) loads the LM."""

    @model_validator(mode="before")
    @classmethod
    def _ranks_from_devices(cls, data: Any) -> Any:
        """``devices`` decides the rank count; an ``nproc`` that says otherwise is refused."""
        if not isinstance(data, dict) or not data.get("devices"):
            return data
        devices = data["devices"]
        if not isinstance(devices, list) or not all(isinstance(d, str) for d in devices):
            return data  # the field's own validation says what is wrong
        check_rank_devices(devices)
        nproc = data.get("nproc")
        if nproc is not None and nproc != len(devices):
            raise InvalidInputError(
                f"nproc ({nproc}) contradicts devices ({', '.join(devices)}: {len(devices)} "
                "ranks); give one of them"
            )
        return {**data, "nproc": len(devices)}

    def rank_devices(self, device: str) -> list[str]:
        """Each rank's device: ``devices``, else ``nproc`` ranks from the training ``device``."""
        return list(self.devices) if self.devices else planned_devices(device, self.nproc)


class TrainingRunConfig(TrainingRunOptions):
    """Everything one training run needs: where activations come from and how to train."""

    model: str = "smollm2-135m"
    """Model source (built-in name, Hub id, folder, .gguf)."""
    tokenization: str
    """Tokenization folder the activations are computed over."""
    activation_cache: str | None = None
    """Read activations from this cache folder instead of running the model."""
    train: TrainConfig
    """The SAEs and the optimisation settings."""

    @model_validator(mode="after")
    def _devices_agree(self) -> TrainingRunConfig:
        explicit = "device" in self.train.model_fields_set
        check_training_device(self.train.device, self.devices, explicit)
        return self

    def settings(self) -> TrainingSettings:
        """These settings without the inputs: what a training row stores (the inverse of
        :meth:`TrainingSettings.with_inputs`), so a run started from the CLI is stored exactly
        like one the studio started."""
        options = self.model_dump(exclude={"model", "tokenization", "activation_cache", "train"})
        return TrainingSettings(train=self.train, run=TrainingRunOptions(**options))


class TrainingSettings(OperationConfig):
    """A training run's settings without its inputs: the API's body (plus the inputs' ids) and
    the config a training job stores and reads back.

    The inputs are rows whose folders are known only where the run starts (a tokenization's
    path, a model's load source), so a job validates this stored config and adds them with
    :meth:`with_inputs`, the one place a :class:`TrainingRunConfig` is made from settings."""

    train: TrainConfig
    """The SAEs (hook points, architectures, sizes) and optimisation settings."""
    run: TrainingRunOptions = Field(default_factory=TrainingRunOptions)
    """How activations are produced and the SAEs evaluated."""

    @model_validator(mode="after")
    def _devices_agree(self) -> TrainingSettings:
        explicit = "device" in self.train.model_fields_set
        check_training_device(self.train.device, self.run.devices, explicit)
        return self

    def rank_devices(self) -> list[str]:
        """Each rank's device (one entry for a single process): what its job locks."""
        return self.run.rank_devices(self.train.device)

    def with_inputs(
        self, model: str, tokenization: str, activation_cache: str | None = None
    ) -> TrainingRunConfig:
        """The full run config: these settings over a model source and input folders."""
        return TrainingRunConfig(
            model=model,
            tokenization=tokenization,
            activation_cache=activation_cache,
            train=self.train,
            **self.run.model_dump(),
        )


def _normalise_hooks(config: TrainingRunConfig, loaded: LoadedModel | None) -> TrainingRunConfig:
    """Rewrite HF-style hook names to TransformerLens names (the keys the stream yields)."""
    if loaded is None:
        return config
    specs = []
    for spec in config.train.saes:
        names = [spec.hook_name] + ([spec.hook_name_out] if spec.hook_name_out else [])
        points = resolve_hook_points(loaded.model, names, loaded.layout)
        meta = {
            "hook_name": points[0].name,
            "hf_hook_name": points[0].hf_name,
            "model_name": loaded.name,
            **spec.sae.metadata,
        }
        if len(points) > 1:
            meta |= {"hook_name_out": points[1].name, "hf_hook_name_out": points[1].hf_name}
        if points[0].d != spec.sae.d_in:
            raise InvalidInputError(
                f"{points[0].name} has width {points[0].d} but the SAE's d_in is {spec.sae.d_in}"
            )
        sae = spec.sae.model_copy(update={"metadata": meta})
        update: dict[str, Any] = {"hook_name": points[0].name, "sae": sae}
        if len(points) > 1:
            update["hook_name_out"] = points[1].name
        specs.append(spec.model_copy(update=update))
    train = config.train.model_copy(update={"saes": specs})
    return config.model_copy(update={"train": train})


def _live_source(
    loaded: LoadedModel, tok: Tokenization, config: TrainingRunConfig, hooks: list[str]
) -> Callable[[int], Iterator[Batch]]:
    """``data(position)`` for the trainer: shuffled batches from the LM, cycling epochs."""
    n_train = len(tok) - config.eval_sequences
    if n_train <= 0:
        raise InvalidInputError(
            f"the tokenization has {len(tok)} sequences, not more than eval_sequences "
            f"({config.eval_sequences})"
        )

    def chunks() -> Iterator[Batch]:
        for _epoch in itertools.count():
            stream_config = ActivationStreamConfig(
                hook_points=hooks,
                batch_size=config.lm_batch_size,
                skip_special_tokens=config.skip_special_tokens,
                stop_sequence=n_train,
            )
            yield from flat_batches(stream_activations(loaded, tok, stream_config))

    def data(position: int) -> Iterator[Batch]:
        batches = ShuffledBatches(
            chunks(), config.train.batch_tokens, config.buffer_tokens, seed=config.train.seed
        )
        return itertools.islice(iter(batches), position, None)

    return data


def _cache_source(
    cache: ActivationCache, config: TrainingRunConfig, hooks: list[str]
) -> Callable[[int], Iterator[Batch]]:
    cache.require(hooks)

    def chunks() -> Iterator[Batch]:
        for epoch in itertools.count():
            yield from cache.iter_shards(hooks, shuffle=True, seed=config.train.seed + epoch)

    def data(position: int) -> Iterator[Batch]:
        batches = ShuffledBatches(
            chunks(), config.train.batch_tokens, config.buffer_tokens, seed=config.train.seed
        )
        return itertools.islice(iter(batches), position, None)

    return data


def _evaluator(
    loaded: LoadedModel, tok: Tokenization, config: TrainingRunConfig
) -> Callable[[str, SAE], dict[str, Any]] | None:
    """Final evals of each SAE on the held-out sequences (FORMATS.md §6)."""
    if config.eval_sequences == 0:
        return None
    start = len(tok) - config.eval_sequences

    def evaluate(name: str, sae: SAE) -> dict[str, Any]:
        spec = next(s for s in config.train.saes if s.resolved_name == name)
        hooks = [spec.hook_name] + ([spec.hook_name_out] if spec.hook_name_out else [])
        stream_config = ActivationStreamConfig(
            hook_points=hooks,
            batch_size=config.lm_batch_size,
            skip_special_tokens=config.skip_special_tokens,
            start_sequence=start,
        )
        sae = sae.to(loaded.device)

        def recon() -> Iterable[Any]:
            for batch in stream_activations(loaded, tok, stream_config):
                x = batch.flat(hooks[0])
                yield (x, batch.flat(hooks[-1])) if len(hooks) > 1 else x

        result: dict[str, Any] = {
            "held_out": evaluate_reconstruction(sae, recon()).model_dump(),
        }
        if config.eval_splice and not spec.hook_name_out:

            def sequences() -> Iterable[Any]:
                for s in range(start, len(tok), config.lm_batch_size):
                    rows = tok.get_batch(s, s + config.lm_batch_size)
                    yield (
                        torch.from_numpy(rows.input_ids).to(loaded.device),
                        torch.from_numpy(rows.attention_mask).long().to(loaded.device),
                    )

            splice = evaluate_splice(loaded.model, sae, spec.hook_name, sequences(), loaded.layout)
            result["splice"] = splice.model_dump()
        return result

    return evaluate


def run_training(
    config: TrainingRunConfig,
    run_dir: str | Path,
    progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
    loaded: LoadedModel | None = None,
    resume: bool = True,
    group: RankGroup | None = None,
) -> TrainResult:
    """Train ``config``'s SAEs, save them as SAELens folders under ``run_dir/saes``, evaluate.

    With ``config.nproc`` > 1 (and no ``group``: not already inside a rank) this starts the
    ranks and returns rank 0's result; ``group`` is a rank's place in such a run."""
    if group is None and config.nproc > 1:
        return _launch_ranks(config, run_dir, progress, stop, resume)
    if group is None and config.devices and config.devices[0] != config.train.device:
        # One rank named by ``devices`` (["cuda:1"]): it is the training device.
        train = config.train.model_copy(update={"device": config.devices[0]})
        config = config.model_copy(update={"train": train})
    group = group or RankGroup.single()
    tok = Tokenization.open(config.tokenization)
    live = config.activation_cache is None
    wants_model = live or config.eval_sequences
    if loaded is None and wants_model and group.is_main:
        # A run on one GPU of several (cuda:1) runs its LM there too, not on the default GPU.
        device = config.train.device if config.train.device.startswith("cuda:") else "auto"
        loaded = load_model(ModelLoadConfig(source=config.model, device=device))
    if loaded is not None:
        check_compatible(tok.meta, loaded.tokenizer, loaded.name)
    config = _normalise_hooks(config, loaded)
    if group.distributed:  # only rank 0 has the LM that names the hook points
        config = _broadcast(group, config)
    hooks = sorted(
        {s.hook_name for s in config.train.saes}
        | {s.hook_name_out for s in config.train.saes if s.hook_name_out}
    )
    presharded = False
    if config.activation_cache is not None:
        data = _cache_source(ActivationCache.open(config.activation_cache), config, hooks)
    elif group.distributed:
        main_data = _live_source(loaded, tok, config, hooks) if loaded is not None else None
        data = scattered_source(main_data, group, _hook_widths(config))
        presharded = True
    else:
        assert loaded is not None
        data = _live_source(loaded, tok, config, hooks)
    lineage = {
        "model": loaded.name if loaded else config.model,
        "model_source": config.model,
        "tokenization": str(tok.folder),
        "tokenizer_fingerprint": tok.meta.tokenizer_fingerprint,
        "dataset": tok.meta.dataset_path,
        "context_size": tok.meta.max_length,
        "prepend_bos": tok.meta.prepend_bos,
        "activation_cache": config.activation_cache,
        "hook_points": hooks,
        "run_config": config.model_dump(mode="json", exclude={"train"}),
        "mistudio_version": mistudio.__version__,
    }
    evaluate = _evaluator(loaded, tok, config) if loaded is not None else None
    return train_saes(
        config.train,
        data,
        run_dir,
        progress=progress,
        stop=stop,
        evaluate=evaluate,
        resume=resume,
        lineage=lineage,
        group=group,
        presharded=presharded,
    )


def _launch_ranks(
    config: TrainingRunConfig,
    run_dir: str | Path,
    progress: Progress | None,
    stop: Callable[[], bool] | None,
    resume: bool,
) -> TrainResult:
    n = config.nproc
    if config.train.batch_tokens % n:
        raise InvalidInputError(
            f"batch_tokens ({config.train.batch_tokens}) must split evenly over {n} ranks"
        )
    devices = config.rank_devices(config.train.device)
    cpu = not devices[0].startswith("cuda")
    # On a CPU the ranks share its cores; a GPU rank needs few CPU threads of its own.
    threads = config.train.threads or (max(1, (os.cpu_count() or 1) // n) if cpu else None)
    result: TrainResult = launch(
        _rank_main,
        n,
        (config.model_dump(mode="json"), str(run_dir), resume),
        devices=devices,
        threads=threads,
        progress=progress,
        stop=stop,
    )
    return result


def _rank_main(
    group: RankGroup,
    progress: Progress | None,
    stop: Callable[[], bool],
    config_json: dict[str, Any],
    run_dir: str,
    resume: bool,
) -> TrainResult:
    """One rank of :func:`run_training` (module level: ranks are spawned and import it)."""
    config = TrainingRunConfig.model_validate(config_json)
    train = config.train.model_copy(update={"device": group.device})
    config = config.model_copy(update={"train": train})
    return run_training(config, run_dir, progress, stop, resume=resume, group=group)


def _broadcast(group: RankGroup, config: TrainingRunConfig) -> TrainingRunConfig:
    box: list[Any] = [config.model_dump(mode="json") if group.is_main else None]
    dist.broadcast_object_list(box, src=0)
    return TrainingRunConfig.model_validate(box[0])


def _hook_widths(config: TrainingRunConfig) -> dict[str, int]:
    widths = {}
    for s in config.train.saes:
        widths[s.hook_name] = s.sae.d_in
        widths[s.target_hook] = s.sae.out_dim
    return widths


def scattered_source(
    data: Callable[[int], Iterator[Batch]] | None, group: RankGroup, widths: dict[str, int]
) -> Callable[[int], Iterator[Batch]]:
    """``data(position)`` yielding this rank's shards of the global batches that rank 0's
    ``data`` produces (None on the other ranks): rank 0 broadcasts each batch's row count (0 at
    the end) and scatters each hook's rows (:func:`shard_bounds`, rank order) in float32."""
    device = torch.device(group.device)

    def source(position: int) -> Iterator[Batch]:
        it = iter(data(position)) if data is not None else None
        while True:
            batch = next(it, None) if it is not None else None
            count = 0 if batch is None else next(iter(batch.values())).shape[0]
            rows = torch.tensor([count], device=device)
            dist.broadcast(rows, src=0)
            n = int(rows.item())
            if n == 0:
                return
            start, stop = shard_bounds(n, group.rank, group.world)
            local: Batch = {}
            for hook in sorted(widths):
                out = torch.empty(stop - start, widths[hook], device=device)
                parts = None
                if batch is not None:
                    t = batch[hook].to(device, torch.float32)
                    parts = [
                        t[a:b].contiguous()
                        for a, b in (shard_bounds(n, r, group.world) for r in range(group.world))
                    ]
                dist.scatter(out, parts, src=0)
                local[hook] = out
            yield local

    return source
