"""`publish lint`: run the GGUF rules over files, folders and hf:// URLs.

    result = lint_paths(["dist/gemma-3n/"], select=["GG1", "GG2"], ignore=["GG205"])
    result.findings, result.counts, result.exit_code

A file the reader refuses becomes a GG001 finding and the other files are still linted.
A staged repo folder (GGUFs next to `template`, `params` or `README.md`) also gets the folder
rules of `publish.folder_rules.check_folder`.

Chat model or base model (publish.modelkind): `kind="base"` says every file is a base model; by
default a staged folder whose `template` passes the prompt through is a base release, and a lone
file is one when its header says so (`modelkind.header_says_base`). Chat-only rules (GG203) do not
run for a base model.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from publish.engines import parse_target
from publish.errors import GGUFError, UsageError
from publish.findings import Finding, Severity, severity_counts
from publish.gguf.header import GGUFHeader
from publish.records import Record
from publish.sources import Source, expand, is_remote

TYPE_CHECKING = False  # typing is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from collections.abc import Callable

    from publish.gguf import rules
    from publish.staged import StagedFolder

_SELECTOR = r"^[A-Z]+[0-9]*$"  # compiled on first use (re's cache): only --select/--ignore need it


class LintResult(Record):
    """What `lint` found: every finding, and every GGUF looked at (`files`, in input order). Each
    None: a new empty list (publish.records.Record)."""

    __slots__ = ("findings", "files")
    findings: list[Finding]
    files: list[str]                 # every GGUF looked at, in input order

    def __init__(self, findings: list[Finding] | None = None, files: list[str] | None = None):
        self._fill([] if findings is None else findings, [] if files is None else files)

    @property
    def counts(self) -> dict[str, int]:
        """Findings per severity: {"error": n, "warning": n, "info": n}."""
        return severity_counts(self.findings)

    @property
    def fixable(self) -> int:
        """How many findings `publish fix` can fix."""
        return sum(f.fixable for f in self.findings)

    @property
    def exit_code(self) -> int:
        """The process exit status `publish lint` uses: 1 when any finding is an error, else 0."""
        return 1 if any(f.severity == Severity.ERROR for f in self.findings) else 0


def parse_selectors(values: list[str] | None, known: set[str] | None = None,
                    refused: str | None = None) -> list[str] | None:
    """Codes or prefixes, ruff-style: "GG1" selects GG1xx, "ALL" every code. Accepts comma-separated
    items; returns prefixes to match with `str.startswith`. `known`: the codes the command applies
    (default known_codes(): every GG and RP rule); `refused`: why a code of another rule is not
    among them (publish fix: the RP rules). Raises UsageError for an item that is not a rule code
    or prefix, or matches no rule of `known` (the hint lists those)."""
    if values is None:
        return None
    from publish.gguf import rules

    out = []
    every: set[str] | None = None  # known_codes(), asked only for an item no GG code matches: the
    #                                staged-folder rules import publish.staged and publish.modelfile
    for value in values:
        for item in value.split(","):
            item = item.strip().upper()
            if not item:
                continue
            if item == "ALL":
                out.append("")
                continue
            if not re.match(_SELECTOR, item):
                raise UsageError(f"{item!r} is not a rule code or prefix", hint="use codes like GG101 or prefixes like GG1")
            if any(code.startswith(item) for code in (rules.RULES if known is None else known)):
                out.append(item)
                continue
            every = known_codes() if every is None else every
            applied = every if known is None else known
            if not any(code.startswith(item) for code in applied):
                if refused and any(code.startswith(item) for code in every):
                    raise UsageError(f"{item}: {refused}", hint=f"codes it applies: {', '.join(sorted(applied))}")
                raise UsageError(f"no rule matches {item!r}", hint=f"known codes: {', '.join(sorted(applied))}")
            out.append(item)
    return out


def known_codes() -> set[str]:
    """GG codes of the GGUF rules plus the staged-folder rule codes (when that module is there)."""
    from publish.gguf import rules

    codes = set(rules.RULES)
    folder_rules = _folder_rules()
    if folder_rules is not None:
        codes |= set(getattr(folder_rules, "RULES", {}))
    return codes


def _folder_rules():
    import importlib

    try:
        return importlib.import_module("publish.folder_rules")
    except ImportError as err:
        if err.name != "publish.folder_rules":
            raise
        return None  # the staged-folder rules are not in this tree


def _selected(code: str, select: list[str] | None, ignore: list[str] | None) -> bool:
    if select is not None and not any(code.startswith(s) for s in select):
        return False
    return not (ignore and any(code.startswith(s) for s in ignore))


class _Headers:
    """Reads each source once; refused files become GG001 findings. Headers a staged folder's
    read already holds (`take`) are used instead of reading the file again."""

    def __init__(self) -> None:
        self.headers: dict[str, GGUFHeader | None] = {}
        self.findings: list[Finding] = []
        self._read_before: dict[str, GGUFHeader | GGUFError] = {}

    def take(self, folder: StagedFolder) -> None:
        """Keep the headers (and the reader's refusals) of a StagedFolder for `read`."""
        for path, got in [*folder.headers.items(), *folder.unreadable.items()]:
            self._read_before.setdefault(str(path), got)

    def read(self, src: Source) -> GGUFHeader | None:
        if src.display in self.headers:
            return self.headers[src.display]
        hdr: GGUFHeader | None = None
        try:
            got = self._read_before.get(src.display)
            if isinstance(got, GGUFError):
                raise got
            hdr = got if got is not None else src.read_header()
        except GGUFError as err:
            from publish.gguf import rules

            self.findings.append(rules.unreadable(src.display, err.offset, err.expected, err.hint))
        except OSError as err:
            raise UsageError(f"{src.display}: cannot read: {err.strerror or err}") from None
        self.headers[src.display] = hdr
        return hdr


def _split_sets(sources: list[Source], reader: _Headers) -> tuple[list[rules.SplitSet], set[str]]:
    """Group split parts into sets; returns the sets and the display names that belong to one."""
    from publish.gguf import rules
    from publish.gguf.split import part_names

    groups: dict[tuple[str, ...], list[Source]] = {}
    members: set[str] = set()
    sets: list[rules.SplitSet] = []
    for src in sources:
        names = part_names(src.display)
        hdr = reader.headers.get(src.display)
        if names is not None:
            groups.setdefault(tuple(names), []).append(src)
        elif hdr is not None and hdr.split is not None and hdr.split[1] > 1:
            # split.* keys in a file whose name does not say which part it is
            sets.append(rules.SplitSet(src.display, hdr.split[1], {}, misnamed=[hdr]))
            members.add(src.display)
    for names, srcs in groups.items():
        given = {s.display: s for s in srcs}
        remote = srcs[0].local_path is None
        parts: dict[int, GGUFHeader] = {}
        missing: list[str] = []
        for no, name in enumerate(names, start=1):
            src = given.get(name)
            if src is None and not remote and Path(name).is_file():
                src = Source(name, Path(name))
            if src is None:
                # a lone remote part given by its URL names no listing to compare against; parts
                # from a repo listing (Source.listed) or a local folder do
                if not remote or len(given) > 1 or any(s.listed for s in srcs):
                    missing.append(name)
                continue
            hdr = reader.read(src)
            if hdr is not None:
                parts[no] = hdr
        members.update(given)
        sets.append(rules.SplitSet(names[0], len(names), parts, missing))
    return sets, members


def lint_paths(paths: list[str | StagedFolder], *, select: list[str] | None = None,
               ignore: list[str] | None = None, target: str | None = None,
               kind: str | None = None) -> LintResult:
    """Lint GGUF files, folders of GGUFs, hf:// URLs and staged folders already read
    (publish.staged.StagedFolder: `publish release` passes the one its build returned; a path to
    a staged folder is read here, once, with `StagedFolder.load(path, tolerant=True)`).
    Raises UsageError for paths that do not exist and for a Hub repo's StagedFolder
    (StagedFolder.from_hub: lint its GGUFs by their hf:// address).

    `target` ("all", the default, or "ollama-0.24" / "ollama" / "llama.cpp", publish.engines) keeps
    the GG rules that affect that engine; folder (RP) rules are about the Ollama files and always run.
    `kind`: "base" or "chat" for every file, or None to tell from the folder / header (module doc)."""
    from publish import jinja_facts, modelkind

    if kind is not None and kind not in modelkind.KINDS:
        raise UsageError(f"kind {kind!r}: expected one of {', '.join(modelkind.KINDS)}")
    select, ignore = parse_selectors(select), parse_selectors(ignore)
    engines = parse_target(target)
    base_files: set[str] = set()   # display names of files in a staged base release
    reader = _Headers()
    sources: list[Source] = []
    staged: list[tuple[StagedFolder, list[Source]]] = []
    seen: set[str] = set()
    for arg in paths:
        folder = None
        if not isinstance(arg, (str, os.PathLike)):   # a StagedFolder already read
            from publish.staged import staged as staged_folder

            folder = staged_folder(arg, tolerant=True)
        elif not is_remote(arg) and Path(arg).is_dir():
            from publish.staged import StagedFolder, looks_staged  # a file's lint needs none of it

            if looks_staged(Path(arg)):
                folder = StagedFolder.load(arg, tolerant=True)
        if folder is not None:
            expanded = [Source(str(f), f) for f in folder.ggufs if f.is_file()]
            staged.append((folder, expanded))
            reader.take(folder)
            if kind is None and folder.kind == modelkind.BASE:
                base_files.update(s.display for s in expanded)
        else:
            expanded = expand([arg])
        for src in expanded:
            if src.display not in seen:
                seen.add(src.display)
                sources.append(src)
    if not sources:
        from publish.sources import no_ggufs

        raise no_ggufs(list(paths))

    for src in sources:
        reader.read(src)
    from publish.gguf.rules import JINJA_RULES

    def wanted(code: str) -> bool:   # --select, --ignore and --target
        return _selected(code, select, ignore) and _for_engines(code, engines)

    # Only the GG rules in JINJA_RULES and the folder rules ask Jinja: a --select/--ignore/--target
    # that leaves none of them, or files without a chat template, need no worker (a prestarted one
    # is stopped, its CPU freed); a staged folder's rules may ask what its headers did not foresee.
    asks = bool(staged) or any(map(wanted, JINJA_RULES))
    with jinja_facts.prepared(reader.headers.values() if asks else (), needed=asks, later=bool(staged)):
        # The worker imports Jinja and checks the chat templates while this process imports the
        # rules and runs them.
        return _lint_read(sources, reader, staged, base_files, kind, wanted)


def _lint_read(sources: list[Source], reader: _Headers, staged: list[tuple[StagedFolder, list[Source]]],
               base_files: set[str], kind: str | None, wanted: Callable[[str], bool]) -> LintResult:
    """lint_paths once every header is read; `wanted(code)`: the rule's findings are reported."""
    from publish import modelkind
    from publish.gguf import rules

    sets, members = _split_sets(sources, reader)

    def is_base(display: str, hdr) -> bool:
        if kind is not None:
            return kind == modelkind.BASE
        return display in base_files or modelkind.header_says_base(hdr)

    findings: list[Finding] = []
    for src in sources:
        hdr = reader.headers[src.display]
        if hdr is not None and src.display not in members:
            findings.extend(rules.check_header(hdr, base=is_base(src.display, hdr), only=wanted))
    # a staged folder is one repo, its sub-folders included (push uploads them all)
    roots = {src.display: str(folder.path) for folder, srcs in staged for src in srcs}
    findings.extend(_repo_findings(sources, reader, roots))
    for s in sets:
        findings.extend(rules.check_split_set(s))
        merged = rules.merged_view(s) if not s.misnamed else s.misnamed[0]
        if merged is not None and (not s.misnamed or merged.split[0] == 0):
            findings.extend(rules.check_header(merged, base=is_base(merged.path, merged), only=wanted))
    findings.extend(reader.findings)

    for folder, srcs in staged:
        findings.extend(_folder_findings(folder, {s.local_path: reader.headers[s.display] for s in srcs
                                                  if reader.headers.get(s.display) is not None}))

    findings = [f for f in findings if wanted(f.code)]
    findings.sort(key=lambda f: (f.path, f.code, f.subject or "", f.offset if f.offset is not None else -1))
    return LintResult(findings=findings, files=list(reader.headers))


def lint_report(paths: list[str], fmt: str, *, select: list[str] | None = None, ignore: list[str] | None = None,
                target: str = "all", base: bool | None = None) -> tuple[str, int]:
    """What `publish lint PATH...` prints and its exit code, for both of its command lines (the click
    command publish.cli.lint_cmd and the quick path publish.quickcli): `lint_paths` of `paths`, then
    the findings formatted as `fmt` ("text", "json", "github" or "sarif"; publish.report). `base` is
    --base (True), --chat (False) or neither (None: lint_paths decides per file); empty `select` or
    `ignore` lists mean none given. Raises what lint_paths raises."""
    from publish.report import format_findings

    kind = None if base is None else ("base" if base else "chat")
    result = lint_paths(list(paths), select=select or None, ignore=ignore or None, target=target, kind=kind)
    text = format_findings(result.findings, len(result.files), fmt)
    # A finding may quote a template's own error text, which can hold a lone surrogate
    # (`raise_exception('\ud800')`): no UTF-8 output can carry one, so it is written escaped.
    return text.encode("utf-8", "backslashreplace").decode("utf-8"), result.exit_code


def _repo_findings(sources: list[Source], reader: _Headers, roots: dict[str, str]) -> list[Finding]:
    """Rules over every GGUF of one folder or Hub repo at once (two files answering one tag).
    `roots`: display name -> the staged folder it belongs to (grouped whole); other files are
    grouped by the folder that holds them."""
    groups: dict[str, dict[str, GGUFHeader | None]] = {}
    for src in sources:
        parent = roots.get(src.display) or (src.display.replace("\\", "/").rsplit("/", 1)[0]
                                             if "/" in src.display.replace("\\", "/") else ".")
        groups.setdefault(parent, {})[src.display] = reader.headers.get(src.display)
    out: list[Finding] = []
    for parent, files in groups.items():
        if len(files) > 1:
            from publish.gguf import rules

            out.extend(rules.check_repo(rules.RepoFiles(parent, files)))
    return out


def _for_engines(code: str, engines) -> bool:
    from publish.gguf import rules

    r = rules.RULES.get(code)
    return r is None or r.affects(engines)


def _folder_findings(folder: StagedFolder, headers: dict[Path, GGUFHeader]) -> list[Finding]:
    folder_rules = _folder_rules()
    return [] if folder_rules is None else list(folder_rules.check_folder(folder, headers))
