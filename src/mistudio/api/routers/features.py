"""``/features``: browse an extraction's latents: search, sort, favourites, labels and their
history.

One row per latent in ``features``; the list is answered by indexed SQL (see
:mod:`mistudio.store.features`), so a 65k-latent SAE pages as fast as a 4k one.

Label history (``/features/{id}/labels``): every label a latent has had is a version
(:mod:`mistudio.store.label_versions`): from runs, hand edits, one-latent relabels, and the labels
that existed before the history did. It is answered newest first and not paged (one version per
run and edit of that latent). Making a version current adds nothing: the row's label columns
follow it, and so do search, sorting, the semantic index and exports. The list's
``label_view=best`` shows each latent's best-scored version instead of its current one.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from mistudio.api.deps import (
    BigDbId,
    DbId,
    Page,
    PagingDep,
    SessionDep,
    get_or_404,
    open_extraction,
)
from mistudio.api.errors import ApiError
from mistudio.api.labeling_runs import (
    LabelingJobOut,
    RelabelRequest,
    checked_config,
    ready_extraction,
    start_labeling,
)
from mistudio.api.loaded_models import model_and_sae
from mistudio.core.config import DocumentedModel
from mistudio.core.features.ablation import ablate_latent, compare_completions, example_batch
from mistudio.core.features.list_windows import first_example_windows
from mistudio.core.labeling.config import LabelingSelection
from mistudio.errors import MiStudioError, NotFoundError
from mistudio.store import Extraction, Feature, LabelVersion, LanguageModel, SAERow, as_utc
from mistudio.store.features import (
    INTERPRETABLE_SCORE,
    FeatureRanges,
    FeatureSort,
    LabelView,
    invalidate_counts,
    list_features,
    summarise_features,
)
from mistudio.store.label_versions import best_versions, make_current, record_manual, versions_of
from mistudio.store.model_load import model_load_config
from mistudio.store.semantic_search import semantic_search

router = APIRouter(prefix="/features", tags=["features"])


class WordOut(DocumentedModel):
    """Tokens ``start .. end - 1`` of a window read as one word."""

    start: int
    """Index of the word's first token."""
    end: int
    """One past its last token."""
    text: str
    """What the tokens read as together (characters split over byte tokens merged)."""


class FeatureWindow(DocumentedModel):
    """A short window of one example: each token decoded on its own, and the latent's
    activation at each."""

    tokens: list[str]
    """The window's tokens, each decoded on its own."""
    acts: list[float]
    """The latent's activation at each token."""
    center: int
    """Index into ``tokens`` of the token the example was chosen for."""
    value: float
    """Activation at ``center``."""
    words: list[WordOut] = []
    """The tokens grouped into words, for display (empty: show the tokens)."""


class FeatureOut(DocumentedModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    """The feature row's id (one row per latent of an extraction)."""
    extraction_id: int
    """The extraction that measured this latent."""
    sae_id: int
    """The SAE the latent belongs to."""
    index: int
    """Latent index in the SAE (0..d_sae-1)."""
    frequency: float | None
    """Fraction of evaluated tokens on which the latent fired."""
    max_activation: float | None
    """Largest activation seen over the evaluation tokens."""
    mean_activation: float | None
    """Mean activation over the tokens where the latent fired."""
    interpretability: float | None
    """The label's score (mean detection/fuzzing balanced accuracy) when a labelling run scored
    it, else ``interpretability_proxy``."""
    interpretability_proxy: float | None
    """The extraction's label-free estimate."""
    label: str | None
    """Short human-readable label (from a labelling run or a hand edit)."""
    category: str | None
    """Free-form category (e.g. ``syntax``, ``code``), set by a label or by hand."""
    description: str | None
    """Longer explanation of what the latent responds to."""
    label_status: str | None
    """``labelled`` / ``unclear``; None when never labelled."""
    label_confidence: float | None
    """0..1 as stated by the labelling method (rules: share of activation mass explained)."""
    label_method: str | None
    """``rules``, ``local``, ``ollama``, ``openai``, or ``manual`` for a hand edit."""
    label_model: str | None
    """Model that wrote the label (None for rules and hand edits)."""
    detection_score: float | None
    """Detection balanced accuracy of the label, when scored."""
    fuzzing_score: float | None
    """Fuzzing balanced accuracy of the label, when scored."""
    labeled_at: dt.datetime | None
    """When label, category or description last changed."""
    starred: bool
    """Marked by a researcher (a filter in the browser)."""
    top_tokens: str | None
    """The latent's top tokens joined by spaces (searchable text)."""
    ling_category: str | None = None
    """Dominant linguistic category of its top examples (a part of speech such as ``VERB``, or
    ``code:<class>``); None until the extraction's linguistic analysis ran."""
    ling_share: float | None = None
    """Share of the analysed examples in ``ling_category``."""
    ling_code_share: float | None = None
    """Share of the analysed examples whose window reads as code."""
    ling_summary: str | None = None
    """One line: ``82% verbs; lemmas: say/tell/ask``, ``Python keyword `def` (92%)``."""
    example: FeatureWindow | None = None
    """The latent's top example, cut to ~16 tokens around its centre (list pages only, with
    ``include_example``; None elsewhere and when the extraction has no arrays)."""
    best_version_id: int | None = None
    """List pages with ``label_view=best`` only: the label version these label fields and scores
    come from, when the latent's best-scored version is not its current one (None: the row shows
    its current label)."""


class FeatureUpdate(DocumentedModel):
    """Fields a researcher edits; omitted fields are left as they are."""

    label: str | None = Field(default=None, max_length=500)
    """New label."""
    description: str | None = Field(default=None, max_length=5000)
    """New description."""
    category: str | None = Field(default=None, max_length=64)
    """New category."""
    starred: bool | None = None
    """Star or unstar the feature."""


def _bound(description: str, ge: float | None = None, le: float | None = None) -> Any:
    return Query(None, ge=ge, le=le, allow_inf_nan=False, description=description)


def feature_ranges(
    min_frequency: float | None = _bound("Activation rate at least this (0..1)", 0, 1),
    max_frequency: float | None = _bound("Activation rate at most this (0..1)", 0, 1),
    min_max_activation: float | None = _bound("Max activation at least this"),
    max_max_activation: float | None = _bound("Max activation at most this"),
    min_score: float | None = _bound("Label score at least this (0..1; unscored excluded)", 0, 1),
    max_score: float | None = _bound("Label score at most this (0..1; unscored excluded)", 0, 1),
    labeling_id: DbId | None = Query(
        None,
        description="Only latents this labelling run labelled; the score range then applies to "
        "that run's label",
    ),
    ling_category: str | None = Query(
        None,
        max_length=32,
        description="Dominant linguistic category of the top examples: a part of speech "
        "(VERB, NOUN, PROPN, ...) or code:<class> (code:keyword, code:identifier, ...)",
    ),
    min_ling_share: float | None = _bound(
        "Share of the top examples in the dominant category at least this (0..1)", 0, 1
    ),
    max_ling_share: float | None = _bound("That share at most this (0..1)", 0, 1),
) -> FeatureRanges:
    """The list's range filters, each pair checked in order (one line when reversed)."""
    for name, lo, hi in (
        ("frequency", min_frequency, max_frequency),
        ("max_activation", min_max_activation, max_max_activation),
        ("score", min_score, max_score),
        ("ling_share", min_ling_share, max_ling_share),
    ):
        if lo is not None and hi is not None and lo > hi:
            raise ApiError(422, f"min_{name} ({lo:g}) is above max_{name} ({hi:g})")
    return FeatureRanges(
        min_frequency=min_frequency,
        max_frequency=max_frequency,
        min_max_activation=min_max_activation,
        max_max_activation=max_max_activation,
        min_score=min_score,
        max_score=max_score,
        labeling_id=labeling_id,
        ling_category=ling_category or None,
        min_ling_share=min_ling_share,
        max_ling_share=max_ling_share,
    )


RangesDep = Annotated[FeatureRanges, Depends(feature_ranges)]


@router.get("", operation_id="list_features", response_model=Page[FeatureOut])
def list_features_route(
    session: SessionDep,
    paging: PagingDep,
    ranges: RangesDep,
    extraction_id: DbId = Query(..., description="Whose features"),
    q: str | None = Query(
        None,
        max_length=500,
        description="Words in label, description or top tokens, or an index",
    ),
    sort: FeatureSort = "index",
    order: Literal["asc", "desc"] = "asc",
    starred: bool | None = Query(None, description="Only favourites (true) or only others"),
    category: str | None = None,
    include_example: bool = Query(
        True, description="Add each row's top example window (sliced from the extraction)"
    ),
    label_view: LabelView = Query(
        "current",
        description="Show each latent's current label, or its best-scored version (highest mean "
        "of detection and fuzzing; the score sorts rank by it too)",
    ),
) -> Page[FeatureOut]:
    """List the latents of an extraction: search, filter by label, star, category, ranges of
    frequency, max activation and label score, or a labelling run's latents; sort."""
    extraction = get_or_404(session, Extraction, extraction_id, "extraction")
    rows, total = list_features(
        session,
        extraction_id,
        search=q,
        starred=starred,
        category=category,
        sort=sort,
        descending=order == "desc",
        offset=paging.offset,
        limit=paging.limit,
        cache_total=extraction.status == "ready",
        cache_version=extraction.updated_at,
        label_view=label_view,
        ranges=ranges,
    )
    items = [FeatureOut.model_validate(r) for r in rows]
    if label_view == "best":
        show_best(session, items)
    if include_example and items and extraction.path:
        windows = _top_windows(extraction.path, [item.index for item in items])
        for item in items:
            item.example = windows.get(item.index)
    return Page(
        items=items,
        total=total,
        offset=paging.offset,
        limit=paging.limit,
    )


class FeatureSummaryOut(DocumentedModel):
    """Aggregates over an extraction's matching latents (the browser's summary strip)."""

    n: int
    """Latents matching the filters."""
    dead: int
    """Never active over the evaluation tokens."""
    labelled: int
    """With a label (status ``labelled``)."""
    scored: int
    """With a scored label."""
    interpretable: int
    """Scored at least ``interpretable_score``."""
    interpretable_score: float
    """The score from which a label counts as interpretable (0.5 is chance)."""
    mean_frequency: float | None
    """Mean activation rate (fraction of evaluation tokens a latent fires on)."""
    mean_score: float | None
    """Mean label score of the scored latents."""


@router.get("/summary", operation_id="summarise_features", response_model=FeatureSummaryOut)
def summarise_features_route(
    session: SessionDep,
    ranges: RangesDep,
    extraction_id: DbId = Query(..., description="Whose features"),
    q: str | None = Query(None, max_length=500, description="As for the list"),
    starred: bool | None = Query(None, description="As for the list"),
    category: str | None = None,
) -> FeatureSummaryOut:
    """Counts, interpretable share and mean activation rate over the latents the list would
    show with the same filters (one aggregate query)."""
    get_or_404(session, Extraction, extraction_id, "extraction")
    summary = summarise_features(
        session, extraction_id, search=q, starred=starred, category=category, ranges=ranges
    )
    return FeatureSummaryOut(**asdict(summary), interpretable_score=INTERPRETABLE_SCORE)


def show_best(session: Session, items: list[FeatureOut]) -> None:
    """Put each latent's best-scored label version in its row where that is not the current
    one (``label_view=best``)."""
    best = best_versions(session, [item.id for item in items])
    for item in items:
        version = best.get(item.id)
        if version is None or version.is_current:
            continue
        item.label, item.category, item.description = (
            version.label,
            version.category,
            version.description,
        )
        item.label_status, item.label_confidence = version.status, version.confidence
        item.label_method, item.label_model = version.method, version.model
        item.detection_score, item.fuzzing_score = version.detection_score, version.fuzzing_score
        item.interpretability = version.score
        item.best_version_id = version.id


class SemanticHit(DocumentedModel):
    feature: FeatureOut
    """The matching feature."""
    similarity: float
    """Cosine similarity of the query to the feature's "label. category. description"."""


@router.get("/semantic", operation_id="semantic_search_features", response_model=list[SemanticHit])
def semantic_search_features(
    session: SessionDep,
    extraction_id: DbId = Query(..., description="Whose labelled features"),
    q: str = Query(..., min_length=1, max_length=500, description="What the feature is about"),
    k: int = Query(20, ge=1, le=200, description="Hits to return"),
) -> list[SemanticHit]:
    """Labelled features ranked by meaning (all-MiniLM-L6-v2 embeddings of their labels). The
    index is built on the first search of an extraction and rebuilt when its labels change."""

    extraction = get_or_404(session, Extraction, extraction_id, "extraction")
    return [
        SemanticHit(feature=FeatureOut.model_validate(row), similarity=similarity)
        for row, similarity in semantic_search(session, extraction, q, k)
    ]


@router.get("/{feature_id}", operation_id="get_feature", response_model=FeatureOut)
def get_feature(feature_id: BigDbId, session: SessionDep) -> FeatureOut:
    """One latent's page: statistics, top examples, histogram, logit lens, correlated latents."""
    return FeatureOut.model_validate(get_or_404(session, Feature, feature_id, "feature"))


class FeatureDetail(DocumentedModel):
    """One latent's page, sliced from the extraction's arrays."""

    feature: FeatureOut
    """The feature row."""
    stats: dict[str, Any]
    """Statistics of the latent (frequency, max and mean activation, quantiles)."""
    examples: list[dict[str, Any]]
    """Top-activating examples, each a token window with activations."""
    histogram: dict[str, Any]
    """Log-spaced histogram of the latent's activations."""
    logit_lens: dict[str, Any]
    """Tokens the latent's decoder direction promotes and suppresses most."""
    correlated: dict[str, Any]
    """Co-activating latents and nearest decoder neighbours."""


def _top_windows(path: str, indices: list[int]) -> dict[int, FeatureWindow]:
    """Each latent's first top example, cut around its centre
    (:func:`~mistudio.core.features.list_windows.first_example_windows`)."""
    try:
        result = open_extraction(path)
    except MiStudioError:  # an incomplete or older folder: rows without examples
        return {}
    windows = first_example_windows(result, indices)
    return {i: FeatureWindow.model_validate(asdict(w)) for i, w in windows.items()}


@router.get("/{feature_id}/detail", operation_id="get_feature_detail", response_model=FeatureDetail)
def get_feature_detail(
    feature_id: BigDbId,
    session: SessionDep,
    examples: int = Query(20, ge=0, le=200, description="Top examples to include"),
) -> FeatureDetail:
    """Statistics, top examples (text as token strings; render as text), activation histogram,
    logit lens and correlated latents of one latent."""
    row = get_or_404(session, Feature, feature_id, "feature")
    extraction = get_or_404(session, Extraction, row.extraction_id, "extraction")
    if not extraction.path:
        raise ApiError(
            409, f"extraction {extraction.id} has no arrays (status {extraction.status})"
        )
    result = open_extraction(extraction.path)
    tokenizer = result.tokenizer()
    hist = result.histogram(row.index)
    lens = result.logit_lens(row.index, tokenizer)
    return FeatureDetail(
        feature=FeatureOut.model_validate(row),
        stats=asdict(result.stats(row.index, tokenizer)),
        examples=[asdict(e) for e in result.examples(row.index, tokenizer, limit=examples)],
        histogram={"edges": hist.edges.tolist(), "counts": hist.counts.tolist()},
        logit_lens={
            "positive": [[t, v] for t, v in lens.positive],
            "negative": [[t, v] for t, v in lens.negative],
            "positive_text": lens.positive_text,
            "negative_text": lens.negative_text,
            "hist_counts": lens.hist_counts.tolist(),
            "hist_range": list(lens.hist_range),
        },
        correlated={
            k: [[i, v] for i, v in pairs]
            for k, pairs in asdict(result.correlated(row.index)).items()
        },
    )


@router.patch("/{feature_id}", operation_id="update_feature", response_model=FeatureOut)
def update_feature(feature_id: BigDbId, body: FeatureUpdate, session: SessionDep) -> FeatureOut:
    """Edit a latent's label, description or category, or star it."""
    row = get_or_404(session, Feature, feature_id, "feature")
    changes = body.model_dump(exclude_unset=True)
    old_label = row.label
    for field, value in changes.items():
        setattr(row, field, value)
    if changes.keys() & {"label", "description", "category"}:
        # A hand edit: a new current version in the latent's history, the researcher's now
        # (runs keep it; the semantic index is stale). Scores stay only with the same label text.
        record_manual(session, row, keep_scores=row.label == old_label)
    session.commit()
    invalidate_counts(row.extraction_id)
    return FeatureOut.model_validate(row)


@router.post("/{feature_id}/star", operation_id="toggle_feature_star", response_model=FeatureOut)
def toggle_star(feature_id: BigDbId, session: SessionDep) -> FeatureOut:
    """Flip the favourite flag."""
    row = get_or_404(session, Feature, feature_id, "feature")
    row.starred = not row.starred
    session.commit()
    invalidate_counts(row.extraction_id)
    return FeatureOut.model_validate(row)


@router.post(
    "/{feature_id}/relabel",
    operation_id="relabel_feature",
    response_model=LabelingJobOut,
    status_code=202,
)
def relabel_feature(
    feature_id: BigDbId, body: RelabelRequest, session: SessionDep
) -> LabelingJobOut:
    """Label one feature again (a one-latent ``label`` job; its row changes when it is done)."""
    row = get_or_404(session, Feature, feature_id, "feature")
    extraction = ready_extraction(session, row.extraction_id)
    config = checked_config(session, body.config, body.template_id)
    selection = LabelingSelection(indices=[row.index], only_unlabelled=False)
    run = start_labeling(
        session, extraction, config, selection, f"relabel {row.index} ({config.method})"
    )
    return LabelingJobOut.model_validate(run)


class LabelVersionOut(DocumentedModel):
    """One label a latent has had."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    """The version's id."""
    feature_id: int
    """The feature row (latent) it labels."""
    label: str | None
    """The label text (None: a hand edit that cleared it)."""
    category: str | None
    """Its category."""
    description: str | None
    """Its longer description."""
    status: str | None
    """``labelled`` or ``unclear`` (the method found no pattern); None for a cleared label."""
    confidence: float | None
    """0..1 as stated by the method."""
    method: str | None
    """``rules``, ``local``, ``ollama``, ``openai`` or ``manual``."""
    model: str | None
    """Model that wrote it (None for rules and hand edits)."""
    template: str | None
    """Name of the prompt template an LLM method used."""
    template_hash: str | None
    """First 12 hex digits of the SHA-256 of that template's full text."""
    detection_score: float | None
    """Detection balanced accuracy, when scored."""
    fuzzing_score: float | None
    """Fuzzing balanced accuracy, when scored."""
    score: float | None
    """Mean of the scores present (what best-scored ranks by)."""
    source: str
    """``labeling`` (a run: ``labeling_id``), ``manual`` (a hand edit) or ``backfill`` (a label
    from before the history existed)."""
    labeling_id: int | None
    """The labelling run that wrote it (None for hand edits, backfilled labels and deleted
    runs)."""
    is_current: bool
    """Whether the feature row shows this version now."""
    created_at: dt.datetime
    """When it was written."""

    @field_validator("created_at", mode="after")
    @classmethod
    def _utc(cls, value: dt.datetime) -> dt.datetime:
        return as_utc(value) or value


def _version_of(session: SessionDep, feature: Feature, version_id: int) -> LabelVersion:
    version = session.get(LabelVersion, version_id)
    if version is None or version.feature_id != feature.id:
        raise NotFoundError(f"feature {feature.id} has no label version {version_id}")
    return version


@router.get(
    "/{feature_id}/labels",
    operation_id="list_feature_labels",
    response_model=list[LabelVersionOut],
)
def list_feature_labels(feature_id: BigDbId, session: SessionDep) -> list[LabelVersionOut]:
    """Every label the latent has had, newest first; the current one has ``is_current``."""
    get_or_404(session, Feature, feature_id, "feature")
    return [LabelVersionOut.model_validate(v) for v in versions_of(session, feature_id)]


@router.post(
    "/{feature_id}/labels/{version_id}/current",
    operation_id="make_feature_label_current",
    response_model=FeatureOut,
)
def make_feature_label_current(
    feature_id: BigDbId, version_id: BigDbId, session: SessionDep
) -> FeatureOut:
    """Make one of the latent's label versions current again: the feature's label, category,
    description, method, model and scores become that version's (nothing is added to the
    history). A hand-edited version made current is protected from runs again."""
    feature = get_or_404(session, Feature, feature_id, "feature")
    make_current(session, feature, _version_of(session, feature, version_id))
    session.commit()
    invalidate_counts(feature.extraction_id)
    return FeatureOut.model_validate(feature)


class AblationRequest(DocumentedModel):
    prompt: str | None = Field(default=None, max_length=4000)
    """When given, also greedy-complete it with and without the latent."""
    max_new_tokens: int = Field(default=20, ge=1, le=200)
    """Tokens of each greedy completion of ``prompt``."""
    coefficient: float = Field(default=1.0, ge=-10.0, le=10.0, allow_inf_nan=False)
    """1 removes the latent, 0 changes nothing, -1 doubles it."""
    n_examples: int = Field(default=8, ge=1, le=32)
    """Top examples (context windows) the loss is measured on."""


class TokenShiftOut(DocumentedModel):
    id: int
    """Token id."""
    token: str
    """The token decoded on its own."""
    delta: float
    """Mean change of its next-token probability over the evaluated positions."""


class CompletionOut(DocumentedModel):
    prompt: str
    """The prompt that was completed."""
    clean: str
    """Greedy continuation without the edit."""
    ablated: str
    """Greedy continuation with the latent ablated."""


class AblationOut(DocumentedModel):
    """What ablating one latent (``x -> x - c * f_i(x) * W_dec[i]`` at the SAE's output hook)
    did to next-token prediction on its top examples, and to a prompt's completion."""

    feature_id: int
    """The feature row ablated."""
    index: int
    """Its latent index in the SAE."""
    coefficient: float
    """The ablation coefficient used (1 removes the latent)."""
    n_examples: int
    """Top-example windows evaluated."""
    n_tokens: int
    """Next-token positions evaluated."""
    loss_clean: float
    """Mean next-token cross-entropy (nats) without the edit."""
    loss_ablated: float
    """Mean next-token cross-entropy (nats) with the latent ablated."""
    delta_loss: float
    """``loss_ablated - loss_clean``: positive when removing the latent hurts."""
    perplexity_clean: float | None
    """exp(loss_clean); None when it overflows."""
    perplexity_ablated: float | None
    """exp(loss_ablated); None when it overflows."""
    most_decreased: list[TokenShiftOut]
    """Tokens whose probability fell most on average."""
    most_increased: list[TokenShiftOut]
    """Tokens whose probability rose most on average."""
    completion: CompletionOut | None
    """With a ``prompt``: greedy completions with and without the latent."""
    seconds: float
    """Wall time of the request's computation (model loading included)."""


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


@router.post("/{feature_id}/ablation", operation_id="ablate_feature", response_model=AblationOut)
def ablate_feature(feature_id: int, body: AblationRequest, session: SessionDep) -> AblationOut:
    """Remove the latent (scaled by ``coefficient``) at its SAE's output hook and measure the
    next-token loss, perplexity and most-moved tokens on its top examples; with a ``prompt``,
    also its greedy completion with and without the latent.

    **Synchronous**: answered in the API process in about a second or a few (the model of the
    feature's extraction is loaded on first use and kept; requests take turns on it)."""

    row = get_or_404(session, Feature, feature_id, "feature")
    extraction = get_or_404(session, Extraction, row.extraction_id, "extraction")
    if not extraction.path:
        raise ApiError(
            409, f"extraction {extraction.id} has no arrays (status {extraction.status})"
        )
    model = session.get(LanguageModel, extraction.model_id) if extraction.model_id else None
    sae = session.get(SAERow, row.sae_id)
    if model is None:
        raise ApiError(409, f"the model of extraction {extraction.id} is gone")
    if sae is None or not sae.path:
        raise ApiError(409, f"the SAE of extraction {extraction.id} has no weights")
    load_config, sae_path, hook_name = model_load_config(model), sae.path, sae.hook_name
    result = open_extraction(extraction.path)
    if not 0 <= row.index < result.d_sae:
        raise ApiError(409, f"latent {row.index} is not in extraction {extraction.id}")
    started = time.perf_counter()
    with model_and_sae(load_config, sae_path) as (loaded, sae_module):
        if row.index >= sae_module.cfg.d_sae:
            raise ApiError(409, f"latent {row.index} is not in SAE {sae.id}")
        meta = sae_module.cfg.metadata
        hook = None
        if not (meta.get("hook_name_out") or meta.get("hook_name") or meta.get("hf_hook_name")):
            hook = hook_name or result.meta.hook_name
        bos = getattr(loaded.tokenizer, "bos_token_id", None)
        batch = example_batch(result, row.index, body.n_examples, bos)
        if batch is None:
            raise ApiError(
                409, f"latent {row.index} has no top examples to ablate on (it never fired)"
            )
        input_ids, mask = batch
        ablation = ablate_latent(
            loaded, sae_module, row.index, input_ids, mask, body.coefficient, hook=hook
        )
        completion = None
        if body.prompt:
            comparison = compare_completions(
                loaded,
                sae_module,
                row.index,
                body.prompt,
                max_new_tokens=body.max_new_tokens,
                coefficient=body.coefficient,
                hook=hook,
            )
            completion = CompletionOut(**asdict(comparison))
    return AblationOut(
        feature_id=row.id,
        index=row.index,
        coefficient=body.coefficient,
        n_examples=int(input_ids.shape[0]),
        n_tokens=ablation.n_tokens,
        loss_clean=ablation.loss_clean,
        loss_ablated=ablation.loss_ablated,
        delta_loss=ablation.delta_loss,
        perplexity_clean=_finite(ablation.perplexity_clean),
        perplexity_ablated=_finite(ablation.perplexity_ablated),
        most_decreased=[
            TokenShiftOut(id=s.token_id, token=s.text, delta=s.delta)
            for s in ablation.most_decreased
        ],
        most_increased=[
            TokenShiftOut(id=s.token_id, token=s.text, delta=s.delta)
            for s in ablation.most_increased
        ],
        completion=completion,
        seconds=round(time.perf_counter() - started, 3),
    )
