"""The @huggingface/ollama-utils reference (tests/ollama_utils_ref.py) runs the real npm package."""

from __future__ import annotations

import pytest

import jinja_corpus
import ollama_utils_ref


def _entry(name: str) -> jinja_corpus.CorpusEntry:
    return next(e for e in jinja_corpus.load() if e.name == name)


def test_pinned_version_is_installed():
    assert ollama_utils_ref.version() == "0.0.18"


def test_picks_like_the_hub_in_one_batch():
    llama = _entry("meta-llama-Llama-3.1-8B-Instruct.jinja")  # = the llama3.1:8b GGUF's
    picks = ollama_utils_ref.pick_many([
        # the GGUF template of an ollama.com library model: its table entry, matched by the first 128 chars
        {"chat_template": llama.source, "bos_token": llama.bos_token, "eos_token": llama.eos_token},
        # an unknown template with no special token: converted by rendering placeholders
        {"chat_template": "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"},
        {"chat_template": "{{ 'outetts-0.2' }}"},
    ])
    assert picks[0]["model"] == "library/llama3.1:8b"
    assert picks[0]["template"].startswith("{{- if or .System .Tools }}<|start_header_id|>system<|end_header_id|>")
    assert "<|eot_id|>" in picks[0]["params"]["stop"]
    assert picks[1] == {"model": "auto-conversion", "tokens": [], "params": {"stop": ["user:"]}, "template":
                        "{{ if .System }}system: {{ .System }}\n{{ end }}{{ if .Prompt }}user: {{ .Prompt }}\n{{ end }}"
                        "assistant: {{ .Response }}\n"}
    assert isinstance(picks[2], ollama_utils_ref.OllamaUtilsThrew)
    with pytest.raises(ollama_utils_ref.OllamaUtilsThrew, match="OuteTTS"):
        ollama_utils_ref.pick("{{ 'outetts-0.2' }}")


def test_an_unlisted_template_is_matched_by_its_set_of_special_tokens():
    """Gemma 3n's template is not in the package's table, but it uses the same special tokens as
    the gemma3:270m entry, so the Hub serves that entry (its template and its sampling params)."""
    gemma = _entry("google-gemma-3n-it.jinja")
    pick = ollama_utils_ref.pick(gemma.source, gemma.bos_token, gemma.eos_token)
    assert pick["model"] == "library/gemma3:270m"
    assert pick["params"]["stop"] == ["<end_of_turn>"]
    assert pick["params"]["top_k"] == 64


def test_pick_for_gguf_reads_template_and_token_texts_from_the_header(tiny_llama_path, tmp_path):
    """The tiny model carries a Gemma chat template: by its special tokens the Hub serves ollama.com's
    gemma2 entry, with both turn tokens as stops."""
    import ggufs

    pick = ollama_utils_ref.pick_for_gguf(tiny_llama_path)
    assert pick["model"] == "library/gemma2:2b"
    assert pick["params"]["stop"] == ["<start_of_turn>", "<end_of_turn>"]
    bare = ggufs.write_tiny_llama(tmp_path / "no-template.gguf", chat_template=None)
    assert ollama_utils_ref.pick_for_gguf(bare) is None
