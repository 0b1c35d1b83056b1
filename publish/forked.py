"""What a forked helper process (lint's worker, a render child) does about its parent's output.

A helper forked from `publish lint` inherits its stdin, stdout and stderr. Killed with lint (a CI
job's SIGKILL, a SIGTERM), a helper may live on up to its own bound (a render's 5 s) and, holding
stdout, keep a pipeline such as `publish lint … | tee log` waiting for it. Helpers never print.
"""

from __future__ import annotations

import os


def redirect_stdio() -> None:
    """Point file descriptors 0, 1 and 2 of this (forked) process at /dev/null. Raises OSError
    when /dev/null cannot be opened."""
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        if fd != devnull:
            os.dup2(devnull, fd)
    if devnull > 2:
        os.close(devnull)
