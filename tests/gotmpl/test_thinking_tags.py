"""publish.gotmpl.thinking_tags against Ollama's own thinking.InferTags (tests/ollama/thinking_ref, a Go
program importing github.com/ollama/ollama v0.24.0's template and thinking packages): which
templates Ollama treats as thinking-capable, and with which tags, decides whether a `think`
request is refused and how the reply is split."""

from __future__ import annotations

import pytest

import jinja_corpus
import ollama_utils_ref
from ollama_thinking_ref import infer_tags_real
from publish import families, gotmpl

HAND_CASES = [
    "{{ range .Messages }}{{ if .Thinking }}<think>{{ .Thinking }}</think>{{ end }}{{ end }}",
    # $.Messages is a variable node, not the field .Messages: Ollama infers nothing
    "{{ range $i, $_ := $.Messages }}{{ if .Thinking }}<think>{{ .Thinking }}</think>{{ end }}{{ end }}",
    "{{ .Thinking }}",                                          # outside any range
    "{{ range .Messages }}\n <t> {{ .Thinking }}\u00a0</t>\n{{ end }}",   # TrimSpace (Unicode spaces)
    "{{ range .Messages }}{{ .Content }}{{ .Thinking }}</think>{{ end }}",  # only a closing text
    "{{ range .Messages }}<a>{{ .Thinking }}</a>{{ end }}{{ range .Messages }}<b>{{ .Thinking }}{{ .Content }}{{ end }}",
    "{{ range .Messages }}{{ if false }}<think>{{ .Thinking }}</think>{{ end }}{{ end }}",
    "{{ range .Messages }}{{ with .Thinking }}<r>{{ . }}</r>{{ end }}{{ end }}",
    "{{ range .Messages }}{{ if .Thinking }}<r>{{ else }}{{ .Thinking }}</r>{{ end }}{{ end }}",
    "{{ range .Messages }}{{ template \"x\" .Thinking }}{{ end }}{{ define \"x\" }}<q>{{ . }}</q>{{ end }}",
]


@pytest.fixture(scope="module")
def infer_tags():
    return infer_tags_real


def _templates() -> list[str]:
    """Hand cases, our family templates, and every Go template the Hub picks for the corpus."""
    out = list(HAND_CASES) + [f.template for f in families.all_families()]
    picks = ollama_utils_ref.pick_many({"chat_template": e.source, "bos_token": e.bos_token,
                                        "eos_token": e.eos_token} for e in jinja_corpus.load())
    out += sorted({p["template"] for p in picks if isinstance(p, dict)})
    return out


def test_thinking_tags_match_ollamas_infer_tags(infer_tags):
    texts = _templates()
    want = infer_tags(texts)
    assert len(want) == len(texts)
    thinking = 0
    for text, expected in zip(texts, want):
        if isinstance(expected, dict):      # Ollama's template.Parse refuses it; so must we
            with pytest.raises(gotmpl.TemplateError):
                gotmpl.thinking_tags(text)
            continue
        assert list(gotmpl.thinking_tags(text)) == expected, text[:300]
        thinking += all(expected)
    assert thinking >= 5    # the suite holds real thinking templates (Qwen3, DeepSeek V3.1, ...)


def test_what_ollama_infers_for_hand_cases():
    assert gotmpl.thinking_tags(HAND_CASES[0]) == ("<think>", "</think>")
    assert gotmpl.thinking_tags(HAND_CASES[1]) == ("", "")
    assert gotmpl.thinking_tags(HAND_CASES[3]) == ("<t>", "</t>")
