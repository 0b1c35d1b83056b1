"""Staged-folder rules (RP1xx): what `publish lint DIR` checks beyond each GGUF.

`check_folder(folder, headers)` looks at the files Ollama and the Hub read from the repo:
`template`, `params`, `system`, `README.md`, the Modelfiles, and the GGUF headers it is given
(path -> GGUFHeader, read by the caller). Each rule's page (what, why, engines, example, fix:
`publish rule RP115`, docs/rules/) is written in publish/folder_rule_docs.py.
"""

from __future__ import annotations

import json
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from publish.termtext import shell_command
from publish.engines import ALL_ENGINES, Engine
from publish.errors import ModelfileError, TemplateError, message_of
from publish.findings import Finding, Severity
from publish.modelfile import stop_list
from publish.gguf.header import GGUFHeader
from publish.quants import is_projector_filename, shard_info
from publish.staged import (CARD, NOT_UTF8, PARAMS, PARAMS_JSON, PARAMS_NOT_OBJECT, SYSTEM, TEMPLATE,
                            StagedFolder, StagedProblem, staged)


@dataclass(frozen=True)
class FolderRule:
    """One staged-folder rule, with the text of its page (the same fields as publish.gguf.rules.Rule:
    `engines` whose users meet the problem, `why`, `example`, `fix`, `sources`)."""

    code: str
    name: str
    severity: Severity
    summary: str
    engines: tuple[Engine, ...] = ALL_ENGINES
    why: str = ""
    example: str = ""
    fix: str = ""
    sources: tuple[str, ...] = ()
    fixable = False
    applies_to = "staged folder"

    def affects(self, targets) -> bool:
        """Whether users of any engine in `targets` (publish.engines) meet the problem."""
        return any(e in self.engines for e in targets)


RULES: dict[str, FolderRule] = {r.code: r for r in [
    FolderRule("RP101", "no-template", Severity.WARNING,
               "No `template` file: Ollama guesses a template from tokenizer.chat_template."),
    FolderRule("RP102", "template-syntax", Severity.ERROR, "`template` does not parse as a Go template."),
    FolderRule("RP103", "template-bos", Severity.ERROR,
               "The prompt Ollama builds from `template` starts with two BOS tokens: the template renders "
               "BOS and the engine adds one."),
    FolderRule("RP104", "template-no-bos", Severity.ERROR,
               "A Gemma or Llama model gets no BOS from Ollama: the engine adds none (add_bos_token false) "
               "and `template` does not render one."),
    FolderRule("RP106", "template-fails", Severity.ERROR,
               "`template` parses but fails while building the prompt of an ordinary conversation: Ollama "
               "answers every such request with the error."),
    FolderRule("RP105", "not-utf8", Severity.ERROR,
               "`template`, `system` or `params` is not UTF-8 text: Ollama hands its bytes to the model "
               "unchanged (the JSON reader of `params` turns them into U+FFFD)."),
    FolderRule("RP107", "byte-order-mark", Severity.ERROR,
               "`template` or `system` starts with a UTF-8 byte order mark: Ollama keeps it, so every prompt "
               "(or every system prompt) starts with an invisible U+FEFF."),
    FolderRule("RP110", "params-json", Severity.ERROR, "`params` is not a JSON object."),
    FolderRule("RP111", "params-unknown", Severity.ERROR, "`params` has a key Ollama does not know."),
    FolderRule("RP112", "params-deprecated", Severity.WARNING, "`params` has a key Ollama ignores."),
    FolderRule("RP113", "params-type", Severity.ERROR,
               "A `params` value of a type Ollama refuses (stop must be an array of strings, numbers unquoted): "
               "every request to the model fails."),
    FolderRule("RP114", "stop-unreachable", Severity.ERROR,
               "A stop string is neither a token of the GGUF vocab nor text the model can produce."),
    FolderRule("RP115", "turn-end-not-stopped", Severity.ERROR,
               "The token the template writes after each answer is neither a `stop` nor end-of-generation "
               "for Ollama: generation runs past the answer."),
    FolderRule("RP116", "stop-at-answer-start", Severity.ERROR,
               "A `stop` string the template writes at the start of every answer: the model writes it "
               "first and the answer is empty."),
    FolderRule("RP117", "params-value-changed", Severity.WARNING,
               "A `params` value Ollama accepts but changes or skips: a fraction for an integer option is "
               "cut off, null is skipped."),
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
    FolderRule("RP143", "modelfile-only", Severity.ERROR,
               "A Modelfile carries TEMPLATE, PARAMETER or SYSTEM that the repo's `template`, `params`, "
               "`system` files lack: Ollama's hf.co bridge never reads a Modelfile."),
    FolderRule("RP144", "modelfile-adapter-projector", Severity.ERROR,
               "A Modelfile wires a projector (mmproj) with ADAPTER; ADAPTER is for LoRA adapters."),
    FolderRule("RP145", "modelfile-no-model", Severity.ERROR,
               "A Modelfile has no FROM naming the model (only a projector, or nothing)."),
    FolderRule("RP150", "tools-lost", Severity.WARNING,
               "The chat template handles tools but `template` has no .Tools: Ollama answers "
               "\"does not support tools\"."),
    FolderRule("RP151", "thinking-lost", Severity.WARNING,
               "A thinking model whose `template` has no .Thinking: Ollama reports no thinking capability "
               "and the thoughts leak into answers."),
]}

REQUIRED_CARD_KEYS = ("base_model", "license", "tags")


def _finding(code: str, message: str, path: Path, *, subject: str | None = None,
             hint: str | None = None, offset: int | None = None) -> Finding:
    return Finding(code, RULES[code].severity, message, str(path), subject=subject, hint=hint, offset=offset)


def check_folder(folder: StagedFolder | Path, headers: dict[Path, GGUFHeader]) -> list[Finding]:
    """The RP findings of a staged folder: a StagedFolder (read tolerantly, so each fault the read
    met is one finding), or a path, read here with `StagedFolder.load(path, tolerant=True)`.
    `headers`: GGUF path -> header, read by the caller (publish.lint); a GGUF not in it is
    treated as unreadable. Raises UsageError only when a file cannot be read at all."""
    s = staged(folder, tolerant=True)
    folder = s.path
    # messages name the folder's own file names (a Hub cache snapshot links them to blobs/SHA)
    models = [(Path(p), h) for p, h in sorted(headers.items(), key=lambda kv: str(kv[0]))
              if h is not None and not h.is_projector and not is_projector_filename(Path(p).name)]
    headers = {Path(p).resolve(): h for p, h in headers.items()}
    out: list[Finding] = list(_check_read_problems(s))
    out.extend(_check_byte_order_marks(s))
    template = s.template
    if template is None:
        out.append(_finding("RP101", "no `template` file: Ollama falls back to guessing one from the "
                            "GGUF's chat template", folder, subject="template",
                            hint="add [template] to the release spec and run `publish build`"))
    else:
        out.extend(_check_template(folder / TEMPLATE, template, models))
    params, params_findings = _check_params(folder / PARAMS, s)
    out.extend(params_findings)
    stops: list[str] = []
    if params is not None and isinstance(params.get("stop"), list):
        stops = stop_list(params["stop"])
        out.extend(_check_stops(folder / PARAMS, stops, models))
    if models:
        out.extend(_check_turn_ends(folder, template, stops, models[0]))
        if template is not None:
            out.extend(_check_capabilities(folder / TEMPLATE, template, models[0][1]))
    out.extend(_check_shards(s, headers))
    out.extend(_check_readme(folder / CARD, s.card_text))
    out.extend(_check_modelfiles(s, params))
    return out


# -- template ---------------------------------------------------------------------------------

def _check_template(path: Path, text: str, models: list[tuple[Path, GGUFHeader]]) -> Iterator[Finding]:
    from publish import gotmpl

    from publish.errors import message_of
    from publish.probes import go_probe

    fix = "fix it in the release spec's [template] and rebuild; `publish template` suggests one"
    try:
        gotmpl.parse(text, "template")
    except TemplateError as e:
        # path:LINE:COL: RP102 ... (ruff's shape): the location once, the message without it
        yield _finding("RP102", f"not a valid Go template: {e.problem}", path, subject=e.position,
                       hint=f"{e.hint} (in the release spec's [template], then rebuild)" if e.hint else fix)
        return
    probe = go_probe(text)
    if probe.error is not None:
        yield _finding("RP106", f"fails on a one-turn conversation (a user message, no system prompt, no tools): "
                       f"{message_of(probe.error)}", path, subject="template",
                       hint=f"{probe.error.hint} (in the release spec's [template], then rebuild)"
                       if probe.error.hint else fix)
        return
    yield from _check_template_bos(path, text, models, probe)


def _check_template_bos(path: Path, text: str, models: list[tuple[Path, GGUFHeader]], probe) -> Iterator[Finding]:
    """Render `template` as Ollama does and split the start of the prompt into tokens with the
    GGUF's vocabulary (publish.gguf.vocab): Ollama v0.24's Go engine and its llama.cpp runner both
    parse special-token text and put BOS in front when the model says so."""
    from publish.gguf import vocab
    from publish.probes import needs_bos

    if probe.start is None:
        return
    for gguf, hdr in models:
        if not len(hdr.tokens) or hdr.bos_text is None:
            continue
        add_bos = vocab.ollama_add_bos(hdr)
        engine = _engine(hdr)
        count = vocab.leading_bos(probe.start, hdr, add_bos=add_bos)
        if count >= 2:
            yield _finding("RP103", f"Ollama's prompt for {gguf.name} starts with {count} BOS tokens: the template "
                           f"renders {hdr.bos_text!r} and {engine} adds one ({_bos_reason(hdr)})", path,
                           subject="template",
                           hint=f"remove {hdr.bos_text} from the template (the release spec's [template]); "
                                "the engine adds it")
            return
        family = needs_bos(hdr)
        if count == 0 and family:
            yield _finding("RP104", f"{family} models need {hdr.bos_text!r} first, but {engine} adds none for "
                           f"{gguf.name} ({_bos_reason(hdr)}) and the template does not render it: the model "
                           "degenerates (repeated words)", path, subject="template",
                           hint=f"start the template with {hdr.bos_text}, or set the GGUF's add_bos_token: "
                                + shell_command("publish", "fix", gguf, "--select", "GG702"))
            return


def _engine(hdr: GGUFHeader) -> str:
    from publish.gguf import vocab

    return ("Ollama's Go engine" if vocab.uses_ollama_engine(hdr) else "Ollama's llama.cpp runner") + " (v0.24)"


def _bos_reason(hdr: GGUFHeader) -> str:
    if hdr.add_bos_token is not None:
        return f"tokenizer.ggml.add_bos_token is {str(hdr.add_bos_token).lower()}"
    return f"no tokenizer.ggml.add_bos_token: the {hdr.architecture} default applies"


# -- what the read met -------------------------------------------------------------------------

# StagedProblem.reason -> the rule that reports it. Every reason a tolerant read of a local folder
# records is here (tests/test_folder_rules.py holds it to publish.staged's list); the params ones
# are reported by _check_params, which also stops checking the values of a `params` it cannot parse.
PROBLEM_RULES = {NOT_UTF8: "RP105", PARAMS_JSON: "RP110", PARAMS_NOT_OBJECT: "RP110"}


def _check_read_problems(s: StagedFolder) -> Iterator[Finding]:
    """RP105 for each file the read found not UTF-8 (its message names the byte, its offset and
    line); the RP110 reasons are left to _check_params."""
    for p in s.problems:
        if PROBLEM_RULES.get(p.reason) == "RP105":
            yield _problem_finding("RP105", p, s.path / p.file)


def _check_byte_order_marks(s: StagedFolder) -> Iterator[Finding]:
    """RP107: Ollama hands `template` and `system` on as read (a BOM included); `params` with a
    BOM fails Ollama's JSON decoder and is RP110's."""
    for name, text, what in ((TEMPLATE, s.template, "every prompt Ollama builds"),
                             (SYSTEM, s.system, "the system prompt")):
        if text is not None and text.startswith("\ufeff"):
            yield _finding("RP107", f"starts with a UTF-8 byte order mark (bytes EF BB BF at offset 0): Ollama "
                                    f"keeps it, so {what} starts with an invisible U+FEFF", s.path / name,
                           subject=name, offset=0,
                           hint="save the file as UTF-8 without a byte order mark, or rebuild the "
                                "folder with `publish build` (it drops one from its inputs)")


def _problem_finding(code: str, p: StagedProblem, path: Path) -> Finding:
    return _finding(code, p.message, path, subject=p.file,
                    hint="save it as UTF-8, or rebuild the folder with `publish build` (it writes UTF-8)")


# -- params -----------------------------------------------------------------------------------

def _check_params(path: Path, s: StagedFolder) -> tuple[dict | None, list[Finding]]:
    """(params, findings): RP110 from the faults the read recorded, RP111-113 and RP117 per value
    (RP113 exactly where Ollama's api.Options.FromMap refuses the value: publish.modelfile.
    ollama_option_error).
    params is None when the folder has no `params` or it is not a JSON object."""
    from publish.modelfile import (DEPRECATED_PARAMETERS, PARAMETER_TYPES, check_parameter_value,
                                    ollama_option_error)

    if not s.has(PARAMS):
        return None, []
    for p in s.problems:
        if p.file == PARAMS and p.reason == PARAMS_JSON:
            return None, [_finding("RP110", f"not valid JSON at {p.line}:{p.col}: {p.detail}", path,
                                   subject="params", hint="rebuild it with `publish build`")]
        if p.file == PARAMS and p.reason == PARAMS_NOT_OBJECT:
            return None, [_finding("RP110", "must be a JSON object of Ollama parameters", path, subject="params")]
    params = s.params
    out = []
    for name, value in sorted(params.items()):
        if name in DEPRECATED_PARAMETERS:
            out.append(_finding("RP112", f"{name} is deprecated: Ollama ignores it", path, subject=name,
                                hint="remove it from [params]"))
            continue
        kind = PARAMETER_TYPES.get(name)
        refused = ollama_option_error(name, value)
        if refused is not None:
            out.append(_finding("RP113", f"{json.dumps(value)}: Ollama refuses every request with it: {refused}",
                                path, subject=name, hint=_type_hint(name, kind)))
            continue
        if kind is not None and value is None:
            out.append(_finding("RP117", "null: Ollama skips it and uses its default", path, subject=name,
                                hint="give it a value or remove it from [params]"))
            continue
        if isinstance(value, float) and kind is int and value.is_integer() and -(2**63) <= value < 2**63:
            continue  # Ollama's JSON decoding turns 64.0 into 64 for int options
        try:
            check_parameter_value(name, value, where=name)
        except ModelfileError as e:
            if kind is None or kind is list:   # unknown name (RP111); an empty stop string (RP113)
                out.append(_finding("RP111" if kind is None else "RP113", e.problem, path, subject=name,
                                    hint=e.hint))
            else:   # an int option given a fraction or a number beyond int64
                out.append(_finding("RP117", f"{e.problem}: Ollama accepts it and uses {_as_ollama_uses(value)}",
                                    path, subject=name, hint=e.hint or "write the value Ollama should use"))
    return params, out


def _type_hint(name: str, kind: type) -> str:
    """How to write a value of `kind` in `params` (JSON)."""
    if kind is list:
        return f'write it as an array of strings, e.g. "{name}": ["<end_of_turn>"]'
    if kind is bool:
        return f'write it as JSON true or false, e.g. "{name}": false'
    return f'write it as a JSON number (no quotes), e.g. "{name}": {64 if kind is int else 0.7}'


def _as_ollama_uses(value) -> str:
    """What api.Options.FromMap (Ollama v0.24.0) keeps for a number it accepts for an int option:
    Go's int64(float64) truncates toward zero; out of int64's range the Go spec leaves it undefined."""
    if -(2**63) <= value < 2**63:
        return f"{int(value)} (it drops the fraction)"
    return "an undefined integer (Go's conversion of a number out of int64's range)"


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


# -- stops predicted from the templates --------------------------------------------------------

def _check_turn_ends(folder: Path, template: str | None, stops: list[str],
                     model: tuple[Path, GGUFHeader]) -> Iterator[Finding]:
    """Render the Go `template` (what Ollama sends) and the GGUF's chat template (what the model
    learned); the special token right after an assistant answer must end generation, and no stop
    may sit in the text every answer starts with."""
    from publish.errors import UnsafeTemplateError
    from publish.gguf import vocab
    from publish import jinja_facts
    from publish.probes import answer_preamble, go_probe, turn_end

    gguf, hdr = model
    if not len(hdr.tokens):
        return
    probes = []
    if template is not None:
        probes.append(("template", go_probe(template)))
    if isinstance(hdr.chat_template, str) and hdr.chat_template.strip():
        try:
            probes.append((f"{gguf.name}'s chat template", jinja_facts.probe(hdr.chat_template, hdr)))
        except UnsafeTemplateError:
            pass  # GG7xx / template check report hostile templates
    eog = vocab.ollama_eog_ids(hdr)
    reported: set[str] = set()
    for source, probe in probes:
        token = turn_end(probe, hdr)
        if token is None or token in stops or token in reported:
            continue
        tid = vocab.token_id(hdr, token)
        if tid is None or tid in eog:
            # not a token of this vocab: the model never writes it as one, and a stop on it is
            # RP114's error; the conversion's stop list leaves such texts out for the same reason
            continue
        reported.add(token)
        declared = ", ".join(sorted(f"{hdr.token_text(i)!r}" for i in eog if hdr.token_text(i) is not None))
        yield _finding("RP115", f"{source} ends each assistant turn with {token!r}, which is not in params.stop "
                       f"and not end-of-generation for {_engine(hdr)} on {gguf.name} (it stops on "
                       f"{declared or 'no token'}): the model runs past its answer", folder / "params",
                       subject=token, hint=f"add {json.dumps(token)} to `stop` in the release spec's [params] "
                                           "and rebuild")
    early: set[str] = set()
    for source, probe in probes:
        preamble = answer_preamble(probe)
        for stop in stops:
            if stop and stop in preamble and stop not in early:
                early.add(stop)
                yield _finding("RP116", f"{source} writes {preamble!r} at the start of every answer (after the "
                               f"generation prompt), so the model writes it first and stop {stop!r} ends the "
                               "answer before it begins: empty answers", folder / "params", subject=stop,
                               hint=f"remove {json.dumps(stop)} from `stop` in the release spec's [params]")


# -- capabilities Ollama derives from the template (server/images.go Capabilities) ------------

_THINK_TOKENS = ("<think>", "<|think|>", "<thinking>", "<|channel|>")


def _check_capabilities(path: Path, template: str, hdr: GGUFHeader) -> Iterator[Finding]:
    """Ollama v0.24 gives a model `tools` when the template mentions .Tools and `thinking` when
    thinking.InferTags finds .Thinking between text tags inside the range over .Messages, or the
    model family is gpt-oss (server/images.go Capabilities; publish.gotmpl.thinking_tags). Whether
    the model's own chat template uses tools / thinking is the conversion proof's verdict
    (probes.jinja_capabilities: its prompt changes with them), so lint, `template check` and
    `template convert` agree; a vocabulary with a thinking token also marks a thinking model."""
    from publish import gotmpl
    from publish.gguf import vocab
    from publish import jinja_facts

    try:
        names = set(gotmpl.template_vars(template))
    except TemplateError:
        return  # RP102
    jinja = hdr.chat_template if isinstance(hdr.chat_template, str) else ""
    opening, closing = gotmpl.thinking_tags(template)
    thinking_lost = not (opening and closing) and hdr.architecture not in ("gptoss", "gpt-oss")
    uses = jinja_facts.capabilities(jinja, hdr) if jinja and ("tools" not in names or thinking_lost) else frozenset()
    if "tools" in uses and "tools" not in names:
        yield _finding("RP150", "the GGUF's chat template writes tool definitions into the prompt, but "
                       "`template` has no .Tools: Ollama gives the model no `tools` capability and answers "
                       "\"does not support tools\" to every request that sends tools", path,
                       subject="tools", hint="render .Tools in the release's Go template (see `publish "
                                             "template suggest`) the way the chat template writes tools")
    if thinking_lost:
        why = None
        if "thinking" in uses:
            why = "the GGUF's chat template changes its prompt with thinking on or off"
        elif len(hdr.tokens):
            ids = vocab.specials(hdr).ids
            found = next((t for t in _THINK_TOKENS if t in ids), None)
            if found:
                why = f"its vocabulary has the thinking token {found!r}"
        if why:
            has = "uses .Thinking where Ollama cannot infer its tags" if "thinking" in names else "has no .Thinking"
            yield _finding("RP151", f"a thinking model ({why}) but `template` {has}: Ollama reports "
                           "no `thinking` capability, refuses think=true, and the thoughts leak into answers",
                           path, subject="thinking",
                           hint="render .Thinking inside {{ range .Messages }} between the model's thinking "
                                "tags (as Ollama's qwen3/deepseek-r1 templates do)")


# -- GGUF files -------------------------------------------------------------------------------

def _check_shards(s: StagedFolder, headers: dict[Path, GGUFHeader]) -> Iterator[Finding]:
    for p in s.ggufs:
        hdr = headers.get(p.resolve())
        if shard_info(p.name) or (hdr is not None and hdr.split and hdr.split[1] > 1):
            yield _finding("RP120", "split GGUF: `ollama run hf.co/…` cannot load split files", p,
                           hint="merge the parts (llama-gguf-split --merge) and release one file per quant")


# -- model card -------------------------------------------------------------------------------

def _check_readme(path: Path, text: str | None) -> Iterator[Finding]:
    import yaml

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

def _check_modelfiles(s: StagedFolder, params: dict | None) -> Iterator[Finding]:
    from publish.modelfile import DEPRECATED_PARAMETERS, ModelfileWarning, ollama_value, parse

    folder, template, system = s.path, s.template, s.system
    for path in s.modelfiles.values():
        try:
            mf = parse(s.texts[path.name], source=path.name)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ModelfileWarning)
                mf_params = mf.parameters(source=path.name)
        except ModelfileError as e:
            if e.reason == ModelfileError.NO_FROM:
                yield _finding("RP145", "no FROM line: the Modelfile names no model", path, subject="FROM",
                               hint="add `FROM ./MODEL-QUANT.gguf` (and a second FROM for an mmproj projector)")
            else:
                yield _finding("RP140", message_of(e), path, hint=e.hint or "rebuild it with `publish build`")
            continue
        for ref in mf.from_:
            if ref.startswith(("./", "/")) or ref.endswith(".gguf"):
                target = (folder / ref).resolve() if not ref.startswith("/") else Path(ref)
                if not target.is_file():
                    yield _finding("RP142", f"FROM {ref}: no such file in the folder", path, subject=ref)
        yield from _check_modelfile_wiring(s, path, mf)
        only = []
        if not s.has(TEMPLATE) and mf.template is not None:
            only.append(("TEMPLATE", "template"))
        if not system and mf.system:
            only.append(("SYSTEM", "system"))
        # as Ollama keeps them: float options are float32 on both sides (0.95 in `params`, 0.95 in
        # the Modelfile, 0.949999988079071 in Ollama)
        wanted = {k: ollama_value(k, v) for k, v in (params or {}).items() if k not in DEPRECATED_PARAMETERS}
        if not s.has(PARAMS) and mf_params:
            only.append(("PARAMETER", "params"))
        if only:
            what = ", ".join(c for c, _ in only)
            files = ", ".join(f"`{f}`" for _, f in only)
            yield _finding("RP143", f"{what} only in this Modelfile: Ollama's hf.co bridge reads the repo's "
                           f"`template`, `params` and `system` files and never a Modelfile, so `ollama run "
                           f"hf.co/…` runs without them (missing {files})", path, subject=only[0][0],
                           hint=f"ship {files} beside the GGUFs (publish build writes them from the spec)")
        diffs = []
        if template is not None and mf.template is not None and mf.template != template:
            diffs.append("TEMPLATE")
        if system and system != mf.system:   # a Modelfile without SYSTEM while the repo has `system`, too
            diffs.append("SYSTEM")
        if params is not None and mf_params != wanted:
            diffs.append("PARAMETER")
        if diffs:
            yield _finding("RP141", f"{', '.join(diffs)} differ(s) from the folder's "
                           f"{'/'.join(_FILES[d] for d in diffs)}", path, subject=diffs[0],
                           hint="rebuild the folder with `publish build` so both come from the spec")


def _is_projector_ref(s: StagedFolder, ref: str) -> bool:
    """Whether a FROM/ADAPTER reference names a projector: by its name (mmproj-…), else by what
    the folder's read found it to be (publish.gguf.kinds), else (a GGUF outside the folder) by
    its header."""
    name = Path(ref).name
    if is_projector_filename(name):
        return True
    target = s.path / ref if not ref.startswith("/") else Path(ref)
    if target.parent.resolve() == s.path.resolve() and target.suffix == ".gguf":
        return any(p.name == target.name for p in s.projectors)
    if target.is_file() and target.suffix == ".gguf":
        from publish.gguf.kinds import PROJECTOR, file_kind

        return file_kind(target) == PROJECTOR
    return False


def _check_modelfile_wiring(s: StagedFolder, path: Path, mf) -> Iterator[Finding]:
    """ADAPTER is for LoRA adapters; a projector is a second FROM (Ollama's parser puts a FROM'd
    projector in the model's projector layer, server/create.go)."""
    for cmd in mf.commands:
        if cmd.name == "adapter" and _is_projector_ref(s, cmd.args):
            yield _finding("RP144", f"line {cmd.line}: ADAPTER {cmd.args} is a projector (mmproj); Ollama loads "
                           "ADAPTER files as LoRA adapters, so the model gets no vision and fails to load it",
                           path, subject=cmd.args, hint=f"replace `ADAPTER {cmd.args}` with a second `FROM {cmd.args}`")
    refs = mf.from_
    if refs and all(_is_projector_ref(s, r) for r in refs):
        yield _finding("RP145", f"FROM names only the projector ({', '.join(refs)}), not the model", path,
                       subject="FROM", hint="add `FROM ./MODEL-QUANT.gguf` before the projector's FROM")


_FILES = {"TEMPLATE": "template", "SYSTEM": "system", "PARAMETER": "params"}


from publish import folder_rule_docs  # noqa: E402,F401  (attaches the page text on import)
