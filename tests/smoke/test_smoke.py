"""`publish smoke` end to end with the llamacpp backend on the tiny deterministic llama.

The tiny model answers "2" then <end_of_turn>; its declared EOS is <eos>, so only params.stop
ends its turn -- exactly the missing-stop failure users meet in Ollama.
"""

from __future__ import annotations

import json
import re
import shutil
import sys

import pytest
from click.testing import CliRunner

from publish import progress
from publish.cli import main
from publish.progress import is_terminal
from smoke_folders import GEMMA_GO_SYSTEM, GOOD_PARAMS, make_folder, outcome_folders

pytestmark = [
    pytest.mark.llamacpp,
]

# A Gemma template that forgets the system prompt: only user and assistant turns are written.
NO_SYSTEM_GO = GEMMA_GO_SYSTEM.replace("{{ if and $.System (le $i 1) }}{{ $.System }}\n\n{{ end }}", "")


def run(*args, env=None):
    result = CliRunner().invoke(main, ["smoke", *map(str, args)], env=env, catch_exceptions=False)
    return result


@pytest.fixture(scope="module")
def folders(tmp_path_factory, tiny_llama_path):
    root = tmp_path_factory.mktemp("smoke")
    return {
        **outcome_folders(root, tiny_llama_path),
        "nosystem": make_folder(root / "nosystem", tiny_llama_path, template=NO_SYSTEM_GO),
        "many": make_folder(root / "many", tiny_llama_path, labels=("Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q8_0")),
    }


def as_json(result) -> dict:
    return json.loads(result.stdout)


def test_good_folder_passes_with_answer_2(folders):
    res = run(folders["good"], "--backend", "llamacpp", "--json")
    assert res.exit_code == 0, res.output
    data = as_json(res)
    assert data["passed"] is True
    cases = data["quants"][0]["cases"]
    assert [c["prompt"] for c in cases] == ["one-plus-one", "system-prompt", "two-turn"]
    assert all(c["answer"] == "2" and c["done_reason"] == "stop" for c in cases)
    assert all(c["jinja_answer"] == "2" for c in cases)  # the llama-cli --jinja path, reported too
    checks = {ch["name"]: ch["status"] for ch in cases[1]["checks"]}
    assert checks["system"] == "pass" and checks["render-jinja"] == "pass" and checks["double-bos"] == "pass"
    assert checks["thinking"] == "pass"  # no reasoning text visible in the answer
    # llamacpp keeps no model to `show`: the params check is skipped, never passed
    assert checks["params"] == "skip"


def test_text_table_shows_each_quant_and_prompt_and_speed(folders):
    res = run(folders["good"], "--backend", "llamacpp")
    assert res.exit_code == 0
    lines = [line for line in res.output.splitlines() if line.startswith("Q8_0 ")]
    assert len(lines) == 3 and all(" pass " in line for line in lines)
    assert "tok/s" in res.output and "loaded in" in res.output
    assert "smoke passed" in res.output


def test_missing_stop_runs_away_and_fails_naming_the_stop(folders):
    res = run(folders["runaway"], "--backend", "llamacpp", "--json")
    assert res.exit_code == 1
    case = as_json(res)["quants"][0]["cases"][0]
    assert case["done_reason"] == "length"
    assert case["eval_tokens"] == 128
    assert case["answer"].startswith("2<end_of_turn>2<end_of_turn>")
    failed = {c["name"]: c["message"] for c in case["checks"] if c["status"] == "fail"}
    assert "runaway: stop tokens missing — add <end_of_turn> to params.stop" in failed["done"]
    assert "<end_of_turn>" in failed["leak"]


def test_runaway_reason_in_table(folders):
    res = run(folders["runaway"], "--backend", "llamacpp")
    assert res.exit_code == 1
    assert "add <end_of_turn> to params.stop" in res.output
    assert "smoke FAILED" in res.output


def test_template_starting_with_bos_fails_double_bos(folders):
    res = run(folders["bos"], "--backend", "llamacpp", "--json")
    assert res.exit_code == 1
    for case in as_json(res)["quants"][0]["cases"]:
        failed = {c["name"]: c["message"] for c in case["checks"] if c["status"] == "fail"}
        assert "double BOS on the tokens" in failed["double-bos"]
        assert "bos-text" in failed


def test_broken_quant_is_a_load_failure_and_the_run_goes_on(folders):
    res = run(folders["broken"], "--backend", "llamacpp", "--json")
    assert res.exit_code == 1
    quants = {q["label"]: q for q in as_json(res)["quants"]}
    assert list(quants) == ["Q2_K", "Q4_K_M", "Q8_0"]
    assert "not within the file bounds" in quants["Q4_K_M"]["load_error"]
    assert quants["Q4_K_M"]["status"] == "fail"
    assert all(c["checks"][0]["name"] == "load" for c in quants["Q4_K_M"]["cases"])
    assert quants["Q2_K"]["status"] == quants["Q8_0"]["status"] == "pass"


@pytest.mark.parametrize("content, says", [
    (b"version https://git-lfs.github.com/spec/v1\noid sha256:" + b"0" * 64 + b"\nsize 253000000\n",
     "found a Git LFS pointer (stands for a 253,000,000-byte file); the repository was cloned without Git LFS: "
     "run `git lfs install && git lfs pull`"),
    (b"<!DOCTYPE html><html><head><title>404</title></head></html>", "found an HTML page"),
    (b"", "found an empty file (0 bytes)"),
])
def test_a_quant_that_is_no_gguf_is_a_load_failure_that_says_what_it_is(folders, tmp_path, content, says):
    """llama.cpp said only `invalid magic characters: 'vers'`; the smoke now names what the file is
    and what to do, and the run goes on with the other quants."""
    folder = tmp_path / "broken"
    shutil.copytree(folders["broken"], folder)
    (folder / "tiny-Q4_K_M.gguf").write_bytes(content)
    res = run(folder, "--backend", "llamacpp", "--json")
    quants = {q["label"]: q for q in as_json(res)["quants"]}
    assert res.exit_code == 1 and quants["Q8_0"]["status"] == "pass"
    assert quants["Q4_K_M"]["load_error"].startswith("tiny-Q4_K_M.gguf: expected the magic bytes 'GGUF', ")
    assert says in quants["Q4_K_M"]["load_error"]


def test_template_that_drops_the_system_prompt_fails(folders):
    res = run(folders["nosystem"], "--backend", "llamacpp", "--json")
    assert res.exit_code == 1
    cases = {c["prompt"]: c for c in as_json(res)["quants"][0]["cases"]}
    assert cases["one-plus-one"]["status"] == "pass"
    failed = {c["name"]: c["message"] for c in cases["system-prompt"]["checks"] if c["status"] == "fail"}
    assert "the template drops it" in failed["system"]
    assert "Jinja" in failed["render-jinja"]


def test_shard_picks_every_nth_quant(folders):
    picked = {}
    for i in (1, 2):
        res = run(folders["many"], "--backend", "llamacpp", "--shard", f"{i}/2", "--json",
                  "--prompt", "What is 1+1?", "--expect", "2")
        assert res.exit_code == 0, res.output
        data = as_json(res)
        picked[i] = [q["label"] for q in data["quants"]]
        assert sorted(picked[i] + data["other_shards"]) == sorted(["Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q8_0"])
    assert picked == {1: ["Q2_K", "Q4_K_M", "Q8_0"], 2: ["Q3_K_M", "Q5_K_M"]}


def test_quants_filter_and_unknown_quant(folders):
    res = run(folders["many"], "--backend", "llamacpp", "--quants", "q8_0,Q2_K", "--json",
              "--prompt", "What is 1+1?", "--expect", "2")
    assert res.exit_code == 0
    assert [q["label"] for q in as_json(res)["quants"]] == ["Q8_0", "Q2_K"]
    res = run(folders["many"], "--backend", "llamacpp", "--quants", "Q6_K")
    assert res.exit_code == 2
    assert "no quant Q6_K" in res.output and "Q4_K_M" in res.output


def test_custom_prompt_that_does_not_match_fails(folders):
    res = run(folders["good"], "--backend", "llamacpp", "--prompt", "What is 2+2?", "--expect", r"\b4\b")
    assert res.exit_code == 1
    assert "does not match /\\b4\\b/" in res.output


def test_prompt_and_expect_must_pair(folders):
    res = run(folders["good"], "--backend", "llamacpp", "--prompt", "a", "--prompt", "b", "--expect", "2")
    assert res.exit_code == 2
    assert "2 --prompt and 1 --expect" in res.output


def test_prompts_file(folders, tmp_path):
    pf = tmp_path / "prompts.toml"
    pf.write_text('[[prompt]]\nname = "math"\nprompt = "What is 1+1?"\nexpect = "^2$"\n'
                  '[[prompt]]\nname = "sys"\nsystem = "Always answer 2."\nprompt = "Any number?"\nexpect = "2"\n')
    res = run(folders["good"], "--backend", "llamacpp", "--prompts", pf, "--json")
    assert res.exit_code == 0, res.output
    cases = as_json(res)["quants"][0]["cases"]
    assert [c["prompt"] for c in cases] == ["math", "sys"]
    assert {c["name"]: c["status"] for c in cases[1]["checks"]}["system"] == "pass"


def test_llamacpp_missing_is_a_setup_error_naming_the_extra(folders, monkeypatch):
    monkeypatch.setitem(sys.modules, "llama_cpp", None)  # import llama_cpp -> ImportError
    res = run(folders["good"], "--backend", "llamacpp")
    assert res.exit_code == 2
    assert "pip install 'gguf-publish[llamacpp]'" in res.output


def test_hub_target_with_llamacpp_is_a_usage_error():
    res = run("hf.co/org/name", "--backend", "llamacpp")
    assert res.exit_code == 2
    assert "--backend ollama" in res.output


def test_missing_folder_is_a_usage_error(tmp_path):
    res = run(tmp_path / "nope", "--backend", "llamacpp")
    assert res.exit_code == 2
    assert "no such folder" in res.output


def test_bad_shard_is_a_usage_error(folders):
    res = run(folders["good"], "--backend", "llamacpp", "--shard", "3/2")
    assert res.exit_code == 2
    assert "I/N" in res.output


def test_library_call_unloads_each_quant(folders):
    """Memory stays at one model: the backend holds no engine between quants and after the run."""
    from publish.smoke.llamacpp import LlamaCppBackend
    from publish.smoke.runner import SmokeOptions, smoke

    loaded_at_prepare = []

    class Watching(LlamaCppBackend):
        def prepare(self, target):
            loaded_at_prepare.append(self.engine is not None)
            super().prepare(target)

    backend = Watching()
    report = smoke(str(folders["many"]), SmokeOptions(backend_factory=lambda: backend))
    assert [q.label for q in report.quants] == ["Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q8_0"]
    assert loaded_at_prepare == [False] * 5
    assert backend.engine is None
    assert report.exit_code == 0


def test_no_ollama_anywhere_says_what_to_install(folders, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no `ollama` binary
    res = run(folders["good"], "--backend", "ollama", "--host", "http://127.0.0.1:9")
    assert res.exit_code == 2
    assert "no Ollama server answers at http://127.0.0.1:9" in res.output
    assert "https://ollama.com/install.sh" in res.output and "--backend llamacpp" in res.output


def test_broken_template_is_named_and_a_failing_one_fails_each_case(tiny_llama_path, tmp_path):
    bad = make_folder(tmp_path / "bad", tiny_llama_path, template="{{ range .Messages }}{{ .Content }")
    res = run(bad, "--backend", "llamacpp")
    assert res.exit_code == 2
    assert f"{bad / 'template'}:1" in res.output
    failing = make_folder(tmp_path / "failing", tiny_llama_path,
                          template="{{ range .Messages }}{{ index .Content 99 }}{{ end }}")
    res = run(failing, "--backend", "llamacpp", "--json")
    assert res.exit_code == 1
    for case in json.loads(res.stdout)["quants"][0]["cases"]:
        failed = {c["name"]: c["message"] for c in case["checks"] if c["status"] == "fail"}
        assert "index out of range" in failed["chat"] and "index out of range" in failed["render-go"]


@pytest.mark.parametrize("key, value, ollama_says", [
    ("stop", "<end_of_turn>", 'option "stop" must be of type array'),
    ("stop", 5, 'option "stop" must be of type array'),
    ("num_ctx", "4096", 'option "num_ctx" must be of type integer'),
])
def test_a_params_value_ollama_refuses_fails_every_case_naming_key_and_ollamas_error(tiny_llama_path, tmp_path,
                                                                                       key, value, ollama_says):
    """Real Ollama (api.Options.FromMap) answers every request with this error (tests/test_ollama_options.py
    holds the texts to the real server); llama.cpp would have run it, so the smoke fails before any engine."""
    folder = make_folder(tmp_path / "bad", tiny_llama_path, params={**GOOD_PARAMS, key: value})
    res = run(folder, "--backend", "llamacpp", "--json")
    assert res.exit_code == 1, res.output
    cases = json.loads(res.stdout)["quants"][0]["cases"]
    assert cases
    for case in cases:
        assert case["status"] == "fail"
        (check,) = case["checks"]
        assert check["name"] == "params" and check["status"] == "fail"
        assert f"params {key} = {json.dumps(value)}: {ollama_says}" in check["message"]


@pytest.mark.parametrize("key", ["temperature", "top_k", "top_p", "min_p", "repeat_penalty"])
def test_a_null_params_value_runs_with_ollamas_default(tiny_llama_path, tmp_path, key):
    """Ollama's FromMap skips a null option (lint's RP117 warns); the llama.cpp backend crashed on
    float(None) with a traceback (a tester's find)."""
    folder = make_folder(tmp_path / "null", tiny_llama_path, params={**GOOD_PARAMS, key: None})
    res = run(folder, "--backend", "llamacpp", "--json")
    assert res.exit_code == 0, res.output
    assert all(c["status"] == "pass" for c in json.loads(res.stdout)["quants"][0]["cases"])


def test_a_prompt_both_paths_render_alike_is_generated_once(folders, monkeypatch):
    """Go template and Jinja template give the same prompt: one generation per prompt, not two."""
    import llama_cpp

    calls = []
    real = llama_cpp.Llama.generate

    def counting(self, *args, **kwargs):
        calls.append(1)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(llama_cpp.Llama, "generate", counting)
    res = run(folders["good"], "--backend", "llamacpp", "--json")
    assert res.exit_code == 0, res.output
    cases = as_json(res)["quants"][0]["cases"]
    assert [c["jinja_reused"] for c in cases] == [True, True, True]
    assert all(c["jinja_answer"] == c["answer"] == "2" for c in cases)
    assert len(calls) == 3


def shown(stderr: str) -> list[str]:
    """What a terminal shows of each stderr line: the text after its last carriage return."""
    return [line.rsplit("\r", 1)[-1] for line in stderr.split("\n")]


def test_progress_for_a_person_one_bar_and_one_line_per_prompt_on_stderr(folders, terminal):
    res = run(folders["runaway"], "--backend", "llamacpp", "--format", "json")
    json.loads(res.stdout)   # stdout holds the report and nothing else
    lines = [line for line in shown(res.stderr) if line.startswith("  Q8_0 ")]
    assert [line.split(":")[0].strip() for line in lines] == ["Q8_0 one-plus-one", "Q8_0 system-prompt",
                                                               "Q8_0 two-turn"]
    assert "fail" in lines[0] and "add <end_of_turn> to params.stop" in lines[0]
    # the bar over quant × prompt, redrawn under each line (0, 1, 2 of 3 done; 3 if the last update
    # came after tqdm's redraw interval), then erased
    drawn = {m for f in res.stderr.split("\r") if f.startswith("smoke Q8_0: ") for m in re.findall(r"\| (\d)/3 \[", f)}
    assert {"0", "1", "2"} <= drawn <= {"0", "1", "2", "3"} and shown(res.stderr)[-1].strip() == ""


def test_progress_is_quiet_with_quiet_in_ci_and_off_a_terminal(folders, terminal, monkeypatch):
    quiet = run(folders["runaway"], "--backend", "llamacpp", "--quiet")
    assert quiet.stderr == "" and "one-plus-one" in quiet.stdout
    monkeypatch.setenv("CI", "true")
    assert run(folders["good"], "--backend", "llamacpp").stderr == ""
    monkeypatch.delenv("CI")
    monkeypatch.setattr(progress, "is_terminal", is_terminal)   # CliRunner's capture again: not a terminal
    assert run(folders["good"], "--backend", "llamacpp").stderr == ""


def test_reason_column_stays_one_readable_line_and_the_json_keeps_every_message(folders):
    res = run(folders["runaway"], "--backend", "llamacpp")
    row = next(line for line in res.stdout.splitlines() if line.startswith("Q8_0 ") and "one-plus-one" in line)
    reason = row.split("FAIL", 1)[1]
    assert reason.split("  ")[-1].strip().startswith("done: runaway: stop tokens missing — add <end_of_turn>")
    assert len(row) < 220 and "(+1 more: leak)" in row
    data = as_json(run(folders["runaway"], "--backend", "llamacpp", "--json"))
    done = next(c for c in data["quants"][0]["cases"][0]["checks"] if c["name"] == "done")
    assert done["message"].endswith("(generation ran to num_predict after 128 tokens)")
