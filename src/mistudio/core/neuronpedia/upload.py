"""Push a Neuronpedia bulk-import folder to a Neuronpedia instance through its per-user API.

:func:`upload_bulk` is the whole client; it walks the folder bulk batch by bulk batch and, for
each upload batch (``batch_features`` features), builds the features' bodies, sends them and
records what was accepted. Each responsibility has a module, whose docstring holds the
decisions behind it:

- :mod:`.upload_limits`: what ``POST /api/feature/upload-batch`` accepts (read from
  Neuronpedia's own route), and the body-size limit of its host;
- :mod:`.upload_read`: reading the folder one ``batch-N`` triple at a time (memory bounded by
  one bulk file), numbering the upload's batches, the folder's fingerprint;
- :mod:`.upload_body`: one feature's body, with whatever breaks a limit clipped and counted
  (:data:`CLIP_KINDS`) instead of refused;
- :mod:`.upload_http`: the HTTP calls: retries with back-off, splits to fit the body limit,
  and the one-line errors (:class:`NeuronpediaUploadError` and its subclasses);
- :mod:`.upload_state`: the resume state (accepted features and batches), so a rerun sends only
  what the instance has not accepted; Neuronpedia would duplicate a feature's examples if it
  were sent twice.

This module keeps the public names (callers and tests import them from here) and the two
settings a call reads when it starts, :data:`RETRY` and :data:`MAX_BODY_BYTES`, so a test or
caller may set them on this module.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from mistudio.core.neuronpedia.upload_body import (
    CLIP_KINDS,
    ClipCounter,
    encode_feature,
    feature_body,
)
from mistudio.core.neuronpedia.upload_http import (
    RETRY_STATUS,
    SERVER_FAULT_CAUSES,
    BatchRejectedError,
    BatchSender,
    Encoded,
    NeuronpediaAuthError,
    NeuronpediaUnreachableError,
    NeuronpediaUploadError,
    RetryPolicy,
)
from mistudio.core.neuronpedia.upload_limits import (
    API_KEY_HEADER,
    EMPTY_TOKEN,
    MAX_ACTIVATION_TOKENS,
    MAX_BODY_BYTES,
    MAX_EXPLANATION_CHARS,
    MAX_FEATURES_PER_CALL,
    MAX_INDEX,
    MAX_LOGITS,
    MAX_QUANTILE,
    UPLOAD_PATH,
)
from mistudio.core.neuronpedia.upload_read import (
    BulkBatch,
    BulkFolder,
    FeatureRow,
    fingerprint,
    number_batches,
    open_bulk_folder,
    read_bulk_batch,
)
from mistudio.core.neuronpedia.upload_state import STATE_VERSION, UploadState
from mistudio.core.outbound import check_outbound_url, normalise_url
from mistudio.core.progress import Progress, report
from mistudio.errors import InvalidInputError

__all__ = [
    "API_KEY_HEADER",
    "CLIP_KINDS",
    "EMPTY_BATCH",
    "EMPTY_TOKEN",
    "MAX_ACTIVATION_TOKENS",
    "MAX_BODY_BYTES",
    "MAX_EXPLANATION_CHARS",
    "MAX_FEATURES_PER_CALL",
    "MAX_INDEX",
    "MAX_LOGITS",
    "MAX_QUANTILE",
    "RETRY",
    "RETRY_STATUS",
    "SERVER_FAULT_CAUSES",
    "STATE_VERSION",
    "UPLOAD_PATH",
    "BatchRejectedError",
    "NeuronpediaAuthError",
    "NeuronpediaUnreachableError",
    "NeuronpediaUploadError",
    "RetryPolicy",
    "UploadReport",
    "upload_bulk",
]

RETRY = RetryPolicy()
"""How hard each call is tried (read when :func:`upload_bulk` starts)."""
EMPTY_BATCH = "had no feature with activations"
BODY_HEADROOM = 1024
"""Bytes of :data:`MAX_BODY_BYTES` kept for the ids around a call's features."""


@dataclass
class UploadReport:
    """What one :func:`upload_bulk` call did."""

    base_url: str
    """The instance uploaded to."""
    model_id: str
    source: str
    """Neuronpedia's source id, ``{layer}-{sourceSetName}``."""
    batches_total: int = 0
    """Calls the whole folder makes with this ``batch_features``."""
    batches_sent: int = 0
    """Batches accepted by this call."""
    batches_resumed: int = 0
    """Batches skipped because an earlier call had them accepted."""
    batches_empty: int = 0
    """Batches with nothing to send (every feature skipped)."""
    features_sent: int = 0
    """Features accepted by this call."""
    features_skipped: int = 0
    """Features left out because they have no activation record."""
    requests: int = 0
    """HTTP calls made, retries and parts included."""
    retries: int = 0
    splits: int = 0
    """Batches sent in parts to keep each body under the size limit."""
    clipped: dict[str, int] = field(default_factory=dict)
    """Counts by kind (keys of :data:`CLIP_KINDS`)."""
    seconds: float = 0.0
    seconds_waiting: float = 0.0
    """Of ``seconds``, the time spent waiting for the instance's answers."""

    def lines(self) -> list[str]:
        """A short human summary."""
        out = [
            f"Neuronpedia {self.base_url}: {self.model_id}/{self.source}: "
            f"{self.batches_sent} of {self.batches_total} batches sent now "
            f"({self.features_sent} features), {self.batches_resumed} accepted earlier"
            + (f", {self.batches_empty} with nothing to send" if self.batches_empty else "")
            + f"; {self.seconds:.1f} s ({self.seconds_waiting:.1f} s waiting for the instance)"
        ]
        if self.features_skipped:
            out.append(f"skipped {self.features_skipped} features with no activation record")
        for kind, count in sorted(self.clipped.items()):
            if count:
                out.append(f"clipped: {count} {CLIP_KINDS.get(kind, kind)}")
        if self.retries or self.splits:
            out.append(f"{self.retries} retries, {self.splits} batches sent in parts")
        return out


def upload_bulk(
    source_dir: Path,
    base_url: str,
    api_key: str,
    *,
    state_file: Path,
    progress: Progress | None = None,
    batch_features: int = 128,
) -> UploadReport:
    """Upload the bulk-import folder ``source_dir`` (``<modelId>/<sourceId>/``, FORMATS §3) to
    the Neuronpedia instance at ``base_url`` with ``api_key``, ``batch_features`` features a
    call, resuming from ``state_file``. ``progress(batches_done, batches_total, features=,
    eta_s=, stage=)`` after each batch; raises one-line :class:`NeuronpediaUploadError`
    subclasses (see the module docstring)."""
    started = time.monotonic()
    _check_batch_features(batch_features)
    api_key = _check_key(api_key)
    base = check_outbound_url(base_url, resolve=False).rstrip("/")
    folder = open_bulk_folder(Path(source_dir))
    result = UploadReport(base_url=base, model_id=folder.model_id, source=folder.source)
    report(progress, 0, None, stage=f"reading {folder.path.name}")
    numbers = number_batches(folder, batch_features)
    result.batches_total = sum(len(r) for r in numbers.values())
    state = _resume_state(folder, base, Path(state_file), batch_features, result, progress)
    sender = BatchSender(
        base,
        api_key,
        folder.model_id,
        folder.source,
        policy=RETRY,
        body_limit=MAX_BODY_BYTES - BODY_HEADROOM,
    )
    upload = _Upload(folder, batch_features, state, sender, result, progress)
    try:
        for n, batches in numbers.items():
            upload.bulk_batch(n, batches)
    finally:
        sender.close()
        result.requests, result.retries = sender.requests, sender.retries
        result.splits, result.seconds_waiting = sender.splits, sender.seconds_waiting
        result.clipped.update(upload.clip.total)
        result.seconds = time.monotonic() - started
    if result.features_skipped and not result.features_sent and not state.features:
        raise InvalidInputError(
            f"nothing to upload from {folder.path}: none of its {result.features_skipped} "
            "features has an activation record (Neuronpedia needs at least one per feature)"
        )
    return result


def _check_batch_features(batch_features: int) -> None:
    if not 1 <= batch_features <= MAX_FEATURES_PER_CALL:
        raise InvalidInputError(
            f"batch_features must be 1..{MAX_FEATURES_PER_CALL} (Neuronpedia accepts at most "
            f"{MAX_FEATURES_PER_CALL} features a call), not {batch_features}"
        )


def _check_key(api_key: str) -> str:
    if not api_key or not api_key.strip():
        raise InvalidInputError(
            "no Neuronpedia API key: set it in the settings or the dialog (it is under Settings "
            "on the Neuronpedia instance)"
        )
    return api_key.strip()


def _resume_state(
    folder: BulkFolder,
    base: str,
    state_file: Path,
    batch_features: int,
    result: UploadReport,
    progress: Progress | None,
) -> UploadState:
    """The state of this export on this instance (see :mod:`.upload_state`), said in progress."""
    total = result.batches_total
    identity = {
        "batch_features": str(batch_features),
        "source_dir": str(folder.path.resolve()),
        "base_url": normalise_url(base),
        "model_id": folder.model_id,
        "source": folder.source,
    }
    # The folder's bytes, not its path: a copied export resumes, a re-written one does not.
    digest = fingerprint(
        folder.path,
        UploadState.files(state_file),
        identity["base_url"],
        folder.model_id,
        folder.source,
    )
    state, note = UploadState.load(state_file, digest, identity)
    if note:
        report(progress, 0, total, stage=note)
    if state.batches:
        report(
            progress,
            0,
            total,
            stage=f"resuming: {len(state.batches)} of {total} batches already accepted",
        )
    return state


class _Upload:
    """One call's walk over the folder: which batches to send, skip or count as empty, and the
    progress after each."""

    def __init__(
        self,
        folder: BulkFolder,
        batch_features: int,
        state: UploadState,
        sender: BatchSender,
        result: UploadReport,
        progress: Progress | None,
    ) -> None:
        self.folder = folder
        self.batch_features = batch_features
        self.state = state
        self.sender = sender
        self.result = result
        self.progress = progress
        self.total = result.batches_total
        self.clip = ClipCounter()
        self.done = 0
        self.sent_started = time.monotonic()

    def bulk_batch(self, n: int, batches: range) -> None:
        """The upload batches of bulk file ``n`` (read only when one of them is still due)."""
        result = self.result
        if all(b in self.state.batches for b in batches):
            result.batches_resumed += len(batches)
            self.done += len(batches)
            report(self.progress, self.done, self.total, features=result.features_sent, eta_s=None)
            return
        bulk = read_bulk_batch(self.folder, n)
        size = self.batch_features
        for offset, batch in enumerate(batches):
            if batch in self.state.batches:
                result.batches_resumed += 1
                self.done += 1
                continue
            chunk = bulk.rows[offset * size : (offset + 1) * size]
            bodies = self._bodies(chunk, bulk)
            if bodies:
                self.sender.send(batch, self.total, bodies, self._accepted(batch), self._keep)
                result.batches_sent += 1
                self._finish(batch, "accepted")
            elif all(r.index in self.state.features for r in chunk):
                result.batches_resumed += 1
                self._finish(batch, "accepted earlier")
            else:
                result.batches_empty += 1
                self._finish(batch, EMPTY_BATCH)

    def _bodies(self, chunk: list[FeatureRow], bulk: BulkBatch) -> list[Encoded]:
        """The encoded features of ``chunk`` not yet accepted; those without activations are
        counted as skipped."""
        out: list[Encoded] = []
        for row in chunk:
            if row.index in self.state.features:
                continue
            body = feature_body(
                row,
                bulk.activations.pop(row.index, []),
                bulk.explanations.pop(row.index, []),
                self.clip,
                bulk.activation_path,
            )
            if body is None:
                self.result.features_skipped += 1
            else:
                out.append((row.index, encode_feature(body)))
        return out

    def _accepted(self, batch: int) -> str:
        """What an error says stays accepted, and where a rerun continues."""
        return (
            f"{len(self.state.batches)} of {self.total} batches are accepted and stay; run the "
            f"upload again to continue from batch {batch}"
        )

    def _keep(self, indexes: list[int]) -> None:
        """Record features the instance accepted (saved at once: a crash must not resend)."""
        self.state.features.update(indexes)
        self.state.save()
        self.result.features_sent += len(indexes)

    def _finish(self, batch: int, kind: str) -> None:
        self.done += 1
        if kind != EMPTY_BATCH:  # re-checked next time, so "nothing to upload" stays an error
            self.state.batches.add(batch)
            self.state.save()
        sent = self.result.batches_sent
        rate = sent / max(time.monotonic() - self.sent_started, 1e-6) if sent else 0.0
        left = self.total - self.done
        stage = f"batch {batch}/{self.total} {kind}"
        clipped = self.clip.take()
        if clipped:
            stage += (
                " (clipped: "
                + ", ".join(f"{n} {CLIP_KINDS.get(k, k)}" for k, n in sorted(clipped.items()))
                + ")"
            )
        report(
            self.progress,
            self.done,
            self.total,
            features=self.result.features_sent,
            eta_s=round(left / rate, 1) if rate > 0 else None,
            stage=stage,
        )
