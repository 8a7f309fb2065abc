"""Label history: every label a latent ever had, one ``label_versions`` row each, and which one
is current.

Decisions:

* **The feature row stays the place labels are read from.** Its label columns (``label``,
  ``category``, ``description``, ``label_status``, ``label_confidence``, ``label_method``,
  ``label_model``, ``detection_score``, ``fuzzing_score``, ``interpretability``) are a copy of the
  current version, written in the same transaction that makes a version current. So search
  (FTS5 / tsvector over ``features``), sorting, the semantic index and the Neuronpedia export
  keep reading one indexed row per latent and never join the history.
* **Every write appends.** A labelling run (:func:`record_run_labels`), a hand edit
  (:func:`record_manual`) and a relabel of one latent (a one-latent run) each add a version;
  nothing is overwritten. Making an older version current (:func:`make_current`) moves the
  ``is_current`` mark and copies the version back into the row; it adds nothing.
* **A hand-edited label is the researcher's.** While a latent's current version is a hand edit
  with a label (``label_method = 'manual'`` and ``label_status = 'labelled'``), a run records its
  version but leaves the manual one current, unless the run was started with
  ``overwrite_manual``. A hand edit that cleared the label protects nothing: the latent is
  unlabelled again, and runs over unlabelled latents should label it.
* **Idempotent runs.** A run adds at most one version per latent (keyed by ``labeling_id`` and
  ``feature_id``): a retried job replays its log, and a label already recorded only gets the
  scores it may have gained since (stored on that version, and on the row if it is current).
* **Best-scored** is the version with the highest mean of detection and fuzzing balanced
  accuracy (``score``; either alone when only one was run; ties go to the newest). Latents with
  no scored version show their current label.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Float, Select, Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from mistudio.store.tables import Feature, LabelVersion, utcnow

PROTECTED_METHOD = "manual"
"""``label_method`` of a hand edit: a run does not replace it unless asked to."""


def mean_score(detection: float | None, fuzzing: float | None) -> float | None:
    """Mean of the balanced accuracies present (None when neither is)."""
    values = [v for v in (detection, fuzzing) if v is not None]
    return sum(values) / len(values) if values else None


def is_protected(label_method: str | None, label_status: str | None) -> bool:
    """Whether a latent's current label is a hand edit a run must not replace by default."""
    return label_method == PROTECTED_METHOD and label_status == "labelled"


def versions_of(session: Session, feature_id: int) -> Sequence[LabelVersion]:
    """A latent's label history, newest first."""
    return session.scalars(
        select(LabelVersion)
        .where(LabelVersion.feature_id == feature_id)
        .order_by(LabelVersion.created_at.desc(), LabelVersion.id.desc())
    ).all()


def _demote(session: Session, feature_ids: Iterable[int]) -> None:
    ids = list(feature_ids)
    if ids:
        session.execute(
            update(LabelVersion)
            .where(LabelVersion.feature_id.in_(ids), LabelVersion.is_current.is_(True))
            .values(is_current=False)
        )


def copy_to_feature(feature: Feature, version: LabelVersion) -> None:
    """Make the feature row's label columns those of ``version``."""
    feature.label = version.label
    feature.category = version.category
    feature.description = version.description
    feature.label_status = version.status
    feature.label_confidence = version.confidence
    feature.label_method = version.method
    feature.label_model = version.model
    feature.detection_score = version.detection_score
    feature.fuzzing_score = version.fuzzing_score
    score = mean_score(version.detection_score, version.fuzzing_score)
    feature.interpretability = score if score is not None else feature.interpretability_proxy


def record_manual(session: Session, feature: Feature, keep_scores: bool) -> LabelVersion:
    """Append the feature row's label as edited by hand, as its current version.

    ``keep_scores``: the label text did not change (only its category or description), so the
    scores measured for it still hold; otherwise a hand-written label has none yet.
    """
    feature.label_method, feature.label_model, feature.label_confidence = "manual", None, None
    feature.label_status = "labelled" if feature.label else None
    if not keep_scores:
        feature.detection_score = feature.fuzzing_score = None
    now = utcnow()
    feature.labeled_at = now
    version = LabelVersion(
        feature_id=feature.id,
        extraction_id=feature.extraction_id,
        label=feature.label,
        category=feature.category,
        description=feature.description,
        status=feature.label_status,
        method="manual",
        detection_score=feature.detection_score,
        fuzzing_score=feature.fuzzing_score,
        score=mean_score(feature.detection_score, feature.fuzzing_score),
        source="manual",
        is_current=True,
        created_at=now,
    )
    _demote(session, [feature.id])
    session.add(version)
    copy_to_feature(feature, version)
    session.flush()
    return version


def make_current(session: Session, feature: Feature, version: LabelVersion) -> None:
    """Make ``version`` (one of ``feature``'s) current: the row's label columns follow it."""
    if not version.is_current:
        _demote(session, [feature.id])
        session.flush()
        version.is_current = True
    copy_to_feature(feature, version)
    feature.labeled_at = utcnow()  # the semantic index reads labels changed after it was built
    session.flush()


def current_versions(session: Session, feature_ids: Sequence[int]) -> dict[int, LabelVersion]:
    """feature id -> its current version, for the latents that have one."""
    if not feature_ids:
        return {}
    rows = session.scalars(
        select(LabelVersion).where(
            LabelVersion.feature_id.in_(list(feature_ids)), LabelVersion.is_current.is_(True)
        )
    )
    return {v.feature_id: v for v in rows}


def best_versions(session: Session, feature_ids: Sequence[int]) -> dict[int, LabelVersion]:
    """feature id -> its best-scored version, for the latents with a scored version."""
    if not feature_ids:
        return {}
    rows = session.scalars(
        select(LabelVersion).where(
            LabelVersion.feature_id.in_(list(feature_ids)), LabelVersion.score.is_not(None)
        )
    )
    best: dict[int, LabelVersion] = {}
    for v in rows:
        held = best.get(v.feature_id)
        if held is None or (v.score, v.id) > (held.score, held.id):
            best[v.feature_id] = v
    return best


def best_score_query(extraction_id: int) -> Select[int, float | None]:
    """``(feature_id, best)``: each scored latent's highest version score (an index-only
    read of ``ix_label_versions_best``), to outer-join for the best-scored view's sort."""
    return (
        select(LabelVersion.feature_id, func.max(LabelVersion.score).label("best"))
        .where(LabelVersion.extraction_id == extraction_id, LabelVersion.score.is_not(None))
        .group_by(LabelVersion.feature_id)
    )


_FEATURES: Table = Feature.__table__  # type: ignore[assignment]
_VERSIONS: Table = LabelVersion.__table__  # type: ignore[assignment]
_UPDATE_FEATURE = (
    update(_FEATURES)
    .where(_FEATURES.c.id == bindparam("b_id"))
    .values(
        label=bindparam("b_label"),
        category=bindparam("b_category"),
        description=bindparam("b_description"),
        label_status=bindparam("b_status"),
        label_confidence=bindparam("b_confidence", type_=Float),
        label_method=bindparam("b_method"),
        label_model=bindparam("b_model"),
        detection_score=bindparam("b_detection", type_=Float),
        fuzzing_score=bindparam("b_fuzzing", type_=Float),
        interpretability=func.coalesce(
            bindparam("b_score", type_=Float), _FEATURES.c.interpretability_proxy
        ),
        labeled_at=bindparam("b_at"),
    )
)
_UPDATE_SCORES = (
    update(_VERSIONS)
    .where(_VERSIONS.c.id == bindparam("b_version"))
    .values(
        detection_score=bindparam("b_detection", type_=Float),
        fuzzing_score=bindparam("b_fuzzing", type_=Float),
        score=bindparam("b_score", type_=Float),
    )
)
_UPDATE_FEATURE_SCORES = (
    update(_FEATURES)
    .where(_FEATURES.c.id == bindparam("b_id"))
    .values(
        detection_score=bindparam("b_detection", type_=Float),
        fuzzing_score=bindparam("b_fuzzing", type_=Float),
        interpretability=func.coalesce(
            bindparam("b_score", type_=Float), _FEATURES.c.interpretability_proxy
        ),
    )
)


@dataclass
class _Target:
    """A latent a run's label goes to: its row id and current label's method and status."""

    id: int
    label_method: str | None
    label_status: str | None


@dataclass
class RunLabel:
    """One label of a labelling run, as the job hands it to :func:`record_run_labels`."""

    index: int
    label: str | None
    category: str | None
    description: str | None
    status: str
    confidence: float | None
    method: str
    model: str | None
    detection: float | None
    fuzzing: float | None
    created: Any
    """When the run wrote it (a timezone-aware datetime)."""


@dataclass
class RunWrite:
    """What one batch of a run did."""

    recorded: set[int] = field(default_factory=set)
    """Latent indices whose version is in the history (new, or from an earlier attempt)."""
    kept_manual: set[int] = field(default_factory=set)
    """Indices whose hand-edited current label was kept (their new version is not current)."""


def record_run_labels(
    session: Session,
    extraction_id: int,
    labeling_id: int,
    labels: Sequence[RunLabel],
    *,
    overwrite_manual: bool = False,
    template: str | None = None,
    template_hash: str | None = None,
) -> RunWrite:
    """Append one batch of a run's labels to the history and make each current unless its
    latent's current label is a hand edit (and ``overwrite_manual`` is off); see the module
    docstring for replays."""

    out = RunWrite()
    by_index = {lab.index: lab for lab in labels}  # one per latent (the last, if repeated)
    if not by_index:
        return out
    rows = session.execute(
        select(Feature.index, Feature.id, Feature.label_method, Feature.label_status)
        .where(Feature.extraction_id == extraction_id, Feature.index.in_(list(by_index)))
        .with_for_update()  # PostgreSQL: a hand edit of the same latent waits for this batch
    ).all()
    features = {index: _Target(fid, method, status) for index, fid, method, status in rows}
    earlier = {
        v.feature_id: v
        for v in session.execute(
            select(LabelVersion.id, LabelVersion.feature_id, LabelVersion.is_current).where(
                LabelVersion.labeling_id == labeling_id,
                LabelVersion.feature_id.in_([t.id for t in features.values()]),
            )
        )
    }
    new_versions: list[dict[str, Any]] = []
    feature_updates: list[dict[str, Any]] = []
    score_updates: list[dict[str, Any]] = []
    current_score_updates: list[dict[str, Any]] = []
    for index, lab in by_index.items():
        feature = features.get(index)
        if feature is None:  # not a latent of this extraction
            continue
        out.recorded.add(index)
        score = mean_score(lab.detection, lab.fuzzing)
        protected = is_protected(feature.label_method, feature.label_status)
        previous = earlier.get(feature.id)
        if previous is not None:  # a replay: the version exists; keep any scores it gained
            if not previous.is_current and protected:
                out.kept_manual.add(index)
            if score is not None:
                scores = {"b_detection": lab.detection, "b_fuzzing": lab.fuzzing, "b_score": score}
                score_updates.append({"b_version": previous.id, **scores})
                if previous.is_current:
                    current_score_updates.append({"b_id": feature.id, **scores})
            continue
        current = overwrite_manual or not protected
        if not current:
            out.kept_manual.add(index)
        new_versions.append(
            {
                "feature_id": feature.id,
                "extraction_id": extraction_id,
                "label": lab.label,
                "category": lab.category,
                "description": lab.description,
                "status": lab.status,
                "confidence": lab.confidence,
                "method": lab.method,
                "model": lab.model,
                "template": template,
                "template_hash": template_hash,
                "detection_score": lab.detection,
                "fuzzing_score": lab.fuzzing,
                "score": score,
                "source": "labeling",
                "labeling_id": labeling_id,
                "is_current": current,
                "created_at": lab.created,
            }
        )
        if current:
            feature_updates.append(
                {
                    "b_id": feature.id,
                    "b_label": lab.label,
                    "b_category": lab.category,
                    "b_description": lab.description,
                    "b_status": lab.status,
                    "b_confidence": lab.confidence,
                    "b_method": lab.method,
                    "b_model": lab.model,
                    "b_detection": lab.detection,
                    "b_fuzzing": lab.fuzzing,
                    "b_score": score,
                    "b_at": lab.created,
                }
            )
    connection = session.connection()
    _demote(session, [u["b_id"] for u in feature_updates])
    if new_versions:
        connection.execute(insert(_VERSIONS), new_versions)
    if feature_updates:
        connection.execute(_UPDATE_FEATURE, feature_updates)
    if score_updates:
        connection.execute(_UPDATE_SCORES, score_updates)
    if current_score_updates:
        connection.execute(_UPDATE_FEATURE_SCORES, current_score_updates)
    return out
