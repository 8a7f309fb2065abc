"""Write an extraction as the studio archive and as Neuronpedia's bulk import layout, in one pass.

:func:`export_extraction` writes, under ``out``::

    export.zip                    the studio archive
      metadata.json               SAE cfg, model, hook, dataset, extraction settings, versions,
                                  Neuronpedia ids, lineage
      README.md                   what is inside and how to use it
      features/<index>.json       one per latent: what GET /features/{id}/detail shows
      explanations/explanations.json   labels with method, model and scores
      saelens/cfg.json, saelens/sae_weights.safetensors (+ sparsity.safetensors)
    neuronpedia/<modelId>/<sourceId>/    what Neuronpedia's admin importer reads (FORMATS §3)
      release.jsonl model.jsonl sourceset.jsonl source.jsonl
      features/batch-N.jsonl.gz activations/batch-N.jsonl.gz explanations/batch-N.jsonl.gz

Decisions:

- **One pass, bounded memory.** Latents are read one at a time (:mod:`.records`) and each
  latent's records go straight to the zip and the open gzip batch files; nothing is held for
  more than one latent (labels, small, are the caller's dict). A batch is 1,024 features, its
  activations and its explanations (``batch-N`` of all three cover the same latents); an
  empty activations or explanations batch is not written (Neuronpedia's importer reads the
  columns off a file's first line and fails on an empty one).
- **No half export.** Both forms are written to ``export.zip.partial`` and
  ``.neuronpedia.partial/`` and renamed when complete; any failure, a full disk included,
  deletes them and a full disk is one line (:class:`~mistudio.errors.ResourceError`).
- **Compression.** JSON members are deflated at level 1 and gzip files written at level 1: the
  text is highly redundant, and level 1 gets most of the size for a fraction of the CPU
  (Neuronpedia reads any gzip level). SAE weights are stored, not deflated (floats barely
  compress).
- **Only real columns, one shape per file.** The metadata rows (release, model, source set,
  source) are created by Neuronpedia with Prisma, which refuses unknown keys; the table rows
  are inserted with the first line's keys. Every row therefore has exactly FORMATS §3's keys.
  The model row names no default source set or source: those rows do not exist yet when the
  importer creates the model (foreign keys), as in Neuronpedia's own converter.
- **Ids.** Activation and explanation rows need ids unique across a Neuronpedia instance
  (duplicates are dropped silently): a random 12-hex-digit prefix per export and a counter,
  25 characters like Neuronpedia's cuids.
"""

from __future__ import annotations

import errno
import gzip
import json
import secrets
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mistudio import __version__
from mistudio.core.features.result import STATS_DIR, ExtractionResult
from mistudio.core.neuronpedia.config import LatentLabel, NeuronpediaExportConfig
from mistudio.core.neuronpedia.records import (
    DecoderRows,
    LatentReader,
    SourceIds,
    archive_feature,
    label_json,
    np_activations,
    np_explanation,
    np_feature,
)
from mistudio.core.neuronpedia.selection import resolve_latents
from mistudio.core.progress import Progress, report
from mistudio.core.sae.saelens_format import read_cfg
from mistudio.core.sae_export import (
    export_members,
    is_native,
    not_saelens,
    write_saelens_folder,
)
from mistudio.errors import InvalidInputError, MiStudioError, ResourceError

ARCHIVE = "export.zip"
BULK_DIR = "neuronpedia"
BATCH_FEATURES = 1024
"""Features per ``batch-N.jsonl.gz`` (Neuronpedia's own exports)."""
GZIP_LEVEL = 1
DEFLATE_LEVEL = 1


@dataclass
class ExportSummary:
    """What an export wrote."""

    latents: int
    """Latents exported."""
    activations: int = 0
    """Activation rows (top examples and quantile samples)."""
    explanations: int = 0
    """Explanation rows (labelled latents)."""
    batches: int = 0
    """``batch-N`` files per table."""
    model_id: str = ""
    source_id: str = ""
    source_set: str = ""
    archive: str | None = None
    """Path of ``export.zip``."""
    archive_bytes: int = 0
    bulk: str | None = None
    """Path of ``neuronpedia/<modelId>/<sourceId>``."""
    bulk_bytes: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    """Things a reader should know (no SAE weights, no tokenizer...)."""

    def line(self) -> str:
        return (
            f"{self.latents:,} latents, {self.activations:,} activations, "
            f"{self.explanations:,} explanations as {self.model_id}/{self.source_id} "
            f"in {self.seconds:.1f} s"
        )


def _json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def _ids(prefix: str) -> Iterator[str]:
    n = 0
    while True:
        n += 1
        yield f"{prefix}{n:012x}"


class BulkWriter:
    """Neuronpedia's ``<modelId>/<sourceId>/`` folder, batch by batch."""

    TABLES = ("features", "activations", "explanations")

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        for table in self.TABLES:
            (folder / table).mkdir(parents=True, exist_ok=True)
        self.batch = -1
        self.in_batch = BATCH_FEATURES
        self.files: dict[str, gzip.GzipFile] = {}

    def _file(self, table: str) -> gzip.GzipFile:
        handle = self.files.get(table)
        if handle is None:
            path = self.folder / table / f"batch-{self.batch}.jsonl.gz"
            # Opened lazily and closed by close_batch: an empty batch file is never made.
            handle = gzip.GzipFile(path, "wb", compresslevel=GZIP_LEVEL)  # noqa: SIM115
            self.files[table] = handle
        return handle

    def add(
        self,
        feature: dict[str, Any],
        activations: list[dict[str, Any]],
        explanation: dict[str, Any] | None,
    ) -> None:
        if self.in_batch >= BATCH_FEATURES:
            self.close_batch()
            self.batch += 1
            self.in_batch = 0
        self.in_batch += 1
        self._file("features").write(_json_bytes(feature) + b"\n")
        if activations:
            self._file("activations").write(b"".join(_json_bytes(a) + b"\n" for a in activations))
        if explanation is not None:
            self._file("explanations").write(_json_bytes(explanation) + b"\n")

    def close_batch(self) -> None:
        for handle in self.files.values():
            handle.close()
        self.files = {}

    def write_jsonl(self, name: str, rows: list[dict[str, Any]]) -> None:
        (self.folder / name).write_bytes(b"".join(_json_bytes(r) + b"\n" for r in rows))


def _model_facts(result: ExtractionResult) -> tuple[int | None, int | None]:
    """(layers, hidden size) from the model folder's config.json, when it is there."""
    path = Path(result.meta.model_path) / "config.json"
    try:
        config = json.loads(path.read_text())
    except (OSError, ValueError):
        return None, None
    layers = config.get("num_hidden_layers") or config.get("n_layer")
    width = config.get("hidden_size") or config.get("n_embd")
    return (
        layers if isinstance(layers, int) else None,
        width if isinstance(width, int) else None,
    )


def _context_length(result: ExtractionResult) -> int | None:
    path = Path(result.meta.tokenization_folder) / "meta.json"
    try:
        value = json.loads(path.read_text()).get("max_length")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) else None


def metadata_rows(
    result: ExtractionResult,
    config: NeuronpediaExportConfig,
    ids: SourceIds,
    sae_cfg: dict[str, Any] | None,
    created: datetime,
) -> dict[str, dict[str, Any]]:
    """The ``release``, ``model``, ``sourceset`` and ``source`` rows (FORMATS §3 keys only)."""
    m = result.meta
    stamp = created.isoformat()
    layers, width = _model_facts(result)
    release_name = config.release or ids.source_set
    return {
        "release.jsonl": {
            "name": release_name,
            "description": f"{config.description} SAE on {m.model_name}, exported by miStudio",
            "descriptionShort": config.description,
            "creatorName": config.creator_name,
            "creatorNameShort": config.creator_name,
            "creatorId": ids.creator_id,
            "urls": [],
            "visibility": "PUBLIC",
            "isNewUi": True,
            "featured": False,
            "defaultSourceSetName": ids.source_set,
            "defaultSourceId": ids.source_id,
            "createdAt": stamp,
        },
        "model.jsonl": {
            "id": ids.model_id,
            "instruct": "instruct" in m.model_name.lower() or ids.model_id.endswith("-it"),
            "displayName": m.model_name,
            "displayNameShort": ids.model_id,
            "creatorId": ids.creator_id,
            "tlensId": None,
            "dimension": width or m.d_in,
            "visibility": "PUBLIC",
            "defaultSourceSetName": None,
            "defaultSourceId": None,
            "inferenceEnabled": False,
            "layers": layers or (config.layer or 0) + 1,
            "neuronsPerLayer": width or m.d_in,
            "owner": config.creator_name,
            "website": None,
            "createdAt": stamp,
            "updatedAt": stamp,
        },
        "sourceset.jsonl": {
            "modelId": ids.model_id,
            "name": ids.source_set,
            "creatorId": ids.creator_id,
            "creatorName": config.creator_name,
            "description": config.description,
            "type": "sae",
            "urls": [],
            "releaseName": release_name,
            "visibility": "PUBLIC",
            "hasDashboards": True,
            "showDfa": False,
            "showCorrelated": True,
            "showHeadAttribution": False,
            "showUmap": False,
            "createdAt": stamp,
        },
        "source.jsonl": {
            "id": ids.source_id,
            "modelId": ids.model_id,
            "setName": ids.source_set,
            "creatorId": ids.creator_id,
            "hasDashboards": True,
            "inferenceEnabled": False,
            "saelensConfig": sae_cfg,
            "saelensRelease": None,
            "saelensSaeId": None,
            "hfRepoId": None,
            "hfFolderId": None,
            "visibility": "PUBLIC",
            "num_prompts": m.n_sequences,
            "num_tokens_in_prompt": _context_length(result),
            "dataset": m.tokenization_name,
            "notes": f"miStudio {__version__}; {m.n_tokens:,} tokens; hook {m.hook_name}",
            "createdAt": stamp,
        },
    }


def _readme(
    summary: ExportSummary, result: ExtractionResult, config: NeuronpediaExportConfig
) -> str:
    m = result.meta
    return f"""# miStudio export: {m.d_sae:,}-latent SAE on {m.model_name} ({m.hook_name})

Exported by miStudio {__version__} on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC:
{summary.latents:,} latents (selection `{config.latents}`), {summary.explanations:,} labelled,
measured on {m.n_tokens:,} tokens of `{m.tokenization_name}`.

## Inside
- `metadata.json`: the SAE's config, model, hook, dataset, extraction settings, miStudio
  version, the Neuronpedia ids and the lineage (which studio artifacts produced this).
- `features/<index>.json`: one file per latent, what the studio's feature page shows:
  `stats` (frequency, max and mean activation, top tokens), `examples` (top-activating
  context windows: `tokens`, `token_ids`, `acts` per token, `center` = the activating token),
  `samples` (a uniform sample of activating tokens with their activation `quantile`),
  `histogram` (log-spaced `edges` and `counts`: underflow, bins, overflow), `logit_lens`
  (tokens the decoder direction promotes and suppresses), `correlated` (Pearson, Jaccard and
  decoder-cosine neighbours), `label`.
- `explanations/explanations.json`: every label with its method, model and scores
  (detection and fuzzing balanced accuracy).
- `saelens/`: the SAE as a SAELens folder: `SAE.load_from_disk("saelens")` in SAELens >= 6.

## Neuronpedia
Model id `{summary.model_id}`, source set `{summary.source_set}`, source id
`{summary.source_id}`. The studio writes Neuronpedia's bulk import layout beside this archive
(`neuronpedia/{summary.model_id}/{summary.source_id}/`, download it as the `neuronpedia` form):
put that folder in a Neuronpedia instance's dataset bucket and run its admin import, or push it
to an instance with `mistudio export upload` (per-user API key).
"""


def _sae_members(
    sae_folder: Path, metadata: dict[str, Any], scratch: Path
) -> list[tuple[str, Path | bytes]]:
    if is_native(sae_folder):
        reason = not_saelens(str(read_cfg(sae_folder).get("architecture")))
        if reason is not None:  # the archive goes without it, saying why
            return [("saelens/NOT_EXPORTED.txt", f"{reason}\n".encode())]
        return export_members(sae_folder, "saelens/", metadata)
    folder = write_saelens_folder(sae_folder, scratch / "saelens", metadata)
    return export_members(folder, "saelens/")


def _write_member(archive: zipfile.ZipFile, name: str, data: bytes, when: tuple[int, ...]) -> None:
    info = zipfile.ZipInfo(name, date_time=when[:6])  # type: ignore[arg-type]
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data, compresslevel=DEFLATE_LEVEL)


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def export_extraction(
    result: ExtractionResult,
    config: NeuronpediaExportConfig,
    out: Path,
    *,
    sae_folder: Path | None,
    labels: Mapping[int, LatentLabel] | None = None,
    indices: Sequence[int] | None = None,
    lineage: dict[str, Any] | None = None,
    forms: Sequence[str] = ("archive", "neuronpedia"),
    progress: Progress | None = None,
) -> ExportSummary:
    """Write ``out/export.zip`` and ``out/neuronpedia/<modelId>/<sourceId>/`` (see the module
    docstring). ``labels`` are the labelled latents by index; ``indices`` resolves a
    ``starred`` or ``labelled`` selection (core knows neither); ``lineage`` goes into
    ``metadata.json``. Raises ResourceError (one line, nothing left behind) on a full disk."""
    started = time.perf_counter()
    m = result.meta
    config = config.resolved(m.hook_name, m.d_sae)
    fired = None
    if config.latents == "extracted":
        fired = result.array(f"{STATS_DIR}/count")[:] > 0
    chosen = resolve_latents(config.latents, m.d_sae, fired=fired, indices=indices)
    if not chosen:
        raise InvalidInputError(f"the selection '{config.latents}' holds no latents")
    unknown = set(forms) - {"archive", "neuronpedia"}
    if unknown or not forms:
        raise InvalidInputError(f"unknown export form(s) {sorted(unknown)}; archive, neuronpedia")
    sae_cfg = read_cfg(sae_folder) if sae_folder is not None else None
    sae_meta = (sae_cfg or {}).get("metadata") or {}
    hook_out = sae_meta.get("hook_name_out") or m.hook_name
    ids = SourceIds(
        model_id=config.model_id,
        source_id=config.source_id,
        source_set=config.source_set or "",
        creator_id=config.creator_id,
        hook_name=hook_out,
        explanation_type=config.explanation_type,
    )
    summary = ExportSummary(
        latents=len(chosen),
        model_id=ids.model_id,
        source_id=ids.source_id,
        source_set=ids.source_set,
    )
    label_map = dict(labels or {})
    out.mkdir(parents=True, exist_ok=True)
    archive_path = out / ARCHIVE
    partial_zip = out / f"{ARCHIVE}.partial"
    partial_bulk = out / f".{BULK_DIR}.partial"
    scratch = Path(tempfile.mkdtemp(prefix=".export-", dir=out))
    created = datetime.now(UTC)
    when = created.timetuple()[:6]
    prefix = "mst" + secrets.token_hex(5)
    activation_ids, explanation_ids = _ids(prefix + "a"), _ids(prefix + "e")
    archive: zipfile.ZipFile | None = None
    bulk: BulkWriter | None = None
    try:
        decoder = DecoderRows(sae_folder) if sae_folder is not None else None
        if decoder is None:
            summary.notes.append("no SAE folder: no decoder vectors and no SAELens weights")
        reader = LatentReader(result, config, decoder, label_map, result.tokenizer())
        if "archive" in forms:
            archive = zipfile.ZipFile(partial_zip, "w", allowZip64=True)
        if "neuronpedia" in forms:
            shutil.rmtree(partial_bulk, ignore_errors=True)
            bulk = BulkWriter(partial_bulk / ids.model_id / ids.source_id)
            for name, row in metadata_rows(result, config, ids, sae_cfg, created).items():
                bulk.write_jsonl(name, [row])
        labelled: list[dict[str, Any]] = []
        total = len(chosen)
        for n, page in enumerate(reader.pages(chosen), start=1):
            if archive is not None:
                _write_member(
                    archive, f"features/{page.index}.json", _json_bytes(archive_feature(page)), when
                )
                if page.label is not None:
                    labelled.append(label_json(page.label))
            if bulk is not None:
                activations = np_activations(page, ids, activation_ids)
                explanation = np_explanation(page, ids, next(explanation_ids))
                bulk.add(np_feature(page, ids), activations, explanation)
                summary.activations += len(activations)
                summary.explanations += explanation is not None
            elif page.label is not None:
                summary.explanations += 1
            if n % 64 == 0 or n == total:
                report(progress, n, total, stage="writing latents")
        if bulk is not None:
            bulk.close_batch()
            summary.batches = bulk.batch + 1
        if archive is not None:
            _write_member(archive, "explanations/explanations.json", _json_bytes(labelled), when)
            if config.include_saelens and sae_folder is not None:
                report(progress, total, total, stage="adding the SAE weights")
                hooks = {"hook_name": m.hook_name, "hf_hook_name": m.hf_hook_name}
                for name, item in _sae_members(sae_folder, hooks, scratch):
                    if isinstance(item, bytes):
                        _write_member(archive, name, item, when)
                    else:
                        archive.write(item, name, compress_type=zipfile.ZIP_STORED)
            meta = {
                "format": "mistudio-export",
                "format_version": 1,
                "mistudio_version": __version__,
                "created": created.isoformat(),
                "extraction": m.model_dump(mode="json"),
                "sae_cfg": sae_cfg,
                "model": {
                    "name": m.model_name,
                    "hook_name": m.hook_name,
                    "hf_hook_name": m.hf_hook_name,
                },
                "dataset": {"tokenization": m.tokenization_name, "n_tokens": m.n_tokens},
                "export": config.model_dump(mode="json"),
                "neuronpedia": {
                    "model_id": ids.model_id,
                    "source_set": ids.source_set,
                    "source_id": ids.source_id,
                    "hook_name": ids.hook_name,
                },
                "latents": {"count": len(chosen), "first": chosen[0], "last": chosen[-1]},
                "lineage": lineage or {},
            }
            _write_member(archive, "metadata.json", json.dumps(meta, indent=2).encode(), when)
            summary.archive = str(archive_path)
            _write_member(archive, "README.md", _readme(summary, result, config).encode(), when)
            archive.close()
            partial_zip.replace(archive_path)
            summary.archive_bytes = archive_path.stat().st_size
        if bulk is not None:
            final = out / BULK_DIR
            shutil.rmtree(final, ignore_errors=True)
            partial_bulk.rename(final)
            summary.bulk = str(final / ids.model_id / ids.source_id)
            summary.bulk_bytes = _size(final)
    except BaseException as exc:
        for close in (archive.close if archive else None, bulk.close_batch if bulk else None):
            try:
                if close is not None:
                    close()
            except Exception:  # the disk is full or the file is broken: it goes anyway
                pass
        partial_zip.unlink(missing_ok=True)
        shutil.rmtree(partial_bulk, ignore_errors=True)
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise ResourceError(
                f"the disk filled while writing the export to {out} ({exc.strerror}); "
                "nothing was kept: free space and export again"
            ) from None
        if isinstance(exc, OSError) and not isinstance(exc, MiStudioError):
            raise ResourceError(f"could not write the export to {out}: {exc}") from None
        raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    summary.seconds = round(time.perf_counter() - started, 3)
    return summary
