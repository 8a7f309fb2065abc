"""The upload's resume state: which features (and batches) an instance has accepted.

The state file records the accepted *feature indexes* and batch numbers, with a fingerprint of
the folder's bytes, the ids and the instance URL; a second call skips what was accepted and
sends the rest, and a different export or instance starts afresh. Feature-level state makes a
resume exact even when a batch was sent in parts or ``batch_features`` changed (batch numbers
only count for the batch size that numbered them; accepted features always do). This matters
because Neuronpedia creates activations and explanations with fresh ids: sending a feature twice
duplicates its examples (only the feature row itself is ``skipDuplicates``). The one duplicate
this cannot rule out is a request that timed out *after* the server committed it; the route
offers no idempotency key.

The file is replaced atomically (written beside it, then ``os.replace``) after every accepted
call, so a killed upload loses at most the call in flight. Accepted features are stored as
ranges: a 65k-latent export is a few numbers, not a list of 65k.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from mistudio.errors import InvalidInputError

STATE_VERSION = 1


@dataclass
class UploadState:
    """What an instance accepted of one export (see the module docstring)."""

    path: Path
    fingerprint: str
    identity: dict[str, str]
    """Written beside the fingerprint for a reader; ``batch_features`` is also compared."""
    batches: set[int] = field(default_factory=set)
    features: set[int] = field(default_factory=set)

    @staticmethod
    def files(path: Path) -> set[Path]:
        """The state file and its temporary twin, resolved (left out of the fingerprint)."""
        return {Path(path).resolve(), Path(str(path) + ".tmp").resolve()}

    @classmethod
    def load(
        cls, path: Path, fingerprint: str, identity: dict[str, str]
    ) -> tuple[UploadState, str]:
        """The state for this export (empty when there is none or it is another's) and a note."""
        fresh = cls(path, fingerprint, identity)
        if not path.exists():
            return fresh, ""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
                raise ValueError("not a version-1 upload state")
            same = data.get("fingerprint") == fingerprint
            batches = {int(b) for b in data.get("accepted_batches", [])}
            if data.get("batch_features") != identity["batch_features"]:
                batches = set()  # numbered for another batch size; the features still count
            features = {
                i for lo, hi in data.get("accepted_features", []) for i in range(lo, hi + 1)
            }
        except (OSError, ValueError, TypeError) as exc:
            raise InvalidInputError(
                f"upload state file {path} cannot be read ({exc}); delete it to upload from "
                "the first batch (features already on Neuronpedia would get their examples twice)"
            ) from None
        if not same:
            return fresh, (
                f"state file {path.name} is from another export or instance; starting afresh"
            )
        fresh.batches, fresh.features = batches, features
        return fresh, ""

    def save(self) -> None:
        data = {
            "version": STATE_VERSION,
            **self.identity,
            "fingerprint": self.fingerprint,
            "updated_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "accepted_batches": sorted(self.batches),
            "accepted_features": _ranges(self.features),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        tmp.write_text(json.dumps(data), encoding="utf-8")
        os.replace(tmp, self.path)


def _ranges(indices: set[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for i in sorted(indices):
        if out and out[-1][1] == i - 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out
