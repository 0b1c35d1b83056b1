"""publish.convert: Jinja chat templates compiled to Ollama Go templates, proven on CONVERT_SUITE."""

from __future__ import annotations


import json
import shutil

import pytest
from click.testing import CliRunner

import ggufs
from gguf import GGUFValueType
from publish import gotmpl, templatecheck
from publish.build import build
from publish.chat import render_chat
from publish.cli import main
from publish.convert import ConvertError, compile_template, convert
from publish.errors import SpecError, TemplateError
from publish.lint import lint_paths
from publish.spec import load_spec

from jinja_corpus import load

CORPUS = {e.name: e for e in load()}

# the templates of the families we ship (tests/data/jinja before the corpus), and thinking/tool models
KNOWN = ["Qwen-Qwen2.5-7B-Instruct.jinja", "chatml.jinja", "google-gemma-3-it.jinja", "google-gemma-3n-it.jinja",
         "meta-llama-Llama-3.1-8B-Instruct.jinja", "meta-llama-Llama-3.2-3B-Instruct.jinja",
         "meta-llama-Meta-Llama-3-8B-Instruct.jinja", "microsoft-Phi-3-mini-4k-instruct.jinja",
         "microsoft-phi-4.jinja", "mistralai-Mistral-Large-Instruct-2407.jinja",
         "gguf-ollama-qwen3-0.6b.jinja", "GLM-4.6.jinja", "gguf-ollama-qwq-32b-v3.jinja",
         "gguf-ollama-deepcoder-14b.jinja", "Qwen3-Coder.jinja"]


# corpus templates that later constructs made convert identical (each also has its construct's test)
LATER = ["gguf-ollama-granite4-350m.jinja", "gguf-ollama-granite4-latest.jinja",
         "CohereForAI-c4ai-command-r-plus-tool_use.jinja", "hf-CohereForAI-c4ai-command-r-v01-JSON-Schema.jinja",
         "deepseek-ai-DeepSeek-V3.2.jinja", "google-gemma-4-31B-it.jinja", "NVIDIA-Nemotron-Nano-v2.jinja",
         "Bielik-11B-v3.0-Instruct.jinja", "upstage-Solar-Open-100B.jinja", "hf-moonshotai-Kimi-K2-Thinking.jinja",
         "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja", "hf-CISCai-Mistral-7B-Instruct-v0.3-SOTA-GGUF.jinja"]


# corpus models that think, whose reasoning Ollama could not see before (as users report for
# imported GGUFs: ollama/ollama#16936, a Gemma 4 GGUF that thinks but is refused think=true;
# #11439, DeepSeek R1 from a Modelfile): the tags Ollama must infer from the conversion, the
# status of their thinking cases (n/a: the model's template writes the same prompt whatever the
# thinking inputs), and the approximation named, if any
THINKING_CORPUS = {
    "google-gemma-4-31B-it.jinja": (("<|channel>thought", "<channel|>"), templatecheck.IDENTICAL, None),
    "ByteDance-Seed-OSS.jinja": (("<seed:think>", "</seed:think>"), templatecheck.IDENTICAL, "thinking_budget"),
    # its template ignores the thinking inputs (its switch is /think in the text), but Ollama serves
    # think on and off to the thinking-capable conversion: compared, like any request Ollama serves
    "NVIDIA-Nemotron-Nano-v2.jinja": (("<think>", "</think>"), templatecheck.IDENTICAL, None),
    "gguf-ollama-cogito-3b.jinja": (("<think>", "</think>"), templatecheck.IDENTICAL, "thinking switch"),
    "gguf-ollama-cogito-14b.jinja": (("<think>", "</think>"), templatecheck.IDENTICAL, "thinking switch"),
    "Apertus-8B-Instruct.jinja": (("<think>", "</think>"), templatecheck.IDENTICAL, "thinking switch"),
    "gguf-ollama-granite3.2-8b.jinja": (("<think>", "</think>"), templatecheck.IDENTICAL, "thinking switch"),
    "hf-CohereLabs-command-a-reasoning-08-2025.jinja": (("<|START_THINKING|>", "<|END_THINKING|>"),
                                                        templatecheck.IDENTICAL, "thinking setting 'reasoning'"),
    # ignores the thinking inputs too (strips </think> from history), and is compared like Nemotron
    "gguf-ollama-deepseek-r1-8b.jinja": (("<think>", "</think>"), templatecheck.IDENTICAL, None),
}


@pytest.mark.parametrize("name", KNOWN)
def test_known_templates_convert_identical(name):
    entry = CORPUS[name]
    conv = convert(entry.source, bos_token=entry.bos_token, eos_token=entry.eos_token, name=name)
    bad = [(c.name, c.status, c.diff or c.reason) for c in conv.check.conversations
           if c.status not in (templatecheck.IDENTICAL, templatecheck.SKIPPED, templatecheck.NA)]
    assert not bad, conv.format_text(show_template=False)
    assert conv.identical and conv.exit_code == 0
    # every basic conversation is supported by these models and compared
    compared = {c.name for c in conv.check.compared}
    assert {"user", "multi-turn", "system-multi-turn", "ends-with-assistant"} <= compared
    assert conv.stops, "a turn-end token is found"


def test_thinking_models_are_thinking_capable_in_ollama_and_proven_with_thinking_on_and_off():
    entry = CORPUS["gguf-ollama-qwen3-0.6b.jinja"]
    conv = convert(entry.source, bos_token=entry.bos_token, eos_token=entry.eos_token)
    status = {c.name: c.status for c in conv.check.conversations}
    assert conv.thinking and conv.think_tags == ("<think>", "</think>")
    assert status["thinking-on"] == status["thinking-off"] == templatecheck.IDENTICAL
    assert status["tools"] == status["tool-call-result"] == templatecheck.IDENTICAL
    msgs = [{"role": "user", "content": "2+2?"}, {"role": "assistant", "content": "4", "thinking": "add"},
            {"role": "user", "content": "3+3?"}]
    on = gotmpl.render(conv.template, msgs, think=True, is_think_set=True)
    off = gotmpl.render(conv.template, msgs, think=False, is_think_set=True)
    assert on != off and off.endswith("<|im_start|>assistant\n<think>\n\n</think>\n\n")


def test_corpus_share_converted_identical():
    """A floor under the share of the corpus (tests/data/jinja) converted identical on every case it
    supports; bench/bench_corpus.py prints the full table."""
    identical = failed = 0
    no_stop: list[str] = []
    for entry in CORPUS.values():
        if entry.broken:
            continue
        try:
            conv = convert(entry.source, bos_token=entry.bos_token, eos_token=entry.eos_token, name=entry.name)
        except TemplateError:     # refused (ConvertError), or the model's template is refused by the sandbox
            failed += 1
            continue
        if conv.identical:
            identical += 1
            if not conv.stops and entry.name not in NO_TURN_END:
                no_stop.append(entry.name)
            if conv.stops and entry.name in NO_TURN_END:
                no_stop.append(f"{entry.name} has stops {conv.stops} now: drop it from NO_TURN_END")
        else:
            failed += 1
    # issue 9: at least 90 %. A thinking (tools) case the model supports but Ollama refuses for the
    # conversion counts as a difference (templatecheck.prove); measured 151 of 161 (93.8 %) so.
    assert identical / (identical + failed) >= 0.90, (identical, failed)
    assert not no_stop, f"identical, but no turn end found: {no_stop}"


def test_llama31_tools_are_proven_and_stops_found():
    entry = CORPUS["meta-llama-Llama-3.1-8B-Instruct.jinja"]
    conv = convert(entry.source, bos_token="<|begin_of_text|>", eos_token="<|eot_id|>")
    status = {c.name: c.status for c in conv.check.conversations}
    assert conv.tools and status["tools"] == status["tool-call-result"] == templatecheck.IDENTICAL
    assert conv.stops[0] == "<|eot_id|>"
    # Ollama treats the model as tool-capable: its Vars() sees "tools"
    assert "tools" in gotmpl.template_vars(conv.template)
    # the converted template writes no BOS: the engine adds it
    assert not gotmpl.render(conv.template, [{"role": "user", "content": "hi"}]).startswith("<|begin_of_text|>")


CHATML = ("{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
          "'<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")


def test_final_assistant_message_is_continued_not_closed():
    conv = convert(CHATML)
    out = gotmpl.render(conv.template, [{"role": "user", "content": "Write"}, {"role": "assistant", "content": "Once"}])
    assert out == "<|im_start|>user\nWrite<|im_end|>\n<|im_start|>assistant\nOnce"
    assert conv.identical


def test_raise_exception_case_is_unsupported_by_the_model_not_a_difference():
    source = ("{% for m in messages %}{% if m.role == 'system' %}{{ raise_exception('no system role') }}"
              "{% endif %}[{{ m.role }}]{{ m.content }}{% endfor %}")
    conv = convert(source)
    status = {c.name: c.status for c in conv.check.conversations}
    assert status["system-user"] == templatecheck.SKIPPED
    assert status["user"] == templatecheck.IDENTICAL
    col = source.index("raise_exception") + 1
    assert [(a.line, a.col) for a in conv.approximations if a.construct == "raise_exception()"] == [(1, col)]
    assert conv.identical


def test_construct_go_cannot_express_is_named_with_line_and_column_and_fails_the_proof():
    source = "{% for m in messages %}\n<{{ m.role }}>{{ m.content | upper }}\n{% endfor %}"
    conv = convert(source)
    [approx] = [a for a in conv.approximations if "upper" in a.construct]
    assert (approx.line, approx.col) == (2, source.splitlines()[1].index("upper") + 1)
    assert "only ASCII letters" in approx.instead     # «café» in the suite: Python writes CAFÉ
    assert not conv.ok and conv.exit_code == 1
    assert any(c.status == templatecheck.DIFFERENT for c in conv.check.conversations)


def test_role_mapping_by_dict_lookup():
    source = ("{% set names = {'user': 'USER', 'assistant': 'BOT', 'system': 'SYS'} %}"
              "{% for m in messages %}{{ names[m.role] }}: {{ m.content }}\n{% endfor %}"
              "{% if add_generation_prompt %}BOT:{% endif %}")
    conv = convert(source)
    assert conv.identical, conv.format_text()


def test_unknown_construct_raises_convert_error_with_location():
    with pytest.raises(ConvertError) as err:
        compile_template("{% for m in messages %}\n{{ m.content | wordwrap(10) }}{% endfor %}")
    assert err.value.line == 2


def test_whitespace_trimming_is_exact_on_ascii_whitespace():
    source = "{% for m in messages %}<{{ m.role }}>{{ m.content | trim }}</s>{% endfor %}"
    conv = convert(source)
    ws = [c for c in conv.check.conversations if c.name == "whitespace"][0]
    assert ws.status == templatecheck.IDENTICAL


# -- publish build with [template] from = "gguf" -------------------------------------------------

SPEC = """\
repo = "your-org/tiny-llama-GGUF"
base_model = "publish-examples/tiny-llama"
license = "apache-2.0"
quantized_by = "publish tests"
system = "You are a calculator. Answer with the number only."

[template]
from = "gguf"

[params]
num_ctx = 512
num_predict = 16
seed = 42

[quants]
dir = "ggufs"
pattern = "tiny-llama-*.gguf"
"""


@pytest.fixture
def from_gguf_folder(tmp_path, tiny_llama_path):
    ggufs_dir = tmp_path / "ggufs"
    ggufs_dir.mkdir()
    shutil.copyfile(tiny_llama_path, ggufs_dir / "tiny-llama-Q8_0.gguf")
    (tmp_path / "release.toml").write_text(SPEC, encoding="utf-8")
    return build(load_spec(tmp_path / "release.toml"), tmp_path / "out")


def test_build_from_gguf_stages_the_converted_template_and_its_stops(from_gguf_folder):
    folder = from_gguf_folder
    conv = convert(ggufs.GEMMA_JINJA, bos_token="<bos>", eos_token="<eos>")
    assert conv.identical
    assert (folder / "template").read_text(encoding="utf-8") == conv.template
    params = json.loads((folder / "params").read_text(encoding="utf-8"))
    assert params["stop"] == conv.stops == ["<end_of_turn>", "<start_of_turn>"]
    assert params["num_ctx"] == 512
    assert "from tiny-llama-Q8_0.gguf's chat template, converted (identical on" in (folder / "README.md").read_text(encoding="utf-8")
    result = lint_paths([str(folder)])
    assert not [f for f in result.findings if f.severity.value == "error" or f.code.startswith("RP")], result.findings


@pytest.mark.llamacpp
def test_build_from_gguf_passes_the_smoke_test_on_the_tiny_model(from_gguf_folder):
    out = CliRunner().invoke(main, ["smoke", str(from_gguf_folder), "--backend", "llamacpp", "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["passed"] is True
    cases = data["quants"][0]["cases"]
    assert all(c["answer"] == "2" and c["done_reason"] == "stop" for c in cases)


def test_build_from_gguf_refuses_a_template_it_cannot_prove(tmp_path, tiny_llama_path):
    ggufs_dir = tmp_path / "ggufs"
    ggufs_dir.mkdir()
    ggufs.write_tiny_llama(ggufs_dir / "tiny-llama-Q8_0.gguf",
                           chat_template="{% for m in messages %}{{ m.content | upper }}{% endfor %}")
    (tmp_path / "release.toml").write_text(SPEC, encoding="utf-8")
    with pytest.raises(SpecError) as err:
        build(load_spec(tmp_path / "release.toml"), tmp_path / "out")
    assert "template.from" in str(err.value) and "differs from it on" in str(err.value)
    assert not (tmp_path / "out" / "template").exists()


def test_build_from_gguf_keeps_the_thinking_of_a_switch_with_no_printed_trace(tmp_path, tiny_llama_path):
    """A model whose prompt changes with enable_thinking (a switch in its system text, as Granite 3.2
    and cogito do) but whose template writes no reasoning between tags: Ollama passes .Think only
    to a thinking-capable template, so the conversion declares <think>...</think> as a named
    approximation (line:column of the switch), is identical with think on and off, and build stages
    it with the thinking capability."""
    ggufs_dir = tmp_path / "ggufs"
    ggufs_dir.mkdir()
    source = ("{% if enable_thinking %}<|system|>Think first.</s>{% endif %}{% for m in messages %}"
              "<|{{ m.role }}|>{{ m.content }}</s>{% endfor %}{% if add_generation_prompt %}<|assistant|>{% endif %}")
    conv = convert(source)
    status = _statuses(conv)
    assert conv.identical and status["thinking-on"] == status["thinking-off"] == templatecheck.IDENTICAL
    [note] = [a for a in conv.approximations if "thinking switch" in a.construct]
    assert (note.line, note.col) == (1, 7)
    ggufs.write_tiny_llama(ggufs_dir / "tiny-llama-Q8_0.gguf", chat_template=source)
    (tmp_path / "release.toml").write_text(SPEC, encoding="utf-8")
    out = build(load_spec(tmp_path / "release.toml"), tmp_path / "out")
    staged = (out / "template").read_text(encoding="utf-8")
    assert gotmpl.thinking_tags(staged) == ("<think>", "</think>")
    assert templatecheck.ollama_prompt(staged, [{"role": "user", "content": "hi"}]) == \
        "<|system|>Think first.</s><|user|>hi</s><|assistant|>"    # Ollama's default think=true


def test_build_from_gguf_on_a_gguf_without_a_chat_template_says_so_and_how_to_give_it_one(tmp_path, tiny_llama_path):
    """The GGUF has no tokenizer.chat_template: the error says that (not "pass tokenizer_config.json",
    which `publish build` has no option for), and both ways out it names work."""
    ggufs_dir = tmp_path / "ggufs"
    ggufs_dir.mkdir()
    gguf = ggufs.write_tiny_llama(ggufs_dir / "tiny-llama-Q8_0.gguf", chat_template=None)
    (tmp_path / "release.toml").write_text(SPEC, encoding="utf-8")
    out = CliRunner().invoke(main, ["build", str(tmp_path / "release.toml"), "-o", str(tmp_path / "out")])
    assert out.exit_code == 2 and "Traceback" not in out.output
    assert "template.from: tiny-llama-Q8_0.gguf has no chat template (no tokenizer.chat_template" in out.output
    assert "tokenizer_config.json or chat template file instead" not in out.output
    assert f"publish fix {gguf} --chat-template FILE" in out.output
    assert '[model] kind = "base"' in out.output
    # way out 1: a base model declared in the spec
    (tmp_path / "base.toml").write_text(SPEC.replace('[template]\nfrom = "gguf"\n', '[model]\nkind = "base"\n'),
                                        encoding="utf-8")
    built = build(load_spec(tmp_path / "base.toml"), tmp_path / "base-out")
    assert (built / "template").read_text(encoding="utf-8") == "{{ .Prompt }}"
    # way out 2: the chat template embedded with the command the hint names
    (tmp_path / "chat.jinja").write_text(ggufs.GEMMA_JINJA, encoding="utf-8")
    fixed = CliRunner().invoke(main, ["fix", str(gguf), "--chat-template", str(tmp_path / "chat.jinja")])
    assert fixed.exit_code == 0, fixed.output
    folder = build(load_spec(tmp_path / "release.toml"), tmp_path / "out")
    assert folder.joinpath("template").read_text(encoding="utf-8") == convert(
        ggufs.GEMMA_JINJA, bos_token="<bos>", eos_token="<eos>").template


def test_build_from_gguf_with_a_template_name_the_gguf_lacks_names_the_ones_it_has(tmp_path, tiny_llama_path):
    ggufs_dir = tmp_path / "ggufs"
    ggufs_dir.mkdir()
    shutil.copyfile(tiny_llama_path, ggufs_dir / "tiny-llama-Q8_0.gguf")
    (tmp_path / "release.toml").write_text(SPEC.replace('from = "gguf"', 'from = "gguf"\nname = "tool_use"'),
                                           encoding="utf-8")
    with pytest.raises(SpecError) as err:
        build(load_spec(tmp_path / "release.toml"), tmp_path / "out")
    assert "has no tokenizer.chat_template.tool_use (its named chat templates: none)" in str(err.value)
    assert "set [template] name to one of the GGUF's named templates" in str(err.value)


@pytest.mark.parametrize("table, message", [
    ('from = "hub"', "unknown source 'hub'"),
    ('family = "gemma3"\nname = "tool_use"', "only goes with from"),
    ('from = "gguf"\nfamily = "gemma3"', "needs exactly one of family, text, file, from"),
])
def test_spec_template_from_is_checked(tmp_path, table, message):
    (tmp_path / "release.toml").write_text(SPEC.replace('from = "gguf"', table), encoding="utf-8")
    with pytest.raises(SpecError) as err:
        load_spec(tmp_path / "release.toml")
    assert message in str(err.value)


def test_cli_convert_writes_template_and_replaces_the_stop_in_params(tmp_path, tiny_llama_path):
    out_dir = tmp_path / "release"
    out_dir.mkdir()
    (out_dir / "params").write_text('{"temperature": 0.5, "stop": ["old"]}\n', encoding="utf-8")
    res = CliRunner().invoke(main, ["template", "convert", str(tiny_llama_path), "-o", str(out_dir)])
    assert res.exit_code == 0, res.output
    assert "result: identical on all" in res.output and "wrote:" in res.output
    params = json.loads((out_dir / "params").read_text(encoding="utf-8"))
    assert params == {"temperature": 0.5, "stop": ["<end_of_turn>", "<start_of_turn>"]}
    template = (out_dir / "template").read_text(encoding="utf-8")
    assert gotmpl.render(template, [{"role": "user", "content": "1+1?"}]) == \
        "<start_of_turn>user\n1+1?<end_of_turn>\n<start_of_turn>model\n"


def test_cli_convert_tokenizer_config_with_named_templates(tmp_path):
    cfg = {"bos_token": "<s>", "eos_token": {"content": "</s>"},
           "chat_template": [{"name": "default", "template": CHATML},
                             {"name": "tool_use", "template": CHATML.replace("<|im_start|>", "<|start|>")}]}
    path = tmp_path / "tokenizer_config.json"
    path.write_text(json.dumps(cfg), encoding="utf-8")
    res = CliRunner().invoke(main, ["template", "convert", str(path), "--name", "tool_use", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["identical"] and "<|start|>" in data["template"] and data["name"].endswith("[tool_use]")
    res = CliRunner().invoke(main, ["template", "convert", str(path), "--name", "nope"])
    assert res.exit_code == 2 and "named templates here: default, tool_use" in res.output


def test_cli_convert_exit_codes(tmp_path):
    shouty = tmp_path / "shouty.jinja"
    shouty.write_text("{% for m in messages %}{{ m.content | upper }}{% endfor %}", encoding="utf-8")
    res = CliRunner().invoke(main, ["template", "convert", str(shouty), "-o", str(tmp_path / "o")])
    assert res.exit_code == 1 and "DIFFERENT" in res.output and "not written" in res.output
    assert not (tmp_path / "o" / "template").exists()
    # the rule is the library's (the CLI held it): a Python caller cannot write an unproven conversion
    assert convert(shouty.read_text(encoding="utf-8")).write(tmp_path / "p") == []
    assert not (tmp_path / "p").exists()
    proven = convert("{% for m in messages %}{{ m.content }}{% endfor %}")
    assert proven.identical and proven.write(tmp_path / "p") == ["template", "params"]
    assert (tmp_path / "p" / "template").read_text(encoding="utf-8") == proven.template
    bad = tmp_path / "bad.jinja"
    bad.write_text("{% for m in messages %}{{ m.content | wordwrap(3) }}{% endfor %}", encoding="utf-8")
    res = CliRunner().invoke(main, ["template", "convert", str(bad)])
    assert res.exit_code == 2 and "bad.jinja:1:" in res.output and "Traceback" not in res.output


def test_converted_templates_render_the_jinja_prompt_in_ollamas_own_template_package():
    """The proof renders with publish.gotmpl; Ollama's real template package (v0.24.0, a small Go
    program) must give the same bytes on every compared case."""
    from ollama_template_ref import render_real

    requests, expected = [], []
    for name in KNOWN + LATER:
        entry = CORPUS[name]
        conv = convert(entry.source, bos_token=entry.bos_token, eos_token=entry.eos_token, name=name)
        by_name = {c.name: c for c in conv.check.conversations}
        for case in templatecheck.CONVERT_SUITE + conv.probe_cases:    # the probes too (tool arguments ...)
            result = by_name[case.name]
            if result.status != templatecheck.IDENTICAL:
                continue
            think = templatecheck.ollama_think(conv.template, case.think, case.tools)   # as /api/chat sets it
            requests.append({"template": conv.template, "messages": case.messages, "tools": case.tools,
                             "think": bool(think), "is_think_set": think is not None})
            expected.append((name, case.name, result.jinja))
    got = render_real(requests)
    wrong = [(n, c) for (n, c, want), out in zip(expected, got) if out.get("error") or out["output"] != want]
    assert len(got) == len(expected) > 150 and not wrong, wrong


# characters Go's quoting (printf "%q") writes otherwise than Python's json.dumps(ensure_ascii=False):
# control characters (\\x1b, \\a, \\v where Python writes \\u001b, \\u0007, \\u000b), DEL and U+2028/U+2029
# (escaped by Go, written as they are by Python); and the ones Go's json escapes and Python does not
# (<, >, &); a backslash and a quote, which both escape
ODD_TEXT = ["\x1b[1m", "x\u2028y", "x\u2029y", "\x01", "\x7f", "\x07\x0b\b\f\n\r\t", "a\\b", 'say "hi"', "<&>",
            "é 日本 🙂", ""]


@pytest.mark.parametrize("name", ["Qwen-Qwen2.5-7B-Instruct.jinja", "meta-llama-Llama-3.1-8B-Instruct.jinja"])
def test_tojson_strings_are_written_as_jinjas_json_in_ollamas_template_package(name):
    """A string printed by tojson (a tool-call argument at the top level, a tool's name and
    description) was written with Go's %q: "\\x1b[1m" where Jinja writes "\\u001b[1m", "\\u2028"
    where Jinja writes the character; only strings nested in an object came out right. Every
    string now takes the nested path: Go's json with the escapes only Go writes undone. Compared
    byte for byte with the Jinja render, through publish.gotmpl and Ollama's template package."""
    from ollama_template_ref import render_real

    entry = CORPUS[name]
    conv = convert(entry.source, bos_token=entry.bos_token, eos_token=entry.eos_token, name=name)
    assert conv.identical, conv.format_text(show_template=False)
    args = {f"k{i:02}": t for i, t in enumerate(ODD_TEXT)}           # keys sorted: Ollama's order
    args["nested"] = {"v": list(ODD_TEXT)}
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": "Weather " + "|".join(ODD_TEXT),
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": "|".join(ODD_TEXT)}}, "required": ["city"]}}}]
    msgs = [{"role": "user", "content": "q"},
            {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "get_weather", "arguments": args}}]},
            {"role": "tool", "content": "r"}]
    want = render_chat(entry.source, templatecheck.jinja_messages(msgs), tools=tools,
                       bos_token=entry.bos_token, eos_token=entry.eos_token)
    assert '"k00": "\\u001b[1m"' in want and '"k01": "x\u2028y"' in want     # Jinja's own escapes
    go = templatecheck.ollama_prompt(conv.template, msgs, tools)
    real = render_real([{"template": conv.template, "messages": msgs, "tools": tools, "think": False,
                         "is_think_set": False}])[0]
    assert not real.get("error") and real["output"] == go
    if entry.bos_token and want.startswith(entry.bos_token) and not go.startswith(entry.bos_token):
        want = want[len(entry.bos_token):]       # llama.cpp writes BOS itself; the conversion leaves it out
    assert go == want, templatecheck.char_diff(want, go)


@pytest.mark.parametrize("name", ["unsloth-Apriel-1.5.jinja", "hf-MadeAgents-Hammer2.1.jinja"])
def test_tools_printed_as_a_python_dict_quote_strings_as_repr_does(name):
    """`{{ tool }}` prints Python's str() of the dict: each string as repr() writes it. The Go
    template put every string between single quotes as it was, so a description with an
    apostrophe ("it's": Python switches to double quotes), a newline or a control character came
    out otherwise, unnamed (the suite's tool has none). Compared byte for byte with the Jinja
    render, through publish.gotmpl and Ollama's template package."""
    from ollama_template_ref import render_real

    entry = CORPUS[name]
    conv = convert(entry.source, bos_token=entry.bos_token, eos_token=entry.eos_token, name=name)
    assert conv.identical, conv.format_text(show_template=False)
    # (no empty description: Ollama drops it, omitempty, where Jinja sees '')
    odd = [t for t in ODD_TEXT if t] + ["it's", "both ' and \"", "\u00a0\u00ad\U000e0001"]
    tools = [{"type": "function", "function": {
        "name": "get_weather", "description": f"Get it's weather {t}",
        "parameters": {"type": "object", "properties": {
            "city": {"type": "string", "description": t}}, "required": ["city"]}}} for t in odd]
    msgs = [{"role": "user", "content": "q"}]
    want = render_chat(entry.source, templatecheck.jinja_messages(msgs), tools=tools,
                       bos_token=entry.bos_token, eos_token=entry.eos_token)
    assert "\"Get it's weather \\x1b[1m\"" in want           # Python's repr
    go = templatecheck.ollama_prompt(conv.template, msgs, tools)
    real = render_real([{"template": conv.template, "messages": msgs, "tools": tools, "think": False,
                         "is_think_set": False}])[0]
    assert not real.get("error") and real["output"] == go
    if entry.bos_token and want.startswith(entry.bos_token) and not go.startswith(entry.bos_token):
        want = want[len(entry.bos_token):]
    assert go == want, templatecheck.char_diff(want, go)


@pytest.mark.parametrize("name", ["Qwen-Qwen2.5-7B-Instruct.jinja", "google-gemma-4-31B-it.jinja"])
def test_convert_renders_the_jinja_side_in_one_sandbox_process(name, forked):
    """The Jinja side of a conversion (the compile check, the proof's renders, the tools render the
    stop list reads) is one forked sandbox child, not one per step: each child compiles the
    template again, which was most of a conversion's time on a large template."""
    e = CORPUS[name]
    conv = convert(e.source, bos_token=e.bos_token, eos_token=e.eos_token)
    assert conv.tools and conv.identical and conv.stops
    assert len(forked) == 1


def test_the_proof_walks_the_go_template_without_compiling_it(monkeypatch):
    """The proof renders the converted template a few dozen times: publish.gotmpl walks its tree
    (compiling a large template to Python first costs more than those renders); the renders are
    the same either way (tests/gotmpl/test_codegen.py)."""
    from publish.gotmpl import codegen

    def no_program(*_args, **_kw):
        raise AssertionError("the proof compiled the Go template to Python")

    monkeypatch.setattr(codegen, "Program", no_program)
    e = CORPUS["NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja"]
    assert convert(e.source + " ", bos_token=e.bos_token, eos_token=e.eos_token).ok


@pytest.mark.parametrize("source", [
    "{{ 'x' * 10**9 }}",
    "{% for i in range(10**9) %}x{% endfor %}",
    "{% for a in range(400) %}{% for b in range(400) %}x{% endfor %}{% endfor %}",
    "{{ '{0.__class__.__mro__}'.format(messages) }}",
    "{{ 'x' | center(10**9) }}",
    "{% set s = 'xx' %}{% for i in range(60) %}{% set s = s + s %}{% endfor %}{{ s }}",
    # str methods of constants that grow text (every str method of a constant is computed now)
    "{{ ('x' * 100000).replace('x', 'x' * 100000) }}",
    "{{ ('\\t' * 100000).expandtabs(100000) }}",
    "{{ ('x' * 100000).join('y' * 100000) }}",
    "{{ '{0.__class__}'.format(messages) }}",
])
def test_hostile_constants_are_refused_not_built(source):
    """The compiler folds constants in this process (the proof's Jinja side runs in the sandbox):
    nothing a template says may make it build something huge or reach Python internals."""
    try:
        comp, text = compile_template(source)
    except ConvertError:
        return
    assert len(text) < 100_000 and "__mro__" not in text and "class" not in text


def test_cli_convert_gguf_named_template_and_add_bos_false(tmp_path):
    """A GGUF's named templates (tokenizer.chat_template.NAME, listed in tokenizer.chat_templates), and a
    GGUF whose engine adds no BOS: then the template must write it itself."""
    tool_use = CHATML.replace("<|im_start|>", "<|start|>")
    path = ggufs.write_tiny_llama(tmp_path / "named.gguf", chat_template=CHATML, add_bos_token=False,
                                  extra_kv={"tokenizer.chat_templates": ["tool_use"],
                                            "tokenizer.chat_template.tool_use": "{{ bos_token }}" + tool_use})
    res = CliRunner().invoke(main, ["template", "convert", str(path), "--name", "tool_use", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert data["name"].endswith("tokenizer.chat_template.tool_use") and data["identical"]
    assert gotmpl.render(data["template"], [{"role": "user", "content": "x"}]).startswith("<bos><|start|>user")
    res = CliRunner().invoke(main, ["template", "convert", str(path), "--name", "nope"])
    assert res.exit_code == 2 and "named templates here: tool_use" in res.output


def test_build_from_gguf_passes_the_smoke_test_in_real_ollama(from_gguf_folder, real_ollama):
    """The converted template and its stops, served by a real Ollama (v0.24.0) with the tiny model:
    Ollama accepts the template and the model's turn ends at the converted stop."""
    out = CliRunner().invoke(main, ["smoke", str(from_gguf_folder), "--backend", "ollama", "--via", "api",
                                    "--json", "--timeout", "120"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["passed"] is True
    cases = data["quants"][0]["cases"]
    assert all(c["answer"].strip() == "2" for c in cases)


@pytest.mark.parametrize("name", ["gguf-ollama-qwen3-0.6b.jinja", *THINKING_CORPUS])
def test_real_ollama_gives_a_converted_thinking_template_the_thinking_capability(
        name, tmp_path, tiny_llama_path, real_ollama):
    """Ollama decides thinking from `{{ .Thinking }}` between texts inside `{{ range .Messages }}`
    (thinking/template.go InferTags) and tools from `.Tools` in the template's Vars: a model created
    from each converted thinking template must list "thinking" (and "tools" where the template has
    tools) in /api/show's capabilities: Qwen3, whose reasoning is printed between <think> tags,
    and the corpus models whose reasoning Ollama could not see before (THINKING_CORPUS)."""
    import subprocess
    import urllib.request

    from publish.modelfile import ModelfileSpec, render

    entry = CORPUS[name]
    conv = convert(entry.source, bos_token=entry.bos_token, eos_token=entry.eos_token)
    model = "thinking-" + name.lower().replace(".jinja", "").replace(".", "-")[:40]
    modelfile = tmp_path / "Modelfile"
    modelfile.write_text(render(ModelfileSpec(from_=(str(tiny_llama_path),), template=conv.template)),
                         encoding="utf-8")
    subprocess.run(["ollama", "create", model, "-f", str(modelfile)], check=True, capture_output=True, timeout=300)
    req = urllib.request.Request(f"{real_ollama.url}/api/show", data=json.dumps({"model": model}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        show = json.loads(resp.read())
    assert show["template"] == conv.template
    assert "thinking" in show["capabilities"], show["capabilities"]
    assert ("tools" in show["capabilities"]) == conv.tools, show["capabilities"]


REAL_SERVER_TEMPLATES = ["meta-llama-Llama-3.1-8B-Instruct.jinja", "gguf-ollama-qwen3-0.6b.jinja",
                         "google-gemma-3-it.jinja", "mistralai-Mistral-Large-Instruct-2407.jinja",
                         "microsoft-phi-4.jinja", "HuggingFaceTB-SmolLM3-3B.jinja", *LATER,
                         *(n for n in THINKING_CORPUS if n not in LATER and n != "HuggingFaceTB-SmolLM3-3B.jinja")]


@pytest.mark.parametrize("name", REAL_SERVER_TEMPLATES)
def test_real_ollama_server_builds_the_proven_prompt(name, tmp_path, tiny_llama_path, real_ollama):
    """End to end through a real Ollama server: /api/chat with `_debug_render_only` returns the prompt
    it would send (collation, think default, tools, continuation all done by Ollama itself); it must
    be the Jinja prompt the proof compared against, for every case the proof found identical, the
    probe cases included (Nemotron Nano v2 and SmolLM3 remove "/no_think" from the system prompt
    with replace(): real Ollama sent it before that was translated)."""
    import subprocess
    import urllib.request

    from publish.modelfile import ModelfileSpec, render

    entry = CORPUS[name]
    conv = convert(entry.source, bos_token=entry.bos_token, eos_token=entry.eos_token)
    model = "converted-" + name.lower().replace(".jinja", "").replace(".", "-")[:40]
    modelfile = tmp_path / "Modelfile"
    modelfile.write_text(render(ModelfileSpec(from_=(str(tiny_llama_path),), template=conv.template)),
                         encoding="utf-8")
    subprocess.run(["ollama", "create", model, "-f", str(modelfile)], check=True, capture_output=True, timeout=300)
    by_name = {c.name: c for c in conv.check.conversations}
    compared = probed = 0
    for case in templatecheck.CONVERT_SUITE + conv.probe_cases:
        result = by_name[case.name]
        if result.status != templatecheck.IDENTICAL:
            continue
        body = {"model": model, "messages": case.messages, "stream": False, "truncate": False,
                "_debug_render_only": True}
        if case.tools:
            body["tools"] = case.tools
        if case.think is not None:
            body["think"] = case.think
        req = urllib.request.Request(f"{real_ollama.url}/api/chat", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120) as resp:
            got = json.loads(resp.read())["_debug_info"]["rendered_template"]
        assert got == result.jinja, (case.name, got, result.jinja)
        compared += 1
        probed += case in conv.probe_cases
    assert probed == sum(by_name[c.name].status == templatecheck.IDENTICAL for c in conv.probe_cases), probed
    # a tool_use template (SOURCES.toml `requires`) renders only the conversations with tools
    assert compared >= (2 if entry.requires else 9)


def test_converted_template_with_triple_quotes_fits_a_modelfile():
    """Tool templates carry Python docstrings (Command-R, Seed-OSS): the converted template prints
    `\"\"\"` from a string, so `publish build` can still write it into TEMPLATE \"\"\"…\"\"\"."""
    from publish.modelfile import ModelfileSpec, parse, render

    conv = convert('{% for m in messages %}def f():\n    """{{ m.content }}"""\n{% endfor %}')
    assert conv.identical and '"""' not in conv.template
    text = render(ModelfileSpec(from_=("x.gguf",), template=conv.template))
    assert parse(text).template == conv.template


def test_bos_after_a_loop_that_may_print_is_kept_when_something_was_printed():
    """DeepSeek V2.5's template prints whitespace for system messages in a first loop, then
    `{{ bos_token }}`: the BOS is not leading then, and the Jinja prompt keeps it."""
    source = ("{% for m in messages %}{% if m.role == 'system' %}  {% endif %}{% endfor %}{{ bos_token }}"
              "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}")
    conv = convert(source, bos_token="<s>")
    assert conv.identical, conv.format_text()
    assert gotmpl.render(conv.template, [{"role": "user", "content": "x"}]) == "<user>x"
    assert gotmpl.render(conv.template, [{"role": "system", "content": "s"}, {"role": "user", "content": "x"}]) \
        == "  <s><system>s<user>x"


def _statuses(conv):
    return {c.name: c.status for c in conv.check.conversations}


# a tool as Ollama's API takes it: function f, no parameters
TOOL = {"type": "function", "function": {"name": "f", "description": "d",
                                         "parameters": {"type": "object", "properties": {}}}}


def test_message_content_held_in_a_namespace_still_ends_a_continued_final_message():
    """Granite 4 copies each message's content into `namespace(val=...)` before printing it: the
    final assistant message's content, printed from that attribute, must still end the prompt
    (continue_final_message), and printing another message's content through it must not."""
    source = ("{% for m in messages %}{% set c = namespace(val='') %}{% if m.content is string %}"
              "{% set c.val = m.content %}{% endif %}<{{ m.role }}>{{ c.val }}</s>\n{% endfor %}"
              "{% if add_generation_prompt %}<assistant>{% endif %}")
    conv = convert(source)
    assert conv.identical, conv.format_text(show_template=False)
    status = _statuses(conv)
    assert status["ends-with-assistant"] == status["system-ends-with-assistant"] == templatecheck.IDENTICAL
    msgs = [{"role": "user", "content": "Write"}, {"role": "assistant", "content": "Once"},
            {"role": "user", "content": "More"}, {"role": "assistant", "content": "Upon"}]
    assert gotmpl.render(conv.template, msgs) == "<user>Write</s>\n<assistant>Once</s>\n<user>More</s>\n<assistant>Upon"
    assert gotmpl.render(conv.template, msgs[:3]).endswith("<user>More</s>\n<assistant>")


def test_tojson_with_indent_then_indent_filter_nests_the_json():
    """Command-R's tool_use template writes `arguments | tojson(indent=4) | indent(8)`: jinja2's
    indent adds the width after every newline of the JSON (not before the first line, unless
    first=true)."""
    source = ("{% if tools %}[tools]\n{% endif %}{% for m in messages %}{{ m.role }}: {{ m.content }}\n"
              "{% for tc in m.tool_calls %}    {{ tc.function.arguments | tojson(indent=4) | indent(8) }}\n"
              "{{ tc.function.arguments | tojson | indent(2, first=true) }}\n{% endfor %}{% endfor %}")
    conv = convert(source)
    assert _suite_identical(conv), conv.format_text(show_template=False)
    assert _statuses(conv)["tool-call-result"] == templatecheck.IDENTICAL
    msgs = [{"role": "user", "content": "q"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"function": {"name": "f", "arguments": {"city": "Paris", "days": 2, "o": {"a": [1, {}]}}}}]},
            {"role": "user", "content": "q"}]
    out = gotmpl.render(conv.template, msgs)
    assert ('    {\n            "city": "Paris",\n            "days": 2,\n            "o": {\n                "a": [\n'
            '                    1,\n                    {}\n                ]\n            }\n        }\n'
            '  {"city": "Paris", "days": 2, "o": {"a": [1, {}]}}\n') in out
    # the one difference left: U+2028 in a nested string, which jinja2's indent() takes for a line break
    probe = {c.name: c for c in conv.check.conversations}["probe-tool-arguments"]
    assert probe.status == templatecheck.IDENTICAL or "\u2028" in probe.go


def _suite_identical(conv) -> bool:
    """Every case of CONVERT_SUITE the model supports is identical (probe cases aside)."""
    by_name = {c.name: c.status for c in conv.check.conversations}
    return all(by_name[c.name] in (templatecheck.IDENTICAL, templatecheck.SKIPPED, templatecheck.NA)
               for c in templatecheck.CONVERT_SUITE)


# jinja2's indent() breaks lines at U+2028 (str.splitlines), the Go template only at "\n": the
# probe's nested string holding U+2028 differs under `tojson(indent=4) | indent(8)`
INDENT_U2028 = {"CohereForAI-c4ai-command-r-plus-tool_use.jinja", "hf-CohereForAI-c4ai-command-r-v01-JSON-Schema.jinja"}


def test_loop_building_json_text_with_a_flag_and_a_counter_in_the_same_loop():
    """DeepSeek V3.2 builds the tools' JSON in a namespace attribute with a loop that also flips a
    flag; counters are the same kind. Go cannot hold the JSON in a variable, so the loop is run
    again where the text is printed, replaying the flag and the counter from their values before
    the loop; `if ns.text` asks a third run whether anything was appended."""
    source = ("{% set ns = namespace(text='', first=true, n=0) %}"
              "{% for t in tools %}{% set ns.n = ns.n + 1 %}"
              "{% if ns.first %}{% set ns.text = ns.text + ns.n|string + '. ' + (t | tojson) %}"
              "{% set ns.first = false %}"
              "{% else %}{% set ns.text = ns.text + '\\n' + ns.n|string + '. ' + (t | tojson) %}{% endif %}"
              "{% endfor %}"
              "{% if ns.text %}<tools>{{ ns.text }}</tools>\n{% endif %}"
              "{% for m in messages %}<{{ m.role }}>{{ m.content }}</s>\n{% endfor %}"
              "{% if add_generation_prompt %}<assistant>{% endif %}")
    conv = convert(source)
    assert conv.identical and conv.tools, conv.format_text(show_template=False)
    assert _statuses(conv)["tools"] == templatecheck.IDENTICAL
    out = gotmpl.render(conv.template, [{"role": "user", "content": "x"}], tools=[TOOL, TOOL])
    assert out.startswith('<tools>1. {"type": "function"') and '}\n2. {"type": "function"' in out
    assert gotmpl.render(conv.template, [{"role": "user", "content": "x"}]) == "<user>x</s>\n<assistant>"


FORMAT_ARGUMENT = """{%- macro fmt(argument, quote=True) -%}
{%- if argument is string -%}{{ '"' + argument + '"' if quote else argument }}
{%- elif argument is boolean -%}{{ 'true' if argument else 'false' }}
{%- elif argument is mapping -%}{{ '{' }}{%- for key, value in argument | dictsort -%}
{{ key }}:{{ fmt(value, quote=quote) }}{% if not loop.last %},{% endif %}{%- endfor -%}{{ '}' }}
{%- elif argument is sequence -%}[{%- for item in argument -%}{{ fmt(item, quote=quote) }}
{%- if not loop.last %},{% endif -%}{%- endfor -%}]
{%- else -%}{{ argument }}{%- endif -%}
{%- endmacro -%}
{%- if tools %}[tools]{% endif -%}
{%- for m in messages -%}<{{ m.role }}>{{ m.content }}
{%- for tc in m.tool_calls %}call:{{ tc.function.name }}{% for k, v in tc.function.arguments | dictsort %} {{ k }}={{ fmt(v) }}/{{ fmt(v, quote=False) }}{% endfor %}{% endfor %}
</s>
{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}"""


def test_recursive_macro_over_a_json_value_becomes_a_go_define():
    """Gemma 4 formats tool-call arguments with a macro that calls itself on nested values: the
    recursion is over runtime data, so it becomes `{{ define }}` + `{{ template }}` (one per set of
    constant arguments), which Go templates may call recursively."""
    from ollama_template_ref import render_real

    from publish.chat import ChatTemplate

    conv = convert(FORMAT_ARGUMENT)
    assert conv.identical, conv.format_text(show_template=False)
    assert conv.template.count("{{ define ") == 2 and '{{ template "fmt_' in conv.template
    args = {"city": "Paris", "opts": {"units": ["c", "f"], "deep": {"x": True, "n": 3}}, "flag": False}
    msgs = [{"role": "user", "content": "q"},
            {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "f", "arguments": args}}]},
            {"role": "user", "content": "again"}]
    jinja_msgs = [dict(m) for m in msgs]
    jinja_msgs[1] = {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "f", "arguments": args}}]}
    want = ChatTemplate(FORMAT_ARGUMENT).render(jinja_msgs)
    assert 'opts={deep:{n:3,x:true},units:["c","f"]}/{deep:{n:3,x:true},units:[c,f]}' in want
    assert gotmpl.render(conv.template, msgs) == want
    [real] = render_real([{"template": conv.template, "messages": msgs, "tools": None, "think": False}])
    assert real["output"] == want and not real.get("error")


def test_recursive_macro_with_two_runtime_arguments_is_refused_with_its_location():
    source = ("{% macro walk(a, b) %}{% if a is mapping %}{% for k, v in a | dictsort %}{{ walk(v, b) }}"
              "{% endfor %}{% else %}{{ a }}{{ b }}{% endif %}{% endmacro %}\n"
              "{% for m in messages %}{{ m.content }}{% for tc in m.tool_calls %}"
              "{% for k, v in tc.function.arguments | dictsort %}{{ walk(v, m.content) }}{% endfor %}"
              "{% endfor %}{% endfor %}")
    with pytest.raises(ConvertError) as err:
        compile_template(source)
    assert "recursive macro walk" in str(err.value) and "a, b" in str(err.value)
    assert err.value.line == 1


def test_runtime_split_loops_indices_and_continuation():
    """Gemma 4's strip_thinking loops over `content.split(...)` and keeps each part's prefix; other
    templates index a split at [1] or [-2]. The parts are a list Go can loop over; a continued final
    message printed from the parts still ends the prompt."""
    source = ("{%- macro strip_tags(text) -%}{%- set ns = namespace(out='') -%}"
              "{%- for part in text.split('</x>') -%}{%- if '<x>' in part -%}"
              "{%- set ns.out = ns.out + part.split('<x>')[0] -%}{%- else -%}{%- set ns.out = ns.out + part -%}"
              "{%- endif -%}{%- endfor -%}{{- ns.out | trim -}}{%- endmacro -%}"
              "{%- for m in messages -%}<{{ m.role }}>"
              "{%- if m.role == 'assistant' %}{{ strip_tags(m.content) }}"
              "{%- else %}{{ m.content }}|{{ m.content.split(' ')[1] }}|{{ m.content.split(' ')[-2] }}{% endif %}"
              "</s>{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}")
    conv = convert(source)
    assert conv.identical, conv.format_text(show_template=False)
    assert _statuses(conv)["ends-with-assistant"] == templatecheck.IDENTICAL
    msgs = [{"role": "user", "content": "one two three"},
            {"role": "assistant", "content": " a<x>hidden</x>b<x>more</x> c "},
            {"role": "user", "content": "x"}]
    assert gotmpl.render(conv.template, msgs) == \
        "<user>one two three|two|two</s><assistant>ab c</s><user>x||</s><assistant>"
    assert gotmpl.render(conv.template, msgs[:2]) == "<user>one two three|two|two</s><assistant>ab c"


def test_runtime_range_bounds_upper_lower_and_keys_of_tool_values():
    source = ("{%- if tools %}{% for t in tools %}{{ t.function.name | upper }}"
              "{{ '+resp' if 'response' in t.function else '' }}"
              "{{ '+params' if 'parameters' in t.function else '' }}\n{% endfor %}{% endif -%}"
              "{%- for m in messages -%}{{ m.role | upper }}:{{ m.content | lower }}"
              "{%- for k in range(loop.index0 + 1, messages | length) %} {{ k }}{% endfor %}{{ '\\n' }}"
              "{%- endfor %}{% if add_generation_prompt %}ASSISTANT:{% endif %}")
    conv = convert(source)
    # identical on the suite; | lower of non-ASCII content (Ü -> ü in Python) shows on the probes
    assert all(c.status != templatecheck.DIFFERENT for c in conv.check.conversations
               if not c.name.startswith("probe-")), conv.format_text(show_template=False)
    assert conv.verdict == "approximated"
    tool = {"type": "function", "function": {"name": "get_Weather", "description": "d",
                                             "parameters": {"type": "object", "properties": {}}}}
    out = gotmpl.render(conv.template, [{"role": "user", "content": "Hi É"}, {"role": "assistant", "content": "OK"},
                                        {"role": "user", "content": "x"}], tools=[tool])
    assert out == "GET_WEATHER+params\nUSER:hi É 1 2\nASSISTANT:ok 2\nUSER:x\nASSISTANT:"
    [a] = [a for a in conv.approximations if "lower" in a.construct]
    assert "only ASCII letters" in a.instead


def test_trim_of_macro_output_with_literal_edges_needs_no_go_value():
    source = ("{%- macro decl(t) -%}  declaration:{{ t.function.name }}{ {{- t.function.description -}} }  "
              "{%- endmacro -%}{%- for t in tools %}<tool>{{ decl(t) | trim }}</tool>{% endfor -%}"
              "{%- for m in messages -%}{{ m.role }}: {{ m.content }}\n{% endfor %}")
    conv = convert(source)
    assert conv.identical and conv.tools, conv.format_text(show_template=False)
    assert _statuses(conv)["tools"] == templatecheck.IDENTICAL


def test_loop_over_lists_chosen_on_nested_paths_or_nothing():
    """Nemotron Nano v2 loops over `messages[-1].tool_calls if ... else []`, set inside an `if`, where
    `messages` may itself be `messages[1:]`: every path gives a list of one kind or nothing."""
    source = ("{%- set loop_messages = messages[1:] if messages[0].role == 'system' else messages -%}"
              "{%- if loop_messages | length > 1 -%}{%- set calls = loop_messages[-2]['tool_calls'] "
              "if 'tool_calls' in loop_messages[-2] else [] -%}{%- endif -%}"
              "{%- if tools %}[tools]{% endif -%}"
              "{%- for m in loop_messages %}<{{ m.role }}>{{ m.content }}</s>{% endfor -%}"
              "{%- for c in calls %}[{{ c.function.name }}]{% endfor -%}"
              "{%- if add_generation_prompt %}<assistant>{% endif %}")
    conv = convert(source)
    assert conv.identical, conv.format_text(show_template=False)
    call = {"function": {"name": "f", "arguments": {}}}
    msgs = [{"role": "system", "content": "s"}, {"role": "assistant", "content": "", "tool_calls": [call, call]},
            {"role": "tool", "content": "r"}]
    assert gotmpl.render(conv.template, msgs, tools=[]) == "<assistant></s><tool>r</s>[f][f]<assistant>"
    assert gotmpl.render(conv.template, msgs[:2]) == "<assistant>"     # one message left: no calls, continued


def test_slices_of_a_runtime_split_joined_again():
    """Bielik keeps what follows the first `</think>`: `content.split('</think>')[1:] | join('</think>')`."""
    source = ("{%- for m in messages -%}<{{ m.role }}>"
              "{%- if m.role == 'assistant' and '</think>' in m.content -%}"
              "{{ m.content.split('</think>')[1:] | join('</think>') }}"
              "{%- else -%}{{ m.content }}|{{ m.content.split(' ')[1:3] | join('-') }}{%- endif -%}"
              "</s>{% endfor %}{% if add_generation_prompt %}<assistant>{% endif %}")
    conv = convert(source)
    assert conv.identical, conv.format_text(show_template=False)
    msgs = [{"role": "user", "content": "a b c d"}, {"role": "assistant", "content": "x</think>y</think>z"},
            {"role": "user", "content": "q"}]
    assert gotmpl.render(conv.template, msgs) == "<user>a b c d|b-c</s><assistant>y</think>z</s><user>q|</s><assistant>"


def test_namespace_set_inside_a_macro_is_seen_by_the_caller():
    """Solar Open's system-block macros flip `sys_ns.is_first_block`; the next macro call must see
    the flipped value (a namespace is one object in Jinja, whoever sets it)."""
    source = ("{%- set ns = namespace(first=true) -%}"
              "{%- macro block(title) -%}{%- if not ns.first %}{{ '\\n\\n' }}{% endif -%}"
              "{%- set ns.first = false -%}## {{ title }}{%- endmacro -%}"
              "{%- if messages[0].role == 'system' %}{{ block('System') }}\n{{ messages[0].content }}{% endif -%}"
              "{%- if tools %}{{ block('Tools') }}{% endif -%}"
              "{%- if not ns.first %}\n---\n{% endif -%}"
              "{%- for m in messages if m.role != 'system' %}<{{ m.role }}>{{ m.content }}</s>{% endfor -%}"
              "{%- if add_generation_prompt %}<assistant>{% endif %}")
    conv = convert(source)
    assert conv.identical and conv.tools, conv.format_text(show_template=False)
    msgs = [{"role": "system", "content": "S"}, {"role": "user", "content": "u"}]
    assert gotmpl.render(conv.template, msgs, tools=[{"type": "function", "function": {"name": "f"}}]) == \
        "## System\nS\n\n## Tools---\n<user>u</s><assistant>"     # (trim_blocks eats the newline after %})


def test_tojson_separators_and_arithmetic_on_a_minus_one_sentinel():
    """Kimi K2 Thinking writes the tools with `tojson(separators=(',', ':'))` and slices
    `messages[:ns.last + 1]` where `ns.last` starts at -1 (printf's width cannot go below zero, so
    small negative values are enumerated)."""
    source = ("{%- if tools %}<tools>{{ tools | tojson(separators=(',', ':')) }}</tools>{% endif -%}"
              "{%- set ns = namespace(last=-1) -%}"
              "{%- for m in messages %}{% if m.role == 'assistant' %}{% set ns.last = loop.index0 %}{% endif %}"
              "{% endfor -%}"
              "{%- for m in messages[:ns.last + 1] %}[old {{ m.role }}]{{ m.content }}{% endfor -%}"
              "{%- for m in messages[ns.last + 1:] %}[new {{ m.role }}]{{ m.content }}{% endfor -%}"
              "{%- if add_generation_prompt %}[assistant]{% endif %}")
    conv = convert(source)
    assert conv.identical and conv.tools, conv.format_text(show_template=False)
    out = gotmpl.render(conv.template, [{"role": "user", "content": "u"}], tools=[TOOL])
    assert out == ('<tools>[{"type":"function","function":{"name":"f","description":"d","parameters":'
                   '{"type":"object","properties":{}}}}]</tools>[new user]u[assistant]')


def test_optional_tool_property_keys_and_content_after_a_prefix_continue():
    """Nemotron 3 Nano prints `<enum>` only when `param.enum is defined` (Ollama leaves it empty when
    the client sent none), and prints the assistant turn as `("<think></think>" ~ content) | trim`:
    a continued final message must still end right after its content."""
    source = ("{%- if tools %}{% for t in tools %}{% for name, p in t.function.parameters.properties | items %}"
              "<{{ name }}>{% if p.enum is defined %}{{ p.enum | tojson }}{% endif %}"
              "{% if p.description is defined %}({{ p.description }}){% endif %}</{{ name }}>{% endfor %}"
              "{% endfor %}\n{% endif -%}"
              "{%- for m in messages -%}{%- if m.role == 'assistant' -%}"
              "{%- set content = '<think></think>' ~ m.content -%}"
              "<assistant>{{ (content | trim) ~ '\\n' }}</s>"
              "{%- else %}<{{ m.role }}>{{ m.content }}</s>{% endif %}{% endfor -%}"
              "{%- if add_generation_prompt %}<assistant>{% endif %}")
    conv = convert(source)
    assert conv.identical, conv.format_text(show_template=False)
    status = _statuses(conv)
    assert status["tools"] == status["ends-with-assistant"] == templatecheck.IDENTICAL
    assert gotmpl.render(conv.template, [{"role": "user", "content": "u"}, {"role": "assistant", "content": "a "}]) \
        == "<user>u</s><assistant><think></think>a"


# capabilities each later conversion must give the model in Ollama
LATER_CAPS = {"CohereForAI-c4ai-command-r-plus-tool_use.jinja": "tools",
              "hf-CohereForAI-c4ai-command-r-v01-JSON-Schema.jinja": "tools",
              "deepseek-ai-DeepSeek-V3.2.jinja": "tools thinking", "google-gemma-4-31B-it.jinja": "tools",
              "upstage-Solar-Open-100B.jinja": "tools", "hf-moonshotai-Kimi-K2-Thinking.jinja": "tools thinking",
              "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja": "tools thinking",
              "hf-CISCai-Mistral-7B-Instruct-v0.3-SOTA-GGUF.jinja": "tools"}


@pytest.mark.parametrize("name", LATER)
def test_later_corpus_templates_convert_identical(name):
    """The corpus templates the later constructs converted (each construct has its own test above)."""
    entry = CORPUS[name]
    conv = convert(entry.source, bos_token=entry.bos_token, eos_token=entry.eos_token, name=name)
    if name in INDENT_U2028:
        assert _suite_identical(conv) and conv.verdict == "approximated", conv.format_text(show_template=False)
    else:
        assert conv.identical, conv.format_text(show_template=False)
    caps = LATER_CAPS.get(name, "").split()
    assert ("tools" not in caps or conv.tools) and ("thinking" not in caps or conv.thinking)
    status = _statuses(conv)
    if not entry.requires:
        assert status["ends-with-assistant"] == templatecheck.IDENTICAL
    if "tools" in caps:
        assert status["tool-call-result"] == templatecheck.IDENTICAL



def test_tojson_of_mapped_filtered_tools_and_dict_with_runtime_values():
    """Mistral 7B v0.3 "SOTA" writes `tools | selectattr('type', 'eq', 'function') | map(attribute=
    'function') | list | tojson` and `dict(id=call.id, name=..., arguments=...) | tojson`: the
    runtime values of `dict(...)` are written too (they were dropped)."""
    source = ("{%- if tools %}[TOOLS]{{ tools | selectattr('type', 'eq', 'function') | map(attribute='function')"
              " | list | tojson }}[/TOOLS]{% endif -%}"
              "{%- for m in messages %}{% if m.tool_calls %}[CALLS]{% for c in m.tool_calls %}"
              "{{ dict(id=c.id, name=c.function.name, arguments=c.function.arguments) | tojson }}{% endfor %}"
              "{% else %}<{{ m.role }}>{{ m.content }}{% endif %}</s>{% endfor -%}"
              "{%- if add_generation_prompt %}<assistant>{% endif %}")
    conv = convert(source)
    assert conv.identical and conv.tools, conv.format_text(show_template=False)
    assert _statuses(conv)["tool-call-result"] == templatecheck.IDENTICAL
    msgs = [{"role": "user", "content": "u"}, {"role": "assistant", "content": "", "tool_calls": [
        {"id": "c1", "function": {"name": "f", "arguments": {"x": "y"}}}]}, {"role": "tool", "content": "r"}]
    out = gotmpl.render(conv.template, msgs, tools=[TOOL, TOOL])
    assert out.startswith('[TOOLS][{"name": "f", "description": "d", "parameters": {"type": "object", '
                          '"properties": {}}}, {"name": "f"')
    assert '[CALLS]{"id": "c1", "name": "f", "arguments": {"x": "y"}}</s>' in out


# conversations that break byte slicing: shorter than the bound, empty, and multi-byte characters
SHORT_AND_WIDE = [[{"role": "user", "content": "Hi"}],
                  [{"role": "user", "content": "日本語です"}, {"role": "assistant", "content": "é"},
                   {"role": "user", "content": ""}],
                  [{"role": "system", "content": "ab"}, {"role": "user", "content": "«café» — 日本語 🙂"}]]


def _render_both(conv, source: str, conversations: list[list[dict]]) -> None:
    """The converted template, rendered by publish.gotmpl and by Ollama's own template package
    (v0.24.0), gives the Jinja prompt on every conversation, without an error."""
    from ollama_template_ref import render_real

    from publish.chat import ChatTemplate

    jinja = ChatTemplate(source)
    want = [jinja.render(msgs) for msgs in conversations]
    assert [gotmpl.render(conv.template, msgs) for msgs in conversations] == want
    got = render_real([{"template": conv.template, "messages": msgs, "tools": None, "think": False,
                        "is_think_set": False} for msgs in conversations])
    assert [g.get("error") or g["output"] for g in got] == want


@pytest.mark.parametrize("expr", ["[:5]", "[2:]", "[1:3]", "[-3:]", "[:-1]", "[-4:-1]", "[-2:4]", "[1]", "[3:1]"])
def test_string_slices_never_error_on_short_content_and_count_characters(expr):
    """`m.content[:5]` was `slice .Content 0 5`: Go's slice errors on "Hi" (Ollama rejects the
    request) and cuts 日本語 mid-character (bytes, not characters). Every string slice is now
    clamped like Python's and counts runes (fmt's width/precision), so no approximation is needed."""
    source = "{% for m in messages %}{{ m.role }}: {{ m.content" + expr + " }}|\n{% endfor %}"
    conv = convert(source)
    assert conv.identical and conv.exit_code == 0 and not conv.approximations, conv.format_text(show_template=False)
    assert "short-non-ascii" in {c.name for c in conv.check.compared}
    _render_both(conv, source, SHORT_AND_WIDE)


@pytest.mark.parametrize("expr", ["[1:]", "[-2:]", "[:-1]", "[:1]", "[1:2]", "[-3:-1]"])
def test_list_slices_never_error_on_short_conversations(expr):
    source = "{% for m in messages" + expr + " %}{{ m.role }}: {{ m.content }}|{% endfor %}"
    conv = convert(source)
    assert conv.identical and conv.exit_code == 0, conv.format_text(show_template=False)
    _render_both(conv, source, SHORT_AND_WIDE)


def test_list_slice_with_negative_start_and_positive_stop_resolves_both_bounds_as_python_does():
    """Once refused; each bound is now made an index in 0..len as Python does (tests/convert/test_refusals.py
    holds the other runtime-bound slices)."""
    conv = convert("{% for m in messages[-2:3] %}<{{ m.role }}>{{ m.content }}\n{% endfor %}")
    assert conv.identical, conv.format_text(show_template=False)
    status = {c.name: c.status for c in conv.check.conversations}
    assert status["user"] == status["multi-turn"] == status["system-multi-turn"] == templatecheck.IDENTICAL


def test_loop_previtem_and_nextitem_are_undefined_at_the_ends():
    """`loop.previtem` was `index L (i - 1)` with i - 1 from `slice (printf "%*s" i "") 1`, which errors on
    the first message of every conversation; `loop.nextitem` errored on the last."""
    source = ("{% for m in messages %}{% if loop.previtem and loop.previtem.role == 'user' %}P{% endif %}"
              "{{ m.content }}{% if loop.nextitem and loop.nextitem.role != 'user' %}N{% endif %}\n{% endfor %}")
    conv = convert(source)
    assert conv.identical and conv.exit_code == 0, conv.format_text(show_template=False)
    _render_both(conv, source, SHORT_AND_WIDE + [[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
                                                  {"role": "user", "content": "c"}]])


def test_proof_suite_reports_a_byte_slice_as_different_on_short_and_non_ascii_content():
    """The tester's case: a Go template that byte-slices must not be reported identical. The suite has
    a very short and a multi-byte conversation (short-non-ascii) where it errors or cuts a character."""
    from publish.chat import ChatTemplate

    jinja = ChatTemplate("{% for m in messages %}{{ m.role }}: {{ m.content[:5] }}\n{% endfor %}")
    res = templatecheck.prove(jinja, "{{ range .Messages }}{{ .Role }}: {{ slice .Content 0 5 }}\n{{ end }}")
    status = {c.name: c.status for c in res.conversations}
    assert status["short-non-ascii"] != templatecheck.IDENTICAL and res.exit_code != 0


def test_searches_for_special_tokens_skip_text_without_html_bytes_and_stay_exact():
    """A search for a token holding < > & ' " (`'<x>' in s`, `.split('</x>')`, `.split(...)[k]`) skips
    its byte loop when `len (html s) == len s`, and split items are sliced out at their end: both
    must give Jinja's prompt in Ollama's own template package on text with each of those bytes,
    none of them, NUL, non-ASCII and invalid UTF-8 around the token."""
    from ollama_template_ref import render_real

    from publish.chat import ChatTemplate

    source = ("{%- for m in messages -%}<{{ m.role }}>"
              "{%- if '<x>' in m.content %}[in]{% endif -%}{%- if \"a'b\" in m.content %}[q]{% endif -%}"
              "{%- if m.role == 'user' %}{% for part in m.content.split('</x>') %}({{ part }}){% endfor -%}"
              "|{{ m.content.split('&')[0] }}|{{ m.content.split('</x>')[-1] }}|{% endif %}{{ m.content }}</s>"
              "{%- endfor %}{% if add_generation_prompt %}<assistant>{% endif %}")
    conv = convert(source)
    assert conv.identical, conv.format_text(show_template=False)
    assert conv.template.count("(html ") >= 4
    texts = ["plain text é", "a<x>b</x>c", "</x></x>", "x & y & z", "a'b \"q\" >", "nul\0<x>", "<", "",
             "bad \xff utf8 </x> end"]
    requests, wanted = [], []
    for t in texts:
        msgs = [{"role": "user", "content": t}, {"role": "assistant", "content": t}, {"role": "user", "content": "q"}]
        wanted.append(ChatTemplate(source).render(msgs))
        requests.append({"template": conv.template, "messages": msgs, "tools": None, "think": False})
        assert gotmpl.render(conv.template, msgs) == wanted[-1], t
    got = render_real(requests)
    assert [g["output"] for g in got] == wanted
    assert "[in]" in wanted[1] and "[q]" in wanted[4] and "(a<x>b)(c)" in wanted[1] and "|x |" in wanted[3]


def test_runtime_ranges_counting_down_to_zero():
    """`range(n, -1, -1)` over a runtime n (Gemma 4 looks back from each message): n down to 0 in
    Ollama's own template package as in Jinja, nested in the loop that sets n."""
    from ollama_template_ref import render_real

    from publish.chat import ChatTemplate

    source = ("{%- for m in messages -%}<{{ m.role }}>{{ m.content }}{%- if loop.index0 > 0 -%}"
              "{%- for j in range(loop.index0 - 1, -1, -1) %} {{ j }}:{{ messages[j].role[0] }}"
              "{%- if loop.last %}.{% endif %}{% endfor %}{% endif %}</s>"
              "{%- endfor %}{% if add_generation_prompt %}<assistant>{% endif %}")
    conv = convert(source)
    assert conv.identical, conv.format_text(show_template=False)
    msgs = [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}, {"role": "user", "content": "c"},
            {"role": "assistant", "content": "d"}, {"role": "user", "content": "e"}]
    want = ChatTemplate(source).render(msgs)
    assert "<user>e 3:a 2:u 1:a 0:u.</s>" in want and "<user>a</s>" in want
    assert gotmpl.render(conv.template, msgs) == want
    [real] = render_real([{"template": conv.template, "messages": msgs, "tools": None, "think": False}])
    assert real["output"] == want and not real.get("error")


# -- the stop list: what the template writes right after an answer -------------------------------

def test_gemma4_stop_is_its_turn_end():
    """Gemma 4 ends a turn with <turn|> and opens one with <|turn>: neither is <|x|>-shaped."""
    entry = CORPUS["google-gemma-4-31B-it.jinja"]
    conv = convert(entry.source, bos_token=entry.bos_token, eos_token=entry.eos_token)
    assert conv.identical and conv.thinking and conv.stops == ["<turn|>", "<|turn>"]


def test_command_r_plus_tool_use_stop():
    """The tool_use template renders only with tools: its stop comes from a tools conversation."""
    entry = CORPUS["CohereForAI-c4ai-command-r-plus-tool_use.jinja"]
    conv = convert(entry.source, bos_token=entry.bos_token, eos_token=entry.eos_token)
    assert _suite_identical(conv) and conv.stops[0] == "<|END_OF_TURN_TOKEN|>"


def test_stop_prefers_the_vocabulary_tokens():
    """MiniMax-M2 ends turns with `[e~[`, a special token of its vocabulary that no bracket shape
    gives away: with the vocabulary's special tokens it is found, without it is not guessed."""
    source = CORPUS["MiniMax-M2.jinja"].source
    assert convert(source).stops == []
    assert convert(source, specials=("]~!b[", "]~b]", "[e~[")).stops == ["[e~[", "]~b]"]


def test_hermes_tool_use_gguf_stop(tmp_path):
    """A GGUF whose named tool_use template is Hermes (ChatML): `--name tool_use` gives <|im_end|>."""
    gguf = ggufs.write_tiny_llama(tmp_path / "hermes.gguf", end_token="<|im_end|>", extra_kv={
        "tokenizer.chat_template.tool_use": CORPUS["NousResearch-Hermes-2-Pro-Llama-3-8B-tool_use.jinja"].source,
        "tokenizer.chat_templates": (["tool_use"], GGUFValueType.ARRAY, GGUFValueType.STRING)})
    res = CliRunner().invoke(main, ["template", "convert", str(gguf), "--name", "tool_use", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["stop"][0] == "<|im_end|>"


# Identical conversions whose template writes no turn-end token after an answer, and why.
NO_TURN_END = {
    # plain-text formats: the next turn's plain header follows the answer; generation ends on EOS
    "gguf-ollama-falcon2-11b.jinja": "answer then '\\nUser: ' (plain text)",
    "gguf-ollama-granite-code-3b.jinja": "answer then '\\n\\nQuestion:' (plain text)",
    "hf-upstage-SOLAR-10.7B-Instruct-v1.0.jinja": "answer then '### User:' (plain text)",
    "hf-Deci-DeciLM-7B-instruct.jinja": "answer then '\\n### User:' (plain text)",
    "hf-maywell-Synatra-Mixtral-8x7B.jinja": "answer then '### Instruction:' (plain text)",
    "hf-maywell-PiVoT-MoE.jinja": "answer then '### Instruction:' (plain text)",
    # guard models: past answers are quoted inside the user turn as text, or dropped
    "gguf-ollama-granite3-guardian-2b.jinja": "guard model: the conversation is quoted as text",
    "gguf-ollama-llama-guard3-1b.jinja": "guard model: the conversation is quoted as text",
    "gguf-ollama-llama-guard3-8b.jinja": "guard model: the conversation is quoted as text",
    "gguf-ollama-shieldgemma-27b.jinja": "guard model: assistant messages are dropped",
    # the turn end is a vocabulary token with no bracket shape: found only with the GGUF's vocabulary
    "MiniMax-M2.jinja": "[e~[ is known only from the vocabulary (test_stop_prefers_the_vocabulary_tokens)",
}


# Thinking constructs Ollama must see as thinking (thinking.InferTags needs `{{ .Thinking }}` between
# two texts inside `{{ range .Messages }}`): each converts thinking-capable with the right tags, is
# proven identical with think on and off, and Ollama's own template package renders the same bytes.
THINK_MSGS = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"},
              {"role": "assistant", "content": "4", "thinking": "  add them  "}, {"role": "user", "content": "3+3?"}]


def _proven_thinking(source: str, tags: tuple[str, str], cases: str = templatecheck.IDENTICAL):
    """Convert `source`; the conversion is thinking-capable with `tags` (ours and Ollama's own
    thinking.InferTags), its thinking-on/off cases have status `cases` (Ollama serves both to a
    thinking-capable template, so they are compared even where the model ignores them), and with think on and off
    publish.gotmpl and Ollama's template package render the Jinja prompt."""
    from ollama_template_ref import render_real
    from ollama_thinking_ref import infer_tags_real

    conv = convert(source)
    status = _statuses(conv)
    assert conv.identical and conv.thinking and conv.think_tags == tags, conv.format_text(show_template=False)
    assert gotmpl.thinking_tags(conv.template) == tags and infer_tags_real([conv.template]) == [list(tags)]
    assert status["thinking-on"] == status["thinking-off"] == cases, conv.format_text(show_template=False)
    jinja_msgs = [dict(m, reasoning_content=m["thinking"], reasoning=m["thinking"]) if "thinking" in m else m
                  for m in THINK_MSGS]
    renders = {}
    for think in (True, False):
        want = render_chat(source, jinja_msgs, enable_thinking=think, thinking=think)
        got = gotmpl.render(conv.template, THINK_MSGS, think=think, is_think_set=True)
        [real] = render_real([{"template": conv.template, "messages": THINK_MSGS, "tools": None, "think": think,
                               "is_think_set": True}])
        assert got == want and real["output"] == want and not real.get("error")
        renders[think] = want
    return conv, renders


def test_reasoning_read_with_get_and_printed_between_non_tag_text_gives_those_tags():
    """Gemma 4: `message.get('reasoning') or message.get('reasoning_content')` printed as
    `'<|channel>thought\\n' + text + '\\n<channel|>'`: the tags are the trimmed texts around it."""
    source = ("{%- for m in messages -%}<{{ m.role }}>"
              "{%- set t = m.get('reasoning') or m.get('reasoning_content') -%}"
              "{%- if t -%}{{ '<|channel>thought\\n' + t + '\\n<channel|>' }}{%- endif -%}"
              "{{ m.content }}</s>{%- endfor -%}"
              "{%- if add_generation_prompt -%}<assistant>{%- if not enable_thinking -%}<|channel>thought\n<channel|>"
              "{%- endif -%}{%- endif -%}")
    conv, renders = _proven_thinking(source, ("<|channel>thought", "<channel|>"))
    assert "<|channel>thought\n  add them  \n<channel|>4" in renders[True]
    assert renders[False].endswith("<assistant><|channel>thought\n<channel|>") and renders[True].endswith("<assistant>")


def test_reasoning_field_named_reasoning_is_proven_with_the_jinja_given_it():
    """Solar Open reads `message.reasoning` (vLLM's name; Qwen3 says reasoning_content, gpt-oss
    thinking): the Go template prints .Thinking there, and the proof hands the Jinja template the
    reasoning under that name too, so the thinking-on case compares the reasoning both print."""
    source = ("{%- for m in messages -%}<{{ m.role }}>{%- if m.reasoning -%}<|think|>{{ m.reasoning }}<|end|>"
              "{%- endif -%}{{ m.content }}</s>{%- endfor -%}{%- if add_generation_prompt -%}<assistant>{%- endif -%}")
    conv, renders = _proven_thinking(source, ("<|think|>", "<|end|>"))
    on = {c.name: c for c in conv.check.conversations}["thinking-on"]
    assert "<|think|>2 plus 2 is 4.<|end|>4</s>" in on.jinja and on.status == templatecheck.IDENTICAL
    assert "<|think|>  add them  <|end|>4" in renders[True]


def test_trimmed_reasoning_between_tags_from_variables_gives_those_tags():
    """Seed-OSS: `"\\n" + think_begin_token + message.reasoning_content | trim + think_end_token`,
    the tags set as variables and the reasoning trimmed (printed through a Go slice of it)."""
    source = ("{%- set b = '<seed:think>' -%}{%- set e = '</seed:think>' -%}"
              "{%- for m in messages -%}<{{ m.role }}>"
              "{%- if m.reasoning_content is defined and m.reasoning_content is string "
              "and m.reasoning_content | trim | length > 0 -%}"
              "{{ '\\n' + b + m.reasoning_content | trim + e }}{%- endif -%}{{ m.content }}</s>{%- endfor -%}"
              "{%- if add_generation_prompt -%}<assistant>{%- endif -%}")
    conv, renders = _proven_thinking(source, ("<seed:think>", "</seed:think>"))
    assert "\n<seed:think>add them</seed:think>4" in renders[True]


def test_reasoning_tags_holding_braces_are_read_whole():
    """Reasoning printed inside JSON-like text, `{"thought": "` + reasoning + `"}`: the Go text holds
    braces (a `{` before an action is printed from a string), and the tag Ollama learns is the whole
    text before the reasoning, braces included, so its parser can find it in the model's output."""
    source = ("{%- for m in messages -%}<{{ m.role }}>{%- if m.reasoning_content -%}"
              "{{ '{\"thought\": \"' + m.reasoning_content + '\"}\\n' }}{%- endif -%}{{ m.content }}</s>"
              "{%- endfor -%}{%- if add_generation_prompt -%}<assistant>{%- endif -%}")
    conv, renders = _proven_thinking(source, ('{"thought": "', '"}'))
    assert '<assistant>{"thought": "  add them  "}\n4</s>' in renders[True]


def test_thinking_switch_without_a_printed_trace_declares_think_tags_as_a_named_approximation():
    """cogito / Apertus: `enable_thinking` only adds a system-prompt line (no reasoning printed), so
    the template shows no tags; Ollama still needs tags to pass `.Think`, and the conversion says
    at which line:column it assumed <think>...</think>."""
    source = ("{%- if enable_thinking -%}<system>Enable deep thinking subroutine.</s>{%- endif -%}\n"
              "{%- for m in messages -%}<{{ m.role }}>{{ m.content }}</s>{%- endfor -%}"
              "{%- if add_generation_prompt -%}<assistant>{%- endif -%}")
    conv, renders = _proven_thinking(source, ("<think>", "</think>"))
    assert renders[True].startswith("<system>Enable deep thinking subroutine.</s>")
    assert not renders[False].startswith("<system>Enable")
    [note] = [a for a in conv.approximations if "thinking switch" in a.construct]
    assert (note.line, note.col) == (1, 8) and "<think>" in note.instead


def test_think_pair_printed_without_a_switch_is_thinking_capable():
    """Nemotron Nano v2: no enable_thinking; `/no_think` in the system prompt chooses `<think></think>`
    over `<think>\\n`, and `</think>` is split off assistant content: a <think> reasoning model."""
    source = ("{%- set ns = namespace(think=true) -%}"
              "{%- for m in messages -%}{%- if m.role == 'system' and '/no_think' in m.content -%}"
              "{%- set ns.think = false -%}{%- endif -%}"
              "<{{ m.role }}>{{ m.content.split('</think>')[-1] }}</s>{%- endfor -%}"
              "{%- if add_generation_prompt -%}<assistant>{%- if ns.think -%}{{ '<think>\\n' }}"
              "{%- else -%}<think></think>{%- endif -%}{%- endif -%}")
    # the model's template has no thinking inputs (its switch is /no_think in the content), but Ollama
    # serves think on/off to this thinking-capable conversion, so both are compared (prove)
    conv, renders = _proven_thinking(source, ("<think>", "</think>"))
    assert renders[True] == renders[False] and renders[True].endswith("<assistant><think>\n")
    assert not conv.approximations


def test_think_tags_named_only_in_a_comment_give_no_thinking_capability():
    """`</think>` in template text or a string marks a <think> reasoning model; in a Jinja comment
    it is no text the template writes, so the model is not declared thinking-capable."""
    source = ("{#- models after this one print <think>...</think> -#}"
              "{%- for m in messages -%}<{{ m.role }}>{{ m.content }}</s>{%- endfor -%}"
              "{%- if add_generation_prompt -%}<assistant>{%- endif -%}")
    conv = convert(source)
    assert conv.identical and not conv.thinking and gotmpl.thinking_tags(conv.template) == ("", "")
    written = source.replace("{{ m.content }}", "{{ m.content.split('</think>')[-1] }}")
    conv = convert(written)
    assert conv.thinking and gotmpl.thinking_tags(conv.template) == ("<think>", "</think>")


def test_thinking_setting_ollama_never_passes_is_a_named_approximation():
    """Seed-OSS's `thinking_budget`: Ollama passes only think on/off, so the conversion renders the
    template as when the setting is unset and names it with its line:column."""
    source = ("{%- if not thinking_budget is defined -%}{%- set thinking_budget = -1 -%}{%- endif -%}\n"
              "{%- if thinking_budget == 0 -%}<system>budget 0</s>{%- endif -%}"
              "{%- for m in messages -%}<{{ m.role }}>{%- if m.reasoning_content -%}<think>{{ m.reasoning_content }}"
              "</think>{%- endif -%}{{ m.content }}</s>{%- endfor -%}"
              "{%- if add_generation_prompt -%}<assistant>{%- endif -%}")
    conv, renders = _proven_thinking(source, ("<think>", "</think>"))
    [note] = [a for a in conv.approximations if "thinking_budget" in a.construct]
    assert (note.line, note.col) == (1, 12) and "budget 0" not in renders[True]


def test_thinking_corpus_templates_are_thinking_capable_and_proven_on_and_off():
    from ollama_thinking_ref import infer_tags_real

    convs = {}
    for name, (tags, cases, note) in THINKING_CORPUS.items():
        entry = CORPUS[name]
        conv = convs[name] = convert(entry.source, bos_token=entry.bos_token, eos_token=entry.eos_token, name=name)
        status = _statuses(conv)
        assert conv.identical and conv.thinking and conv.think_tags == tags, conv.format_text(show_template=False)
        assert status["thinking-on"] == status["thinking-off"] == cases, (name, status)
        named = [a for a in conv.approximations if "thinking" in a.construct]
        assert [a for a in named if note in a.construct] if note else not named, (name, named)
        assert all(a.line > 0 and a.col > 0 for a in named)
    real = infer_tags_real([conv.template for conv in convs.values()])
    assert real == [list(tags) for tags, _, _ in THINKING_CORPUS.values()]
