"""Run a function where Python's recursion depth starts from zero, whatever the caller's depth.

Jinja parses and compiles recursively, so a deeply nested template (`{{ ((((…)))) }}`,
`{{ not not not … }}`) parses or fails with RecursionError depending on how deep the stack already
is. Lint asks the same question in its own process and in its worker (publish.jinja_worker),
whose stacks differ: run at a fixed depth, both give the same verdict.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    T = TypeVar("T")


def at_fixed_depth(fn: Callable[[], T]) -> T:
    """fn() in a new thread (Python counts recursion per thread); its result, or what it raised.
    The thread is a daemon: an interrupted wait does not hold the process open."""
    import threading

    outcome: list = []

    def run() -> None:
        try:
            outcome.append(("value", fn()))
        except BaseException as err:  # noqa: BLE001 - re-raised in the caller's thread
            outcome.append(("raised", err))

    thread = threading.Thread(target=run, name="publish-fixed-depth", daemon=True)
    thread.start()
    thread.join()
    kind, value = outcome[0]
    if kind == "raised":
        raise value
    return value
