"""Locate the Jinja and Go templates shipped with publish.

The repository keeps them at its top level, `Modelfile.j2` and `templates/`, and a source checkout
or an editable install reads them there. A wheel carries copies inside the package as
`publish/_data/` (setup.py puts them there), found through importlib.resources wherever the wheel
was installed: a venv, `pip install --user`, `--prefix` or `--target`.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from publish.errors import UsageError


def candidate_roots() -> list[Path]:
    """The folders that may hold Modelfile.j2 and templates/, in the order they are tried: the
    package data of an installed wheel (`publish/_data`), then the checkout publish/ sits in (a
    source checkout or an editable install). A package imported from a zip archive has no folder
    and contributes no package-data candidate."""
    out = []
    packaged = resources.files("publish") / "_data"
    if isinstance(packaged, Path):
        out.append(packaged)
    out.append(Path(__file__).resolve().parent.parent)
    return out


def find_root(candidates: list[Path]) -> Path:
    """The first of `candidates` holding both Modelfile.j2 (a file) and templates/ (a folder).
    Raises UsageError naming every folder tried when none does."""
    for root in candidates:
        if (root / "Modelfile.j2").is_file() and (root / "templates").is_dir():
            return root
    raise UsageError(
        "publish's templates are missing: none of " + ", ".join(map(str, candidates))
        + " holds Modelfile.j2 and templates/",
        hint="this installation of publish is broken; reinstall it "
             "(pip install --force-reinstall gguf-publish), or run it from a full checkout of its "
             "repository",
    )


@lru_cache(maxsize=1)
def resource_root() -> Path:
    """The folder holding Modelfile.j2 and templates/: `find_root(candidate_roots())`, cached.
    Raises UsageError when no candidate holds them."""
    return find_root(candidate_roots())


def templates_dir() -> Path:
    """The shipped templates/ folder (family Go templates, card and Modelfile templates). Raises
    UsageError as `resource_root`."""
    return resource_root() / "templates"


def modelfile_template() -> Path:
    """The shipped Modelfile.j2 (the Jinja template `publish build` renders each Modelfile from).
    Raises UsageError as `resource_root`."""
    return resource_root() / "Modelfile.j2"
