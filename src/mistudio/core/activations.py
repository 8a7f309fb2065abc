"""Stream LM activations for many hook points from one forward pass; cache them; read them shuffled.

Decisions:

- One forward pass serves every hook point, and it stops as soon as the deepest one has fired
  (:func:`mistudio.core.hooks.capture`). Reading layer 6 of SmolLM2's 30 layers costs 7 blocks.
- A batch without padding is run with no attention mask, which lets SDPA take its causal fast
  path instead of materialising a 4-D mask.
- Positions holding special tokens (BOS, padding, separators) are masked out by default: their
  activations are outliers (BOS norms are often 10-100x the rest) that would dominate an SAE's loss.
- Caches are shards of safetensors (any of fp32/fp16/bf16), each holding every hook point for
  the same tokens plus those tokens' ids, with a ``manifest.json``. Reading back is a shuffle
  buffer over shards, so an epoch never needs the whole cache in memory.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch
from pydantic import BaseModel, Field
from safetensors.torch import load_file, save_file
from torch import Tensor

from mistudio.core.config import OperationConfig
from mistudio.core.data import Tokenization, check_compatible
from mistudio.core.hooks import capture, resolve_hook_points
from mistudio.core.language_models import TORCH_DTYPES, LoadedModel
from mistudio.core.progress import Progress, report
from mistudio.errors import InvalidInputError, ResourceError

CacheDType = Literal["float32", "float16", "bfloat16"]
BYTES_PER: dict[str, int] = {"float32": 4, "float16": 2, "bfloat16": 2}


class ActivationStreamConfig(OperationConfig):
    """Which activations to stream, and how."""

    hook_points: list[str] = Field(min_length=1)
    """Hook names, TransformerLens-style (``blocks.6.hook_resid_post``) or HF module paths."""
    batch_size: int = Field(default=8, gt=0)
    """Sequences per forward pass."""
    dtype: CacheDType = "float32"
    """dtype of the yielded activations."""
    skip_special_tokens: bool = True
    """Mask out BOS, padding and other special-token positions."""
    max_tokens: int | None = Field(default=None, gt=0)
    """Stop after this many (unmasked) tokens; ``None`` reads the whole tokenization."""
    stop_early: bool = True
    """End each forward pass after the deepest hook point."""
    start_sequence: int = Field(default=0, ge=0)
    """First sequence of the tokenization to read (for resuming)."""
    stop_sequence: int | None = Field(default=None, ge=0)
    """Read sequences before this one only (hold out the rest); ``None`` reads to the end."""


class ActivationCacheConfig(OperationConfig):
    """What :func:`cache_activations` is asked to write: the activations and the shard size."""

    stream: ActivationStreamConfig
    """Hook points, batch size, dtype and token limit of the activations to cache."""
    shard_tokens: int = Field(default=65_536, gt=0)
    """Tokens per shard file."""


@dataclass
class ActivationBatch:
    """Activations of one forward pass."""

    acts: dict[str, Tensor]
    """Hook name -> ``Tensor[batch, seq, d]``."""
    input_ids: Tensor
    """``Tensor[batch, seq]`` token ids."""
    mask: Tensor
    """``Tensor[batch, seq]`` bool: positions to use."""
    sequence_index: Tensor
    """``Tensor[batch]``: index of each row in the tokenization."""

    @property
    def n_tokens(self) -> int:
        return int(self.mask.sum())

    def flat(self, hook: str) -> Tensor:
        """``Tensor[n_tokens, d]``: the unmasked positions of one hook point, row-major."""
        return self.acts[hook][self.mask]


def first_positions(mask: Tensor, k: int) -> Tensor:
    """``mask`` with only its first ``k`` set positions (row-major) still set."""
    flat = mask.flatten().nonzero().squeeze(1)
    cut = torch.zeros_like(mask.flatten())
    cut[flat[:k]] = True
    return cut.view_as(mask)


def special_token_ids(tokenizer: Any) -> list[int]:
    ids = set(getattr(tokenizer, "all_special_ids", []) or [])
    for attr in ("bos_token_id", "eos_token_id", "pad_token_id"):
        value = getattr(tokenizer, attr, None)
        if value is not None:
            ids.add(int(value))
    return sorted(ids)


def stream_activations(
    loaded: LoadedModel,
    tokenization: Tokenization,
    config: ActivationStreamConfig,
    progress: Progress | None = None,
) -> Iterator[ActivationBatch]:
    """Yield activation batches for every requested hook point, one forward pass per batch."""
    check_compatible(tokenization.meta, loaded.tokenizer)
    points = resolve_hook_points(loaded.model, config.hook_points, loaded.layout)
    device = loaded.device
    out_dtype = TORCH_DTYPES[config.dtype]
    specials = torch.tensor(special_token_ids(loaded.tokenizer), device=device)
    n_seq = len(tokenization)
    if config.stop_sequence is not None:
        n_seq = min(n_seq, config.stop_sequence)
    total = config.max_tokens
    seen = 0
    with capture(loaded.model, points, stop_early=config.stop_early) as cap:
        for start in range(config.start_sequence, n_seq, config.batch_size):
            stop = min(start + config.batch_size, n_seq)
            batch = tokenization.get_batch(start, stop)
            input_ids = torch.from_numpy(batch.input_ids).to(device)
            attention = torch.from_numpy(batch.attention_mask).to(device)
            kwargs: dict[str, Any] = {"input_ids": input_ids}
            if not bool(attention.all()):
                kwargs["attention_mask"] = attention.long()
            acts = cap.run(**kwargs)
            mask = attention.clone()
            if config.skip_special_tokens and len(specials):
                mask &= ~torch.isin(input_ids, specials)
            if total is not None and seen + int(mask.sum()) > total:
                # Keep exactly max_tokens: drop the surplus positions at the end of the batch.
                mask = first_positions(mask, total - seen)
            out = ActivationBatch(
                acts={p.name: acts[p.name].to(out_dtype) for p in points},
                input_ids=input_ids,
                mask=mask,
                sequence_index=torch.arange(start, stop, device=device),
            )
            seen += out.n_tokens
            report(progress, seen if total else stop, total or n_seq, sequences=stop)
            yield out
            if total is not None and seen >= total:
                return


# ---------------------------------------------------------------------------------------------
# Disk cache


class ShardInfo(BaseModel):
    file: str
    n_tokens: int


class CacheManifest(BaseModel):
    """``manifest.json`` of an activation cache."""

    model: str
    hook_points: list[str]
    hf_hook_points: list[str]
    d: dict[str, int]
    dtype: CacheDType
    n_tokens: int
    tokenizer_fingerprint: str
    tokenization_sequences: int
    skip_special_tokens: bool
    shards: list[ShardInfo]
    complete: bool = False
    start_sequence: int = 0
    """First tokenization sequence cached (written by caches since issue 22; older ones started
    at 0, as every cache the product wrote did)."""


class CacheEstimate(BaseModel):
    """What a cache will cost before it is written."""

    n_tokens: int
    bytes: int
    free_bytes: int
    seconds: float | None
    """Extrapolated from a timed first batch when measured."""


def count_usable_tokens(tokenization: Tokenization, skip_special_tokens: bool) -> int:
    """Tokens a stream over the whole tokenization yields (an upper bound when skipping specials:
    separators between packed documents are not counted out)."""
    meta = tokenization.meta
    if skip_special_tokens and meta.prepend_bos:
        return int(meta.n_sequence_tokens - meta.n_sequences)
    return int(meta.n_sequence_tokens)


def estimate_cache(
    loaded: LoadedModel,
    tokenization: Tokenization,
    config: ActivationStreamConfig,
    dest: Path,
    measure: bool = False,
) -> CacheEstimate:
    """Disk bytes (and optionally seconds) needed to cache ``config``'s activations."""
    points = resolve_hook_points(loaded.model, config.hook_points, loaded.layout)
    n_tokens = count_usable_tokens(tokenization, config.skip_special_tokens)
    if config.max_tokens is not None:
        n_tokens = min(n_tokens, config.max_tokens)
    per_token = sum(p.d for p in points) * BYTES_PER[config.dtype] + 4  # + the token id
    dest.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(dest).free
    seconds = None
    if measure:
        probe = config.model_copy(update={"max_tokens": None})
        stream = stream_activations(loaded, tokenization, probe)
        next(stream)  # warm-up
        t0 = time.perf_counter()
        batch = next(stream, None)
        if batch is not None and batch.n_tokens:
            seconds = (time.perf_counter() - t0) / batch.n_tokens * n_tokens
    return CacheEstimate(
        n_tokens=n_tokens, bytes=n_tokens * per_token, free_bytes=free, seconds=seconds
    )


def cache_activations(
    loaded: LoadedModel,
    tokenization: Tokenization,
    config: ActivationStreamConfig,
    dest: Path,
    shard_tokens: int = 65_536,
    progress: Progress | None = None,
) -> CacheManifest:
    """Write activation shards and a manifest to ``dest``; refuses when the disk is too small."""
    estimate = estimate_cache(loaded, tokenization, config, dest)
    if estimate.bytes * 1.05 > estimate.free_bytes:
        raise ResourceError(
            f"not enough disk for the cache: needs {estimate.bytes / 2**30:.2f} GiB, "
            f"{estimate.free_bytes / 2**30:.2f} GiB free at {dest}"
        )
    points = resolve_hook_points(loaded.model, config.hook_points, loaded.layout)
    manifest = CacheManifest(
        model=loaded.name,
        hook_points=[p.name for p in points],
        hf_hook_points=[p.hf_name for p in points],
        d={p.name: p.d for p in points},
        dtype=config.dtype,
        n_tokens=0,
        tokenizer_fingerprint=tokenization.meta.tokenizer_fingerprint,
        tokenization_sequences=len(tokenization),
        skip_special_tokens=config.skip_special_tokens,
        shards=[],
        start_sequence=config.start_sequence,
    )
    pending: dict[str, list[Tensor]] = {p.name: [] for p in points}
    pending_ids: list[Tensor] = []
    pending_n = 0

    def flush() -> None:
        nonlocal pending_n
        if not pending_n:
            return
        name = f"shard_{len(manifest.shards):05d}.safetensors"
        tensors = {h: torch.cat(v).contiguous().cpu() for h, v in pending.items()}
        tensors["token_ids"] = torch.cat(pending_ids).to(torch.int32).cpu()
        save_file(tensors, str(dest / name))
        manifest.shards.append(ShardInfo(file=name, n_tokens=pending_n))
        manifest.n_tokens += pending_n
        for v in pending.values():
            v.clear()
        pending_ids.clear()
        pending_n = 0
        _write_manifest(dest, manifest)

    for batch in stream_activations(loaded, tokenization, config, progress):
        for p in points:
            pending[p.name].append(batch.flat(p.name))
        pending_ids.append(batch.input_ids[batch.mask])
        pending_n += batch.n_tokens
        if pending_n >= shard_tokens:
            flush()
    flush()
    manifest.complete = True
    _write_manifest(dest, manifest)
    return manifest


def _write_manifest(dest: Path, manifest: CacheManifest) -> None:
    tmp = dest / "manifest.json.tmp"
    tmp.write_text(manifest.model_dump_json(indent=2))
    tmp.replace(dest / "manifest.json")


class ActivationCache:
    """A cache written by :func:`cache_activations`."""

    def __init__(self, folder: Path, manifest: CacheManifest):
        self.folder = folder
        self.manifest = manifest

    @classmethod
    def open(cls, folder: Path | str) -> ActivationCache:
        folder = Path(folder)
        path = folder / "manifest.json"
        if not path.exists():
            raise InvalidInputError(f"{folder} is not an activation cache (no manifest.json)")
        manifest = CacheManifest.model_validate(json.loads(path.read_text()))
        if not manifest.complete:
            raise InvalidInputError(
                f"activation cache {folder} is incomplete (its job was interrupted)"
            )
        return cls(folder, manifest)

    @property
    def n_tokens(self) -> int:
        return self.manifest.n_tokens

    def require(self, hooks: Sequence[str]) -> None:
        """Refuse (one line) hook points this cache does not hold."""
        missing = [h for h in hooks if h not in self.manifest.hook_points]
        if missing:
            raise InvalidInputError(
                f"the activation cache has no {', '.join(missing)}; it holds "
                f"{', '.join(self.manifest.hook_points)}"
            )

    def shard(self, i: int) -> dict[str, Tensor]:
        """Shard ``i``: hook name -> ``Tensor[n, d]`` and ``token_ids`` -> ``Tensor[n]``."""
        return load_file(str(self.folder / self.manifest.shards[i].file))

    def iter_shards(
        self, hooks: Sequence[str] | None = None, shuffle: bool = False, seed: int = 0
    ) -> Iterator[dict[str, Tensor]]:
        """Shards in file order, or in a seeded random order."""
        order = np.arange(len(self.manifest.shards))
        if shuffle:
            np.random.default_rng(seed).shuffle(order)
        for i in order:
            data = self.shard(int(i))
            yield {h: data[h] for h in (hooks or self.manifest.hook_points)}


def replay_activations(
    cache: ActivationCache,
    tokenization: Tokenization,
    hooks: Sequence[str],
    specials: Sequence[int],
    batch_size: int = 8,
    device: torch.device | str = "cpu",
) -> Iterator[ActivationBatch]:
    """The batches :func:`stream_activations` yields over ``tokenization``, read back from a
    cache of it instead of running the LM, until the cache's tokens run out.

    A cache holds the unmasked positions of its sequences in order, so each batch's mask
    (attention, and the special tokens ``specials`` when the cache skipped them) says where its
    rows go; the rows' cached token ids must equal the tokenization's at those positions (a
    cache of another tokenization is refused in one line). Masked positions hold zeros."""
    m = cache.manifest
    cache.require(hooks)
    if m.tokenizer_fingerprint != tokenization.meta.tokenizer_fingerprint:
        raise InvalidInputError(
            f"activation cache {cache.folder.name} was written with another tokenizer than "
            f"tokenization {tokenization.meta.name}"
        )
    special = torch.tensor(list(specials), dtype=torch.long)
    shards = cache.iter_shards([*hooks, "token_ids"])
    current: dict[str, Tensor] = {}
    offset = 0

    def take(n: int) -> dict[str, Tensor]:
        """The next ``n`` cached rows (fewer at the cache's end)."""
        nonlocal current, offset
        parts: list[dict[str, Tensor]] = []
        while n > 0:
            if not current or offset >= _rows(current):
                nxt = next(shards, None)
                if nxt is None:
                    break
                current, offset = nxt, 0
                continue
            k = min(n, _rows(current) - offset)
            parts.append({h: t[offset : offset + k] for h, t in current.items()})
            offset += k
            n -= k
        if not parts:
            return {}
        return {h: torch.cat([p[h] for p in parts]) for h in parts[0]}

    n_seq = min(len(tokenization), m.start_sequence + m.tokenization_sequences)
    for start in range(m.start_sequence, n_seq, batch_size):
        stop = min(start + batch_size, n_seq)
        rows = tokenization.get_batch(start, stop)
        input_ids = torch.from_numpy(rows.input_ids).long()
        mask = torch.from_numpy(rows.attention_mask).bool()
        if m.skip_special_tokens and len(special):
            mask &= ~torch.isin(input_ids, special)
        n = int(mask.sum())
        got = take(n)
        k = int(got["token_ids"].shape[0]) if got else 0
        if k == 0:
            return
        if k < n:  # the cache ends inside this batch: keep its first k positions
            mask = first_positions(mask, k)
        if not torch.equal(input_ids[mask], got["token_ids"].long()):
            raise InvalidInputError(
                f"activation cache {cache.folder.name} does not hold tokenization "
                f"{tokenization.meta.name}'s tokens (sequences {start}-{stop - 1} differ)"
            )
        acts = {}
        for hook in hooks:
            full = torch.zeros(*mask.shape, got[hook].shape[1], dtype=got[hook].dtype)
            full[mask] = got[hook]
            acts[hook] = full.to(device)
        yield ActivationBatch(
            acts=acts,
            input_ids=input_ids.to(device),
            mask=mask.to(device),
            sequence_index=torch.arange(start, stop, device=device),
        )
        if k < n:
            return


def flat_batches(stream: Iterable[ActivationBatch]) -> Iterator[dict[str, Tensor]]:
    """Unmasked positions of each stream batch: hook name -> ``Tensor[n_tokens, d]``."""
    for batch in stream:
        yield {hook: batch.flat(hook) for hook in batch.acts}


class ShuffledBatches:
    """Mix token chunks in a buffer and yield fixed-size batches (the classic SAE data buffer).

    Chunks are appended until the buffer holds ``buffer_tokens``; the buffer is permuted and the
    first half goes out as batches, so each batch mixes tokens from many sequences and shards.
    The last partial batch is dropped.
    """

    def __init__(
        self,
        chunks: Iterable[dict[str, Tensor]],
        batch_tokens: int,
        buffer_tokens: int = 262_144,
        seed: int = 0,
        dtype: torch.dtype = torch.float32,
    ):
        if batch_tokens <= 0 or buffer_tokens < batch_tokens:
            raise InvalidInputError("need 0 < batch_tokens <= buffer_tokens")
        self.chunks = chunks
        self.batch_tokens = batch_tokens
        self.buffer_tokens = buffer_tokens
        self.generator = torch.Generator().manual_seed(seed)
        self.dtype = dtype

    def __iter__(self) -> Iterator[dict[str, Tensor]]:
        buffer: dict[str, Tensor] | None = None
        source = iter(self.chunks)
        exhausted = False
        while True:
            parts = [buffer] if buffer is not None else []
            n = 0 if buffer is None else _rows(buffer)
            while n < self.buffer_tokens and not exhausted:
                chunk = next(source, None)
                if chunk is None:
                    exhausted = True
                    break
                chunk = {k: v.to("cpu", self.dtype) for k, v in chunk.items()}
                parts.append(chunk)
                n += _rows(chunk)
            if not parts or n < self.batch_tokens:
                return
            keys = list(parts[0])
            merged = {k: torch.cat([p[k] for p in parts]) for k in keys}
            perm = torch.randperm(n, generator=self.generator)
            merged = {k: v[perm] for k, v in merged.items()}
            # Emit half the buffer (all of it once the source is dry), keep the rest for mixing.
            emit = (
                n
                if exhausted
                else max(self.batch_tokens, (n // 2) // self.batch_tokens * self.batch_tokens)
            )
            n_batches = emit // self.batch_tokens
            for b in range(n_batches):
                sl = slice(b * self.batch_tokens, (b + 1) * self.batch_tokens)
                yield {k: v[sl] for k, v in merged.items()}
            used = n_batches * self.batch_tokens
            buffer = {k: v[used:] for k, v in merged.items()} if used < n else None
            if exhausted and (buffer is None or _rows(buffer) < self.batch_tokens):
                return


def _rows(chunk: dict[str, Tensor]) -> int:
    return int(next(iter(chunk.values())).shape[0])
