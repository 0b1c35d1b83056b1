"""Jinja parity: the engine's prompt against the GGUF's own Jinja chat template.

The GGUF's template is rendered once per run (sandboxed, `publish.templatecheck`) for every
conversation and shared by the quants that carry the same template; `jinja_parity` gives
templatecheck's verdict on one conversation, with the engine's prompt as the Go side.
"""

from __future__ import annotations

import dataclasses

from publish.smoke.gguf_facts import GGUFFacts
from publish.smoke.prompts import render_go


def jinja_renders(facts: GGUFFacts, conversations: list[list[dict]], cache: dict):
    """The GGUF's Jinja template on the run's conversations (with templatecheck's trim probes),
    in one sandboxed batch, shared by the quants that carry the same template. Returns
    (templatecheck.JinjaRenders | None, reason when None)."""
    if not facts.chat_template:
        return None, "the GGUF has no tokenizer.chat_template"
    key = (facts.chat_template, facts.bos_text, facts.eos_text, bool(facts.add_bos), repr(conversations))
    if key not in cache:
        from publish.chat import ChatTemplate
        from publish.errors import TemplateError, message_of
        from publish.templatecheck import Conversation, render_jinja_suite

        suite = tuple(Conversation(f"c{i}", conv) for i, conv in enumerate(conversations))
        try:
            tpl = ChatTemplate(facts.chat_template, bos_token=facts.bos_text or "", eos_token=facts.eos_text or "")
            cache[key] = (render_jinja_suite(tpl, suite, strip_bos=bool(facts.add_bos)), None)
        except TemplateError as err:
            cache[key] = (None, f"the GGUF's Jinja template cannot be rendered: {message_of(err)}")
    return cache[key]


def jinja_parity(jinja, index: int, rendered: str, template: str | None):
    """templatecheck's verdict on conversation `index`: the engine's prompt against the Jinja
    render; trim probes are rendered with publish.gotmpl."""
    from publish.templatecheck import compare

    conv = jinja.suite[index]

    def go_render(tpl: str, messages: list[dict]) -> str:
        return rendered if messages == conv.messages else render_go(template or "", messages)

    single = dataclasses.replace(jinja, suite=(conv,), renders=[jinja.renders[index]], probes=[jinja.probes[index]])
    return compare(single, template or "", go_render=go_render).conversations[0]

