"""Locate the Jinja and Go templates shipped with publish.

In a source checkout (and an editable install) they live at the repository root:
`Modelfile.j2` and `templates/`. A wheel installs them under `<prefix>/share/publish/`.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from pathlib import Path

from publish.errors import UsageError


@lru_cache(maxsize=1)
def resource_root() -> Path:
    """The folder holding Modelfile.j2 and templates/: the source checkout, else
    <prefix>/share/publish of an installed wheel. Cached. Raises UsageError (reinstall) when
    neither holds them."""
    candidates = [Path(__file__).resolve().parent.parent, Path(sys.prefix) / "share" / "publish"]
    for root in candidates:
        if (root / "Modelfile.j2").is_file() and (root / "templates").is_dir():
            return root
    raise UsageError(
        "publish's templates are missing (looked in " + ", ".join(map(str, candidates)) + ")",
        hint="reinstall publish: pip install --force-reinstall gguf-publish",
    )


def templates_dir() -> Path:
    """The shipped templates/ folder (family Go templates, card and Modelfile templates). Raises
    UsageError as `resource_root`."""
    return resource_root() / "templates"


def modelfile_template() -> Path:
    """The shipped Modelfile.j2 (the Jinja template `publish build` renders each Modelfile from).
    Raises UsageError as `resource_root`."""
    return resource_root() / "Modelfile.j2"
