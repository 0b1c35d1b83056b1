"""Chat model or base model: which checks a release gets.

A release is a BASE release when its model is a pretrained (not instruction-tuned) model that
continues text: it has no chat template and no turns to end, users send it raw prompts, and
Ollama runs it with the pass-through template `{{ .Prompt }}`. Everything else is a CHAT release.

Where the kind comes from, in order (one rule for every stage, so lint, build and smoke agree):

1. The release spec says so: `[model] kind = "base"` (publish.spec). `publish build` then writes
   `{{ .Prompt }}` as the folder's `template`.
2. A staged folder (or an hf.co repo) says so by its `template`: a template that hands the prompt
   to the model unchanged (`is_completion_template`) is a base release. This needs no file of our
   own in the Hub repo; it is exactly what Ollama will do with the model.
3. A lone GGUF (`publish lint FILE`) says so only when it has no chat template AND its name says
   base model: `general.finetune` or `general.name` ends in "base" / "pt" ("pretrained"), as
   Google's base checkpoints are named (gemma-3-270m-pt). The Gemma 3 270M file made by
   GGUF-my-repo carries neither (general.name "Gemma 3 270m"), so `publish lint` of that file
   still warns GG203 unless `--base` says what the file is; lint of its staged folder does not.

Checks that only make sense for a chat model are skipped for a base release, with this reason.
"""

from __future__ import annotations

import re

CHAT = "chat"
BASE = "base"
KINDS = (CHAT, BASE)

COMPLETION_TEMPLATE = "{{ .Prompt }}"
BASE_REASON = "base model: it has no chat format, so chat-format checks do not apply"

_PROBES = ("Question: What is 1+1?\nAnswer:", " leading space, trailing space ", "x")


def is_completion_template(template: str | None) -> bool:
    """True when Ollama's prompt for one user message is exactly that message, for every probe
    (`{{ .Prompt }}`, `{{- .Prompt -}}` is not: it trims). A template that does not parse or
    render is not one."""
    template = (template or "").removeprefix("\ufeff")   # a byte order mark is RP107's, not a chat format
    if not template:
        return False
    from publish import gotmpl
    from publish.errors import TemplateError

    try:
        return all(gotmpl.render(template, [{"role": "user", "content": p}]) == p for p in _PROBES)
    except TemplateError:
        return False


_BASE_NAME = re.compile(r"(?:^|[-_ ])(base|pt|pretrained)$", re.I)


def header_says_base(hdr) -> bool:
    """A lone GGUF declares itself a base model: no chat template, and general.finetune or
    general.name ends in base/pt/pretrained. `hdr` is a publish.gguf.header.GGUFHeader."""
    if hdr.chat_template:
        return False
    for key in ("general.finetune", "general.name"):
        value = hdr.value(key)
        if isinstance(value, str) and _BASE_NAME.search(value.strip()):
            return True
    return False
