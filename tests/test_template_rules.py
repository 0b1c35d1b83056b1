"""Rules that render the templates (issue 8, kinds b, d, e, g, h): BOS both ways, chat templates
that are not templates, stops predicted statically, Ollama files in a Hub repo, lost capabilities.

GGUFs are written with gguf.GGUFWriter (tests/ggufs.py) from the real chat templates in
tests/data/jinja and the real Go templates in templates/ollama; each real-world variant cites the
public report it comes from."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as T

from ggufs import write_gguf
from publish.findings import Severity
from publish.folder_rules import check_folder
from publish.gguf.reader import read_header
from publish.gguf.rules import check_header, planned_fixes

ROOT = Path(__file__).resolve().parent.parent
JINJA = ROOT / "tests" / "data" / "jinja"
GOTMPL = ROOT / "templates" / "ollama"
CONTROL, NORMAL = 3, 1

FAMILIES = {
    # arch, specials (CONTROL), bos, eos, jinja file, go template file
    "gemma": ("gemma3", ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"], "<bos>", "<eos>",
              "google-gemma-3-it.jinja", "gemma3.gotmpl"),
    "qwen": ("qwen3", ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>", "</tool_call>"], None,
             "<|endoftext|>", "Qwen-Qwen2.5-7B-Instruct.jinja", "qwen2.5.gotmpl"),
    "llama3": ("llama", ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                         "<|eot_id|>", "<|eom_id|>", "<|python_tag|>"], "<|begin_of_text|>", "<|end_of_text|>",
               "meta-llama-Llama-3.1-8B-Instruct.jinja", "llama3.1.gotmpl"),
    "phi3": ("phi3", ["<unk>", "<s>", "</s>", "<|endoftext|>", "<|user|>", "<|assistant|>", "<|system|>",
                      "<|end|>"], "<s>", "<|endoftext|>", "microsoft-Phi-3-mini-4k-instruct.jinja", "phi3.gotmpl"),
}


def write_model(path: Path, family: str, *, arch: str | None = None, template: str | None = "default",
                kv: dict | None = None, extra_tokens: tuple[str, ...] = ()) -> Path:
    default_arch, specials, bos, eos, jinja, _ = FAMILIES[family]
    tokens = list(specials) + list(extra_tokens) + [chr(c) for c in range(0x21, 0x7F)] + ["\u2581", " ", "\n"]
    types = [CONTROL] * len(specials) + [CONTROL] * len(extra_tokens) + [NORMAL] * (len(tokens) - len(specials) - len(extra_tokens))
    meta = {
        "general.name": family, "general.file_type": (7, T.UINT32),
        "tokenizer.ggml.model": "llama" if family in ("gemma", "phi3") else "gpt2",
        "tokenizer.ggml.tokens": (tokens, T.ARRAY, T.STRING),
        "tokenizer.ggml.token_type": (types, T.ARRAY, T.INT32),
        "tokenizer.ggml.eos_token_id": tokens.index(eos),
    }
    if family == "llama3":
        meta["tokenizer.ggml.pre"] = "llama-bpe"
    if bos is not None:
        meta["tokenizer.ggml.bos_token_id"] = tokens.index(bos)
        meta["tokenizer.ggml.add_bos_token"] = True
    else:
        meta["tokenizer.ggml.add_bos_token"] = False
    if template == "default":
        template = (JINJA / jinja).read_text(encoding="utf-8")
    if template is not None:
        meta["tokenizer.chat_template"] = template
    meta.update(kv or {})
    return write_gguf(path, arch=arch or default_arch, kv=meta,
                      tensors=[("token_embd.weight", (32, len(tokens)), Q.F16)])


def go_template(family: str) -> str:
    return (GOTMPL / FAMILIES[family][5]).read_text(encoding="utf-8")


def folder(tmp_path: Path, family: str, *, stop: list[str] | None = None, template: str | None = None,
           params: dict | None = None, **model) -> Path:
    d = tmp_path / f"{family}-repo"
    d.mkdir(parents=True, exist_ok=True)
    write_model(d / f"{family}-Q8_0.gguf", family, **model)
    (d / "template").write_text(go_template(family) if template is None else template, encoding="utf-8")
    p = dict(params or {})
    if stop is not None:
        p["stop"] = stop
    (d / "params").write_text(json.dumps(p), encoding="utf-8")
    return d


def findings(d: Path, code: str | None = None):
    headers = {p: read_header(p) for p in sorted(d.glob("*.gguf"))}
    out = check_folder(d, headers)
    return [f for f in out if code is None or f.code == code]


def header_findings(path: Path, code: str):
    return [f for f in check_header(read_header(path)) if f.code == code]


def lint(*args) -> object:
    from publish.cli import main

    return CliRunner().invoke(main, ["lint", *map(str, args)], catch_exceptions=False)


# -- b. BOS, both ways -------------------------------------------------------------------------

def test_real_gemma_template_with_add_bos_is_one_bos_for_ollama(tmp_path):
    """The real Gemma 3 Go template renders no <bos>; Ollama's Go engine adds one: no finding."""
    assert findings(folder(tmp_path, "gemma", stop=["<end_of_turn>"]), "RP103") == []


def test_go_template_with_bos_on_the_go_engine_is_double(tmp_path):
    """Ollama's Go engine (gemma3) logs "adding bos token to prompt which already has it"
    (tokenizer/vocabulary.go; ollama#15252 functiongemma): BOS through a variable counts too."""
    tpl = '{{- $b := "<bos>" }}{{ $b }}' + go_template("gemma")
    (f,) = findings(folder(tmp_path, "gemma", stop=["<end_of_turn>"], template=tpl), "RP103")
    assert f.severity == Severity.ERROR and "2 BOS tokens" in f.message and "Go engine" in f.message
    assert "remove <bos>" in f.hint


def test_go_template_bos_in_a_comment_is_not_double(tmp_path):
    tpl = "{{/* Gemma needs <bos>, the engine adds it */}}" + go_template("gemma")
    assert findings(folder(tmp_path, "gemma", stop=["<end_of_turn>"], template=tpl), "RP103") == []


def test_llama3_go_template_with_begin_of_text_is_double_in_the_llamacpp_runner(tmp_path):
    """`llama` runs in Ollama v0.24's llama.cpp runner: Tokenize(prompt, addSpecial=true,
    parseSpecial=true) adds <|begin_of_text|> (add_bos_token true) in front of the one the template
    writes (ollama#3759-era Llama 3 Modelfiles that started with it)."""
    tpl = "<|begin_of_text|>" + go_template("llama3")
    (f,) = findings(folder(tmp_path, "llama3", stop=["<|eot_id|>"], template=tpl), "RP103")
    assert "llama.cpp runner" in f.message and "'<|begin_of_text|>'" in f.message
    assert findings(folder(tmp_path / "ok", "llama3", stop=["<|eot_id|>"]), "RP103") == []


def test_gemma_without_bos_anywhere_degenerates(tmp_path):
    """add_bos_token false and a template without <bos>: Gemma repeats words (unsloth#7903,
    llama.cpp#21500 "Without a BOS token ... significantly degraded quality", tabbyAPI#346)."""
    no_bos_jinja = (JINJA / "google-gemma-3-it.jinja").read_text().replace("{{ bos_token }}", "")
    d = folder(tmp_path, "gemma", stop=["<end_of_turn>"], template=go_template("gemma"), kv={
        "tokenizer.ggml.add_bos_token": False, "tokenizer.chat_template": no_bos_jinja})
    (rp,) = findings(d, "RP104")
    assert rp.severity == Severity.ERROR and "'<bos>'" in rp.message and "GG702" in rp.hint
    gguf = d / "gemma-Q8_0.gguf"
    # the command runs from anywhere: the GGUF's path (it named the file alone), quoted for the shell
    assert rp.hint.endswith(f"add_bos_token: publish fix {gguf} --select GG702")
    (gg,) = header_findings(gguf, "GG702")
    assert gg.severity == Severity.ERROR and "repeated words" in gg.message and gg.fixable
    (fix,) = [c for f, cs in planned_fixes(read_header(gguf)) if f.code == "GG702" for c in cs]
    assert fix.key == "tokenizer.ggml.add_bos_token" and fix.value is True
    # `publish fix` applies it (an error's fix is applied by default) and the finding is gone
    from publish.cli import main

    res = CliRunner().invoke(main, ["fix", str(gguf)], catch_exceptions=False)
    assert "GG702" in res.output and read_header(gguf).add_bos_token is True
    assert header_findings(gguf, "GG702") == [] and findings(d, "RP104") == []


def test_gemma_template_that_writes_bos_needs_no_add_bos(tmp_path):
    """The real Gemma 3 chat template starts with {{ bos_token }}: chat clients get their BOS."""
    gguf = write_model(tmp_path / "g-Q8_0.gguf", "gemma", kv={"tokenizer.ggml.add_bos_token": False})
    assert header_findings(gguf, "GG702") == []
    assert header_findings(gguf, "GG204") == []


def test_qwen_without_bos_is_fine(tmp_path):
    """Qwen has no BOS at all: neither double nor missing."""
    d = folder(tmp_path, "qwen", stop=["<|im_end|>"])
    assert findings(d, "RP103") == findings(d, "RP104") == []
    assert header_findings(d / "qwen-Q8_0.gguf", "GG702") == []


def test_llama3_template_bos_with_add_bos_is_double_for_raw_clients(tmp_path):
    """The real Llama 3.1 template writes {{- bos_token }}; with add_bos_token true a client that
    tokenizes the rendered prompt with add_special sends two (llama-cpp-python#1501)."""
    gguf = write_model(tmp_path / "l-Q8_0.gguf", "llama3")
    (f,) = header_findings(gguf, "GG204")
    assert "'<|begin_of_text|>'" in f.message


# -- d. chat templates that are not templates ---------------------------------------------------

@pytest.mark.parametrize("template, kind, where", [
    # a Go template pasted into tokenizer.chat_template (ramalama#1857: "failed to parse chat template")
    ("{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}", "Go template", "1:1"),
    # an unclosed block: the location is the block that is never closed
    ("{% for m in messages %}\n{{ m['content'] }}\n{% if m['role'] == 'user' %}x{% endfor %}", "unknown tag", "3:"),
    ("<|im_start|>\n{% for m in messages %}{{ m['content'] }}", "Unexpected end of template", "2:1"),
    # a whole tokenizer_config.json pasted in
    (json.dumps({"add_bos_token": False, "chat_template": "{{ messages }}", "eos_token": "<|im_end|>"}),
     "JSON document", "1:1"),
])
def test_chat_template_that_does_not_parse(tmp_path, template, kind, where):
    (tmp_path / "a b").mkdir()
    gguf = write_model(tmp_path / "a b" / "qwen-Q8_0.gguf", "qwen", template=template)
    (f,) = header_findings(gguf, "GG701")
    assert f.severity == Severity.ERROR and kind in f.message
    assert f.subject.startswith(f"tokenizer.chat_template:{where}")
    # the GGUF's path, quoted for the shell (it gave the file name alone, unquoted)
    assert f"publish fix '{gguf}' --chat-template tokenizer_config.json" in f.hint
    r = lint(gguf)
    assert r.exit_code == 1 and "GG701" in r.output and "Traceback" not in r.output


@pytest.mark.parametrize("template, says", [
    # parses, but jinja2 refuses to compile it: GG701 (parse only) passed it and every chat failed
    ("{% for m in messages %}{{ m['content'] | unknown_filter }}{% endfor %}", "No filter named 'unknown_filter'"),
    # a render that never ends within its bounds
    ("{% for i in range(99999) %}{% for j in range(99999) %}x{% endfor %}{% endfor %}", "exceeds 1,000,000"),
    # a real default template that wants functions first (fireworks-ai/firefunction-v1)
    ((JINJA / "hf-fireworks-ai-firefunction-v1.jinja").read_text(encoding="utf-8"), 'Expected either "functions"'),
])
def test_gg703_a_chat_template_that_fails_on_a_plain_conversation(tmp_path, template, says):
    """A tester's find: lint reported nothing for templates on which every plain chat fails."""
    gguf = write_model(tmp_path / "qwen-Q8_0.gguf", "qwen", template=template)
    (f,) = header_findings(gguf, "GG703")
    assert f.severity == Severity.WARNING and says in f.message and "publish fix" in f.hint
    assert header_findings(gguf, "GG701") == [] and header_findings(gguf, "GG290") == []


def test_gg703_leaves_templates_that_render_to_other_rules(tmp_path):
    assert header_findings(write_model(tmp_path / "qwen-Q8_0.gguf", "qwen"), "GG703") == []
    broken = write_model(tmp_path / "b-Q8_0.gguf", "qwen", template="{% for m in messages %}{{ m['content'] }}")
    assert header_findings(broken, "GG703") == [] and len(header_findings(broken, "GG701")) == 1


def test_real_templates_parse(tmp_path):
    for name in sorted(p.name for p in JINJA.glob("*.jinja")):
        from publish.chat import syntax_problem

        assert syntax_problem((JINJA / name).read_text(encoding="utf-8")) is None, name


# -- e. stops, predicted statically ---------------------------------------------------------------

def test_qwen3_without_im_end_stop_runs_away_in_ollamas_go_engine(tmp_path):
    """Qwen3 runs in Ollama v0.24's Go engine, which stops only on eos_token_id + eos_token_ids;
    a finetune with eos <|endoftext|> and no stop runs on (unsloth#468-style, ollama#3759)."""
    d = folder(tmp_path, "qwen", stop=[])
    (f,) = findings(d, "RP115")
    assert f.severity == Severity.ERROR and f.subject == "<|im_end|>"
    assert 'add "<|im_end|>" to `stop`' in f.hint
    r = lint(d)
    assert r.exit_code == 1 and "RP115" in r.output and "'<|im_end|>'" in r.output


@pytest.mark.parametrize("how", ["stop", "eos_token_ids", "eos"])
def test_qwen3_turn_end_covered(tmp_path, how):
    kw: dict = {"stop": ["<|im_end|>"] if how == "stop" else []}
    if how == "eos_token_ids":
        kw["kv"] = {"tokenizer.ggml.eos_token_ids": ([0, 2], T.ARRAY, T.INT32)}
    if how == "eos":
        kw["kv"] = {"tokenizer.ggml.eos_token_id": 2}
    assert findings(folder(tmp_path, "qwen", **kw), "RP115") == []


def test_endoftext_turn_end_named_when_eos_is_im_end(tmp_path):
    """The Qwen variant the other way round: a finetune whose template ends answers with
    <|endoftext|> while the GGUF's EOS is <|im_end|> (llama.cpp#5040: the end token the template
    uses is not the one the GGUF declares)."""
    jinja = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}"
             "{% if m['role'] == 'assistant' %}<|endoftext|>{% else %}<|im_end|>{% endif %}\n{% endfor %}"
             "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    go = ("{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}"
          "{{ if eq .Role \"assistant\" }}<|endoftext|>{{ else }}<|im_end|>{{ end }}\n{{ end }}<|im_start|>assistant\n")
    d = folder(tmp_path, "qwen", stop=["<|im_end|>"], template=go,
               kv={"tokenizer.chat_template": jinja, "tokenizer.ggml.eos_token_id": 2})
    (f,) = findings(d, "RP115")
    assert f.subject == "<|endoftext|>" and 'add "<|endoftext|>"' in f.hint


def test_qwen2_arch_turn_end_is_eog_in_llamacpp(tmp_path):
    """qwen2 runs in Ollama v0.24's llama.cpp runner, which takes <|im_end|> as end of generation
    from its text (llama-vocab.cpp): no stop needed, no error."""
    assert findings(folder(tmp_path, "qwen", arch="qwen2", stop=[]), "RP115") == []


def test_gemma3n_end_of_turn_needs_a_stop(tmp_path):
    """gemma3n in Ollama's Go engine stops on eos_token_id/eos_token_ids only (no eot default,
    unlike gemma3): <end_of_turn> must be a stop."""
    (f,) = findings(folder(tmp_path, "gemma", arch="gemma3n", stop=[]), "RP115")
    assert f.subject == "<end_of_turn>"
    assert findings(folder(tmp_path, "gemma", arch="gemma3n", stop=["<end_of_turn>"]), "RP115") == []


def test_gemma3_reads_eot_default_106(tmp_path):
    """gemma3 in Ollama's Go engine also stops on eot_token_id (default 106): declared here, fine."""
    d = folder(tmp_path, "gemma", stop=[], kv={"tokenizer.ggml.eot_token_id": 5})
    assert findings(d, "RP115") == []


def test_llama3_and_phi3_turn_ends_are_eog_for_llamacpp(tmp_path):
    """<|eot_id|> and <|end|> end generation in llama.cpp by their text, which is what Ollama v0.24
    runs llama and phi3 with: no stop needed."""
    assert findings(folder(tmp_path, "llama3", stop=[]), "RP115") == []
    assert findings(folder(tmp_path, "phi3", stop=[]), "RP115") == []


def test_stop_at_the_start_of_every_answer(tmp_path):
    """ollama#17939: stops <|start|> and <|message|> that the model writes at the start of every
    turn truncate answers to nothing. Here the template writes <|message|> before each answer after
    the generation prompt, and params stops on it."""
    jinja = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n"
             "{% if m['role'] == 'assistant' %}<|message|>{% endif %}{{ m['content'] }}<|im_end|>\n{% endfor %}"
             "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
    d = folder(tmp_path, "qwen", stop=["<|im_end|>", "<|message|>"], extra_tokens=("<|message|>",),
               kv={"tokenizer.chat_template": jinja})
    (f,) = findings(d, "RP116")
    assert f.severity == Severity.ERROR and f.subject == "<|message|>" and "empty answers" in f.message
    assert 'remove "<|message|>"' in f.hint


def test_no_hint_adds_a_stop_params_already_has(tmp_path):
    """GG205 (turn end not declared) no longer tells a folder with the stop to add it; the smoke
    verdict names a stop to add only when params lacks it."""
    from publish.smoke.checks import check_done_reason
    from publish.smoke.base import ChatResult

    d = folder(tmp_path, "gemma", arch="gemma3n", stop=["<end_of_turn>"])
    r = lint(d)
    assert "add '<end_of_turn>' to the `stop`" not in r.output and "RP115" not in r.output
    result = ChatResult(text="2<end_of_turn>", done_reason="length", eval_tokens=16)
    verdict = check_done_reason(result, ["<end_of_turn>"], ["<end_of_turn>"], go_template("gemma"))
    assert "add <end_of_turn> to params.stop" not in verdict.message


# -- g. Ollama files in a Hub repo ----------------------------------------------------------------

def hub_repo(tmp_path: Path, modelfile: str, *, files: dict[str, str] | None = None) -> Path:
    d = tmp_path / "hub-repo"
    d.mkdir()
    write_model(d / "model-Q4_K_M.gguf", "gemma")
    write_gguf(d / "mmproj-model-F16.gguf", arch="clip", kv={"general.type": "mmproj"},
               tensors=[("v.patch_embd.weight", (32, 4), Q.F16)])
    (d / "Modelfile").write_text(modelfile, encoding="utf-8")
    for name, text in (files or {}).items():
        (d / name).write_text(text, encoding="utf-8")
    return d


def test_modelfile_settings_the_bridge_never_reads(tmp_path):
    """hf.co/{user}/{repo} reads `template`, `params`, `system` from the repo (Hub docs "Use Ollama
    with any GGUF Model on Hugging Face Hub"); a Modelfile there is ignored (ollama#13768)."""
    mf = ("FROM ./model-Q4_K_M.gguf\nFROM ./mmproj-model-F16.gguf\nTEMPLATE \"\"\"" + go_template("gemma")
          + "\"\"\"\nPARAMETER stop <end_of_turn>\nSYSTEM You are terse.\n")
    d = hub_repo(tmp_path, mf, files={"README.md": "---\nlicense: mit\n---\n"})
    (f,) = findings(d, "RP143")
    assert f.severity == Severity.ERROR
    assert "TEMPLATE, SYSTEM, PARAMETER only in this Modelfile" in f.message and "never a Modelfile" in f.message
    assert "`template`" in f.hint and "`params`" in f.hint and "`system`" in f.hint
    assert findings(d, "RP141") == []   # not "SYSTEM differs" any more
    assert lint(d).exit_code == 1


def test_modelfile_only_dir_is_linted_as_a_repo(tmp_path):
    d = hub_repo(tmp_path, "FROM ./model-Q4_K_M.gguf\nPARAMETER temperature 0.5\n")
    r = lint(d)
    assert r.exit_code == 1 and "RP143" in r.output


def test_adapter_wiring_a_projector(tmp_path):
    d = hub_repo(tmp_path, "FROM ./model-Q4_K_M.gguf\nADAPTER ./mmproj-model-F16.gguf\n",
                 files={"template": go_template("gemma"), "params": "{}"})
    (f,) = findings(d, "RP144")
    assert f.severity == Severity.ERROR and "second `FROM ./mmproj-model-F16.gguf`" in f.hint


@pytest.mark.parametrize("modelfile", ["FROM ./mmproj-model-F16.gguf\n", "PARAMETER temperature 0.5\n"])
def test_modelfile_without_the_model(tmp_path, modelfile):
    d = hub_repo(tmp_path, modelfile, files={"template": go_template("gemma"), "params": "{}"})
    (f,) = findings(d, "RP145")
    assert f.severity == Severity.ERROR and "FROM" in f.hint


# -- h. capabilities users lose ------------------------------------------------------------------

def test_tools_in_jinja_but_not_in_go_template(tmp_path):
    """Ollama v0.24 server/images.go: tools capability iff the template mentions .Tools; otherwise
    `"… does not support tools"` (ollama#13768, Hammer#14, empower-functions#8)."""
    chatml_go = (GOTMPL / "chatml.gotmpl").read_text()
    (f,) = findings(folder(tmp_path, "qwen", stop=["<|im_end|>"], template=chatml_go), "RP150")
    assert f.severity == Severity.WARNING and '"does not support tools"' in f.message and "`tools`" in f.message
    # Ollama's own qwen2.5 template renders .Tools: the capability survives
    ollama_qwen = (ROOT / "tests" / "data" / "gotmpl" / "qwen2.5.gotmpl").read_text()
    assert findings(folder(tmp_path / "ok", "qwen", stop=["<|im_end|>"], template=ollama_qwen), "RP150") == []
    # a chat template without tools loses nothing
    plain = (JINJA / "chatml.jinja").read_text()
    assert findings(folder(tmp_path / "plain", "qwen", stop=["<|im_end|>"], template=chatml_go,
                           kv={"tokenizer.chat_template": plain}), "RP150") == []


def test_thinking_model_without_thinking_in_go_template(tmp_path):
    """ollama#16936 / #14212: an hf.co GGUF that thinks but reports no `thinking` capability;
    ollama#8965: missing <think> handling in the template."""
    d = folder(tmp_path, "qwen", stop=["<|im_end|>"], extra_tokens=("<think>", "</think>"))
    (f,) = findings(d, "RP151")
    assert f.severity == Severity.WARNING and "'<think>'" in f.message and "leak" in f.message
    assert findings(folder(tmp_path / "plain", "qwen", stop=["<|im_end|>"]), "RP151") == []


def test_thinking_in_go_template_keeps_the_capability(tmp_path):
    """A Go template that renders .Thinking between tags inside the range over .Messages is what
    Ollama's thinking.InferTags needs (Ollama's own qwen3 template shape): no warning. .Thinking
    outside that shape gives Ollama no tags, so the warning stays."""
    good = ("{{- range $i, $_ := .Messages }}{{- $last := eq (len (slice $.Messages $i)) 1 }}"
            "<|im_start|>{{ .Role }}\n"
            "{{- if and (eq .Role \"assistant\") .Thinking }}<think>{{ .Thinking }}</think>{{ end }}"
            "{{ .Content }}<|im_end|>\n{{ if and $last (ne .Role \"assistant\") }}<|im_start|>assistant\n{{ end }}"
            "{{- end }}")
    d = folder(tmp_path, "qwen", stop=["<|im_end|>"], template=good, extra_tokens=("<think>", "</think>"))
    assert findings(d, "RP151") == []
    outside = "{{ if .Thinking }}{{ .Thinking }}{{ end }}" + go_template("qwen")
    d = folder(tmp_path / "outside", "qwen", stop=["<|im_end|>"], template=outside, extra_tokens=("<think>", "</think>"))
    (f,) = findings(d, "RP151")
    assert "cannot infer its tags" in f.message


# A thinking model's chat template that reads enable_thinking, with no thinking token in the vocabulary,
# and one that writes <think> text but ignores every thinking input (its switch is text in the prompt).
THINKS = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
          "{% if add_generation_prompt %}<|im_start|>assistant\n{% if enable_thinking is defined and "
          "not enable_thinking %}<think>\n\n</think>\n\n{% endif %}{% endif %}")
MENTIONS_THINK = ("{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content.split('</think>')[-1] }}"
                  "<|im_end|>\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")


def test_thinking_verdict_is_the_conversion_proofs(tmp_path):
    """RP151 calls the chat template a thinking model exactly when `template convert`'s proof does
    (templatecheck.model_capabilities: the prompt changes with the thinking inputs), not when the
    text merely mentions <think>; such a model's thinking-on case is then a difference, not n/a."""
    from publish import templatecheck
    from publish.chat import ChatTemplate

    chatml_go = (GOTMPL / "chatml.gotmpl").read_text()
    d = folder(tmp_path / "thinks", "qwen", stop=["<|im_end|>"], template=chatml_go,
               kv={"tokenizer.chat_template": THINKS})
    (f,) = findings(d, "RP151")
    assert "changes its prompt with thinking on or off" in f.message
    proof = templatecheck.prove(ChatTemplate(THINKS), chatml_go)
    assert {c.name for c in proof.conversations if c.refused} == {"thinking-on"}
    d = folder(tmp_path / "mentions", "qwen", stop=["<|im_end|>"], template=chatml_go,
               kv={"tokenizer.chat_template": MENTIONS_THINK})
    assert findings(d, "RP151") == []
    proof = templatecheck.prove(ChatTemplate(MENTIONS_THINK), chatml_go)
    assert {c.name: c.status for c in proof.conversations if c.name.startswith("thinking")} == {
        "thinking-on": "n/a", "thinking-off": "identical"}   # think=false Ollama serves: compared


@pytest.mark.parametrize("filename", ["Qwen-Qwen2.5-7B-Instruct.jinja", "gguf-ollama-qwen3-0.6b.jinja",
                                      "google-gemma-3-it.jinja", "google-gemma-4-31B-it.jinja",
                                      "ByteDance-Seed-OSS.jinja", "NVIDIA-Nemotron-Nano-v2.jinja"])
def test_rp150_rp151_agree_with_the_proof_on_real_templates(tmp_path, filename):
    """A release with the chatml family template (no .Tools, no .Thinking): lint warns about tools
    (thinking) exactly where `template check` reports the tools (thinking) cases as refused."""
    from publish import templatecheck

    jinja = (JINJA / filename).read_text(encoding="utf-8")
    chatml_go = (GOTMPL / "chatml.gotmpl").read_text()
    d = folder(tmp_path, "qwen", stop=["<|im_end|>"], template=chatml_go, kv={"tokenizer.chat_template": jinja})
    result = templatecheck.check(jinja, chatml_go)
    needs = {case.name: case.needs for case in templatecheck.CAPABILITY_SUITE}
    refused = {needs[c.name] for c in result.conversations if getattr(c, "refused", False)}
    assert bool(findings(d, "RP150")) == ("tools" in refused)
    assert bool(findings(d, "RP151")) == ("thinking" in refused)


def test_folder_messages_name_the_folders_own_files(tmp_path):
    """A Hub cache snapshot links each GGUF to blobs/SHA: messages name the file the user sees."""
    blob = write_model(tmp_path / "blobs-3f2a9c", "gemma")
    d = tmp_path / "snapshot"
    d.mkdir()
    (d / "gemma-Q8_0.gguf").symlink_to(blob)
    (d / "template").write_text("<bos>" + go_template("gemma"))
    (d / "params").write_text('{"stop": ["<end_of_turn>"]}')
    (f,) = findings(d, "RP103")
    assert "gemma-Q8_0.gguf" in f.message and "blobs-3f2a9c" not in f.message


def test_gemma4_turn_end_without_stop_is_flagged(tmp_path):
    """Gemma 4 ends answers with <turn|> (not <|x|>-shaped); a staged folder whose template is the
    conversion of that chat template and whose params have no stop runs past the answer. Lint
    reads the turn end with the converter's finder (probes.turn_end_texts), so it must say so.
    The vocab holds Gemma 4's markers, as the real one does: a turn end the vocab lacks is RP114's
    business, not RP115's (tests/convert/test_build_stops.py)."""
    from publish.convert import convert

    jinja = (JINJA / "google-gemma-4-31B-it.jinja").read_text(encoding="utf-8")
    conv = convert(jinja, bos_token="<bos>", eos_token="<eos>")
    assert conv.stops[0] == "<turn|>"
    markers = ("<|turn>", "<turn|>")
    d = folder(tmp_path, "gemma", stop=[], template=conv.template, kv={"tokenizer.chat_template": jinja},
               extra_tokens=markers)
    (f,) = findings(d, "RP115")
    assert f.subject == "<turn|>" and 'add "<turn|>" to `stop`' in f.hint
    assert findings(folder(tmp_path / "ok", "gemma", stop=conv.stops, template=conv.template,
                           kv={"tokenizer.chat_template": jinja}, extra_tokens=markers),
                    "RP115") == []
