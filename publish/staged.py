"""The staged repo folder: exactly what the Hub repo will hold.

    dist/<repo>/
      <model>-<QUANT>.gguf …     the quants (and mmproj-*.gguf)
      template                   Ollama Go template (the file Ollama reads from an hf.co repo)
      params                     JSON: Ollama parameters, `stop` as an array
      system                     optional default system prompt
      README.md                  model card
      Modelfile.<QUANT> …        one Modelfile per quant, for `ollama create -f`

lint, smoke and push need nothing but this path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from publish.errors import UsageError
from publish.fsutil import read_utf8
from publish.gguf.kinds import file_kind
from publish.quants import is_projector_filename, label_from_filename, shard_info


@dataclass(frozen=True)
class StagedQuant:
    label: str          # "Q4_K_M", "UD-Q4_K_XL", …; the file stem when no label is recognisable
    path: Path          # the GGUF (first part for a split set)
    parts: tuple[Path, ...] = ()  # all parts of a split set, in order; empty when unsplit


@dataclass
class StagedFolder:
    path: Path
    quants: list[StagedQuant] = field(default_factory=list)
    projectors: list[Path] = field(default_factory=list)
    others: list[Path] = field(default_factory=list)   # GGUFs that are not models (imatrix, LoRA adapters)
    template: str | None = None
    params: dict = field(default_factory=dict)
    system: str | None = None
    card: Path | None = None            # README.md, when present
    modelfiles: dict[str, Path] = field(default_factory=dict)  # "Q4_K_M" -> Modelfile.Q4_K_M
    repo: str | None = None             # ORG/NAME the folder was built for (None: not recorded)

    @property
    def stops(self) -> list[str]:
        """The stop strings of `params`; a malformed `stop` (lint reports it) gives none."""
        from publish.modelfile import stop_list

        return stop_list(self.params.get("stop"))

    @property
    def kind(self) -> str:
        """"base" when the `template` hands the prompt over unchanged (`{{ .Prompt }}`), the way
        `publish build` writes a base model's release; else "chat" (publish.modelkind)."""
        from publish.modelkind import BASE, CHAT, is_completion_template

        return BASE if is_completion_template(self.template) else CHAT

    def quant(self, label: str) -> StagedQuant:
        found = [q for q in self.quants if q.label.lower() == label.lower()]
        if len(found) > 1:
            names = " and ".join(q.path.name for q in found)
            raise UsageError(f"{self.path}: {names} both carry the label {label}",
                             hint="keep one model per label in the folder (publish lint reports GG802)")
        if found:
            return found[0]
        known = ", ".join(q.label for q in self.quants) or "none"
        raise UsageError(f"{self.path}: no quant {label!r} (found: {known})")


def load_staged(path: str | Path) -> StagedFolder:
    """Read a staged folder. Raises UsageError naming the file when `params` is not valid JSON
    or a text file is not UTF-8."""
    root = Path(path)
    if not root.is_dir():
        raise UsageError(f"{root}: not a folder", hint="run `publish build SPEC -o DIR` first")
    folder = StagedFolder(path=root)
    groups: dict[tuple[str, str], list[Path]] = {}
    for f in sorted(root.glob("*.gguf")):
        if is_projector_filename(f.name):
            folder.projectors.append(f)
            continue
        kind = file_kind(f)
        if kind == "projector":
            folder.projectors.append(f)
            continue
        if kind != "model":
            folder.others.append(f)
            continue
        label = label_from_filename(f.name) or f.name[: -len(".gguf")]
        # only the parts of one split set are grouped: X-Q8_0.gguf and X-imat-Q8_0.gguf are two models
        stem = f.name[: -len("-00001-of-00001.gguf")] if shard_info(f.name) else f.name
        groups.setdefault((label, stem), []).append(f)
    for (label, _), files in groups.items():
        if len(files) > 1 or shard_info(files[0].name):
            files = sorted(files, key=lambda p: (shard_info(p.name) or (0, 0))[0])
            folder.quants.append(StagedQuant(label, files[0], tuple(files)))
        else:
            folder.quants.append(StagedQuant(label, files[0]))
    tpl = root / "template"
    if tpl.is_file():
        folder.template = _read_text(tpl)
    params = root / "params"
    if params.is_file():
        try:
            folder.params = json.loads(_read_text(params))
        except json.JSONDecodeError as err:
            raise UsageError(f"{params}:{err.lineno}:{err.colno}: params is not valid JSON: {err.msg}") from None
        if not isinstance(folder.params, dict):
            raise UsageError(f"{params}: params must be a JSON object of Ollama parameters")
    system = root / "system"
    if system.is_file():
        folder.system = _read_text(system)
    if (root / "README.md").is_file():
        folder.card = root / "README.md"
    for mf in sorted(root.glob("Modelfile*")):
        if mf.is_file():
            folder.modelfiles[mf.name.partition(".")[2] or mf.name] = mf
    folder.repo = _recorded_repo(root, folder.modelfiles)
    return folder


MANIFEST_SUFFIX = ".publish-build.json"
_REPO_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
_MODELFILE_HEADER = re.compile(r"^#\s*(\S+?):\S+ \(publish build\)")


def _recorded_repo(root: Path, modelfiles: dict[str, Path]) -> str | None:
    """The repo id `publish build` recorded: its manifest beside the folder
    (`.<folder>.publish-build.json`, key "repo"), else the header comment of a Modelfile it wrote
    ("# ORG/NAME:LABEL (publish build). …"). None when neither names a valid ORG/NAME."""
    manifest = root.parent / f".{root.name}{MANIFEST_SUFFIX}"
    try:
        repo = json.loads(manifest.read_text(encoding="utf-8")).get("repo")
    except (OSError, ValueError, AttributeError):
        repo = None
    if isinstance(repo, str) and _REPO_ID.match(repo):
        return repo
    for mf in modelfiles.values():
        try:
            with mf.open("rb") as fh:
                first = fh.readline(4096).decode("utf-8", errors="replace")
        except OSError:
            continue
        m = _MODELFILE_HEADER.match(first)
        if m and _REPO_ID.match(m.group(1)):
            return m.group(1)
    return None


def _read_text(path: Path) -> str:
    return read_utf8(path, hint="Ollama reads this file as UTF-8; rebuild the folder or save it as UTF-8")
