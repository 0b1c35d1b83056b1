"""When to draw progress bars: only for a person watching a terminal.

Off when stderr is not a TTY, when CI is set (any non-empty value but "0"/"false"), or when
HF_HUB_DISABLE_PROGRESS_BARS is set truthy. huggingface_hub draws its own upload bars; `quiet_hub()`
switches those off through its public toggles for the same conditions and restores them after.
"""

from __future__ import annotations

import contextlib
import os
import sys
from typing import Iterator

_FALSE = {"", "0", "false", "no", "off"}


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in _FALSE


def progress_enabled(stream=None) -> bool:
    stream = stream if stream is not None else sys.stderr
    if _env_true("CI") or _env_true("HF_HUB_DISABLE_PROGRESS_BARS"):
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


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
