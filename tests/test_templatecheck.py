"""`publish template check`: tells a faithful Go template from a divergent one and shows where."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from ggufs import GEMMA_GO, GEMMA_JINJA
from publish import families, templatecheck
from publish.cli import main
from publish.errors import TemplateError, UnsafeTemplateError

GEMMA3 = families.get("gemma3").template
CHATML_JINJA = ("{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content']"
                " + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")
# Gemma 1's template (as collected in Ollama's template/index.json): refuses system messages.
GEMMA1_JINJA = (
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}")


def by_name(result):
    return {c.name: c for c in result.conversations}


PLAIN = [c.name for c in templatecheck.STANDARD_SUITE]


def statuses(result):
    """{status} of the plain conversations, and of the tools/thinking cases check appends."""
    plain = {c.status for c in result.conversations if c.name in PLAIN}
    return plain, {c.status for c in result.conversations if c.name not in PLAIN}


def test_faithful_gemma_template_passes_with_a_trim_warning():
    result = templatecheck.check(GEMMA_JINJA, GEMMA3, bos_token="<bos>")
    conv = by_name(result)
    assert result.ok and result.exit_code == 0 and result.status == "pass-with-warnings"
    assert all(conv[n].status == "identical" for n in
               ("user", "system-user", "user-assistant-user", "system-user-assistant-user"))
    assert conv["tricky-text"].status == "trim"
    assert "| trim" in conv["tricky-text"].reason


def test_ollama_library_gemma_template_diverges_on_the_system_prompt_and_the_diff_shows_it():
    # Ollama's library template gives the system prompt its own user turn; Gemma's Jinja folds it
    # into the first user turn.
    result = templatecheck.check(GEMMA_JINJA, GEMMA_GO, bos_token="<bos>")
    conv = by_name(result)
    assert not result.ok and result.exit_code == 1
    assert conv["user"].status == "identical"
    bad = conv["system-user"]
    assert bad.status == "different"
    expected_prefix = "<start_of_turn>user\nYou are a helpful assistant."
    assert bad.first_difference == len(expected_prefix)
    assert "{+⟨<end_of_turn>⟩+}" in bad.diff and "⟨<start_of_turn>⟩user" in bad.diff
    text = result.format_text()
    assert "system-user" in text and "DIFFERENT" in text and "result: FAIL" in text


def test_go_template_writing_its_own_bos_is_caught_at_character_zero():
    result = templatecheck.check(GEMMA_JINJA, "<bos>" + GEMMA3, bos_token="<bos>")
    conv = by_name(result)["user"]
    assert conv.status == "different" and conv.first_difference == 0
    assert "{+⟨<bos>⟩+}" in conv.diff


def test_only_one_leading_bos_is_stripped_and_only_when_the_engine_adds_it():
    chatml = families.get("chatml").template
    assert templatecheck.check("{{ bos_token }}" + CHATML_JINJA, chatml, bos_token="<s>").ok
    twice = templatecheck.check("{{ bos_token }}{{ bos_token }}" + CHATML_JINJA, chatml, bos_token="<s>")
    assert "[-⟨<s>⟩-]" in by_name(twice)["user"].diff
    kept = templatecheck.check("{{ bos_token }}" + CHATML_JINJA, chatml, bos_token="<s>", strip_bos=False)
    assert not kept.ok
    assert by_name(kept)["user"].first_difference == 0


def test_whitespace_lost_in_the_go_template_is_a_failure_not_a_trim_warning():
    lossy = families.get("chatml").template.replace("<|im_end|>\n", "<|im_end|>")
    result = templatecheck.check(CHATML_JINJA, lossy)
    # this Jinja template ignores tools and thinking: the requests Ollama refuses (tools, think=true) are
    # n/a; think=false it serves, and the lost newline shows there too
    assert statuses(result) == ({"different"}, {"different", "n/a"})
    assert "[-␤-]" in by_name(result)["user"].diff


def test_trim_class_needs_the_jinja_template_to_trim_that_very_message():
    # Jinja trims only assistant content; a Go template that matches except for user whitespace
    # must fail, while assistant whitespace alone is only a warning.
    jinja = CHATML_JINJA.replace("message['content']", "(message['content'] | trim if message['role'] == 'assistant' else message['content'])")
    result = templatecheck.check(jinja, families.get("chatml").template)
    tricky = by_name(result)["tricky-text"]
    assert tricky.status == "trim" and "assistant" in tricky.reason and "user" not in tricky.reason
    jinja_user_trim = CHATML_JINJA.replace("message['content']", "message['content'] | trim")
    ok = templatecheck.check(jinja_user_trim, families.get("chatml").template)
    assert by_name(ok)["tricky-text"].status == "trim"


def test_conversations_the_jinja_template_refuses_are_skipped_with_the_reason():
    result = templatecheck.check(GEMMA1_JINJA, GEMMA3, bos_token="<bos>")
    conv = by_name(result)
    assert conv["system-user"].status == "skipped"
    assert "System role not supported" in conv["system-user"].reason
    assert conv["user"].status == "identical"
    assert result.ok  # skipped conversations are not failures


def test_go_template_that_cannot_render_is_a_failure_with_its_error():
    broken = "{{ range .Messages }}{{ index $.Messages 7 }}{{ end }}"
    result = templatecheck.check(CHATML_JINJA, broken)
    assert not result.ok
    assert statuses(result) == ({"error"}, {"error", "n/a"})   # think=false is served, and fails too
    assert "Go template failed" in result.conversations[0].reason


def test_go_parse_errors_carry_the_line():
    with pytest.raises(TemplateError) as err:
        templatecheck.check(CHATML_JINJA, "{{ range .Messages }}\n{{ if }}\n{{ end }}", go_name="template")
    assert err.value.line == 2


def test_hostile_jinja_stops_the_check():
    with pytest.raises(UnsafeTemplateError):
        templatecheck.check("{{ ''.__class__.__mro__ }}", GEMMA3)


def test_date_writing_templates_give_the_same_verdict_every_day():
    jinja = "{{ strftime_now('%d %b %Y') }}|" + CHATML_JINJA
    go = "26 Jul 2024|" + families.get("chatml").template
    assert templatecheck.check(jinja, go).exact


def test_result_serialises_to_json():
    data = json.loads(json.dumps(templatecheck.check(GEMMA_JINJA, GEMMA_GO, bos_token="<bos>").to_dict()))
    assert data["status"] == "fail"
    assert [c["name"] for c in data["conversations"]][:2] == ["user", "system-user"]
    assert data["conversations"][1]["diff"]


def test_visible_marks_whitespace_and_special_tokens():
    assert templatecheck.visible("<|im_start|>user\n a\t[INST]") == "⟨<|im_start|>⟩user␤·a␉⟨[INST]⟩"


# -- CLI ----------------------------------------------------------------------------------------

def modelfile(tmp_path: Path, template: str, name: str = "Modelfile") -> Path:
    path = tmp_path / name
    path.write_text(f'FROM ./model.gguf\nTEMPLATE """{template}"""\nPARAMETER stop <end_of_turn>\n', encoding="utf-8")
    return path


def test_cli_check_gguf_against_modelfile(tiny_llama_path, tmp_path):
    runner = CliRunner()
    good = runner.invoke(main, ["template", "check", "--jinja", str(tiny_llama_path),
                                "--go", str(modelfile(tmp_path, GEMMA3))])
    assert good.exit_code == 0, good.output
    assert "result: pass" in good.output and "tokenizer.chat_template" in good.output
    bad = runner.invoke(main, ["template", "check", "--jinja", str(tiny_llama_path),
                               "--go", str(modelfile(tmp_path, GEMMA_GO, "Modelfile.Q4_K_M"))])
    assert bad.exit_code == 1
    assert "DIFFERENT" in bad.output and "⟨<end_of_turn>⟩" in bad.output


def test_cli_check_json_with_template_files_and_bos(tmp_path):
    jinja = tmp_path / "chat_template.jinja"
    jinja.write_text(GEMMA_JINJA, encoding="utf-8")
    go = tmp_path / "template"
    go.write_text(GEMMA3, encoding="utf-8")
    out = CliRunner().invoke(main, ["template", "check", "--jinja", str(jinja), "--go", str(go),
                                    "--bos", "<bos>", "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["status"] == "pass-with-warnings"
    go.write_text("<bos>" + GEMMA3, encoding="utf-8")
    doubled = CliRunner().invoke(main, ["template", "check", "--jinja", str(jinja), "--go", str(go),
                                        "--bos", "<bos>", "--json"])
    assert doubled.exit_code == 1
    assert json.loads(doubled.output)["conversations"][0]["first_difference"] == 0


def test_cli_check_reads_tokenizer_config_json(tmp_path):
    config = tmp_path / "tokenizer_config.json"
    config.write_text(json.dumps({"chat_template": GEMMA_JINJA, "bos_token": "<bos>", "eos_token": "<eos>"}))
    go = tmp_path / "template"
    go.write_text(GEMMA3, encoding="utf-8")
    out = CliRunner().invoke(main, ["template", "check", "--jinja", str(config), "--go", str(go)])
    assert out.exit_code == 0, out.output


def test_cli_rejects_a_gguf_without_a_template_beside_it_with_a_hint(tiny_llama_path):
    out = CliRunner().invoke(main, ["template", "check", "--jinja", str(tiny_llama_path), "--go", str(tiny_llama_path)])
    assert out.exit_code == 2
    assert "holds no Ollama Go template" in out.output and "template suggest" in out.output


@pytest.mark.parametrize("go_template, exit_code", [(GEMMA3, 0), (GEMMA_GO, 1)])
def test_cli_go_gguf_checks_the_template_beside_it_in_its_repo_folder(tiny_llama_path, tmp_path, go_template, exit_code):
    """`--go X.gguf` checks what Ollama's hf.co bridge pairs with X.gguf: the repo's `template` file."""
    gguf = tmp_path / tiny_llama_path.name
    shutil.copyfile(tiny_llama_path, gguf)
    (tmp_path / "template").write_text(go_template, encoding="utf-8")
    out = CliRunner().invoke(main, ["template", "check", "--jinja", str(gguf), "--go", str(gguf)])
    assert out.exit_code == exit_code, out.output
    assert f"template (beside {gguf.name})" in out.output


def test_cli_modelfile_without_template_is_a_usage_error(tiny_llama_path, tmp_path):
    path = tmp_path / "Modelfile"
    path.write_text("FROM ./model.gguf\n")
    out = CliRunner().invoke(main, ["template", "check", "--jinja", str(tiny_llama_path), "--go", str(path)])
    assert out.exit_code == 2 and "no TEMPLATE" in out.output


@pytest.mark.parametrize("side", ["--jinja", "--go"])
def test_cli_binary_file_is_a_usage_error_naming_it(tmp_path, side):
    binary = tmp_path / "weights.bin"
    binary.write_bytes(b"\xff\xfe\x00 not text")
    go = tmp_path / "template"
    go.write_text(GEMMA3, encoding="utf-8")
    args = {"--jinja": str(binary), "--go": str(go)} if side == "--jinja" else {"--jinja": str(go), "--go": str(binary)}
    out = CliRunner().invoke(main, ["template", "check", *[x for kv in args.items() for x in kv]])
    assert out.exit_code == 2, out.output
    assert f"{binary}: not UTF-8 text" in out.output and "Traceback" not in out.output


def test_huge_renders_are_diffed_as_one_replacement_between_the_common_ends():
    # a hostile chat template's megabyte of output must not send the diff into quadratic time
    jinja = "<start_of_turn>user\n" + "ab cd " * 100_000 + "<end_of_turn>\n"
    go = "<start_of_turn>user\n" + "ab ce " * 100_000 + "<end_of_turn>\n"
    assert len(templatecheck._pieces(jinja)) * len(templatecheck._pieces(go)) > templatecheck.MAX_ALIGNED
    diff, differing, first = templatecheck.char_diff(jinja, go)
    assert first == len("<start_of_turn>user\nab ")
    assert differing == (len(jinja) - first - len(" <end_of_turn>\n")) * 2
    assert diff.count("[-") == 2 and diff.count("{+") == 2  # the legend and one replacement
    assert diff.endswith("⟨<end_of_turn>⟩␤")


# -- what Ollama hands the Go template, and cases the model supports but the Go template cannot serve --
# A thinking template: reasoning in history and an empty think block when thinking is off.
THINK_JINJA = (
    "{%- for m in messages %}<|{{ m.role }}|>{% if m.role == 'assistant' and m.reasoning_content and "
    "enable_thinking %}<think>{{ m.reasoning_content }}</think>{% endif %}{{ m.content }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% if enable_thinking is defined and not enable_thinking %}"
    "<think></think>{% endif %}{% endif %}")
IGNORES_THINKING_JINJA = ("{%- for m in messages %}<|{{ m.role }}|>{{ m.content }}<|end|>\n{% endfor %}"
                          "{% if add_generation_prompt %}<|assistant|>{% endif %}")
# Go without .Thinking: right on every case Ollama lets through, but the model gets no thinking capability
NO_THINKING_GO = ("{{ range .Messages }}<|{{ .Role }}|>{{ .Content }}<|end|>\n{{ end }}<|assistant|>"
                  "{{ if and .IsThinkSet (not .Think) }}<think></think>{{ end }}")
THINKING_GO = ("{{ range .Messages }}<|{{ .Role }}|>{{ if and $.Think .Thinking }}<think>{{ .Thinking }}</think>"
               "{{ end }}{{ .Content }}<|end|>\n{{ end }}<|assistant|>{{ if and .IsThinkSet (not .Think) }}"
               "<think></think>{{ end }}")
THINK_SUITE = tuple(c for c in templatecheck.CONVERT_SUITE if c.name in ("user", "thinking-on", "thinking-off"))


def test_ollama_think_follows_the_chat_handler():
    # server/routes.go ChatHandler v0.24.0: think defaults to true for a thinking-capable model;
    # think=true to another, or tools to a template without .Tools, is refused
    assert templatecheck.ollama_capabilities(THINKING_GO) == (False, True)
    assert templatecheck.ollama_think(THINKING_GO) is True
    assert templatecheck.ollama_think(THINKING_GO, False) is False
    assert templatecheck.ollama_think(NO_THINKING_GO) is None
    assert templatecheck.ollama_think(NO_THINKING_GO, False) is False
    with pytest.raises(templatecheck.OllamaRefusal, match="does not support thinking"):
        templatecheck.ollama_think(NO_THINKING_GO, True)
    with pytest.raises(templatecheck.OllamaRefusal, match="does not support tools"):
        templatecheck.ollama_think(THINKING_GO, None, templatecheck.TOOLS)
    # renderPrompt: ThinkLevel "medium" for think=true, IsThinkSet once think is set (also by default)
    probe = "{{ .Think }} {{ .ThinkLevel }} {{ .IsThinkSet }}{{ range .Messages }}<think>{{ .Thinking }}</think>{{ end }}"
    assert templatecheck.ollama_prompt(probe, [{"role": "user", "content": "x"}]).startswith("true medium true")
    assert templatecheck.ollama_prompt(probe, [{"role": "user", "content": "x"}], think=False).startswith("false  true")


def test_a_thinking_model_is_not_matched_by_a_go_template_without_thinking():
    chat = templatecheck.ChatTemplate(THINK_JINJA)
    result = templatecheck.prove(chat, NO_THINKING_GO, suite=THINK_SUITE)
    conv = by_name(result)
    assert conv["user"].status == "identical" and conv["thinking-off"].status == "identical"
    on = conv["thinking-on"]
    assert on.status == "different" and on.refused and "does not support thinking" in on.reason
    assert not result.ok and result.status == "fail"
    # the same model with .Thinking between its tags: every case identical
    assert templatecheck.prove(chat, THINKING_GO, suite=THINK_SUITE).exact
    # a model whose template ignores the thinking inputs: n/a where Ollama refuses the request, but a
    # request it serves is compared (a Go template that writes an empty think block the model never
    # writes is a difference users get)
    ignores = templatecheck.ChatTemplate(IGNORES_THINKING_JINJA)
    conv = by_name(templatecheck.prove(ignores, NO_THINKING_GO, suite=THINK_SUITE))
    assert conv["thinking-on"].status == "n/a" and conv["user"].status == "identical"
    assert conv["thinking-off"].status == "different" and conv["thinking-off"].diff.endswith("{+⟨<think>⟩⟨</think>⟩+}")
    conv = by_name(templatecheck.prove(ignores, THINKING_GO, suite=THINK_SUITE))
    assert conv["thinking-on"].status == conv["thinking-off"].status == "different"
    assert templatecheck.model_capabilities(ignores) == frozenset()
    assert templatecheck.model_capabilities(chat) == {"thinking"}


def test_check_agrees_with_convert_on_a_proven_thinking_conversion(tmp_path):
    # Qwen3 (Ollama's GGUF): the conversion has .Thinking, so Ollama sends think=true by default;
    # check must render it so too, not with Think=false
    jinja = Path(__file__).parent / "data" / "jinja" / "gguf-ollama-qwen3-0.6b.jinja"
    conv = CliRunner().invoke(main, ["template", "convert", str(jinja), "-o", str(tmp_path)])
    assert conv.exit_code == 0 and "capabilities in Ollama: tools, thinking" in conv.output, conv.output
    out = CliRunner().invoke(main, ["template", "check", "--jinja", str(jinja), "--go", str(tmp_path / "template")])
    assert out.exit_code == 0 and out.output.rstrip().endswith("result: pass"), out.output
    for case in ("tools", "tool-call-result", "thinking-on", "thinking-off"):
        assert f"{case:<28} identical" in out.output
    # and the chatml family, which lacks both, fails check on exactly those
    fam = CliRunner().invoke(main, ["template", "check", "--jinja", str(jinja), "--go",
                                    str(families.get("chatml").path)])
    assert fam.exit_code == 1 and "does not support tools" in fam.output and "does not support thinking" in fam.output


def _real_chat(url: str, body: dict) -> tuple[int, dict]:
    import urllib.error
    import urllib.request

    req = urllib.request.Request(f"{url}/api/chat", data=json.dumps({**body, "stream": False,
                                                                       "_debug_render_only": True}).encode(),
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


def test_ollama_think_and_refusals_match_the_real_server(tmp_path, tiny_llama_path, real_ollama):
    """Our model of /api/chat (ollama_think, ollama_prompt) against a real Ollama v0.24.0: a template
    without .Tools is refused tools and a non-thinking one think=true ("does not support ..."),
    think=false is served to it, and a thinking-capable template gets think=true when the request
    omits it; the server's prompt equals ollama_prompt's in every served case."""
    import subprocess

    from publish.modelfile import ModelfileSpec, render

    msgs = [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4", "thinking": "add"},
            {"role": "user", "content": "3+3?"}]
    for model, go in (("refusals-nothink", NO_THINKING_GO), ("refusals-think", THINKING_GO)):
        modelfile = tmp_path / f"{model}.Modelfile"
        modelfile.write_text(render(ModelfileSpec(from_=(str(tiny_llama_path),), template=go)), encoding="utf-8")
        subprocess.run(["ollama", "create", model, "-f", str(modelfile)], check=True, capture_output=True,
                       timeout=300)
        for extra in ({}, {"think": False}, {"think": True}, {"tools": templatecheck.TOOLS}):
            status, data = _real_chat(real_ollama.url, {"model": model, "messages": msgs, **extra})
            try:
                want = templatecheck.ollama_prompt(go, msgs, extra.get("tools"), extra.get("think"))
            except templatecheck.OllamaRefusal as err:
                quoted = err.why.split('"')[1]      # the server's own words, e.g. does not support tools
                assert status == 400 and quoted in data.get("error", ""), (model, extra, status, data)
                continue
            assert status == 200, (model, extra, status, data)
            assert data["_debug_info"]["rendered_template"] == want, (model, extra)
    # the refusals and the default are what the cases above exercised
    assert templatecheck.ollama_think(THINKING_GO) is True
    with pytest.raises(templatecheck.OllamaRefusal):
        templatecheck.ollama_think(NO_THINKING_GO, True)
