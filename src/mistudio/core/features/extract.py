"""Streaming feature extraction: one LM pass feeds every SAE of the model.

Decisions:

- **One forward pass per batch** for all SAEs: the stream captures the union of their hook points
  and stops after the deepest (:func:`mistudio.core.activations.stream_activations`).
- **Bounded memory.** Per SAE the state is ``[d_sae]`` running sums, ``[d_sae, bins]`` histogram
  counts, ``[d_sae, K, ctx]`` top-example windows, ``[d_sae, S, ctx]`` sample windows, and a sparse
  co-activation map over a fixed token sample; nothing grows with the number of tokens.
- **Windows are cut immediately** from the batch being processed (token ids and this latent's
  activation at every window position), rather than in a second pass over the sequences of the
  final top examples: with thousands of latents x K examples those sequences cover most of the
  data, so a second pass would cost nearly a second LM pass. Immediate cutting costs work only
  for candidates that enter a latent's running top-K (:class:`~.slots.TopSlots`), about
  ``K (1 + ln(n_active / K))`` per latent over the whole run, and nothing once the thresholds
  have settled.
- **Per batch, sparse bookkeeping**: one ``nonzero`` over the ``[n, d_sae]`` latents gives the
  active (token, latent) pairs; counts, sums, maxima, histograms and top-K offers are then
  ``O(nnz)`` scatter operations.
- **Samples** for label scoring are a uniform sample without replacement of each latent's
  activating tokens (random priorities through the same top-K slots), grouped afterwards into
  quantile bins of the latent's max activation; **random contexts** are windows around uniformly
  drawn tokens, shared by all latents, stored with each latent's max over the window so that its
  non-activating contexts are known.
- **Token filters**: the stream masks BOS/padding/special tokens (``exclude_special_tokens``);
  :class:`~.windows.TokenFilter` also skips positions repeated by overlapping windows of a long
  document and, optionally, documents shorter than ``min_document_tokens``; stop words and a
  user's list are masked the same way (:mod:`~.token_exclusion` says what a filtered position
  does and does not count for). ``activation_threshold`` zeroes small activations right after
  encoding, so every statistic and example sees the same thresholded latents.
- **Live count of latents found**: each progress call reports ``features_found``, the latents
  (over every SAE) that have fired on at least one measured token so far.
- **All or nothing**: results are written to ``.<name>.partial`` folders and renamed into place
  only when every SAE has finished; an exception or a ``should_stop()`` that returns true removes
  them and raises (:class:`ExtractionInterrupted`), so a folder with ``extraction.json`` is always
  complete. Runs are not resumable: extraction is a single streaming pass, cheaper to redo.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from mistudio.core.activations import (
    ActivationCache,
    ActivationStreamConfig,
    count_usable_tokens,
    first_positions,
    replay_activations,
    special_token_ids,
    stream_activations,
)
from mistudio.core.data import Tokenization, check_compatible
from mistudio.core.features.coactivation import CoactivationAccumulator
from mistudio.core.features.config import ExtractionConfig
from mistudio.core.features.histogram import HistogramAccumulator, calibrated_top, log_edges
from mistudio.core.features.logit_lens import decoder_neighbours, logit_lens_tables
from mistudio.core.features.result import (
    META_FILE,
    STATS_DIR,
    TOKENIZER_DIR,
    ExtractionMeta,
    ExtractionResult,
)
from mistudio.core.features.slots import Accepted, TopSlots
from mistudio.core.features.summary import interpretability_proxy, token_summary
from mistudio.core.features.token_exclusion import excluded_token_table, keep_mask
from mistudio.core.features.windows import PAD, BatchIndex, TokenFilter, window_acts
from mistudio.core.hooks import HookPoint, resolve_hook_points
from mistudio.core.language_models import LoadedModel
from mistudio.core.progress import Progress, report
from mistudio.core.sae import SAE
from mistudio.errors import InvalidInputError, MiStudioError

WINDOW_CHUNK = 16_384
"""Windows cut per step at most (bounds the transient [m, ctx] index tensors)."""


class ExtractionInterrupted(MiStudioError):
    """The run was stopped before it finished; nothing was written."""


@dataclass
class ExtractionTarget:
    """One SAE to extract, and where it reads."""

    sae: SAE
    """The SAE (moved to the model's device)."""
    hook: str | None = None
    """Hook point; default ``sae.cfg.metadata["hook_name"]`` (or ``hf_hook_name``)."""
    folder: Path | None = None
    """SAE folder, recorded as lineage."""


def resolve_target(loaded: LoadedModel, target: ExtractionTarget) -> HookPoint:
    """The hook point ``target`` reads, checked against the SAE's width."""
    meta = target.sae.cfg.metadata
    name = target.hook or meta.get("hook_name") or meta.get("hf_hook_name")
    label = str(target.folder) if target.folder else f"{target.sae.architecture} SAE"
    if not name:
        raise InvalidInputError(f"{label} records no hook_name; give the hook point explicitly")
    point = resolve_hook_points(loaded.model, [name], loaded.layout)[0]
    if point.d != target.sae.d_in:
        trained = meta.get("model_name")
        hint = f" (it was trained on {trained})" if trained and trained != loaded.name else ""
        raise InvalidInputError(
            f"{label} reads d_in={target.sae.d_in} but {point.name} of {loaded.name} has "
            f"width {point.d}{hint}"
        )
    return point


class _Windows:
    """[rows, k, ctx] window buffers plus per-slot value and location."""

    def __init__(self, rows: int, k: int, ctx: int, acts_dtype: torch.dtype) -> None:
        self.tokens = torch.full((rows, k, ctx), PAD, dtype=torch.int32)
        self.acts = torch.zeros((rows, k, ctx), dtype=acts_dtype)
        self.value = torch.zeros((rows, k))  # activation at the centre token
        self.location = torch.full((rows, k, 2), -1, dtype=torch.long)


class _SAEState:
    """Everything accumulated for one SAE."""

    def __init__(
        self, target: ExtractionTarget, point: HookPoint, config: ExtractionConfig
    ) -> None:
        self.target = target
        self.sae = target.sae
        self.point = point
        self.config = config
        d = self.sae.d_sae
        self.d_sae = d
        self.count = torch.zeros(d, dtype=torch.long)
        self.act_sum = torch.zeros(d, dtype=torch.float64)
        self.max = torch.zeros(d)
        self.hist: HistogramAccumulator | None = None
        acts_dtype = torch.float16 if config.acts_dtype == "float16" else torch.float32
        self.top = TopSlots(d, config.top_k)
        self.top_windows = _Windows(d, config.top_k, config.context, acts_dtype)
        self.samples = TopSlots(d, max(config.n_samples, 1))
        self.sample_windows = _Windows(d, max(config.n_samples, 1), config.context, acts_dtype)
        self.random_max = torch.zeros(max(config.n_random_contexts, 1), d)
        self.coact = CoactivationAccumulator(
            d, config.coactivation_tokens, config.coactivation_latents_per_token
        )

    @torch.no_grad()
    def update(self, x: Tensor, index: BatchIndex, generator: torch.Generator) -> Tensor:
        """Account for one batch of activations x [n, d_in]; returns the latents [n, d_sae]."""
        cfg = self.config
        lat = self.sae.encode(x).float().cpu()  # [n, d_sae]
        if cfg.activation_threshold > 0:
            lat = lat * (lat > cfg.activation_threshold)
        if self.hist is None:
            top = cfg.hist_max or calibrated_top(float(lat.max()) if lat.numel() else 0.0)
            self.hist = HistogramAccumulator(
                self.d_sae, log_edges(top, cfg.hist_decades, cfg.hist_bins_per_decade)
            )
        nz = (lat > 0).nonzero()  # [nnz, 2] (token, latent)
        tok, latent = nz[:, 0], nz[:, 1]
        value = lat[tok, latent]  # [nnz]
        self.count += torch.bincount(latent, minlength=self.d_sae)
        self.act_sum.index_add_(0, latent, value.double())
        self.max.scatter_reduce_(0, latent, value, "amax")
        self.hist.add(latent, value)
        accepted = self.top.offer(latent, value)
        self._store(self.top_windows, accepted, tok, lat, index)
        if cfg.n_samples:
            priority = torch.rand(value.shape, generator=generator)
            accepted = self.samples.offer(latent, priority)
            self._store(self.sample_windows, accepted, tok, lat, index)
        if not self.coact.full:
            self.coact.add(lat)
        return lat

    def _store(
        self, windows: _Windows, acc: Accepted, tok: Tensor, lat: Tensor, index: BatchIndex
    ) -> None:
        before, after = self.config.context_before, self.config.context_after
        for start in range(0, acc.row.numel(), WINDOW_CHUNK):
            sl = slice(start, start + WINDOW_CHUNK)
            row, slot = acc.row[sl], acc.slot[sl]
            token = tok[acc.candidate[sl]]  # [m] flat token index
            flat = index.window_flat(token, before, after)  # [m, ctx]
            windows.tokens[row, slot] = index.window_tokens(token, before, after)
            windows.acts[row, slot] = window_acts(lat, flat, row).to(windows.acts.dtype)
            windows.value[row, slot] = lat[token, row]
            windows.location[row, slot, 0] = index.sequence[token]
            windows.location[row, slot, 1] = index.pos[token]


def _save(folder: Path, name: str, array: np.ndarray | Tensor) -> None:
    if isinstance(array, Tensor):
        array = array.cpu().numpy()
    path = folder / f"{name}.npy"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, array)


def _save_sorted(folder: Path, prefix: str, windows: _Windows, order: Tensor, dtype: Any) -> None:
    """Write window buffers with each row's slots permuted by ``order`` [rows, k], in row chunks
    straight into the .npy files (no second full copy in memory)."""
    rows, k, ctx = windows.tokens.shape
    files = {
        "tokens": np.lib.format.open_memmap(
            folder / f"{prefix}_tokens.npy", "w+", np.int32, (rows, k, ctx)
        ),
        "acts": np.lib.format.open_memmap(
            folder / f"{prefix}_acts.npy", "w+", dtype, (rows, k, ctx)
        ),
    }
    for start in range(0, rows, 1024):
        sl = slice(start, start + 1024)
        o = order[sl]  # [c, k]
        files["tokens"][sl] = torch.gather(
            windows.tokens[sl], 1, o[:, :, None].expand(-1, -1, ctx)
        ).numpy()
        files["acts"][sl] = torch.gather(
            windows.acts[sl], 1, o[:, :, None].expand(-1, -1, ctx)
        ).numpy()
    for f in files.values():
        f.flush()
    del files
    _save(folder, f"{prefix}_values", torch.gather(windows.value, 1, order))
    _save(
        folder,
        f"{prefix}_locations",
        torch.gather(windows.location, 1, order[:, :, None].expand(-1, -1, 2)),
    )


def extract_features(
    loaded: LoadedModel,
    tokenization: Tokenization,
    targets: Sequence[ExtractionTarget],
    config: ExtractionConfig,
    dests: Sequence[Path],
    progress: Progress | None = None,
    should_stop: Callable[[], bool] | None = None,
    overwrite: bool = False,
    cache: ActivationCache | None = None,
) -> list[ExtractionResult]:
    """Extract every target SAE over ``config.n_tokens`` tokens with one LM pass; write one
    folder per SAE (``dests``) and return them opened.

    ``cache``: an activation cache of ``tokenization`` holding the targets' hook points, read
    back instead of running the LM (:func:`~mistudio.core.activations.replay_activations`; the
    extraction then covers at most the cached sequences). Its special-token setting must be the
    extraction's, since the cache holds no rows for the positions it skipped."""
    if len(targets) != len(dests) or not targets:
        raise InvalidInputError("give one destination folder per SAE (and at least one SAE)")
    check_compatible(tokenization.meta, loaded.tokenizer, loaded.name)
    dests = [Path(d) for d in dests]
    for dest in dests:
        if (dest / META_FILE).exists() and not overwrite:
            raise InvalidInputError(f"{dest} already holds an extraction; choose another folder")
    usable = count_usable_tokens(tokenization, skip_special_tokens=config.exclude_special_tokens)
    if usable < config.top_k:
        raise InvalidInputError(
            f"top_k ({config.top_k}) is larger than the tokens in {tokenization.meta.name} "
            f"(at most {usable})"
        )
    points = [resolve_target(loaded, t) for t in targets]
    for target in targets:
        target.sae.to(loaded.device).eval()
    states = [_SAEState(t, p, config) for t, p in zip(targets, points, strict=True)]
    hooks = list(dict.fromkeys(p.name for p in points))
    stream_config = ActivationStreamConfig(
        hook_points=hooks,
        batch_size=config.batch_size,
        skip_special_tokens=config.exclude_special_tokens,
    )
    if cache is not None and cache.manifest.skip_special_tokens != config.exclude_special_tokens:
        raise InvalidInputError(
            f"activation cache {cache.folder.name} "
            f"{'skipped' if cache.manifest.skip_special_tokens else 'kept'} special tokens; "
            f"the extraction {'excludes' if config.exclude_special_tokens else 'keeps'} them"
        )
    stream = (
        stream_activations(loaded, tokenization, stream_config)
        if cache is None
        else replay_activations(
            cache,
            tokenization,
            hooks,
            special_token_ids(loaded.tokenizer),
            config.batch_size,
            loaded.device,
        )
    )
    excluded = excluded_token_table(
        loaded.tokenizer, config.exclude_stop_words, config.exclude_tokens
    )
    token_filter = TokenFilter(tokenization, config.min_document_tokens, config.dedupe_overlap)
    lengths = torch.from_numpy(tokenization.sequence_lengths())
    generator = torch.Generator().manual_seed(config.seed)
    n_random = config.n_random_contexts
    random_slots = TopSlots(1, max(n_random, 1))
    random_windows = _Windows(1, max(n_random, 1), config.context, torch.float32)
    seen = 0
    n_sequences = 0
    t0 = time.perf_counter()
    total = config.n_tokens
    for batch in stream:
        if should_stop is not None and should_stop():
            raise ExtractionInterrupted(
                f"extraction stopped after {seen:,} of {total:,} tokens; nothing was written"
            )
        mask = batch.mask.cpu()
        seq = batch.sequence_index.cpu()
        n_sequences = int(seq[-1]) + 1
        if token_filter.active:
            mask &= torch.from_numpy(token_filter.keep(seq.numpy(), mask.shape[1]))
        if excluded is not None:
            mask &= keep_mask(excluded, batch.input_ids.cpu())
        n = int(mask.sum())
        if seen + n > total:  # keep exactly n_tokens: drop the surplus at the batch's end
            mask = first_positions(mask, total - seen)
            n = total - seen
        if n == 0:
            continue
        attention = torch.arange(mask.shape[1])[None, :] < lengths[seq][:, None]
        index = BatchIndex.build(batch.input_ids.cpu(), attention, mask, seq)
        device_mask = mask.to(loaded.device)
        lats = [s.update(batch.acts[s.point.name][device_mask], index, generator) for s in states]
        if n_random:
            _random_contexts(random_slots, random_windows, states, lats, index, config, generator)
        seen += n
        found = sum(int(torch.count_nonzero(s.count)) for s in states)
        report(progress, seen, total, sequences=n_sequences, features_found=found)
        if seen >= total:
            break
    if seen < config.top_k:
        raise InvalidInputError(
            f"only {seen:,} tokens passed the filters, fewer than top_k ({config.top_k})"
        )
    seconds = time.perf_counter() - t0
    partials = [d.parent / f".{d.name}.partial" for d in dests]
    try:
        for state, partial in zip(states, partials, strict=True):
            if partial.exists():
                shutil.rmtree(partial)
            partial.mkdir(parents=True)
            _finalize(state, loaded, tokenization, config, partial, seen, n_sequences, seconds)
            _write_random(partial, random_slots, random_windows, state, n_random)
            _write_meta(state, loaded, tokenization, config, partial, seen, n_sequences, seconds)
        for dest, partial in zip(dests, partials, strict=True):
            if dest.exists():
                shutil.rmtree(dest)
            partial.rename(dest)
    except BaseException:
        for partial in partials:
            shutil.rmtree(partial, ignore_errors=True)
        raise
    return [ExtractionResult.open(d) for d in dests]


def _random_contexts(
    slots: TopSlots,
    windows: _Windows,
    states: list[_SAEState],
    lats: list[Tensor],
    index: BatchIndex,
    config: ExtractionConfig,
    generator: torch.Generator,
) -> None:
    """Offer every token of the batch to the shared uniform sample of random windows."""
    n = index.row.numel()
    priority = torch.rand(n, generator=generator)
    acc = slots.offer(torch.zeros(n, dtype=torch.long), priority)
    if acc.row.numel() == 0:
        return
    token = acc.candidate  # flat tokens
    before, after = config.context_before, config.context_after
    windows.tokens[0, acc.slot] = index.window_tokens(token, before, after)
    windows.location[0, acc.slot, 0] = index.sequence[token]
    windows.location[0, acc.slot, 1] = index.pos[token]
    flat = index.window_flat(token, before, after)  # [m, ctx]
    for state, lat in zip(states, lats, strict=True):
        for start in range(0, token.numel(), 16):
            f = flat[start : start + 16]  # [c, ctx]
            w = lat[f.clamp_min(0)] * (f >= 0)[:, :, None]  # [c, ctx, d_sae]
            state.random_max[acc.slot[start : start + 16]] = w.amax(1)


def _finalize(
    state: _SAEState,
    loaded: LoadedModel,
    tokenization: Tokenization,
    config: ExtractionConfig,
    folder: Path,
    seen: int,
    n_sequences: int,
    seconds: float,
) -> None:
    """Sort, summarise and write one SAE's arrays into ``folder``."""
    d = state.d_sae
    acts_dtype = np.float16 if config.acts_dtype == "float16" else np.float32
    before = config.context_before
    # Top examples, largest first.
    # Equal activations (the same token after the same prefix) in order of appearance.
    loc = state.top_windows.location
    top_order = state.top.order(loc[..., 0] * tokenization.meta.max_length + loc[..., 1])
    _save_sorted(folder, "top", state.top_windows, top_order, acts_dtype)
    n_top = (state.top.values > float("-inf")).sum(1)
    # Samples, ordered by activation (not by their random priority), with quantile bins.
    s = state.sample_windows
    filled = state.samples.values > float("-inf")
    key = torch.where(filled, s.value, torch.full_like(s.value, float("-inf")))
    sample_order = torch.argsort(key, dim=1, descending=True, stable=True)
    _save_sorted(folder, "sample", s, sample_order, acts_dtype)
    sample_values = torch.gather(s.value, 1, sample_order)
    ratio = sample_values / state.max.clamp_min(1e-12)[:, None]
    quantile = (ratio * config.n_quantiles).long().clamp(0, config.n_quantiles - 1)
    n_samples = filled.sum(1) if config.n_samples else torch.zeros(d, dtype=torch.long)
    _save(folder, "sample_quantile", quantile.to(torch.int8))
    # Statistics columns.
    assert state.hist is not None
    _save(folder, "hist_edges", state.hist.edges_np)
    _save(folder, "hist_counts", state.hist.result())
    count = state.count
    stats: dict[str, np.ndarray] = {
        "count": count.numpy(),
        "frequency": (count.double() / max(seen, 1)).numpy(),
        "max_act": state.max.numpy(),
        "mean_act": (state.act_sum / count.clamp_min(1)).float().numpy(),
        "n_top": n_top.numpy(),
        "n_samples": n_samples.numpy(),
    }
    top_values = torch.gather(state.top_windows.value, 1, top_order).numpy()  # [d, K]
    centers = np.load(folder / "top_tokens.npy", mmap_mode="r")
    proxy = np.full(d, np.nan, np.float32)
    ids = np.full((d, 5), -1, np.int32)
    counts = np.zeros((d, 5), np.int32)
    mass = np.zeros((d, 5), np.float32)
    for i in range(d):
        k = int(n_top[i])
        if k == 0:
            continue
        center_ids = np.asarray(centers[i, :k, before])
        proxy[i] = interpretability_proxy(center_ids, top_values[i, :k])
        summ = token_summary(center_ids, top_values[i, :k])
        ids[i], counts[i], mass[i] = summ.token_ids, summ.counts, summ.mass
    stats |= {
        "interpretability_proxy": proxy,
        "top_token_ids": ids,
        "top_token_counts": counts,
        "top_token_mass": mass,
    }
    for name, column in stats.items():
        _save(folder, f"{STATS_DIR}/{name}", column)
    # Decoder-space analyses.
    w_dec = state.sae.W_dec.detach()
    lens = logit_lens_tables(loaded, w_dec, config.n_logits, config.logit_hist_bins)
    for name in ("pos_ids", "pos_values", "neg_ids", "neg_values", "hist_counts", "hist_range"):
        _save(folder, f"logit_{name}", getattr(lens, name))
    nb_index, nb_value = decoder_neighbours(w_dec, config.n_correlated)
    _save(folder, "neighbours_index", nb_index)
    _save(folder, "neighbours_value", nb_value)
    co = state.coact.result(config.n_correlated)
    _save(folder, "pearson_index", co.pearson.index)
    _save(folder, "pearson_value", co.pearson.value)
    _save(folder, "jaccard_index", co.jaccard.index)
    _save(folder, "jaccard_value", co.jaccard.value)
    try:
        loaded.tokenizer.save_pretrained(folder / TOKENIZER_DIR)
    except Exception:  # a tokenizer that cannot be saved: pages then need one passed in
        shutil.rmtree(folder / TOKENIZER_DIR, ignore_errors=True)


def _write_random(
    folder: Path, slots: TopSlots, windows: _Windows, state: _SAEState, n_random: int
) -> None:
    order = slots.order()[0][:n_random]  # [R]
    _save(folder, "random_tokens", windows.tokens[0, order])
    _save(folder, "random_locations", windows.location[0, order])
    _save(folder, "random_max", state.random_max[order].T.contiguous().half())


def _write_meta(
    state: _SAEState,
    loaded: LoadedModel,
    tokenization: Tokenization,
    config: ExtractionConfig,
    folder: Path,
    seen: int,
    n_sequences: int,
    seconds: float,
) -> None:
    sae = state.sae
    meta = ExtractionMeta(
        sae_folder=str(state.target.folder) if state.target.folder else None,
        sae_architecture=sae.architecture,
        d_in=sae.d_in,
        d_sae=sae.d_sae,
        hook_name=state.point.name,
        hf_hook_name=state.point.hf_name,
        model_name=loaded.name,
        model_path=str(loaded.local_path),
        tokenization_folder=str(tokenization.folder),
        tokenization_name=tokenization.meta.name,
        tokenizer_fingerprint=tokenization.meta.tokenizer_fingerprint,
        n_tokens=seen,
        n_sequences=n_sequences,
        config=config,
        coactivation_tokens=state.coact.n_tokens,
        coactivation_pairs=int(state.coact.keys.numel()),
        seconds=seconds,
    )
    (folder / META_FILE).write_text(meta.model_dump_json(indent=2))
