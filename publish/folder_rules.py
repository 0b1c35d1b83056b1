"""Staged-folder rules (RP1xx): what `publish lint DIR` checks beyond each GGUF.

`check_folder(folder, headers)` looks at the files Ollama and the Hub read from the repo:
`template`, `params`, `system`, `README.md`, the Modelfiles, and the GGUF headers it is given
(path -> GGUFHeader, read by the caller). The codes are documented in the README ("Staged folder
rules").
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from publish.errors import ModelfileError, TemplateError, UsageError
from publish.findings import Finding, Severity
from publish.gguf.header import GGUFHeader
from publish.quants import is_projector_filename, shard_info


@dataclass(frozen=True)
class FolderRule:
    code: str
    name: str
    severity: Severity
    summary: str


RULES: dict[str, FolderRule] = {r.code: r for r in [
    FolderRule("RP101", "no-template", Severity.WARNING,
               "No `template` file: Ollama guesses a template from tokenizer.chat_template."),
    FolderRule("RP102", "template-syntax", Severity.ERROR, "`template` does not parse as a Go template."),
    FolderRule("RP103", "template-bos", Severity.ERROR,
               "`template` starts with the BOS text although the GGUF adds BOS itself (double BOS)."),
    FolderRule("RP110", "params-json", Severity.ERROR, "`params` is not a JSON object."),
    FolderRule("RP111", "params-unknown", Severity.ERROR, "`params` has a key Ollama does not know."),
    FolderRule("RP112", "params-deprecated", Severity.WARNING, "`params` has a key Ollama ignores."),
    FolderRule("RP113", "params-type", Severity.ERROR,
               "A `params` value has the wrong type (stop must be an array of strings)."),
    FolderRule("RP114", "stop-unreachable", Severity.ERROR,
               "A stop string is neither a token of the GGUF vocab nor text the model can produce."),
    FolderRule("RP120", "sharded-gguf", Severity.ERROR,
               "A split (sharded) GGUF: Ollama's hf.co pull cannot load split files."),
    FolderRule("RP130", "no-readme", Severity.ERROR, "No README.md (the model card)."),
    FolderRule("RP131", "readme-front-matter", Severity.ERROR,
               "README.md has no YAML front matter, or it is not valid YAML."),
    FolderRule("RP132", "readme-keys", Severity.ERROR,
               "README.md front matter lacks base_model, license or tags."),
    FolderRule("RP133", "readme-tags", Severity.WARNING, "README.md tags lack gguf or ollama."),
    FolderRule("RP140", "modelfile-invalid", Severity.ERROR, "A Modelfile does not parse or has invalid parameters."),
    FolderRule("RP141", "modelfile-mismatch", Severity.ERROR,
               "A Modelfile's TEMPLATE, SYSTEM or PARAMETERs differ from `template`, `system`, `params`."),
    FolderRule("RP142", "modelfile-from-missing", Severity.ERROR, "A Modelfile's FROM names a file not in the folder."),
]}

REQUIRED_CARD_KEYS = ("base_model", "license", "tags")


def _finding(code: str, message: str, path: Path, *, subject: str | None = None,
             hint: str | None = None) -> Finding:
    return Finding(code, RULES[code].severity, message, str(path), subject=subject, hint=hint)


def check_folder(folder: Path, headers: dict[Path, GGUFHeader]) -> list[Finding]:
    folder = Path(folder)
    headers = {Path(p).resolve(): h for p, h in headers.items()}
    models = [(Path(p), h) for p, h in sorted(headers.items(), key=lambda kv: str(kv[0]))
              if h is not None and not h.is_projector and not is_projector_filename(Path(p).name)]
    out: list[Finding] = []
    template = _read(folder / "template")
    if template is None:
        out.append(_finding("RP101", "no `template` file: Ollama falls back to guessing one from the "
                            "GGUF's chat template", folder, subject="template",
                            hint="add [template] to the release spec and run `publish build`"))
    else:
        out.extend(_check_template(folder / "template", template, models))
    params, params_findings = _check_params(folder / "params")
    out.extend(params_findings)
    if params is not None and isinstance(params.get("stop"), list):
        out.extend(_check_stops(folder / "params", [s for s in params["stop"] if isinstance(s, str)], models))
    out.extend(_check_shards(folder, headers))
    out.extend(_check_readme(folder / "README.md"))
    out.extend(_check_modelfiles(folder, template, params, _read(folder / "system")))
    return out


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError):
        return None
    except UnicodeDecodeError:
        return path.read_bytes().decode("utf-8", errors="replace")
    except OSError as err:
        raise UsageError(f"{path}: cannot read: {err.strerror or err}") from None


# -- template ---------------------------------------------------------------------------------

def _check_template(path: Path, text: str, models: list[tuple[Path, GGUFHeader]]) -> Iterator[Finding]:
    from publish import gotmpl

    try:
        gotmpl.parse(text, "template")
    except TemplateError as e:
        where = f"{e.line}:{e.col or 0}" if e.line is not None else ""
        yield _finding("RP102", f"not a valid Go template{' at ' + where if where else ''}: {e.message}",
                       path, subject=f"template:{where}" if where else "template",
                       hint="fix it in the release spec's [template] and rebuild; `publish template` suggests one")
    for gguf, hdr in models:
        bos = hdr.bos_text
        if hdr.add_bos_token is True and bos and text.lstrip().startswith(bos):
            yield _finding("RP103", f"template starts with {bos!r} but {gguf.name} sets "
                           "add_bos_token: the prompt gets two BOS tokens", path, subject="template",
                           hint=f"remove the leading {bos} from the template; the engine adds it")
            return


# -- params -----------------------------------------------------------------------------------

def _check_params(path: Path) -> tuple[dict | None, list[Finding]]:
    from publish.modelfile import DEPRECATED_PARAMETERS, PARAMETER_TYPES, check_parameter_value

    text = _read(path)
    if text is None:
        return None, []
    try:
        params = json.loads(text)
    except json.JSONDecodeError as e:
        return None, [_finding("RP110", f"not valid JSON at {e.lineno}:{e.colno}: {e.msg}", path,
                               subject="params", hint="rebuild it with `publish build`")]
    if not isinstance(params, dict):
        return None, [_finding("RP110", "must be a JSON object of Ollama parameters", path, subject="params")]
    out = []
    for name, value in sorted(params.items()):
        if name in DEPRECATED_PARAMETERS:
            out.append(_finding("RP112", f"{name} is deprecated: Ollama ignores it", path, subject=name,
                                hint="remove it from [params]"))
            continue
        code = "RP111" if name not in PARAMETER_TYPES else "RP113"
        if isinstance(value, float) and PARAMETER_TYPES.get(name) is int and value.is_integer():
            continue  # Ollama's JSON decoding turns 64.0 into 64 for int options
        try:
            check_parameter_value(name, value, where=name)
        except ModelfileError as e:
            message = str(e).removeprefix(f"{name}: ")
            out.append(_finding(code, message, path, subject=name))
    return params, out


_SPECIAL = re.compile(r"<\|?[^<>\s]+\|?>\Z")


def _vocab(hdr: GGUFHeader) -> tuple[frozenset[str], int, bool]:
    """(pieces as text, longest piece, can-produce-any-text) for a header's vocab."""
    items = hdr.tokens.to_list()
    pieces = set(items)
    pieces.update(t.replace("\u2581", " ") for t in items if "\u2581" in t)
    byte_level = hdr.value("tokenizer.ggml.model") in ("gpt2", "bert") or "<0x00>" in pieces or "<0xFF>" in pieces
    return frozenset(pieces), max((len(t) for t in items), default=0), byte_level


def stop_problem(stop: str, hdr: GGUFHeader) -> str | None:
    """Why the model behind `hdr` can never emit `stop`, or None when it can."""
    return _stop_problem(stop, _vocab(hdr)) if len(hdr.tokens) else None


def _stop_problem(stop: str, vocab: tuple[frozenset[str], int, bool]) -> str | None:
    pieces, longest, any_text = vocab
    if stop in pieces:
        return None
    if _SPECIAL.match(stop):
        return f"{stop!r} looks like a special token but is not one in this vocab, so the model never emits it"
    if any_text:
        return None
    reach = [True] + [False] * len(stop)
    for i in range(len(stop)):
        if reach[i]:
            for j in range(i + 1, min(len(stop), i + longest) + 1):
                if stop[i:j] in pieces:
                    reach[j] = True
    return None if reach[-1] else f"{stop!r} cannot be spelled with this vocab's tokens"


def _check_stops(path: Path, stops: list[str], models: list[tuple[Path, GGUFHeader]]) -> Iterator[Finding]:
    if not models or not len(models[0][1].tokens):
        return
    gguf, hdr = models[0]  # the quants of one release share a vocabulary
    vocab = _vocab(hdr)
    for stop in stops:
        problem = _stop_problem(stop, vocab)
        if problem:
            yield _finding("RP114", f"{problem} ({gguf.name})", path, subject=stop,
                           hint="use the token that ends a turn for this model (see `publish template`)")


# -- GGUF files -------------------------------------------------------------------------------

def _check_shards(folder: Path, headers: dict[Path, GGUFHeader]) -> Iterator[Finding]:
    for p in sorted(folder.glob("*.gguf")):
        hdr = headers.get(p.resolve())
        if shard_info(p.name) or (hdr is not None and hdr.split and hdr.split[1] > 1):
            yield _finding("RP120", "split GGUF: `ollama run hf.co/…` cannot load split files", p,
                           hint="merge the parts (llama-gguf-split --merge) and release one file per quant")


# -- model card -------------------------------------------------------------------------------

def _check_readme(path: Path) -> Iterator[Finding]:
    import yaml

    text = _read(path)
    if text is None:
        yield _finding("RP130", "no README.md: the Hub shows no model card", path.parent, subject="README.md",
                       hint="run `publish build` to render one")
        return
    lines = text.splitlines()
    end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), None) \
        if lines and lines[0].strip() == "---" else None
    if end is None:
        yield _finding("RP131", "no YAML front matter (--- … --- at the top)", path,
                       hint="the Hub reads base_model, license and tags from it")
        return
    try:
        meta = yaml.safe_load("\n".join(lines[1:end]))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        yield _finding("RP131", f"front matter is not valid YAML{where}: {getattr(e, 'problem', e)}", path)
        return
    if not isinstance(meta, dict):
        yield _finding("RP131", "front matter must be a YAML mapping", path)
        return
    missing = [k for k in REQUIRED_CARD_KEYS if not meta.get(k)]
    if missing:
        yield _finding("RP132", f"front matter lacks {', '.join(missing)}", path, subject=missing[0],
                       hint="set them in the release spec and rebuild")
    tags = meta.get("tags") or []
    if isinstance(tags, list):
        lacking = [t for t in ("gguf", "ollama") if t not in tags]
        if lacking and "tags" not in missing:
            yield _finding("RP133", f"tags lack {', '.join(lacking)}", path, subject="tags")


# -- Modelfiles -------------------------------------------------------------------------------

def _check_modelfiles(folder: Path, template: str | None, params: dict | None,
                      system: str | None) -> Iterator[Finding]:
    from publish.modelfile import DEPRECATED_PARAMETERS, ModelfileWarning, parse

    for path in sorted(folder.glob("Modelfile*")):
        if not path.is_file():
            continue
        try:
            mf = parse(path.read_bytes(), source=path.name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ModelfileWarning)
                mf_params = mf.parameters(source=path.name)
        except ModelfileError as e:
            yield _finding("RP140", str(e), path, hint="rebuild it with `publish build`")
            continue
        for ref in mf.from_:
            if ref.startswith(("./", "/")) or ref.endswith(".gguf"):
                target = (folder / ref).resolve() if not ref.startswith("/") else Path(ref)
                if not target.is_file():
                    yield _finding("RP142", f"FROM {ref}: no such file in the folder", path, subject=ref)
        diffs = []
        if template is not None and mf.template != template:
            diffs.append("TEMPLATE")
        if (system or None) != (mf.system or None):
            diffs.append("SYSTEM")
        if params is not None and mf_params != {k: v for k, v in params.items() if k not in DEPRECATED_PARAMETERS}:
            diffs.append("PARAMETER")
        if diffs:
            yield _finding("RP141", f"{', '.join(diffs)} differ(s) from the folder's "
                           f"{'/'.join(_FILES[d] for d in diffs)}", path, subject=diffs[0],
                           hint="rebuild the folder with `publish build` so both come from the spec")


_FILES = {"TEMPLATE": "template", "SYSTEM": "system", "PARAMETER": "params"}
