"""Family Go templates pass `template check` against their family's real Jinja chat template;
`template suggest` picks by behaviour."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import ggufs
from publish import families, templatecheck
from publish.chat import ChatTemplate
from publish.cli import main
from publish.errors import UsageError

JINJA = Path(__file__).parent / "data" / "jinja"

# (family name as a release spec would write it, real template file, bos, eos)
REAL = [
    ("gemma3", "google-gemma-3-it.jinja", "<bos>", "<eos>"),
    ("gemma3n", "google-gemma-3n-it.jinja", "<bos>", "<eos>"),
    ("llama3", "meta-llama-Meta-Llama-3-8B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    ("llama3.1", "meta-llama-Llama-3.1-8B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    ("llama3.2", "meta-llama-Llama-3.2-3B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>"),
    ("chatml", "chatml.jinja", "", ""),
    ("qwen", "Qwen-Qwen2.5-7B-Instruct.jinja", "", "<|im_end|>"),
    ("mistral", "mistralai-Mistral-Large-Instruct-2407.jinja", "<s>", "</s>"),
    ("phi3", "microsoft-Phi-3-mini-4k-instruct.jinja", "<s>", "<|endoftext|>"),
    ("phi4", "microsoft-phi-4.jinja", "<|endoftext|>", "<|im_end|>"),
]
# Templates that write tool definitions: no family has .Tools, so Ollama refuses their tool requests
# and the family is not identical to them (issue 9: a case the model supports is never n/a).
TOOL_USERS = {"meta-llama-Llama-3.1-8B-Instruct.jinja", "meta-llama-Llama-3.2-3B-Instruct.jinja",
              "Qwen-Qwen2.5-7B-Instruct.jinja", "mistralai-Mistral-Large-Instruct-2407.jinja"}
PLAIN = {c.name for c in templatecheck.STANDARD_SUITE}
# Templates that trim message content (| trim): whitespace-only differences on tricky-text.
TRIMS = {"google-gemma-3-it.jinja", "google-gemma-3n-it.jinja", "meta-llama-Meta-Llama-3-8B-Instruct.jinja",
         "meta-llama-Llama-3.1-8B-Instruct.jinja", "meta-llama-Llama-3.2-3B-Instruct.jinja"}


def real_template(filename: str) -> str:
    """The template text exactly as published: the file minus its leading `{#- source: … -#}` note."""
    text = (JINJA / filename).read_text(encoding="utf-8")
    return re.sub(r"\A\{#- source:.*?-#\}\n", "", text, count=1, flags=re.S)


@pytest.mark.parametrize("family, filename, bos, eos", REAL, ids=[r[0] for r in REAL])
def test_family_template_passes_against_its_real_chat_template(family, filename, bos, eos):
    fam = families.get(family)
    result = templatecheck.check(real_template(filename), fam.template, bos_token=bos, eos_token=eos,
                                 jinja_name=filename, go_name=fam.name)
    statuses = {c.name: c.status for c in result.conversations if c.name in PLAIN}
    assert set(statuses) == PLAIN  # nothing skipped
    if filename in TRIMS:
        assert statuses.pop("tricky-text") == "trim"
    assert set(statuses.values()) == {"identical"}, result.format_text()
    assert_capability_cases(result, filename)


def assert_capability_cases(result, filename):
    """Tools cases: refused (a difference) where the model writes tools, else n/a or refused by the
    model's template; thinking-on likewise n/a (none of these models thinks; no family has .Thinking).
    thinking-off (think=false) Ollama serves to any model: compared, and the same as without it."""
    caps = {c.name: c for c in result.conversations if c.name not in PLAIN}
    assert set(caps) == {"tools", "tool-call-result", "thinking-on", "thinking-off"}
    for name, c in caps.items():
        if name.startswith("tool") and filename in TOOL_USERS:
            assert c.status == "different" and c.refused and "does not support tools" in c.reason
        elif name == "thinking-off":
            assert c.status == "identical", c.reason
        else:
            # n/a: the model ignores the inputs; skipped: its template refuses the conversation
            assert c.status in ("n/a", "skipped") and "by the model" in c.reason, c.reason
    assert result.ok == (filename not in TOOL_USERS), result.format_text()


def test_real_templates_are_kept_with_a_source_note():
    for _, filename, _, _ in REAL:
        head = (JINJA / filename).read_text(encoding="utf-8").split("\n", 1)[0]
        assert head.startswith("{#- source: "), filename


def test_aliases_resolve_to_one_family():
    assert families.get("gemma3n") is families.get("gemma3") is families.get("Gemma-3n")
    assert families.get("qwen").name == "qwen2.5"
    assert families.get("phi-4").name == "phi4"
    with pytest.raises(UsageError) as err:
        families.get("gpt-17")
    assert "gemma3" in str(err.value) and "template suggest" in str(err.value)


@pytest.mark.parametrize("fam", families.all_families(), ids=lambda f: f.name)
def test_every_family_has_stops_a_description_and_writes_no_bos(fam):
    assert fam.stop and all(fam.stop)
    assert fam.description
    for bos in ("<bos>", "<s>", "<|begin_of_text|>", "<|endoftext|>", "{{ .BOS"):
        assert bos not in fam.template
    assert not fam.template.endswith("\n\n")


def test_gemma3_stops_at_end_of_turn():
    assert families.get("gemma3n").stop == ["<end_of_turn>"]


# -- suggest ------------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def gemma3n_gguf(gguf_cache) -> Path:
    return ggufs.write_tiny_llama(gguf_cache / "tiny-gemma3n-template.gguf",
                                  chat_template=real_template("google-gemma-3n-it.jinja"))


@pytest.fixture(scope="session")
def zephyr_gguf(gguf_cache) -> Path:
    zephyr = ("{% for message in messages %}\n{% if message['role'] == 'user' %}\n{{ '<|user|>\n' + message['content'] + eos_token }}\n"
              "{% elif message['role'] == 'system' %}\n{{ '<|system|>\n' + message['content'] + eos_token }}\n"
              "{% elif message['role'] == 'assistant' %}\n{{ '<|assistant|>\n'  + message['content'] + eos_token }}\n"
              "{% endif %}\n{% if loop.last and add_generation_prompt %}\n{{ '<|assistant|>' }}\n{% endif %}\n{% endfor %}")
    return ggufs.write_tiny_llama(gguf_cache / "tiny-zephyr-template.gguf", chat_template=zephyr)


def test_suggest_picks_gemma_for_gemma3n_by_behaviour():
    chat = ChatTemplate(real_template("google-gemma-3n-it.jinja"), bos_token="<bos>", eos_token="<eos>")
    found = templatecheck.suggest(chat)
    assert found.matches and found.family.name == "gemma3"


def test_suggest_tells_qwen_from_plain_chatml():
    chat = ChatTemplate(real_template("Qwen-Qwen2.5-7B-Instruct.jinja"), eos_token="<|im_end|>")
    found = templatecheck.suggest(chat)
    assert found.family.name == "qwen2.5"
    assert {c.status for c in found.result.conversations if c.name in PLAIN} == {"identical"}
    # Qwen 2.5 writes tools; the family has no .Tools, so Ollama refuses them: not a match
    assert not found.matches and {c.name for c in found.result.conversations if c.status == "different"} == {
        "tools", "tool-call-result"}
    chatml = dict((f.name, r) for f, r in found.ranked)["chatml"]
    assert any(c.status == "different" for c in chatml.conversations if c.name in PLAIN)  # no default system prompt


def test_suggest_tells_llama_3_from_llama_3_1():
    for filename, expected in (("meta-llama-Meta-Llama-3-8B-Instruct.jinja", "llama3"),
                               ("meta-llama-Llama-3.1-8B-Instruct.jinja", "llama3.1"),
                               ("meta-llama-Llama-3.2-3B-Instruct.jinja", "llama3.1")):
        chat = ChatTemplate(real_template(filename), bos_token="<|begin_of_text|>", eos_token="<|eot_id|>")
        assert templatecheck.suggest(chat).family.name == expected


def test_cli_suggest_gguf_prints_template_stops_and_check(gemma3n_gguf):
    # the gemma3 family differs from Gemma 3n's template where it trims message whitespace; the
    # converted template trims too, so suggest reports it (issue 9: families are the fast path)
    out = CliRunner().invoke(main, ["template", "suggest", str(gemma3n_gguf)])
    assert out.exit_code == 0, out.output
    assert out.output.startswith("no family template is identical (closest: gemma3)")
    assert "stop: <end_of_turn>, <start_of_turn>" in out.output
    # 11: the 14-case suite minus tools, tool-call-result, thinking-on (Gemma 3n uses neither, and the
    # converted template has neither capability, so Ollama refuses them); think=false is served: compared
    assert "result: identical on all 11 supported case(s)" in out.output
    data = json.loads(CliRunner().invoke(main, ["template", "suggest", str(gemma3n_gguf), "--json"]).output)
    # the JSON carried gemma3's template and "family": "gemma3" beside "match": true; the conversion is
    # what matched, and it is what the document now gives to ship
    assert (data["picked"], data["match"], data["exact"], data["family"]) == ("conversion", True, True, None)
    assert data["template"] == data["converted"]["template"] != families.get("gemma3").template
    assert data["stop"] == data["converted"]["stop"] == ["<end_of_turn>", "<start_of_turn>"]
    assert data["closest_family"]["name"] == "gemma3" and data["closest_family"]["exact"] is False
    assert data["closest_family"]["template"] == families.get("gemma3").template


def test_suggest_on_a_gemma3n_sized_header(gemma3n_broken_path):
    # 262,144-token vocabulary: BOS/EOS texts come from the header through the lazy reader.
    out = CliRunner().invoke(main, ["template", "suggest", str(gemma3n_broken_path), "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["closest_family"]["name"] == "gemma3"


def test_cli_suggest_without_a_family_reports_the_converted_template(zephyr_gguf):
    out = CliRunner().invoke(main, ["template", "suggest", str(zephyr_gguf)])
    assert out.exit_code == 0, out.output
    assert "no family template is identical (closest: phi3)" in out.output
    assert "result: identical on all" in out.output
    data = json.loads(CliRunner().invoke(main, ["template", "suggest", str(zephyr_gguf), "--json"]).output)
    assert (data["picked"], data["match"], data["family"], data["closest_family"]["name"]) == \
        ("conversion", True, None, "phi3")
    assert data["converted"]["identical"] is True and data["stop"] == data["converted"]["stop"]
    ranking = [r["differing_chars"] for r in data["ranking"]]
    assert ranking == sorted(ranking)


def test_cli_suggest_without_a_match_shows_the_closest_and_its_diff(gguf_cache):
    # upper-casing content: no family does it and Go templates cannot
    shouty = ("{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] | upper }}</s>"
              "{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}")
    path = ggufs.write_tiny_llama(gguf_cache / "tiny-shouty-template.gguf", chat_template=shouty)
    out = CliRunner().invoke(main, ["template", "suggest", str(path)])
    assert out.exit_code == 1
    assert "no family template builds the same prompts; closest:" in out.output
    assert "DIFFERENT" in out.output and "{+" in out.output
    assert "converted chat template (not identical either)" in out.output and "| upper" in out.output
    data = json.loads(CliRunner().invoke(main, ["template", "suggest", str(path), "--json"]).output)
    assert data["match"] is False and data["converted"]["identical"] is False
    assert (data["picked"], data["template"], data["stop"], data["family"]) == (None, None, None, None)


def test_cli_suggest_needs_a_chat_template(gguf_cache):
    path = ggufs.write_tiny_llama(gguf_cache / "no-template.gguf", chat_template=None)
    out = CliRunner().invoke(main, ["template", "suggest", str(path)])
    assert out.exit_code == 2 and "no tokenizer.chat_template" in out.output


# -- the same verdicts with Go's own text/template ------------------------------------------------

@pytest.fixture(scope="session")
def go_reference():
    """Ollama's own template package (v0.24.0, tests/ollama_template_ref) rendering a chat request."""
    from ollama_template_ref import render_real

    def render(template: str, messages: list[dict]) -> str:
        (res,) = render_real([{"template": template, "messages": messages}])
        if res.get("error"):
            from publish.errors import TemplateError
            raise TemplateError(res["error"])
        return res["output"]

    return render


@pytest.mark.go
@pytest.mark.parametrize("family, filename, bos, eos", REAL, ids=[r[0] for r in REAL])
def test_family_verdict_holds_with_go_itself(go_reference, family, filename, bos, eos):
    result = templatecheck.check(real_template(filename), families.get(family).template, bos_token=bos,
                                 eos_token=eos, go_render=go_reference)
    plain = [c for c in result.conversations if c.name in PLAIN]
    assert {c.status for c in plain} == ({"identical", "trim"} if filename in TRIMS else {"identical"})
    assert_capability_cases(result, filename)


def test_a_damaged_family_index_is_a_usage_error_naming_it(tmp_path, monkeypatch):
    (tmp_path / "ollama").mkdir()
    index = tmp_path / "ollama" / "families.toml"
    index.write_text('[gemma3]\ntemplate = "missing.gotmpl"\n')
    monkeypatch.setattr(families, "families_dir", lambda: tmp_path / "ollama")
    families._load.cache_clear()
    try:
        with pytest.raises(UsageError, match=r"families.toml: family \[gemma3\] cannot be loaded"):
            families.get("gemma3")
        index.write_text("[gemma3]\nstop = []\n")
        families._load.cache_clear()
        with pytest.raises(UsageError, match="KeyError"):
            families.all_families()
    finally:
        families._load.cache_clear()


def test_suggest_does_not_call_chatml_identical_to_qwen3(gguf_cache):
    # Qwen3's template is ChatML plus tools and thinking. chatml has neither .Tools nor .Thinking:
    # Ollama refuses tool and think=true requests to it, so it is not identical (issue 9 tester).
    qwen3 = real_template("gguf-ollama-qwen3-0.6b.jinja")
    path = ggufs.write_tiny_llama(gguf_cache / "tiny-qwen3-template.gguf", chat_template=qwen3)
    out = CliRunner().invoke(main, ["template", "suggest", str(path)])
    assert "family: chatml" not in out.output, out.output
    data = json.loads(CliRunner().invoke(main, ["template", "suggest", str(path), "--json"]).output)
    assert data["closest_family"]["name"] == "chatml" and data["closest_family"]["exact"] is False
    refused = {c["name"] for c in data["closest_family"]["check"]["conversations"] if c.get("refused")}
    assert refused == {"tools", "tool-call-result", "thinking-on"}
    ranking = {r["family"]: r["status"] for r in data["ranking"]}
    assert set(ranking.values()) == {"fail"}
    # the conversion serves both, and suggest reports it
    assert data["converted"]["tools"] and data["converted"]["thinking"] and data["match"] == data["converted"]["identical"]
    assert data["family"] is None and data["picked"] == ("conversion" if data["converted"]["identical"] else None)
