"""The staged release: exactly what the Hub repo will hold, read once into one typed object.

    dist/<repo>/
      <model>-<QUANT>.gguf …     the quants (and mmproj-*.gguf)
      template                   Ollama Go template (the file Ollama reads from an hf.co repo)
      params                     JSON: Ollama parameters, `stop` as an array
      system                     optional default system prompt
      README.md                  model card
      Modelfile.<QUANT> …        one Modelfile per quant, for `ollama create -f`

    folder = StagedFolder.load("dist/tiny")          # strict: the first fault is a UsageError
    folder = StagedFolder.load("dist/tiny", tolerant=True)
    folder.problems                                  # faults the folder rules report (RP110 …)
    folder.quants, folder.template, folder.params, folder.texts["README.md"], folder.repo

This module is the only one that opens the folder's text files (`template`, `params`, `system`,
README.md, the Modelfiles) or lists the folder: `publish build` returns the object, and lint
(publish.folder_rules), smoke (publish.smoke.runner) and push (publish.hub.plan) take it
(tests/test_staged.py holds this). Each GGUF's header is read here once too and kept in the
object for lint and smoke; only the push reads the GGUFs' bytes again, to hash and upload them.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from publish.addresses import is_repo_id
from publish.errors import GGUFError, TextFileError, UsageError
from publish.fsutil import read_utf8_lenient
from publish.gguf.header import GGUFHeader
from publish.gguf.kinds import MODEL, gguf_kind
from publish.gguf.reader import read_header
from publish.quants import is_projector_filename, label_from_filename, shard_info

# The files Ollama's hf.co bridge and the Hub read beside the GGUFs (a folder with GGUFs and one
# of these, or a Modelfile, is a staged folder).
TEMPLATE, PARAMS, SYSTEM, CARD = "template", "params", "system", "README.md"
MARKERS = (TEMPLATE, PARAMS, CARD)
MANIFEST_SUFFIX = ".publish-build.json"

# StagedProblem.reason values
NOT_UTF8 = "not-utf8"                    # template / system / params: not UTF-8 (decoded with U+FFFD)
PARAMS_JSON = "params-json"              # params: not valid JSON (line, col set)
PARAMS_NOT_OBJECT = "params-not-object"  # params: valid JSON but not an object

_UTF8_HINT = "Ollama reads this file as UTF-8; rebuild the folder or save it as UTF-8"


@dataclass(frozen=True)
class StagedQuant:
    """One quant of the folder: its tag (`label`, what users type after `:`), its GGUF, and for a
    split set every part in order (`parts`, empty when unsplit)."""
    label: str          # "Q4_K_M", "UD-Q4_K_XL", …; the file stem when no label is recognisable
    path: Path          # the GGUF (first part for a split set)
    parts: tuple[Path, ...] = ()  # all parts of a split set, in order; empty when unsplit


@dataclass(frozen=True)
class StagedProblem:
    """A fault found while reading the folder: the folder rules turn it into a finding (RP110 for
    the params reasons), a strict load raises it as a UsageError.

    `file` is the name in the folder ("params"); `line`/`col` are 1-based when known."""

    file: str
    reason: str         # NOT_UTF8 | PARAMS_JSON | PARAMS_NOT_OBJECT
    message: str        # after "FILE[:LINE:COL]: ", e.g. "params is not valid JSON: Expecting ',' delimiter"
    line: int | None = None
    col: int | None = None
    hint: str | None = None
    detail: str = ""    # the parser's own words ("Expecting ',' delimiter"), when there is a parser

    def error(self, root: Path) -> UsageError:
        """The problem as the UsageError a strict load raises: "ROOT/FILE[:LINE:COL]: MESSAGE"."""
        where = f"{root / self.file}" + (f":{self.line}:{self.col}" if self.line is not None else "")
        return UsageError(f"{where}: {self.message}", hint=self.hint)


@dataclass
class StagedFolder:
    """One staged release folder, read once.

    - `quants`: the model GGUFs grouped by tag (split parts under one StagedQuant), in file-name
      order; `projectors` (mmproj) and `others` (imatrix, LoRA adapters) apart;
    - `template`, `system`: the files' text, None when absent; `params`: the JSON object ({} when
      absent or faulty: see `problems`);
    - `texts`: every text file read, name -> text (`template`, `params`, `system`, README.md,
      `Modelfile.*`; bytes that are not UTF-8 become U+FFFD);
    - `card`: README.md's path; `modelfiles`: tag -> Modelfile path ("Q4_K_M" -> Modelfile.Q4_K_M);
    - `repo`: ORG/NAME the build recorded, None when it recorded none;
    - `files`: every entry a push would consider (recursive, hidden names skipped, symbolic links
      listed and not followed), sorted;
    - `headers`: every GGUF's header (publish.gguf.reader), read once here for its kind and kept
      for lint's rules and the smoke's facts (about 11 MB of memory per header of a 262,144-token
      vocabulary); `unreadable`: the GGUFs whose header the reader refused (GGUFError with the
      byte offset: lint's GG001);
    - `problems`: faults a tolerant load recorded (empty after a strict load).
    """

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
    texts: dict[str, str] = field(default_factory=dict)
    headers: dict[Path, GGUFHeader] = field(default_factory=dict)   # every GGUF's header, read at load
    unreadable: dict[Path, GGUFError] = field(default_factory=dict)  # GGUFs the header reader refused
    files: list[Path] = field(default_factory=list)
    problems: list[StagedProblem] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | os.PathLike, *, tolerant: bool = False) -> StagedFolder:
        """Read the folder at `path` (module doc). Raises UsageError when `path` is not a folder or
        a file cannot be read (OSError). Strict (the default): also on the first fault (`params`
        not a JSON object, `template`/`system`/`params` not UTF-8), naming file, line and column.
        `tolerant=True` records the faults in `problems` and goes on (what lint needs)."""
        folder = _load(Path(path))
        if not tolerant:
            folder.check()
        return folder

    def check(self) -> None:
        """Raise the first recorded problem as a UsageError (file:line:col, hint); else nothing."""
        if self.problems:
            raise self.problems[0].error(self.path)

    def has(self, name: str) -> bool:
        """Whether the folder holds the text file `name` ("template", "params", "system", …)."""
        return name in self.texts

    @property
    def card_text(self) -> str | None:
        """README.md's text (the model card), None when the folder has none."""
        return self.texts.get(CARD)

    @property
    def ggufs(self) -> list[Path]:
        """Every GGUF of the folder (all split parts, projectors, others), sorted by name."""
        paths = [p for q in self.quants for p in (q.parts or (q.path,))] + self.projectors + self.others
        return sorted(paths, key=lambda p: p.name)

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
        """The quant tagged `label` (case-insensitive). Raises UsageError when none or two are."""
        found = [q for q in self.quants if q.label.lower() == label.lower()]
        if len(found) > 1:
            names = " and ".join(q.path.name for q in found)
            raise UsageError(f"{self.path}: {names} both carry the label {label}",
                             hint="keep one model per label in the folder (publish lint reports GG802)")
        if found:
            return found[0]
        known = ", ".join(q.label for q in self.quants) or "none"
        raise UsageError(f"{self.path}: no quant {label!r} (found: {known})")


def load_staged(path: str | os.PathLike, *, tolerant: bool = False) -> StagedFolder:
    """`StagedFolder.load(path, tolerant=…)`."""
    return StagedFolder.load(path, tolerant=tolerant)


def staged(folder: StagedFolder | str | os.PathLike, *, tolerant: bool = False) -> StagedFolder:
    """`folder` itself when it is a StagedFolder already (checked unless `tolerant`), else loaded
    from the path: the one place public entry points turn a path into the object."""
    if isinstance(folder, StagedFolder):
        if not tolerant:
            folder.check()
        return folder
    return StagedFolder.load(folder, tolerant=tolerant)


def looks_staged(path: Path) -> bool:
    """GGUFs beside the files Ollama or the Hub read (`template`, `params`, README.md) or a
    Modelfile. Looks at names only (no file is opened)."""
    return path.is_dir() and (any((path / m).exists() for m in MARKERS) or any(path.glob("Modelfile*"))) \
        and any(path.glob("*.gguf"))


def template_beside(gguf: Path) -> str | None:
    """The `template` file beside a GGUF (what Ollama's hf.co bridge pairs with it), None when
    there is none. Raises UsageError when it is not UTF-8."""
    path = Path(gguf).parent / TEMPLATE
    if not path.is_file():
        return None
    text, bad = _read_text(path)
    if bad is not None:
        raise bad
    return text


def params_json(params: dict) -> str:
    """`params` as Ollama reads it from an hf.co repo: sorted keys, stop an array, 2-space indent,
    non-ASCII kept, trailing newline."""
    return json.dumps(dict(params), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_template_files(folder: str | os.PathLike, template: str, stops: list[str]) -> list[str]:
    """Write `template` and `params` into `folder` (created when missing), each atomically:
    `params` keeps the keys it already has and gets `stop` = `stops`. Returns the names written
    (["template", "params"]). Raises UsageError, before writing anything, when an existing
    `params` is not a UTF-8 JSON object (file:line:col), and OutputPathError when `folder` cannot be created or written."""
    from publish.fsutil import atomic_write_text, check_writable, make_dirs

    root = Path(folder)
    check_writable(root, folder=True)
    make_dirs(root)
    params: dict = {}
    if (root / PARAMS).is_file():
        text, bad = _read_text(root / PARAMS)
        problems = [StagedProblem(PARAMS, NOT_UTF8, bad.problem)] if bad is not None else []
        params = parse_params(text, problems)
        if problems:
            hint = "fix or remove it; its other keys are kept and its `stop` is replaced"
            raise replace(problems[0], hint=hint).error(root)
    params["stop"] = list(stops)
    atomic_write_text(root / TEMPLATE, template)
    atomic_write_text(root / PARAMS, params_json(params))
    return [TEMPLATE, PARAMS]


def _load(root: Path) -> StagedFolder:
    if not root.is_dir():
        raise UsageError(f"{root}: not a folder", hint="run `publish build SPEC -o DIR` first")
    folder = StagedFolder(path=root)
    groups: dict[tuple[str, str], list[Path]] = {}
    for f in sorted(root.glob("*.gguf")):
        hdr = None
        if f.is_file():
            try:
                hdr = folder.headers[f] = read_header(f)
            except GGUFError as err:   # lint reports it (GG001); the file is treated as a model
                folder.unreadable[f] = err
        if is_projector_filename(f.name):
            folder.projectors.append(f)
            continue
        kind = gguf_kind(hdr) if hdr is not None else MODEL
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

    for name in (TEMPLATE, PARAMS, SYSTEM):
        path = root / name
        if not path.is_file():
            continue
        text, bad = _read_text(path)
        folder.texts[name] = text
        if bad is not None:
            folder.problems.append(StagedProblem(name, NOT_UTF8, bad.problem, hint=bad.hint))
        if name == PARAMS:
            folder.params = parse_params(text, folder.problems)
    folder.template, folder.system = folder.texts.get(TEMPLATE), folder.texts.get(SYSTEM)
    if (root / CARD).is_file():
        folder.card = root / CARD
        folder.texts[CARD] = _read_text(folder.card)[0]
    for mf in sorted(root.glob("Modelfile*")):
        if mf.is_file():
            folder.modelfiles[mf.name.partition(".")[2] or mf.name] = mf
            folder.texts[mf.name] = _read_text(mf)[0]
    folder.repo = _recorded_repo(root, [folder.texts[p.name] for p in folder.modelfiles.values()])
    folder.files = _walk(root)
    return folder


def parse_params(text: str, problems: list[StagedProblem]) -> dict:
    """The text of a `params` file (a staged folder's, or a Hub repo's) as a dict; {} with a
    StagedProblem appended to `problems` (PARAMS_JSON with line and column, or
    PARAMS_NOT_OBJECT) when it is not a JSON object. Never raises."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        problems.append(StagedProblem(PARAMS, PARAMS_JSON, f"params is not valid JSON: {err.msg}",
                                      err.lineno, err.colno, hint="rebuild it with `publish build`",
                                      detail=err.msg))
        return {}
    if not isinstance(value, dict):
        problems.append(StagedProblem(PARAMS, PARAMS_NOT_OBJECT,
                                      "params must be a JSON object of Ollama parameters"))
        return {}
    return value


def _read_text(path: Path) -> tuple[str, TextFileError | None]:
    """(the text, None) of a UTF-8 file, else (the text with U+FFFD for bad bytes, the error naming
    the first bad byte's offset and line). A UTF-8 BOM is kept: Ollama reads these files as they
    are. Raises TextFileError when the file cannot be read (publish.fsutil.read_utf8_lenient)."""
    return read_utf8_lenient(path, hint=_UTF8_HINT, keep_bom=True)


def _walk(root: Path) -> list[Path]:
    """Every non-hidden entry below `root`: files, and symbolic links (to files or folders, not
    followed); folders are descended into. Sorted by path."""
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        base = Path(dirpath)
        for d in list(dirnames):
            if d.startswith("."):
                dirnames.remove(d)
            elif (base / d).is_symlink():
                found.append(base / d)
        found.extend(base / name for name in filenames if not name.startswith("."))
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


_MODELFILE_HEADER = re.compile(r"^#\s*(\S+?):\S+ \(publish build\)")


def _recorded_repo(root: Path, modelfile_texts: list[str]) -> str | None:
    """The repo id `publish build` recorded: its manifest beside the folder
    (`.<folder>.publish-build.json`, key "repo"), else the header comment of a Modelfile it wrote
    ("# ORG/NAME:LABEL (publish build). …"). None when neither names a valid ORG/NAME."""
    manifest = root.parent / f".{root.name}{MANIFEST_SUFFIX}"
    try:
        repo = json.loads(manifest.read_text(encoding="utf-8")).get("repo")
    except (OSError, ValueError, AttributeError):
        repo = None
    if isinstance(repo, str) and is_repo_id(repo):
        return repo
    for text in modelfile_texts:
        m = _MODELFILE_HEADER.match(text[:4096].partition("\n")[0])
        if m and is_repo_id(m.group(1)):
            return m.group(1)
    return None
