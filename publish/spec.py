"""The release spec: one TOML file per Hub repo, parsed into frozen dataclasses.

Every problem is a SpecError naming the file, the dotted key and the fix. Unknown keys are errors
with a "did you mean". The layout is documented in the README ("Release spec"); examples/ holds
complete specs.

A spec reads only its own folder. Specs arrive in pull requests and run in CI next to secrets, so
every path a spec names (system_file, license_file, template.file, card.extra_file, quants.dir and
the quant files, pattern matches and mmproj inside it) must resolve, symlinks followed, inside the
folder that holds the spec; an absolute path, a `..` or a symlink out of the folder is a SpecError
naming the key. Only the command line may point elsewhere: `gguf_dir` (--gguf-dir) is the user's
own choice, so the GGUFs named by the spec are then read from that folder as it is.
"""

from __future__ import annotations

import difflib
import glob as globlib
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from publish.addresses import check_repo_option, is_repo_id
from publish.errors import ModelfileError, PublishError, SpecError, SpecErrors, TextFileError, TextFileMissing
from publish.fsutil import read_utf8
from publish.gguf.kinds import MODEL, file_kind
from publish.quants import is_projector_filename, label_from_filename, shard_info

FAILED = object()   # what _Reader.attempt returns for a section whose problem it kept

_FILE_STEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")
_BASE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?\Z")

# table -> {key: (expected python type(s), human type name)}
_STR = ((str,), "a string")
_SCHEMA: dict[str, dict[str, tuple[tuple[type, ...], str]]] = {
    "": {"repo": _STR, "base_model": _STR, "license": _STR, "license_file": _STR,
         "quantized_by": _STR, "pipeline_tag": _STR, "system": _STR, "system_file": _STR,
         "model_name": _STR,
         "template": ((dict,), "a table"), "params": ((dict,), "a table"),
         "quants": ((dict,), "a table"), "card": ((dict,), "a table"),
         "model": ((dict,), "a table"), "smoke": ((dict,), "a table")},
    "model": {"kind": _STR},
    "smoke": {"prompt": ((list,), "an array of tables"), "prompts_file": _STR},
    "template": {"family": _STR, "text": _STR, "file": _STR, "from": _STR, "name": _STR},
    "quants": {"dir": _STR, "pattern": _STR, "mmproj": _STR, "files": ((list,), "an array of tables")},
    "quants.files": {"label": _STR, "file": _STR, "use": _STR},
    "card": {"title": _STR, "extra": _STR, "extra_file": _STR, "tags": ((list,), "an array of strings"),
             "recommended": _STR},
}
_REQUIRED = ("repo", "base_model", "license", "quantized_by", "quants")  # template: not for a base model
_REQUIRED_ENTRY = ("label", "file")   # in each [quants] files entry


@dataclass(frozen=True)
class TemplateSpec:
    """The Go template a release ships: `source` for messages and the card ("family gemma3",
    "inline", or the file as written in the spec), its `text`, the family and its stop strings
    when it came from one, and `from_gguf` (with `gguf_name`) when `publish build` converts the
    GGUF's own chat template instead."""
    source: str               # "family gemma3n", "inline", or the file path
    text: str                 # the Go template
    family: str | None = None
    family_stop: tuple[str, ...] = ()
    from_gguf: bool = False   # [template] from = "gguf": `publish build` converts the GGUF's chat template
    gguf_name: str | None = None   # a named chat template of the GGUF (tokenizer.chat_template.NAME)


@dataclass(frozen=True)
class QuantEntry:
    """A `[quants] files` entry as written: the tag `label`, the `file` relative to the GGUF folder,
    the card's `use` text, and its dotted `key` for messages."""
    label: str
    file: str                 # as written, relative to the GGUF folder
    use: str | None = None
    key: str = ""             # dotted key for messages


@dataclass(frozen=True)
class Quant:
    """A quant resolved against the GGUF folder."""
    label: str
    files: tuple[Path, ...]   # one file, or every part of a split set in order
    use: str | None = None

    @property
    def path(self) -> Path:
        """The quant's file (the first part of a split set)."""
        return self.files[0]


@dataclass(frozen=True)
class CardSpec:
    """The `[card]` table: the card's `title`, `extra` Markdown, additional `tags`, and the
    `recommended` quant label marked in the quant table."""
    title: str | None = None
    extra: str | None = None
    tags: tuple[str, ...] = ()
    recommended: str | None = None


@dataclass(frozen=True)
class ReleaseSpec:
    """A validated release spec (`load_spec`): the Hub `repo` (ORG/NAME), `base_model`, Hub
    `license` id, `quantized_by`, the template, typed Ollama `params` (float options as float,
    `stop` as a list), system prompt and license text, the quant entries and where the GGUFs are,
    the card, smoke prompts and the model kind (chat or base)."""
    path: Path                      # the spec file
    repo: str                       # ORG/NAME
    base_model: str
    license: str                    # Hub license id, e.g. "gemma", "apache-2.0"
    quantized_by: str
    template: TemplateSpec
    params: Mapping[str, Any] = field(default_factory=dict)   # typed Ollama parameters
    system: str | None = None
    license_text: str | None = None
    pipeline_tag: str = "text-generation"
    model_name: str = ""            # file-name stem for renamed GGUFs; default: repo name minus -GGUF
    gguf_dir: Path = Path(".")      # where the GGUFs are (absolute)
    # The folder every GGUF must resolve inside (symlinks followed): the spec's folder when the GGUF
    # folder comes from the spec (quants.dir), None when the user chose it (--gguf-dir).
    confine: Path | None = None
    quant_entries: tuple[QuantEntry, ...] = ()
    pattern: str | None = None
    mmproj: str | None = None
    card: CardSpec = CardSpec()
    kind: str = "chat"              # publish.modelkind: "chat" or "base" ([model] kind)
    smoke_prompts: tuple = ()       # publish.smoke.prompts.Prompt from [smoke]; () = the defaults

    @property
    def is_base(self) -> bool:
        """Whether the release is a base (completion) model: `[model] kind = "base"`."""
        return self.kind == "base"

    @property
    def name(self) -> str:
        """The repo's NAME part (ORG/NAME)."""
        return self.repo.split("/", 1)[1]

    @property
    def org(self) -> str:
        """The repo's ORG part (ORG/NAME)."""
        return self.repo.split("/", 1)[0]

    def with_repo(self, repo: str | None) -> "ReleaseSpec":
        """The spec for another Hub repo (`--repo ORG/NAME`: a fork, a test org); None keeps the
        spec's `repo`. The GGUF file names (`model_name`) stay; the card, the Modelfile headers and
        the build manifest name the new repo. Raises UsageError for a string that is not a repo id."""
        if repo is None or repo == self.repo:
            return self
        check_repo_option(repo)
        return replace(self, repo=repo)

    def with_gguf_dir(self, gguf_dir: str | Path | None) -> "ReleaseSpec":
        """The spec with the GGUF folder the user chose (--gguf-dir); None keeps quants.dir."""
        return self if gguf_dir is None else replace(self, gguf_dir=Path(gguf_dir).resolve(), confine=None)

    def _confined(self, p: Path, key: str) -> Path:
        """`p` (a GGUF under gguf_dir) checked against `confine`; SpecError when a symlink leaves it."""
        if self.confine is not None and not p.resolve().is_relative_to(self.confine):
            raise SpecError(str(self.path), key, f"{p.name} resolves to a path outside the spec's folder "
                            "(through a symlink)", hint=_GGUF_OUTSIDE_HINT)
        return p

    def _kind(self, p: Path, key: str, *, folder: bool = False) -> str:
        """publish.fsutil.input_kind of `p` ("folder", "file", "missing"), a folder also listed
        (list_folder: glob sees a folder it cannot read as empty); what cannot be read (permission
        denied, a broken link, a FIFO) is a SpecError naming the spec's `key` and the path."""
        from publish.errors import InputPathError
        from publish.inputpaths import input_kind, list_folder

        try:
            kind = input_kind(p)
            if folder and kind == "folder":
                list_folder(p)
        except InputPathError as err:
            raise SpecError(str(self.path), key, err.message, hint=err.hint) from None
        return kind

    def resolve_quants(self) -> list[Quant]:
        """Find every quant's file(s) in gguf_dir. Raises SpecError for missing files and for a
        folder or file that cannot be read (permission denied, a broken link, a FIFO)."""
        root = self.gguf_dir
        fix = "pass --gguf-dir DIR (or set quants.dir) to the folder that holds the GGUFs"
        if self._kind(root, "quants.dir", folder=True) != "folder":
            raise SpecError(str(self.path), "quants.dir", f"GGUF folder {root} does not exist", hint=fix)
        out: list[Quant] = []
        for e in self.quant_entries:
            p = root / e.file
            if self._kind(p, e.key) != "file":
                raise SpecError(str(self.path), e.key, f"file not found: {p}", hint=fix)
            parts = _with_parts(p)
            for part in parts:
                self._confined(part, e.key)
            out.append(Quant(e.label, parts, e.use))
        if self.pattern:
            # root_dir: brackets or stars in the folder's own name are not glob syntax
            matches = sorted(root / m for m in globlib.glob(self.pattern, root_dir=root)
                             if self._kind(root / m, "quants.pattern") == "file")
            matches = [self._confined(m, "quants.pattern") for m in matches if not is_projector_filename(m.name)]
            if not matches:
                raise SpecError(str(self.path), "quants.pattern",
                                f"{self.pattern!r} matches no file in {root}", hint=fix)
            # importance matrices, LoRA adapters and projectors are GGUFs too, but not quants
            matches = [m for m in matches if file_kind(m) == MODEL]
            if not matches:
                raise SpecError(str(self.path), "quants.pattern",
                                f"{self.pattern!r} matches only GGUFs that are not models (imatrix, LoRA "
                                f"adapter, projector) in {root}", hint=fix)
            groups: dict[str, list[Path]] = {}
            for m in matches:
                label = label_from_filename(m.name)
                if label is None:
                    raise SpecError(str(self.path), "quants.pattern",
                                    f"{m.name}: no quant label in the file name",
                                    hint="name files like MODEL-Q4_K_M.gguf, or list it under quants.files "
                                         "with an explicit label")
                groups.setdefault(label, []).append(m)
            for label, files in groups.items():
                if any(q.label == label for q in out):
                    continue  # an explicit entry wins
                sets = {_shard_set(f) for f in files}
                if len(sets) > 1:
                    # X-Q8_0.gguf and X-imat-Q8_0.gguf are two models, not two parts of one
                    names = " and ".join(sorted(f.name for f in files if (shard_info(f.name) or (1, 1))[0] == 1))
                    raise SpecError(str(self.path), "quants.pattern",
                                    f"{names} both carry the label {label}: they would answer the same "
                                    f"hf.co/ORG/REPO:{label} tag",
                                    hint="narrow quants.pattern to one model, or list the files under quants.files "
                                         "with distinct labels")
                files.sort(key=lambda f: (shard_info(f.name) or (0, 0))[0])
                out.append(Quant(label, tuple(files), None))
        return out

    def resolve_mmproj(self) -> Path | None:
        """The projector file `quants.mmproj` names, inside the GGUF folder; None when the spec
        names none. Raises SpecError when it is missing, cannot be read or lies outside the spec's folder."""
        if self.mmproj is None:
            return None
        p = self.gguf_dir / self.mmproj
        if self._kind(p, "quants.mmproj") != "file":
            raise SpecError(str(self.path), "quants.mmproj", f"file not found: {p}",
                            hint="pass --gguf-dir DIR to the folder that holds the GGUFs")
        return self._confined(p, "quants.mmproj")


def _shard_set(p: Path) -> str:
    """The name shared by the parts of one split set (the file name itself when not split)."""
    return p.name[: -len("-00001-of-00001.gguf")] if shard_info(p.name) else p.name


def _with_parts(p: Path) -> tuple[Path, ...]:
    info = shard_info(p.name)
    if not info:
        return (p,)
    stem = p.name[: -len("-00001-of-00001.gguf")]
    parts = tuple(p.with_name(f"{stem}-{i:05d}-of-{info[1]:05d}.gguf") for i in range(1, info[1] + 1))
    return parts


_GGUF_OUTSIDE_HINT = ("keep the GGUFs in the spec's folder (or a subfolder named by quants.dir), or pass "
                      "--gguf-dir DIR on the command line to read them from another folder")
_OUTSIDE_HINT = ("a release spec reads only files in its own folder: put the file next to the spec "
                 "(or in a subfolder) and write its relative path")


def confined_path(spec_path: Path, key: str, value: str, root: Path, *, hint: str = _OUTSIDE_HINT) -> Path:
    """`value` (a path written in the spec under `key`) as a resolved path inside `root`.

    `root` must already be resolved. Raises SpecError for an empty value, a NUL character, an absolute path, a `..`
    part, or a path that leaves `root` through a symlink (the link is resolved first, so a link to
    /proc/self/environ or ~/.cache/huggingface/token inside the folder is refused too).
    """
    if not value.strip():
        raise SpecError(str(spec_path), key, "is empty", hint="write a path relative to the spec's folder")
    if "\0" in value:   # no file system takes it; os.path would raise ValueError
        raise SpecError(str(spec_path), key, f"{value!r} holds a NUL character", hint="write a path relative to the spec's folder")
    rel = Path(value)
    if rel.is_absolute() or value.startswith("~"):
        kind = "a home-folder path" if value.startswith("~") else "an absolute path"
        raise SpecError(str(spec_path), key, f"{value!r} is outside the spec's folder ({kind})", hint=hint)
    if ".." in rel.parts:
        raise SpecError(str(spec_path), key, f"{value!r} leaves the spec's folder (..)", hint=hint)
    p = (root / rel).resolve()
    if not p.is_relative_to(root):
        raise SpecError(str(spec_path), key, f"{value!r} resolves to a path outside the spec's folder "
                        "(through a symlink)", hint=hint)
    return p


class _Reader:
    """Walks the parsed TOML, checking keys and types, collecting the dotted path."""

    def __init__(self, path: Path):
        self.path = path
        self.errors: list[SpecError] = []    # problems kept to report together (attempt)
        self.misspelt = False                # check_keys met a misspelling of a key the table lacks

    def err(self, key: str | None, message: str, hint: str | None = None) -> SpecError:
        return SpecError(str(self.path), key, message, hint=hint)

    def attempt(self, read, *args):
        """read(*args), or FAILED when it raises SpecError, which is kept with the others: one run
        reports every section's problem, not the first one only."""
        outer, self.misspelt = self.misspelt, False
        try:
            return read(*args)
        except SpecError as e:
            if not self.misspelt:   # else most likely the misspelling's consequence ("file: missing")
                self.errors.append(e)
            return FAILED
        finally:
            self.misspelt = outer

    def raise_errors(self) -> None:
        """Raise the kept problems: the one SpecError, or SpecErrors holding them all."""
        if len(self.errors) == 1:
            raise self.errors[0]
        if self.errors:
            raise SpecErrors(self.errors)

    def inside(self, key: str, value: str, root: Path, **kw) -> Path:
        return confined_path(self.path, key, value, root, **kw)

    def check_keys(self, table: dict, schema_name: str, prefix: str) -> None:
        """Unknown keys are kept (attempt; readers ignore them); the first value of a wrong type is
        raised, since the table cannot be read further. An unknown key close to a key the table
        lacks sets `misspelt`: the section's own error that follows is then not reported."""
        schema = _SCHEMA[schema_name]
        wrong = None
        for key, value in table.items():
            dotted = f"{prefix}{key}"
            if key not in schema:
                self.errors.append(self.err(dotted, "unknown key", hint=self._suggest(key, schema_name)))
                absent = [k for k in schema if k not in table]
                self.misspelt = self.misspelt or bool(difflib.get_close_matches(key, absent, n=1, cutoff=0.6))
                continue
            types, tname = schema[key]
            if not isinstance(value, types) and wrong is None:
                wrong = self.err(dotted, f"must be {tname} (got {_tname(value)})",
                                 hint=_TYPE_HINTS[tname].format(key=key))
        if wrong is not None:
            raise wrong

    def _suggest(self, key: str, schema_name: str) -> str:
        from publish.modelfile import PARAMETER_TYPES

        if schema_name == "" and key in PARAMETER_TYPES:
            return f"Ollama parameters go under [params]: move `{key} = …` there"
        known = list(_SCHEMA[schema_name])
        close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
        if close:
            return f"did you mean {close[0]!r}?"
        where = f"[{schema_name}]" if schema_name else "the top level"
        return f"valid keys in {where}: " + ", ".join(sorted(known))


_TYPE_HINTS = {
    "a string": 'quote it: {key} = "…"',
    "a table": "write it as a [{key}] section",
    "an array of tables": '{key} = [{{ label = "Q4_K_M", file = "model-Q4_K_M.gguf" }}]',
    "an array of strings": '{key} = ["…"]',
}
_PARAM_HINTS = {int: "write a whole number, e.g. {name} = 64", float: "write a number, e.g. {name} = 0.7",
                bool: "write {name} = true or false", list: 'write {name} = ["<end_of_turn>"]'}


def _tname(v: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array",
            dict: "a table"}.get(type(v), type(v).__name__)


def _model_not_spec(path: Path) -> SpecError | None:
    """The error for a GGUF given where a release spec belongs (`publish build model.gguf`), else
    None. Also a file named *.gguf that is not one (an LFS pointer, an empty file, an HTML page):
    "named like a GGUF but looks like X, not a release spec", with publish.gguf.sniff's hint."""
    from publish.errors import GGUFError
    from publish.gguf.sniff import HEAD_BYTES, identify, is_gguf
    from publish.termtext import shell_command

    try:
        if not is_gguf(path):
            if not path.name.lower().endswith(".gguf"):
                return None
            with open(path, "rb") as f:
                head = f.read(HEAD_BYTES)
            seen = identify(head, path.stat().st_size)
            return SpecError(str(path), None,
                             f"named like a GGUF but looks like {seen.looks_like}; it is not a release spec either",
                             hint=f"{seen.hint}; `publish build` takes a release.toml that names the GGUFs")
    except (OSError, GGUFError):   # a FIFO, a broken link: not a GGUF, and already reported
        return None

    return SpecError(str(path), None, "that is a GGUF, not a release spec",
                     hint=f"did you mean `{shell_command('publish', 'lint', path)}` or "
                          f"`{shell_command('publish', 'inspect', path)}`? `publish build` takes a release.toml "
                          "that names the GGUFs (docs: the release spec page)")


def load_spec(path: str | Path, *, gguf_dir: str | Path | None = None) -> ReleaseSpec:
    """Read and validate a release spec. `gguf_dir` overrides `quants.dir` (e.g. --gguf-dir). Raises
    SpecError naming the file, the dotted key and the fix: a missing or unreadable file, not UTF-8
    (with the byte offset), invalid TOML, a missing, unknown or invalid key, a file outside the
    spec's folder."""
    path = Path(path)
    r = _Reader(path)
    try:
        text = read_utf8(path, hint="save the file as UTF-8")
    except TextFileMissing:
        raise SpecError(str(path), None, "release spec not found",
                        hint="check the path; a release spec is a TOML file naming the repo, its license and "
                             "the GGUFs (the release spec page of the docs has one to copy)") from None
    except TextFileError as e:
        raise _model_not_spec(path) or SpecError(
            str(path), None, e.problem,
            hint=e.hint if e.offset is not None else "pass the path of a release.toml file") from None
    if path.name.lower().endswith(".gguf"):
        err = _model_not_spec(path)
        if err is not None:
            raise err
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise _model_not_spec(path) or SpecError(str(path), None, f"invalid TOML: {e}",
                                                 hint="fix the TOML syntax at that line") from None

    # The top level first: the sections below read its tables. A value of the wrong type there, or a
    # missing key, stops here (with every unknown key); otherwise each section is read even when
    # another one failed, and every problem is reported in one run.
    typed = r.attempt(r.check_keys, data, "", "") is not FAILED
    missing = [key for key in _REQUIRED if key not in data]
    # a misspelt required key ("did you mean 'base_model'?") is reported once, as the unknown key
    misspelt = {m for key in data if key not in _SCHEMA[""] for m in difflib.get_close_matches(key, missing, n=1, cutoff=0.6)}
    r.errors += [r.err(key, "missing", hint=_REQUIRED_HINTS[key]) for key in missing if key not in misspelt]
    if missing or not typed:
        r.raise_errors()
    base = path.parent.resolve()

    repo = data["repo"]
    r.attempt(_check_top_level, r, data)
    kind = r.attempt(_read_kind, r, data.get("model", {}))
    template = FAILED
    if kind == "base":
        template = r.attempt(_read_base_template, r, data.get("template"), base)
    elif kind is not FAILED:
        if "template" not in data:
            r.errors.append(r.err("template", "missing", hint=_REQUIRED_HINTS["template"]))
        else:
            template = r.attempt(_read_template, r, data["template"], base)
    smoke_prompts = r.attempt(_read_smoke, r, data.get("smoke", {}), base)
    params = _read_params(r, data.get("params", {}), None if template is FAILED else template)
    system = r.attempt(_read_text, r, data, "system", "system_file", base)
    license_text = r.attempt(_read_text, r, {"license_file": data["license_file"]}, None, "license_file", base) \
        if "license_file" in data else None
    quants = r.attempt(_read_quants, r, data["quants"], base, gguf_dir)
    entries = () if quants is FAILED else quants[0]
    card = r.attempt(_read_card, r, data.get("card", {}), base, entries)
    r.raise_errors()
    entries, pattern, mmproj, folder, confine = quants
    model_name = data.get("model_name") or re.sub(r"[-_.]gguf\Z", "", repo.split("/", 1)[1], flags=re.I)
    _check_modelfile_safe(r, data, template, system, license_text, params)
    return ReleaseSpec(
        path=path, repo=repo, base_model=data["base_model"], license=data["license"],
        quantized_by=data["quantized_by"], template=template, params=params, system=system,
        license_text=license_text, pipeline_tag=data.get("pipeline_tag", "text-generation"),
        model_name=model_name, gguf_dir=folder, confine=confine, quant_entries=entries, pattern=pattern,
        mmproj=mmproj, card=card, kind=kind, smoke_prompts=smoke_prompts)


def _check_top_level(r: _Reader, data: dict) -> None:
    """repo, base_model and the other top-level strings."""
    repo = data["repo"]
    if not is_repo_id(repo):
        raise r.err("repo", f"{repo!r} is not a Hub repo id", hint='write it as "ORG/NAME", e.g. "your-org/model-GGUF"')
    base_model = data["base_model"]
    if not _BASE.match(base_model):
        raise r.err("base_model", f"{base_model!r} is not a Hub model id", hint='write it as "ORG/NAME", e.g. "google/gemma-3n-E4B-it"')
    for key in ("license", "quantized_by", "pipeline_tag", "model_name"):
        if key in data and not data[key].strip():
            raise r.err(key, "is empty", hint="give it a value or remove the key")
    if "model_name" in data and not _FILE_STEM.match(data["model_name"]):
        raise r.err("model_name", f"{data['model_name']!r} is not a file-name stem (it names the staged GGUFs)",
                    hint='use letters, digits, ".", "_" and "-", e.g. model_name = "gemma-3n-E4B-it"')


def _read_quants(r: _Reader, quants: dict, base: Path, gguf_dir: str | Path | None) -> tuple:
    """[quants]: (entries, pattern, mmproj, the GGUF folder, the folder paths are confined to or None)."""
    r.check_keys(quants, "quants", "quants.")
    entries = _read_quant_entries(r, quants.get("files", []))
    pattern = quants.get("pattern")
    if not entries and not pattern:
        raise r.err("quants", "lists no quant",
                    hint='add files = [{ label = "Q4_K_M", file = "model-Q4_K_M.gguf" }] or pattern = "model-*.gguf"')
    if pattern is not None and (not pattern.strip() or Path(pattern).is_absolute() or ".." in Path(pattern).parts):
        raise r.err("quants.pattern", f"{pattern!r} must be a glob relative to quants.dir", hint='e.g. "model-*.gguf"')
    mmproj = quants.get("mmproj")
    if mmproj is not None and not _is_relative_gguf(mmproj):
        raise r.err("quants.mmproj", f"{mmproj!r} must be a .gguf file name relative to quants.dir",
                    hint="use --gguf-dir to point at another folder")
    folder = r.inside("quants.dir", quants.get("dir", "."), base, hint=_GGUF_OUTSIDE_HINT)
    confine: Path | None = base
    if gguf_dir is not None:
        folder, confine = Path(gguf_dir).resolve(), None
    return entries, pattern, mmproj, folder, confine


def _check_modelfile_safe(r: _Reader, data: dict, template: TemplateSpec, system: str | None,
                          license_text: str | None, params: dict) -> None:
    """Every text that goes into a Modelfile must be one Ollama's parser reads back unchanged."""
    from publish.modelfile import quote

    template_key = "template.family" if template.family else (
        "template.text" if template.source == "inline" else "template.file")
    checks = [(template_key, None if template.from_gguf else template.text, True),
              ("system" if "system" in data else "system_file", system, True),
              ("license_file" if license_text is not None else "license",
               license_text if license_text is not None else data["license"], True)]
    checks += [(f"params.stop[{i}]", s, False) for i, s in enumerate(params.get("stop", []))]
    for key, text, block in checks:
        if text is None:
            continue
        try:
            quote(text, what=key, prefer_block=block)
        except ModelfileError as e:
            raise r.err(key, e.problem, hint=e.hint or "change the text") from None


_REQUIRED_HINTS = {
    "repo": 'add repo = "your-org/model-GGUF" (the Hub repo this release goes to)',
    "base_model": 'add base_model = "org/model" (the model these GGUFs were quantized from)',
    "license": 'add license = "apache-2.0" (a Hub license id, e.g. gemma, llama3.1, mit)',
    "quantized_by": 'add quantized_by = "your-name"',
    "template": 'add [template] with family = "gemma3" (or text = """…""" or file = "template.gotmpl"); '
                'for a base model without a chat format, add [model] kind = "base" instead',
    "quants": 'add [quants] with files = [{ label = "Q4_K_M", file = "model-Q4_K_M.gguf" }]',
}


def _read_kind(r: _Reader, table: dict) -> str:
    from publish.modelkind import KINDS

    r.check_keys(table, "model", "model.")
    kind = table.get("kind", "chat")
    if kind not in KINDS:
        close = difflib.get_close_matches(kind, KINDS, n=1)
        raise r.err("model.kind", f"{kind!r} is not a model kind",
                    hint=(f"did you mean {close[0]!r}? " if close else "") +
                    '"chat" (instruction-tuned, has a chat format) or "base" (pretrained, continues text)')
    return kind


def _read_base_template(r: _Reader, table: dict | None, base: Path) -> TemplateSpec:
    """A base model's template: `{{ .Prompt }}` unless [template] gives another that also hands the
    prompt over unchanged (publish.modelkind.is_completion_template)."""
    from publish.modelkind import COMPLETION_TEMPLATE, is_completion_template

    if table is None:
        return TemplateSpec("base model (the prompt as is)", COMPLETION_TEMPLATE)
    spec = _read_template(r, table, base)
    if spec.from_gguf or not is_completion_template(spec.text):
        key = next(k for k in ("family", "text", "file", "from") if k in table)
        raise r.err(f"template.{key}", "a base model's template must hand the prompt to the model unchanged",
                    hint=f'remove [template] (publish writes {COMPLETION_TEMPLATE}), or drop [model] kind = "base" '
                         "if this model has a chat format")
    return spec


def _read_smoke(r: _Reader, table: dict, base: Path) -> tuple:
    """[smoke]: the prompts `publish release` smokes with, inline (`[[smoke.prompt]]`, the format of
    a prompts file) or `prompts_file` (relative to the spec)."""
    from publish.errors import UsageError
    from publish.smoke.prompts import load_prompts, parse_prompt_entries

    r.check_keys(table, "smoke", "smoke.")
    if "prompt" in table and "prompts_file" in table:
        raise r.err("smoke", "set either prompt or prompts_file, not both", hint="remove one of them")
    try:
        if "prompt" in table:
            return tuple(parse_prompt_entries(table["prompt"], "smoke.prompt"))
        if "prompts_file" in table:
            return tuple(load_prompts(base / table["prompts_file"]))
    except UsageError as e:
        key = None if "prompt" in table else "smoke.prompts_file"
        from publish.smoke.prompts import FORMAT_HINT

        raise r.err(key, e.message, hint=e.hint or FORMAT_HINT) from None
    return ()


def _read_template(r: _Reader, table: dict, base: Path) -> TemplateSpec:
    r.check_keys(table, "template", "template.")
    given = [k for k in ("family", "text", "file", "from") if k in table]
    if len(given) != 1:
        raise r.err("template", "needs exactly one of family, text, file, from" + (f" (got {', '.join(given)})" if given else ""),
                    hint='e.g. family = "gemma3n", or from = "gguf" to convert the GGUF\'s own chat template')
    key = given[0]
    if "name" in table and key != "from":
        raise r.err("template.name", "only goes with from = \"gguf\" (it names one of the GGUF's chat templates)",
                    hint="remove it")
    if key == "from":
        if table["from"] != "gguf":
            raise r.err("template.from", f"unknown source {table['from']!r}",
                        hint='from = "gguf" converts the chat template stored in the GGUFs')
        name = table.get("name")
        return TemplateSpec("converted from the GGUF's chat template" + (f" ({name})" if name else ""), "",
                            from_gguf=True, gguf_name=name)
    if key == "family":
        name = table["family"].strip()
        fam = _family(r, name)
        source = f"family {fam.name}" if name.lower() == fam.name.lower() else f"family {fam.name} (as {name})"
        return TemplateSpec(source, fam.template, name, tuple(fam.stop))
    if key == "text":
        text, source = table["text"], "inline"
    else:
        p = r.inside("template.file", table["file"], base)
        _refuse_gguf(r, p)
        text = _read_file(r, p, "template.file", "save the template as UTF-8")
        source = table["file"]   # as written: an absolute path would put the home folder on the card
    if not text.strip():
        raise r.err(f"template.{key}", "is empty", hint="write the Go template Ollama should use")
    from publish import gotmpl
    from publish.errors import TemplateError

    try:
        gotmpl.parse(text, f"template.{key}")
    except TemplateError as e:
        at = f" at {e.position}" if e.position else ""   # in the template's own text
        raise r.err(f"template.{key}", f"not a valid Go template{at}: {e.problem}",
                    hint=e.hint or "fix the template at that line:column (of the template, columns counted from 0 "
                                   "as Go does); `publish template` can suggest one") from None
    return TemplateSpec(source, text)


def _family(r: _Reader, name: str):
    from publish import families

    # Loaded first: a damaged install raises its own error instead of reading as "unknown family".
    known = sorted({n for f in families.all_families() for n in (f.name, *f.aliases)})
    try:
        return families.get(name)
    except PublishError:
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"did you mean {close[0]!r}?" if close else "known families: " + ", ".join(known)
        raise r.err("template.family", f"unknown family {name!r}", hint=hint) from None


def _read_params(r: _Reader, table: dict, template: TemplateSpec | None) -> dict[str, Any]:
    """[params], checked as Ollama's Modelfile parser would; a parameter's problem is kept in
    r.errors and the others are still read. `template` None: [template] failed (its family's
    stops are then unknown and not added)."""
    from publish.modelfile import PARAMETER_TYPES, check_parameter_value

    out: dict[str, Any] = {}
    for name, value in table.items():
        try:
            out[name] = check_parameter_value(name, value, where=f"{r.path}: params.{name}")
        except ModelfileError as e:
            kind = PARAMETER_TYPES.get(name)
            hint = e.hint or (_PARAM_HINTS[kind].format(name=name) if kind else "remove it")
            r.errors.append(r.err(f"params.{name}", e.problem, hint=hint))
    family_stop = template.family_stop if template is not None else ()
    if out.get("stop") == []:
        # A Modelfile cannot say "no stops" (no PARAMETER stop line means none given), so the
        # staged Modelfiles and `params` would disagree; an empty list is also never what a
        # release wants: the model then ends only on its EOS token.
        family = f" (the {template.family} family's stops: {list(family_stop)})" \
            if template is not None and template.family and family_stop else ""
        r.errors.append(r.err("params.stop", "is an empty list: the model would stop only at its EOS token, and "
                              "a Modelfile cannot express an empty stop list",
                              hint=f"list the turn-end token, e.g. stop = [\"<end_of_turn>\"], or remove `stop` "
                                   f"to use the template family's stops{family}"))
    if "stop" not in out and family_stop:
        out["stop"] = list(family_stop)
    return out


def _read_text(r: _Reader, data: dict, key: str | None, file_key: str, base: Path,
               prefix: str = "") -> str | None:
    """`key` (inline text) or `file_key` (a file relative to the spec) of the table `data`;
    `prefix` is the table's dotted path for messages ("card.")."""
    if key is not None and key in data and file_key in data:
        raise r.err(prefix + key, f"set either {key} or {file_key}, not both", hint="remove one of them")
    if key is not None and key in data:
        value = data[key]
        if value == "":
            raise r.err(prefix + key, "is empty", hint="remove the key to leave it unset")
        return value
    if file_key in data:
        return _read_file(r, r.inside(prefix + file_key, data[file_key], base), prefix + file_key,
                          "save it as UTF-8")
    return None


def _refuse_gguf(r: _Reader, p: Path) -> None:
    """template.file is an Ollama Go template: a GGUF holds none (its Jinja chat template is what
    from = "gguf" converts), and a file named *.gguf that is not one (an LFS pointer, an HTML page)
    would be shipped as the template's text. Both raise SpecError; a missing or unreadable file,
    a FIFO or a broken link (is_gguf refuses it unopened: opening a FIFO blocks) is left to
    _read_file, which words it as for every other file the spec names."""
    from publish.errors import GGUFError
    from publish.gguf.sniff import is_gguf, named_gguf, require_gguf

    try:
        gguf = is_gguf(p)
    except (OSError, GGUFError):
        return
    if gguf:
        raise r.err("template.file", f"{p} is a GGUF: it holds the model's Jinja chat template, not an Ollama "
                                     "Go template", hint='from = "gguf" converts the GGUFs\' chat template')
    if named_gguf(p):
        try:
            require_gguf(p)
        except GGUFError as e:
            raise r.err("template.file", e.message, hint=e.hint) from None


def _read_file(r: _Reader, p: Path, key: str, utf8_hint: str) -> str:
    try:
        return read_utf8(p, hint=utf8_hint)
    except TextFileMissing:
        raise r.err(key, f"file not found: {p}", hint="the path is relative to the spec file") from None
    except TextFileError as e:
        raise r.err(key, f"{p}: {e.problem}", hint=e.hint or "point it at a text file in the spec's folder") from None


def _check_one_line(r: _Reader, table: dict, key: str, prefix: str) -> None:
    """A model-card table cell or heading: a line break would end it and break the card."""
    value = table.get(key)
    if value is not None and ("\n" in value or "\r" in value or not value.strip()):
        raise r.err(prefix + key, "must be one non-empty line", hint="move longer text to card.extra")


def _is_relative_gguf(name: str) -> bool:
    return name.lower().endswith(".gguf") and not Path(name).is_absolute() and ".." not in Path(name).parts


def _read_quant_entries(r: _Reader, files: list) -> tuple[QuantEntry, ...]:
    out: list[QuantEntry] = []
    for i, item in enumerate(files):
        key = f"quants.files[{i}]"
        if not isinstance(item, dict):
            raise r.err(key, f"must be a table (got {_tname(item)})",
                        hint='write { label = "Q4_K_M", file = "model-Q4_K_M.gguf" }')
        r.check_keys(item, "quants.files", f"{key}.")
        for req in _REQUIRED_ENTRY:
            if req not in item:
                raise r.err(f"{key}.{req}", "missing", hint='write { label = "Q4_K_M", file = "model-Q4_K_M.gguf" }')
        label = item["label"]
        if label_from_filename(f"x-{label}.gguf") != label.upper() or label != label.upper():
            raise r.err(f"{key}.label", f"{label!r} is not a quant label",
                        hint="use the upper-case quant type, e.g. Q4_K_M, Q8_0, BF16, UD-Q4_K_XL")
        file = item["file"]
        if not _is_relative_gguf(file):
            raise r.err(f"{key}.file", f"{file!r} must be a .gguf file name relative to quants.dir",
                        hint="use --gguf-dir to point at another folder")
        if any(e.label == label for e in out):
            raise r.err(f"{key}.label", f"{label} is listed twice", hint="keep one entry per quant label")
        _check_one_line(r, item, "use", f"{key}.")
        out.append(QuantEntry(label, file, item.get("use"), f"{key}.file"))
    return tuple(out)


def _read_card(r: _Reader, table: dict, base: Path, entries: tuple[QuantEntry, ...]) -> CardSpec:
    r.check_keys(table, "card", "card.")
    tags = table.get("tags", [])
    for i, t in enumerate(tags):
        if not isinstance(t, str) or not t.strip():
            raise r.err(f"card.tags[{i}]", "must be a non-empty string", hint='e.g. tags = ["gemma3n"]')
    _check_one_line(r, table, "title", "card.")
    extra = _read_text(r, table, "extra", "extra_file", base, prefix="card.")
    rec = table.get("recommended")
    if rec is not None and rec != rec.upper():
        raise r.err("card.recommended", f"{rec!r} is not a quant label", hint="e.g. recommended = \"Q4_K_M\"")
    return CardSpec(table.get("title"), extra, tuple(tags), rec)
