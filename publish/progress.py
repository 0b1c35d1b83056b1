"""One switch for progress output (bars and per-step lines on stderr), for every command.

Progress is drawn only for a person watching a terminal: it is off when

- the command ran with `--quiet`/`-q` (the CLI calls `set_quiet(True)`; a Python user may too),
- CI is set (any non-empty value but "0"/"false"/"no"/"off"),
- HF_HUB_DISABLE_PROGRESS_BARS is set truthy (huggingface_hub's own switch), or
- the stream (stderr by default) is not a TTY.

`progress_enabled()` is the one question every progress bar and progress line asks. Results and
reports (stdout, files) never depend on it; only the stderr chatter does.

The bars are huggingface_hub's tqdm (`huggingface_hub.utils.tqdm`), so its own switches apply
to ours as well (HF_HUB_DISABLE_PROGRESS_BARS, `huggingface_hub.utils.disable_progress_bars()`),
and they always write to stderr, never stdout: `--format json` output stays clean. `bar()` is a
progress bar, `note()` a line printed above any bar (what a finished step said), `quiet_hub()`
switches huggingface_hub's own upload bars off for the same conditions.
"""

from __future__ import annotations

import contextlib
import os
import sys
TYPE_CHECKING = False  # typing is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from typing import Iterator

_FALSE = {"", "0", "false", "no", "off"}
_quiet = False


def set_quiet(quiet: bool = True) -> None:
    """Turn progress output off (True) or back to the automatic choice (False) for this process."""
    global _quiet
    _quiet = bool(quiet)


def is_quiet() -> bool:
    """Whether `set_quiet(True)` is in force (not whether progress happens to be off)."""
    return _quiet


def _env_true(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() not in _FALSE


def is_terminal(stream=None) -> bool:
    """Whether `stream` (default: sys.stderr) is an open TTY."""
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed stream
        return False


def progress_enabled(stream=None) -> bool:
    """True when progress may be drawn on `stream` (default: sys.stderr): not quiet, not CI, not
    HF_HUB_DISABLE_PROGRESS_BARS, and the stream is a terminal."""
    if _quiet or _env_true("CI") or _env_true("HF_HUB_DISABLE_PROGRESS_BARS") or _hf_switched_off():
        return False
    return is_terminal(stream)


def _hf_switched_off() -> bool:
    """huggingface_hub's own switch (`disable_progress_bars()`, or the variable as it read it at
    import), asked only when huggingface_hub is loaded: a program that never imported it cannot
    have called it, and importing it costs more than `publish inspect` spends in all."""
    hf_tqdm = sys.modules.get("huggingface_hub.utils.tqdm")
    return hf_tqdm is not None and hf_tqdm.are_progress_bars_disabled()


def bar(total: int | None, desc: str, *, unit: str = "B", initial: int = 0, enabled: bool | None = None):
    """A tqdm progress bar on stderr, drawn only when `progress_enabled()` (or `enabled`, when given).

    `total` (None: unknown) and `initial` (done already) are in `unit`s; with unit "B" the counts
    are shown scaled in KiB/MiB/GiB (divisor 1024).
    Returns a `huggingface_hub.utils.tqdm` (a context manager; a disabled one costs nothing and
    prints nothing), which also stays off when huggingface_hub's own switches say so. The bar is
    erased when it closes (leave=False): what was done is reported by the command, not the bar.
    """
    from huggingface_hub.utils import tqdm

    on = progress_enabled() if enabled is None else enabled
    scale = {"unit_scale": True, "unit_divisor": 1024} if unit == "B" else {}
    return tqdm(total=total, desc=desc, unit=unit, initial=initial, disable=not on, leave=False, file=sys.stderr,
                **scale)


def note(line: str, *, enabled: bool | None = None) -> None:
    """Print one progress line on stderr above any bar (tqdm.write), when `progress_enabled()`
    (or `enabled`). The line is escaped with publish.termtext.one_line: it may carry model or file text."""
    if not (progress_enabled() if enabled is None else enabled):
        return
    from huggingface_hub.utils import tqdm

    from publish.termtext import one_line

    tqdm.write(one_line(line), file=sys.stderr)


@contextlib.contextmanager
def quiet_hub() -> Iterator[None]:
    """Silence huggingface_hub's own bars (uploads) for the block unless `progress_enabled()`;
    its previous setting is restored after."""
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
