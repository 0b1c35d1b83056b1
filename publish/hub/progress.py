"""Progress bars for the Hub layer, drawn only when publish.progress.progress_enabled() says so
(a terminal, not CI, not HF_HUB_DISABLE_PROGRESS_BARS, not --quiet). huggingface_hub draws its
own upload bars; `quiet_hub()` switches those off through its public toggles for the same
conditions and restores them after.
"""

from __future__ import annotations

import contextlib
from typing import Iterator

from publish.progress import progress_enabled  # noqa: F401  (one switch: publish/progress.py)


def bar(total: int, desc: str, *, unit: str = "B"):
    """A byte progress bar (huggingface_hub's tqdm, so its global switch applies too)."""
    from huggingface_hub.utils import tqdm

    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, unit_divisor=1024,
                disable=not progress_enabled(), leave=False)


@contextlib.contextmanager
def quiet_hub() -> Iterator[None]:
    """Silence huggingface_hub's own bars unless a person is watching."""
    import warnings

    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars

    if progress_enabled() or are_progress_bars_disabled():
        yield
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # HF_HUB_DISABLE_PROGRESS_BARS=0 makes the toggle a no-op
        ctx = disable_progress_bars()
    with ctx:
        yield
