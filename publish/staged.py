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

    repo = StagedFolder.from_hub("ORG/NAME", tolerant=True)   # the same release once pushed

This module is the only one that opens the folder's text files (`template`, `params`, `system`,
README.md, the Modelfiles) or lists the folder: `publish build` returns the object, and lint
(publish.folder_rules), smoke (publish.smoke.runner) and push (publish.hub.plan) take it
(tests/test_staged.py holds this). Each GGUF's header is read here once too and kept in the
object for lint and smoke; only the push reads the GGUFs' bytes again, to hash and upload them.

A Hub repo is read into the same object by `StagedFolder.from_hub` (what `publish smoke
hf.co/ORG/NAME` and `publish ci-matrix` use): one listing of the repo with huggingface_hub, then
its `template`, `params` and `system` fetched and read by the same UTF-8 reader and the same
params parser, its GGUFs grouped by tag with the same labels. Its GGUF headers are not read
(a remote header costs HTTP requests; the smoke reads one per quant it runs, from the hf:// URL).
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from publish.addresses import is_repo_id
from publish.errors import GGUFError, InputPathError, TextFileError, UsageError
from publish.fsutil import decode_utf8_lenient, read_utf8_lenient
from publish.inputpaths import input_kind, list_folder, raise_folder_error
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
TOO_LARGE = "too-large"                  # a Hub repo's template / params / system: over HUB_TEXT_MAX, not fetched
NOT_A_FILE = "not-a-file"                # a *.gguf or text file that is there but cannot be read as a file:
                                         # a FIFO, device, socket, broken symbolic link (publish.inputpaths)
HUB_REFUSED = "hub-refused"              # a Hub repo's template / params / system: the Hub refused the download
                                         # (message: the HubError's, which names the hf:// file itself)

HUB_TEXT_MAX = 1_000_000   # bytes: a Hub repo's `template`, `params` or `system` larger than this is not one

_UTF8_HINT = "Ollama reads this file as UTF-8; rebuild the folder or save it as UTF-8"


@dataclass(frozen=True)
class StagedQuant:
    """One quant of the folder: its tag (`label`, what users type after `:`), its GGUF, and for a
    split set every part in order (`parts`, empty when unsplit). For a Hub repo
    (StagedFolder.from_hub) `path` and `parts` are hf:// URLs (str) instead of Paths."""
    label: str          # "Q4_K_M", "UD-Q4_K_XL", …; the file stem when no label is recognisable
    path: Path | str    # the GGUF (first part for a split set); hf://ORG/NAME/FILE.gguf for a Hub repo
    parts: tuple[Path | str, ...] = ()  # all parts of a split set, in order; empty when unsplit


@dataclass(frozen=True)
class StagedProblem:
    """A fault found while reading the folder: the folder rules turn it into a finding (RP110 for
    the params reasons), a strict load raises it as a UsageError.

    `file` is the name in the folder ("params"); `line`/`col` are 1-based when known."""

    file: str
    reason: str         # NOT_UTF8 | PARAMS_JSON | PARAMS_NOT_OBJECT | (Hub repos) TOO_LARGE | HUB_REFUSED
    message: str        # after "FILE[:LINE:COL]: ", e.g. "params is not valid JSON: Expecting ',' delimiter"
    line: int | None = None
    col: int | None = None
    hint: str | None = None
    detail: str = ""    # the parser's own words ("Expecting ',' delimiter"), when there is a parser

    def error(self, root: Path | str) -> UsageError:
        """The problem as the UsageError a strict load raises: "ROOT/FILE[:LINE:COL]: MESSAGE"
        (ROOT a folder's path, or a Hub repo's hf://ORG/NAME[@REV]); a HUB_REFUSED message names
        the file already and is given as it is."""
        if self.reason == HUB_REFUSED:
            return UsageError(self.message, hint=self.hint)
        where = _join(root, self.file) + (f":{self.line}:{self.col}" if self.line is not None else "")
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

    A Hub repo (`from_hub`) fills the same fields with three differences: `path` is the repo's
    address `hf://ORG/NAME[@REV]` (a str) and every GGUF, `files`, `card` and `modelfiles` entry an
    hf:// URL (str); `texts` holds `template`, `params` and `system` only (the card and the
    Modelfiles are listed, not fetched); `headers` and `unreadable` stay empty (no remote header is
    read), so projectors are told by file name only (`mmproj*`) and an imatrix or LoRA adapter
    GGUF counts as a quant.
    """

    path: Path | str                    # the folder; for a Hub repo its address hf://ORG/NAME[@REV]
    quants: list[StagedQuant] = field(default_factory=list)
    projectors: list[Path | str] = field(default_factory=list)
    others: list[Path] = field(default_factory=list)   # GGUFs that are not models (imatrix, LoRA adapters)
    template: str | None = None
    params: dict = field(default_factory=dict)
    system: str | None = None
    card: Path | str | None = None      # README.md, when present
    modelfiles: dict[str, Path | str] = field(default_factory=dict)  # "Q4_K_M" -> Modelfile.Q4_K_M
    repo: str | None = None             # ORG/NAME the folder was built for (None: not recorded)
    texts: dict[str, str] = field(default_factory=dict)
    headers: dict[Path, GGUFHeader] = field(default_factory=dict)   # every GGUF's header, read at load
    unreadable: dict[Path, GGUFError] = field(default_factory=dict)  # GGUFs the header reader refused
    files: list[Path | str] = field(default_factory=list)
    problems: list[StagedProblem] = field(default_factory=list)

    @classmethod
    def load(cls, path: str | os.PathLike, *, tolerant: bool = False) -> StagedFolder:
        """Read the folder at `path` (module doc). Raises UsageError when `path` is not a folder or
        a file cannot be read (OSError): InputPathError when the folder, or one below it, cannot be
        listed or entered. Strict (the default): also on the first fault (`params`
        not a JSON object, `template`/`system`/`params` not UTF-8), naming file, line and column.
        `tolerant=True` records the faults in `problems` and goes on (what lint needs).
        A `*.gguf`, `template`, `params`, `system`, README.md or Modelfile that is there but is no
        file (a FIFO, device or socket, a broken symbolic link) is recorded as a NOT_A_FILE problem
        in publish.inputpaths' words ("a FIFO (named pipe), not a file or folder"), never opened
        (a FIFO would block), and not taken as a quant or as a missing file; tolerant or not, the
        load then raises it as an InputPathError (exit status 2): lint, smoke and ci-matrix say
        the same one line."""
        folder = _load(Path(path))
        for p in folder.problems:
            if p.reason == NOT_A_FILE:
                raise InputPathError(_join(folder.path, p.file), p.message, hint=p.hint)
        if not tolerant:
            folder.check()
        return folder

    @classmethod
    def from_hub(cls, repo: str, *, revision: str | None = None, tolerant: bool = False) -> StagedFolder:
        """Read the Hub repo `repo` ("ORG/NAME", at `revision`, default branch when None) as a
        staged folder (class doc): one listing (HfApi.list_repo_tree), then one ranged GET each for
        the `template`, `params` and `system` it holds (publish.hub.remote.open_hf_file); no GGUF
        byte is read. `repo` is set to `repo`. Problems name the file as hf://ORG/NAME/FILE[:LINE:COL]:
        besides the local ones, TOO_LARGE (over HUB_TEXT_MAX bytes, not fetched) and HUB_REFUSED
        (the Hub refused the download: its HubError's message and hint).

        Raises HubError subclasses (HubNotFound, HubGated, HubAuthError, ...) when the Hub refuses
        the listing. Strict (the default): UsageError on the first problem; `tolerant=True` records
        them in `problems` (what the smoke needs: it still pulls the quants)."""
        folder = _load_hub(repo, revision)
        if not tolerant:
            folder.check()
        return folder

    @property
    def remote(self) -> bool:
        """Whether this is a Hub repo read by `from_hub` (paths are hf:// URLs) rather than a folder."""
        return isinstance(self.path, str)

    def where(self, name: str) -> str:
        """How messages name the file `name` of the folder: "dist/tiny/params", or for a Hub repo
        "hf://ORG/NAME/params"."""
        return _join(self.path, name)

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
        return sorted(paths, key=_name)

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
            from publish.addresses import repo_path

            names = " and ".join(repo_path(q.path, self.path) for q in found)
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
    from the path: the one place public entry points turn a path into the object. Raises
    UsageError for a Hub repo's object (StagedFolder.from_hub): lint's folder rules, the folder
    smoke and the push work on local files."""
    if isinstance(folder, StagedFolder):
        if folder.remote:
            from publish.addresses import ollama_hub_name

            raise UsageError(f"{folder.path}: a Hub repo, not a local staged folder",
                             hint=f"smoke it as {ollama_hub_name(folder.repo)}, lint its GGUFs as {folder.path}, "
                                  "or build the folder locally with `publish build SPEC -o DIR`")
        if not tolerant:
            folder.check()
        return folder
    return StagedFolder.load(folder, tolerant=tolerant)


def looks_staged(path: Path) -> bool:
    """GGUFs beside the files Ollama or the Hub read (`template`, `params`, README.md) or a
    Modelfile. Looks at names only (no file is opened). Raises InputPathError when `path` is a
    folder that cannot be read, or cannot be reached (publish.fsutil.input_kind, list_folder)."""
    if input_kind(path) != "folder":
        return False
    names = [n for n in list_folder(path) if not n.startswith(".")]
    return any(n in MARKERS or n.startswith("Modelfile") for n in names) and any(n.endswith(".gguf") for n in names)


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
    if input_kind(root) != "folder":   # InputPathError when it cannot be reached
        raise UsageError(f"{root}: not a folder", hint="run `publish build SPEC -o DIR` first")
    list_folder(root)   # InputPathError when it cannot be listed or entered (glob would see it empty)
    folder = StagedFolder(path=root)
    folder.files = _walk(root)
    models: list[Path] = []
    # Every GGUF push uploads, sub-folders included, as a Hub repo's listing has them (_load_hub).
    for f in (f for f in folder.files if f.name.lower().endswith(".gguf")):
        hdr = None
        kind = _entry_kind(folder, f)
        if kind is None or kind == "folder":   # a link to a folder named *.gguf: push refuses it
            continue
        if kind == "file":
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
        models.append(f)
    folder.quants = _group_quants([(f.relative_to(root).as_posix(), f) for f in models])

    for name in (TEMPLATE, PARAMS, SYSTEM):
        path = root / name
        if _entry_kind(folder, path) == "file":
            _take_text(folder, name, *_read_text(path))
    if _entry_kind(folder, root / CARD) == "file":
        folder.card = root / CARD
        folder.texts[CARD] = _read_text(folder.card)[0]
    for mf in sorted(root.glob("Modelfile*")):
        if _entry_kind(folder, mf) == "file":
            folder.modelfiles[mf.name.partition(".")[2] or mf.name] = mf
            folder.texts[mf.name] = _read_text(mf)[0]
    folder.repo = _recorded_repo(root, [folder.texts[p.name] for p in folder.modelfiles.values()])
    return folder


def _entry_kind(folder: StagedFolder, path: Path) -> str | None:
    """publish.inputpaths.input_kind of the folder's entry `path` ("file", "folder", "missing"),
    without opening it; None, with a NOT_A_FILE problem recorded in `folder`, for an entry that is
    there but is no file (a FIFO, device, socket, broken link)."""
    try:
        return input_kind(path)
    except InputPathError as e:
        from publish.addresses import repo_path

        # by its path in the folder: a GGUF in a sub-folder is named whole in the error
        folder.problems.append(StagedProblem(repo_path(path, folder.path), NOT_A_FILE, e.problem, hint=e.hint))
        return None


def _load_hub(repo: str, revision: str | None) -> StagedFolder:
    """StagedFolder.from_hub without the strict check."""
    from publish.addresses import HubFileUrl, hub_file_url
    from publish.errors import HubError
    from publish.hub.remote import list_repo_files, read_hub_file

    base, root = HubFileUrl(repo, revision, ""), hub_file_url(repo, revision=revision)   # hf://ORG/NAME[@REV]
    listing = list_repo_files(repo, revision=revision, shown=root)
    folder = StagedFolder(path=root, repo=repo, files=[base.with_path(p) for p, _ in listing])
    models: list[tuple[str, str]] = []
    for p, _ in listing:
        if not p.lower().endswith(".gguf"):
            continue
        (folder.projectors.append(base.with_path(p)) if is_projector_filename(p)
         else models.append((p, base.with_path(p))))
    folder.quants = _group_quants(models)

    sizes = dict(listing)
    for name in (TEMPLATE, PARAMS, SYSTEM):
        if name not in sizes:
            continue
        url, data = base.with_path(name), b""
        if sizes[name] <= HUB_TEXT_MAX:   # the listing's size: a larger file is not fetched at all
            try:
                data = read_hub_file(url, max_bytes=HUB_TEXT_MAX)
            except HubError as err:
                folder.problems.append(StagedProblem(name, HUB_REFUSED, err.message, hint=err.hint))
                continue
        if sizes[name] > HUB_TEXT_MAX or len(data) > HUB_TEXT_MAX:
            folder.problems.append(StagedProblem(
                name, TOO_LARGE, f"larger than 1 MB, not an Ollama {name} file",
                hint=f"a Hub repo's {name} is a few KB; push the one `publish build` writes"))
            continue
        _take_text(folder, name, *decode_utf8_lenient(url, data, hint=_UTF8_HINT, keep_bom=True))
    if CARD in sizes:
        folder.card = base.with_path(CARD)
    for p, _ in listing:
        if p.startswith("Modelfile"):
            folder.modelfiles[p.partition(".")[2] or p] = base.with_path(p)
    return folder


def _take_text(folder: StagedFolder, name: str, text: str, bad: TextFileError | None) -> None:
    """Keep the text of the folder's `template`, `params` or `system` (a local folder's or a Hub
    repo's): `texts`, `template`/`system`, `params` parsed, the faults in `problems`."""
    folder.texts[name] = text
    if bad is not None:
        folder.problems.append(StagedProblem(name, NOT_UTF8, bad.problem, hint=bad.hint))
    if name == PARAMS:
        folder.params = parse_params(text, folder.problems)
    elif name == TEMPLATE:
        folder.template = text
    elif name == SYSTEM:
        folder.system = text


def _group_quants(models: list[tuple[str, Path | str]]) -> list[StagedQuant]:
    """The model GGUFs grouped by tag: `models` holds (file name, or repo path for a Hub repo; the
    GGUF) in name order. The label is the quant label in the name (publish.quants), else the file
    stem; only the parts of one split set are grouped (X-Q8_0.gguf and X-imat-Q8_0.gguf are two
    models with one label), ordered by part number."""
    groups: dict[tuple[str, str], list[Path | str]] = {}
    for key, f in models:
        name = _name(key)
        label = label_from_filename(name) or name[: -len(".gguf")]
        stem = key[: -len("-00001-of-00001.gguf")] if shard_info(name) else key
        groups.setdefault((label, stem), []).append(f)
    out = []
    for (label, _), files in groups.items():
        if len(files) > 1 or shard_info(_name(files[0])):
            files = sorted(files, key=lambda p: (shard_info(_name(p)) or (0, 0))[0])
            out.append(StagedQuant(label, files[0], tuple(files)))
        else:
            out.append(StagedQuant(label, files[0]))
    return out


def _name(path: Path | str) -> str:
    """The file name of a Path, a repo path or an hf:// URL."""
    return path.name if isinstance(path, Path) else path.rsplit("/", 1)[-1]


def _join(root: Path | str, name: str) -> str:
    """`name` in the folder `root` (a Path) or the Hub repo `root` (hf://ORG/NAME[@REV]), as messages show it."""
    return str(root / name) if isinstance(root, Path) else f"{root}/{name}"


# a JSON string (skipped) or a number-like literal Python's json module takes
_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|(NaN|-?Infinity|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)')


def _not_go_json_number(text: str) -> tuple[str, int, int] | None:
    """(literal, line, column) of the first literal in JSON `text` (which Python's json read) that
    Go's encoding/json refuses: NaN, ±Infinity, or a number float64 cannot hold; else None."""
    for m in _JSON_TOKEN.finditer(text):
        literal = m.group(1)
        if literal and (literal.lstrip("-") in ("NaN", "Infinity") or float(literal) in (float("inf"), float("-inf"))):
            line = text.count("\n", 0, m.start()) + 1
            return literal, line, m.start() - (text.rfind("\n", 0, m.start()) + 1) + 1
    return None


def parse_params(text: str, problems: list[StagedProblem]) -> dict:
    """The text of a `params` file (a staged folder's, or a Hub repo's) as a dict; {} with a
    StagedProblem appended to `problems` (PARAMS_JSON with line and column, or
    PARAMS_NOT_OBJECT) when it is not a JSON object. Never raises.

    JSON as Ollama reads it (Go's encoding/json, v0.24.0 server/images.go GetModel, on every
    request): NaN, Infinity and a number beyond float64 (1e400), which Python's json module takes,
    are PARAMS_JSON too: the pull succeeds, then every request fails with Go's decode error."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        problems.append(StagedProblem(PARAMS, PARAMS_JSON, f"params is not valid JSON: {err.msg}",
                                      err.lineno, err.colno, hint="rebuild it with `publish build`",
                                      detail=err.msg))
        return {}
    except ValueError as err:   # an integer literal beyond Python's digit limit
        problems.append(StagedProblem(PARAMS, PARAMS_JSON, f"params is not valid JSON: {err}", 1, 1,
                                      hint="rebuild it with `publish build`", detail=str(err)))
        return {}
    if (bad := _not_go_json_number(text)) is not None:
        literal, line, col = bad
        why = (f"{literal} is not a number Go's JSON decoder reads (Ollama refuses every request to the "
               f"model: {'not JSON' if literal.lstrip('-') in ('NaN', 'Infinity') else 'beyond float64'})")
        problems.append(StagedProblem(PARAMS, PARAMS_JSON, f"params is not valid JSON: {why}", line, col,
                                      hint="write a finite number, or rebuild it with `publish build`",
                                      detail=why))
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
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False, onerror=raise_folder_error):
        base = Path(dirpath)
        for d in list(dirnames):
            if d.startswith("."):
                dirnames.remove(d)
            elif (base / d).is_symlink():
                found.append(base / d)
        found.extend(base / name for name in filenames if not name.startswith("."))
    return sorted(found, key=lambda p: p.relative_to(root).as_posix())


def manifest_path(root: Path) -> Path:
    """Where `publish build` records what it staged in the folder `root`: the hidden file
    `.<folder>.publish-build.json` beside it (outside the folder, so a push never sends it)."""
    return root.parent / f".{root.name}{MANIFEST_SUFFIX}"


def read_manifest(root: Path) -> dict:
    """The build manifest of the folder `root` (manifest_path): {"folder", "spec", "repo",
    "files": [names generated]}; {} when there is none or it is not a JSON object (an old or
    damaged manifest is ignored, never an error). Callers check each value's type."""
    try:
        data = json.loads(manifest_path(root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


_MODELFILE_HEADER = re.compile(r"^#\s*(\S+?):\S+ \(publish build\)")


def _recorded_repo(root: Path, modelfile_texts: list[str]) -> str | None:
    """The repo id `publish build` recorded: its manifest beside the folder
    (`.<folder>.publish-build.json`, key "repo"), else the header comment of a Modelfile it wrote
    ("# ORG/NAME:LABEL (publish build). …"). None when neither names a valid ORG/NAME."""
    repo = read_manifest(root).get("repo")
    if isinstance(repo, str) and is_repo_id(repo):
        return repo
    for text in modelfile_texts:
        m = _MODELFILE_HEADER.match(text[:4096].partition("\n")[0])
        if m and is_repo_id(m.group(1)):
            return m.group(1)
    return None
