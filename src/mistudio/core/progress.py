"""Progress reporting as a callback that costs nothing outside a job.

Core functions take ``progress: Progress | None`` and call ``progress(step, total, **metrics)``.
In a notebook or the CLI that is a tqdm bar (:func:`tqdm_progress`); in a worker it writes a row
and publishes an event. ``None`` means silence.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol


class Progress(Protocol):
    def __call__(self, step: float, total: float | None, /, **metrics: Any) -> None: ...


def null_progress(step: float, total: float | None, /, **metrics: Any) -> None:
    """Ignore progress."""


def report(progress: Progress | None, step: float, total: float | None, **metrics: Any) -> None:
    """Call ``progress`` when one is given."""
    if progress is not None:
        progress(step, total, **metrics)


@contextmanager
def tqdm_progress(desc: str, unit: str = "it", unit_scale: bool = False) -> Iterator[Progress]:
    """A terminal progress bar usable as a :class:`Progress` callback."""
    # deferred: tqdm.auto probes for notebook widgets; only a caller that draws a bar pays
    from tqdm.auto import tqdm

    bar = tqdm(desc=desc, unit=unit, unit_scale=unit_scale, dynamic_ncols=True)

    def update(step: float, total: float | None, /, **metrics: Any) -> None:
        if total is not None and bar.total != total:
            bar.total = total
        bar.n = step
        if metrics:
            bar.set_postfix(
                {k: (f"{v:.4g}" if isinstance(v, float) else v) for k, v in metrics.items()},
                refresh=False,
            )
        bar.refresh()

    try:
        yield update
    finally:
        bar.close()
