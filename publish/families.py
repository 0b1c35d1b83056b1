"""Model families with an Ollama Go template and stop list of our own (templates/ollama/).

    from publish import families
    fam = families.get("gemma3n")        # aliases resolve: gemma3n -> gemma3
    fam.template, fam.stop, fam.description

The layout of templates/ollama/families.toml is documented at the top of that file.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from publish.errors import PublishError, UsageError, message_of
from publish.fsutil import read_utf8


@dataclass(frozen=True)
class Family:
    """A template family shipped with publish (templates/ollama/families.toml): `template` the Go
    template text exactly as shipped (Ollama's own template for that family), `stop` its stop
    strings, `aliases` other names `[template] family = ...` accepts, `path` the .gotmpl file."""
    name: str
    template: str                 # Go template text, exactly as shipped
    stop: list[str]
    description: str
    aliases: tuple[str, ...] = field(default=())
    path: Path | None = None      # the .gotmpl file


def families_dir() -> Path:
    """The folder holding families.toml and the families' .gotmpl files (templates/ollama under the
    resource root). Raises UsageError when publish's templates are missing."""
    from publish.resources import templates_dir

    return templates_dir() / "ollama"


@lru_cache(maxsize=1)
def _load() -> dict[str, Family]:
    folder = families_dir()
    index = folder / "families.toml"
    try:
        table = tomllib.loads(read_utf8(index))
    except (PublishError, tomllib.TOMLDecodeError) as err:
        raise UsageError(f"{index}: cannot read the family list: {message_of(err)}",
                         hint="reinstall publish: pip install --force-reinstall gguf-publish") from None
    out: dict[str, Family] = {}
    for name, entry in table.items():
        try:
            path = folder / entry["template"]
            out[name] = Family(
                name=name,
                template=read_utf8(path),
                stop=list(entry.get("stop", [])),
                description=entry.get("description", ""),
                aliases=tuple(entry.get("aliases", [])),
                path=path,
            )
        except (PublishError, KeyError, TypeError, AttributeError) as err:
            raise UsageError(f"{index}: family [{name}] cannot be loaded: {type(err).__name__}: {message_of(err)}",
                             hint="reinstall publish: pip install --force-reinstall gguf-publish") from None
    return out


def _key(name: str) -> str:
    return name.strip().lower().replace("_", "-")


def all_families() -> list[Family]:
    """Every shipped family, in families.toml order (loaded once per process). Raises UsageError
    naming families.toml when the list or a template cannot be read."""
    return list(_load().values())


def get(name: str) -> Family:
    """The family called `name` or one of its aliases (case-insensitive). Raises UsageError (listing
    the known families) for an unknown name."""
    wanted = _key(name)
    for fam in _load().values():
        if wanted == _key(fam.name) or wanted in {_key(a) for a in fam.aliases}:
            return fam
    known = ", ".join(f.name for f in _load().values())
    raise UsageError(f"unknown template family {name!r} (known: {known})",
                     hint="run `publish template suggest MODEL.gguf` to pick one by behaviour")
