"""Where a template comes from: the one loader of chat templates (Jinja) and Go templates.

    src = load_chat_template(Path("model.gguf"))                  # tokenizer.chat_template
    src = load_chat_template(Path("model.gguf"), name="tool_use")  # tokenizer.chat_template.tool_use
    src.text, src.bos, src.eos, src.strip_bos, src.names
    go = load_go_template(Path("dist/tiny/Modelfile.Q8_0"))        # its TEMPLATE
    go.text, go.name

A chat template comes from a GGUF, a tokenizer_config.json or a Jinja file; an Ollama Go template
from a template file, a Modelfile's TEMPLATE, or for a GGUF the staged `template` file beside it.

GGUF keys (llama.cpp gguf-py, convert_hf_to_gguf.py): `tokenizer.chat_template` holds the default
template, `tokenizer.chat_templates` the names of the others, each under
`tokenizer.chat_template.<name>`. tokenizer_config.json (transformers): `chat_template` is a
string, or a list of {"name", "template"} with "default" used by apply_chat_template.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from publish.termtext import shell_command
from publish.errors import NoChatTemplateError, UsageError
from publish.gguf.sniff import named_gguf


@dataclass
class ChatSource:
    """One chat template and what rendering it needs: BOS/EOS text ("" when unknown), whether the
    engine adds BOS itself (`strip_bos`), and the names of the other templates the source holds."""
    text: str
    name: str                       # for messages: "model.gguf:tokenizer.chat_template"
    bos: str = ""
    eos: str = ""
    strip_bos: bool = True          # the engine adds BOS itself (GGUF add_bos_token not false)
    names: list[str] = field(default_factory=list)   # the named templates the source holds
    specials: tuple[str, ...] = ()  # the model's special token texts (GGUF CONTROL/USER_DEFINED tokens,
                                    # tokenizer_config.json added_tokens_decoder marked special)
    tokens: frozenset[str] | None = None   # every token text of the vocab (a GGUF's); None when unknown


def _is_gguf(path: Path) -> bool:
    """Whether `path` is a GGUF (it starts with the GGUF magic). A file named `*.gguf` is a model,
    never a template: without the magic it is refused with the GGUFError publish lint reports
    (publish.gguf.sniff: an LFS pointer, an HTML page, an empty file... and what to do)."""
    from publish.errors import GGUFError
    from publish.gguf.sniff import is_gguf, require_gguf

    if named_gguf(path):
        require_gguf(path)
        return True
    try:
        return is_gguf(path)
    except (OSError, GGUFError):
        return False   # read_utf8 names the problem (missing, a folder, no permission, a FIFO unopened)


# what read_utf8 says about a file that is neither a GGUF nor UTF-8 text, by what was asked for
CHAT_HINT = "not a GGUF either: pass a GGUF, a tokenizer_config.json or a Jinja template file saved as UTF-8"
GO_HINT = ("not a GGUF either: pass an Ollama Go template file or a Modelfile saved as UTF-8 (for a GGUF, "
           "the `template` file beside it is read)")
TEMPLATE_FILE_HINT = "pass a tokenizer_config.json or a Jinja template file saved as UTF-8"


def _read_text(path: Path, hint: str) -> str:
    from publish.fsutil import read_utf8

    return read_utf8(path, hint=hint)


@dataclass(frozen=True)
class ChatTemplates:
    """Every chat template a tokenizer_config.json or a Jinja template file holds.

    `templates`: name -> Jinja text, "default" for the one tokenizer.chat_template holds (a file
    holds only "default"); `config`: the tokenizer_config.json object, None for a template file;
    `listed`: its chat_template is a list of {"name", "template"} (named templates)."""

    path: Path
    templates: dict[str, str]
    config: dict | None = None
    listed: bool = False


def read_chat_templates(path: Path) -> ChatTemplates:
    """Read a tokenizer_config.json (a `.json` file, or any file whose text starts with `{"`: JSON
    is never taken for a template) or a Jinja template file. Raises UsageError naming the file
    when it is a GGUF, not UTF-8, not valid JSON, not a JSON object, or holds no chat template;
    GGUFError for a file named `*.gguf` that is not one (an LFS pointer, an HTML page...)."""
    from publish.errors import TextFileError

    path = Path(path)
    a_gguf = UsageError(f"{path}: a GGUF, not a chat template file",
                        hint="pass the model's tokenizer_config.json or chat_template.jinja")
    if named_gguf(path) and _is_gguf(path):   # _is_gguf raises for a *.gguf that is not one
        raise a_gguf
    try:
        return _read_chat_templates(path, TEMPLATE_FILE_HINT)
    except TextFileError:   # not UTF-8 or too large: a GGUF under another name says so (one more read
        if _is_gguf(path):  # only then: a text file is opened once)
            raise a_gguf from None
        raise


def _refuse_non_template(path: Path, text: str) -> None:
    """Raise UsageError naming `path` when `text`, read as a Jinja chat template, is empty or
    whitespace only, or is what publish.gguf.sniff.identify calls a Git LFS pointer, an HTML page
    or an XML document (a download that went wrong): never a chat template."""
    from publish.gguf.sniff import HEAD_BYTES, LFS_POINTER, identify

    fix = "pass the model's tokenizer_config.json or chat_template.jinja"
    if not text.strip():
        raise UsageError(f"{path}: the chat template is empty ({len(text.encode())} bytes, no text)", hint=fix)
    head = text.encode()[:HEAD_BYTES]
    seen = identify(head, max(len(text.encode()), 1))
    if head.startswith(LFS_POINTER) or seen.looks_like.startswith("an HTML page") or "XML text" in seen.looks_like:
        looks = seen.looks_like.removesuffix(", not the model file")
        raise UsageError(f"{path}: not a chat template: looks like {looks} (a download that went wrong)", hint=fix)


def _read_chat_templates(path: Path, hint: str) -> ChatTemplates:
    text = _read_text(path, hint)
    config = None
    if path.suffix.lower() == ".json" or text.lstrip().startswith('{"'):
        try:
            config = json.loads(text)
        except ValueError as err:
            if path.suffix.lower() == ".json":
                raise UsageError(f"{path}: not valid JSON: {err}",
                                 hint="pass the model's tokenizer_config.json or a .jinja file") from None
    if config is None:
        _refuse_non_template(path, text)
        return ChatTemplates(path, {"default": text})
    if not isinstance(config, dict):
        raise UsageError(f"{path}: JSON, but not a tokenizer_config.json object", hint="pass a .jinja file")
    value = config.get("chat_template")
    templates: dict[str, str] = {}
    if isinstance(value, str):
        templates["default"] = value
    elif isinstance(value, list):   # [{"name": "default", "template": ...}, ...]
        for item in value:
            if isinstance(item, dict) and isinstance(item.get("name"), str) and isinstance(item.get("template"), str):
                templates.setdefault(item["name"], item["template"])
    if not templates:
        raise UsageError(f"{path}: no chat_template in this JSON file (a string or a list of named templates)",
                         hint="newer models keep it in chat_template.jinja next to tokenizer_config.json: pass that")
    return ChatTemplates(path, templates, config, isinstance(value, list))


def load_chat_template(path: Path, name: str | None = None) -> ChatSource:
    """The chat template of a GGUF, a tokenizer_config.json, or a Jinja file (`name` picks a named
    template of a GGUF / tokenizer_config.json). Raises UsageError naming the file
    (NoChatTemplateError when a GGUF holds no such template; also for an empty or blank one)."""
    source = _load_chat_template(Path(path), name)
    if not source.text.strip():
        # renders every conversation as nothing: a check, suggestion or conversion would prove nothing
        raise UsageError(f"{source.name}: the chat template is empty",
                         hint="take the model's chat template (its tokenizer_config.json or chat_template.jinja)"
                              + (f" and write it into the GGUF with `{shell_command('publish', 'fix', path, '--chat-template', 'FILE')}`"
                                 if _is_gguf(Path(path)) else ""))
    return source


def _load_chat_template(path: Path, name: str | None) -> ChatSource:
    if _is_gguf(path):
        return _from_gguf(path, name)
    found = _read_chat_templates(path, CHAT_HINT)
    if found.config is None:
        if name:
            raise UsageError(f"{path}: --name picks a named template of a GGUF or tokenizer_config.json; "
                             "a template file holds one template", hint="drop --name")
        return ChatSource(found.templates["default"], path.name)
    wanted = name or "default"
    if not found.listed and wanted != "default":
        raise UsageError(f"{path}: chat_template is a single template, not a list of named ones",
                         hint="drop --name")
    names = list(found.templates) if found.listed else []
    template = found.templates.get(wanted)
    if template is None:
        raise UsageError(f"{path}: no chat template named {wanted!r}",
                         hint="named templates here: " + (", ".join(names) or "none"))

    def token(key: str) -> str:
        value = found.config.get(key)
        if isinstance(value, dict):
            value = value.get("content")
        return value if isinstance(value, str) else ""

    added = found.config.get("added_tokens_decoder")
    specials = tuple(t["content"] for t in (added.values() if isinstance(added, dict) else ())
                     if isinstance(t, dict) and t.get("special") and isinstance(t.get("content"), str))
    return ChatSource(template, f"{path.name}:chat_template" + (f"[{wanted}]" if names else ""),
                      token("bos_token"), token("eos_token"), True, names, specials)


NO_TEMPLATE_HINT = "pass the model's tokenizer_config.json or chat template file instead"


def _from_gguf(path: Path, name: str | None) -> ChatSource:
    from publish.gguf.reader import read_header

    hdr = read_header(str(path))
    names = hdr.value("tokenizer.chat_templates") or []
    names = [n for n in list(names) if isinstance(n, str)]
    key = "tokenizer.chat_template" if not name or name == "default" else f"tokenizer.chat_template.{name}"
    text = hdr.value(key)
    if not isinstance(text, str) or not text:
        if name:
            raise NoChatTemplateError(str(path), key, names,
                                      hint="named templates here: " + (", ".join(names) if names else "none"))
        raise NoChatTemplateError(str(path), key, names, hint=NO_TEMPLATE_HINT)
    from publish.gguf import vocab

    tokens = frozenset(hdr.tokens.to_list()) if len(hdr.tokens) else None
    return ChatSource(text, f"{path.name}:{key}", hdr.bos_text or "", hdr.eos_text or "",
                      hdr.add_bos_token is not False, names, tuple(vocab.specials(hdr).ids), tokens)


@dataclass(frozen=True)
class GoSource:
    """An Ollama Go template's text and where it came from (for messages)."""
    text: str       # the Go template
    name: str       # for messages: "Modelfile.Q8_0:TEMPLATE", "tiny/template (beside m.gguf)"


def load_go_template(path: Path) -> GoSource:
    """The Ollama Go template of a template file, of a Modelfile (its TEMPLATE: a file named
    Modelfile* or *.modelfile), or for a GGUF the `template` file beside it (what Ollama's hf.co
    bridge pairs with that GGUF; read by publish.staged). Raises UsageError naming the file when
    there is none, it is empty or blank, or the text is not UTF-8; ModelfileError when the
    Modelfile does not parse."""
    source = _load_go_template(Path(path))
    if not source.text.strip():
        # an empty template writes no prompt: every conversation would just "differ"
        raise UsageError(f"{source.name}: the Go template is empty",
                         hint="pass the template Ollama should use (a Hub repo's `template` file, a Modelfile's "
                              "TEMPLATE), or make one with `publish template convert`")
    return source


def _load_go_template(path: Path) -> GoSource:
    if _is_gguf(path):
        from publish.staged import template_beside

        text = template_beside(path)
        if text is None:
            raise UsageError(
                f"{path}: a GGUF holds no Ollama Go template, and there is no `template` file beside it "
                "(Ollama reads it from the Hub repo's `template` file or a Modelfile's TEMPLATE)",
                hint=f"pass that file with --go, or run `{shell_command('publish', 'template', 'suggest', path)}`")
        return GoSource(text, f"{path.parent.name}/template (beside {path.name})")
    text = _read_text(path, GO_HINT)
    if path.name.lower().startswith("modelfile") or path.suffix.lower() == ".modelfile":
        from publish import modelfile

        template = modelfile.parse(text, source=str(path)).template
        if template is None:
            raise UsageError(f"{path}: the Modelfile has no TEMPLATE",
                             hint="without one Ollama uses the template of the FROM model")
        return GoSource(template, f"{path.name}:TEMPLATE")
    return GoSource(text, path.name)
