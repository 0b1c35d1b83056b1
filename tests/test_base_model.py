"""Base (pretrained) models: the spec says so, lint and smoke act on it (publish.modelkind).

The real-engine part runs Gemma 3 270M base (the PyPI package of the `real` extra) through
llama.cpp; tests/smoke/test_realmodel_ollama.py runs it through the real Ollama."""

from __future__ import annotations

import json
import re
import shutil

import pytest
from click.testing import CliRunner

from publish.cli import main
from publish.errors import SpecError
from publish.modelkind import BASE_REASON, COMPLETION_TEMPLATE, header_says_base, is_completion_template
from publish.spec import load_spec

SPEC = '''
repo = "org/model-GGUF"
base_model = "org/model"
license = "apache-2.0"
quantized_by = "me"
{extra}
[quants]
files = [{{ label = "Q8_0", file = "m-Q8_0.gguf" }}]
'''


def spec_file(tmp_path, extra: str):
    p = tmp_path / "release.toml"
    p.write_text(SPEC.format(extra=extra), encoding="utf-8")
    return p


# -- the spec ------------------------------------------------------------------------------------

def test_base_kind_needs_no_template_and_gets_the_prompt_as_is(tmp_path):
    spec = load_spec(spec_file(tmp_path, '[model]\nkind = "base"\n'))
    assert spec.is_base and spec.template.text == COMPLETION_TEMPLATE == "{{ .Prompt }}"


def test_chat_kind_still_needs_a_template(tmp_path):
    with pytest.raises(SpecError, match="template: missing") as e:
        load_spec(spec_file(tmp_path, ""))
    assert 'kind = "base"' in str(e.value)


def test_base_kind_refuses_a_chat_template(tmp_path):
    with pytest.raises(SpecError, match="template.family: a base model's template must hand the prompt"):
        load_spec(spec_file(tmp_path, '[model]\nkind = "base"\n[template]\nfamily = "gemma3"\n'))


def test_base_kind_accepts_an_equivalent_template(tmp_path):
    spec = load_spec(spec_file(tmp_path, '[model]\nkind = "base"\n[template]\ntext = "{{.Prompt}}"\n'))
    assert spec.template.text == "{{.Prompt}}"


def test_unknown_kind_says_which_exist(tmp_path):
    with pytest.raises(SpecError, match="model.kind: 'bsae' is not a model kind") as e:
        load_spec(spec_file(tmp_path, '[model]\nkind = "bsae"\n'))
    assert "did you mean 'base'" in str(e.value)


def test_smoke_prompts_in_the_spec(tmp_path):
    spec = load_spec(spec_file(tmp_path, '[model]\nkind = "base"\n[[smoke.prompt]]\nname = "c"\n'
                                         'completion = "Question: 2+2?\\nAnswer:"\nexpect = "4"\n'))
    (p,) = spec.smoke_prompts
    assert p.completion and p.text == "Question: 2+2?\nAnswer:" and p.name == "c"


def test_bad_smoke_prompt_names_the_entry(tmp_path):
    with pytest.raises(SpecError, match=r"smoke.prompt #1: `expect`"):
        load_spec(spec_file(tmp_path, '[model]\nkind = "base"\n[[smoke.prompt]]\ncompletion = "x"\n'))


def test_completion_template_is_decided_by_what_ollama_renders():
    assert is_completion_template("{{ .Prompt }}")
    assert is_completion_template("{{- .Prompt }}")          # nothing before it to trim
    assert not is_completion_template("{{ .Prompt }} ")       # adds a space
    assert not is_completion_template("<start_of_turn>user\n{{ .Prompt }}<end_of_turn>\n")
    assert not is_completion_template("{{ range .Messages }}{{ .Content }}{{ end }}x")
    assert not is_completion_template("{{ .Prompt")            # does not parse
    assert not is_completion_template(None)


# -- lint ----------------------------------------------------------------------------------------

def _codes(result):
    return sorted({f.code for f in result.findings})


def test_gg203_is_not_raised_for_a_base_release(tmp_path, tiny_llama_path):
    import ggufs
    from publish.lint import lint_paths

    no_template = ggufs.write_tiny_llama(tmp_path / "m-Q8_0.gguf", chat_template=None)
    assert "GG203" in _codes(lint_paths([str(no_template)]))
    assert "GG203" not in _codes(lint_paths([str(no_template)], kind="base"))
    # a staged folder whose template hands the prompt over is a base release ...
    folder = tmp_path / "dist"
    folder.mkdir()
    shutil.copyfile(no_template, folder / no_template.name)
    (folder / "template").write_text("{{ .Prompt }}", encoding="utf-8")
    assert "GG203" not in _codes(lint_paths([str(folder)]))
    # ... a chat template makes it a chat release, which needs a chat template in the GGUF
    (folder / "template").write_text("<start_of_turn>user\n{{ .Prompt }}<end_of_turn>\n", encoding="utf-8")
    assert "GG203" in _codes(lint_paths([str(folder)]))
    res = CliRunner().invoke(main, ["lint", "--base", str(no_template), "--format", "json"])
    assert "GG203" not in res.output


@pytest.mark.parametrize("key,value,base", [
    ("general.finetune", "pt", True), ("general.name", "Gemma 3 270m pt", True),
    ("general.name", "Some Model Base", True), ("general.finetune", "it", False),
    ("general.name", "Gemma 3 270m", False),
])
def test_a_lone_file_is_base_only_when_its_header_says_so(tmp_path, key, value, base):
    import ggufs
    from publish.gguf.reader import read_header

    p = ggufs.write_tiny_llama(tmp_path / "m.gguf", chat_template=None, extra_kv={key: value})
    assert header_says_base(read_header(p)) is base


# -- smoke through llama.cpp, on the real model ----------------------------------------------------

@pytest.fixture(scope="module")
def gemma_folder(tmp_path_factory, gemma3_270m):
    from publish.build import build

    spec = load_spec("examples/gemma-3-270m/release.toml", gguf_dir=gemma3_270m.parent)
    return build(spec, tmp_path_factory.mktemp("gemma") / "gemma-3-270m-GGUF")


def test_real_gemma_file_lints_without_errors_and_without_gg203_as_a_base_release(gemma3_270m, gemma_folder):
    from publish.lint import lint_paths

    lone = lint_paths([str(gemma3_270m)])
    assert lone.exit_code == 0
    # genuinely there: no chat template (a lone file does not say it is a base model), no
    # general.quantized_by, no general.base_model.* (GGUF-my-repo writes neither)
    assert _codes(lone) == ["GG203", "GG502", "GG504"]
    folder = lint_paths([str(gemma_folder)])
    assert folder.exit_code == 0
    assert _codes(folder) == ["GG502", "GG504"]




def _smoke(folder, *extra):
    res = CliRunner().invoke(main, ["smoke", str(folder), "--backend", "llamacpp", "--json", *extra])
    return res, json.loads(res.stdout)


@pytest.mark.llamacpp
def test_real_gemma_base_release_smokes_through_llamacpp(gemma_folder):
    res, data = _smoke(gemma_folder)
    assert res.exit_code == 0, res.output
    cases = {c["prompt"]: c for c in data["quants"][0]["cases"]}
    assert set(cases) == {"capital-japan", "capital-france"}   # the base defaults: completions
    assert cases["capital-japan"]["answer"].startswith(" Tokyo")
    assert cases["capital-france"]["answer"].lstrip().startswith("Paris")
    checks = {c["name"]: c for c in cases["capital-japan"]["checks"]}
    assert checks["answer"]["status"] == "pass" and checks["render-go"]["status"] == "pass"
    assert checks["double-bos"]["status"] == "pass" and checks["leak"]["status"] == "pass"
    for name in ("done", "render-jinja", "system", "turns", "jinja-chat"):
        assert checks[name]["status"] == "skip" and checks[name]["message"].startswith(BASE_REASON), name


@pytest.mark.llamacpp
def test_real_gemma_wrong_expected_answer_fails_with_the_answer_and_the_pattern(gemma_folder):
    res, data = _smoke(gemma_folder, "--prompt", "Question: What is the capital of Japan?\nAnswer:",
                       "--expect", "^ Osaka")
    assert res.exit_code == 1
    (case,) = data["quants"][0]["cases"]
    fail = [c for c in case["checks"] if c["status"] == "fail"]
    assert [c["name"] for c in fail] == ["answer"]
    assert fail[0]["message"].startswith("answer ' Tokyo") and "does not match /^ Osaka/" in fail[0]["message"]


@pytest.mark.llamacpp
def test_real_gemma_release_end_to_end_offline(gemma3_270m, tmp_path):
    """What `make demo` runs: lint -> build -> smoke (llama.cpp; Ollama only when one answers)
    -> push plan, with no Hub account and no Ollama server."""
    out = tmp_path / "dist" / "gemma-3-270m-GGUF"
    res = CliRunner().invoke(main, ["release", "examples/gemma-3-270m/release.toml", "--gguf-dir",
                                    str(gemma3_270m.parent), "--backend", "llamacpp", "--also-ollama",
                                    "-o", str(out)], env={"OLLAMA_HOST": "http://127.0.0.1:9"})
    assert res.exit_code == 0, res.output
    stages = {}
    for line in res.stdout.splitlines():
        m = re.match(r"  (\S.*?)\s{2,}(passed|skipped|FAILED)\s+(.*)", line)
        if m:
            stages[m.group(1)] = (m.group(2), m.group(3))
    assert stages["lint"][0] == "passed" and stages["build"][0] == "passed", res.stdout
    assert stages["smoke folder"][0] == "passed"
    assert "1 quant(s) × 2 prompt(s): 2 passed, 0 failed" in stages["smoke folder"][1]
    assert stages["smoke folder (ollama)"][0] == "skipped" and "127.0.0.1:9" in stages["smoke folder (ollama)"][1]
    assert stages["push"][0] == "skipped" and "no --push" in stages["push"][1]
    assert "gemma-3-270m-q4_k_m.gguf" in res.stdout and "sha256:a5fd3b62230aa5ec" in res.stdout
    assert (out / "template").read_text() == "{{ .Prompt }}"
