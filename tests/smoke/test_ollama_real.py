"""`publish smoke --backend ollama` against the REAL Ollama (the pinned v0.24.0 the `ollama_server`
fixture serves), `--via api` (the `ollama` Python client) and `--via cli` (the real `ollama`
binary: `ollama rm`, `ollama create -f`, `ollama run`, `ollama show`, `ollama stop`).

The tiny deterministic model (tests/ggufs.py) answers "2" then `<end_of_turn>`. Good folders
pass; a release without the stop, with a double BOS, with a template that is not the GGUF's chat
template, or with a broken GGUF fails, each with its own reason. What the CLI cannot see is
skipped, never passed.
"""

from __future__ import annotations

import json

import ollama
import pytest
from click.testing import CliRunner

import ggufs
from publish.cli import main
from smoke_folders import GEMMA_GO_SYSTEM, GOOD_PARAMS, make_folder, outcome_folders

pytestmark = pytest.mark.real_ollama

CHATML = ("{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}"
          "<|im_start|>assistant\n")


NO_STOP = {k: v for k, v in GOOD_PARAMS.items() if k != "stop"}


@pytest.fixture(scope="module")
def turn_end_gguf(tmp_path_factory):
    """The tiny model ending its turns with TURN_END, a token no engine ends on by its text; its
    chat template ends turns with the same token, so a folder without that stop only lacks the stop."""
    return ggufs.write_tiny_llama(tmp_path_factory.mktemp("turn-end") / "tiny-turn-end.gguf",
                                  end_token=ggufs.TURN_END,
                                  chat_template=ggufs.GEMMA_JINJA.replace("<end_of_turn>", ggufs.TURN_END))


@pytest.fixture(scope="module")
def folders(tmp_path_factory, tiny_llama_path, turn_end_gguf):
    root = tmp_path_factory.mktemp("real-ollama-smoke")
    out = outcome_folders(root, tiny_llama_path)
    # Ollama v0.24.0 ends generation at <end_of_turn> by its text (llama.cpp's vocab loader), so
    # the Gemma-style model without the stop does not run away there; this one does
    out["gemma-no-stop"] = out.pop("runaway")
    # num_predict keeps the runaway short (each token of the tiny model costs the real runner ms)
    turn_end_template = GEMMA_GO_SYSTEM.replace("<end_of_turn>", ggufs.TURN_END)
    out["runaway"] = make_folder(root / "turn-end-runaway", turn_end_gguf, template=turn_end_template,
                                 params=NO_STOP | {"num_predict": 8})
    out["turn-end-good"] = make_folder(root / "turn-end-good", turn_end_gguf, template=turn_end_template,
                                       params=GOOD_PARAMS | {"stop": [ggufs.TURN_END]})
    # a template of another family than the GGUF's chat template (Gemma's): the model still says
    # "2" (it answers that to anything), only the prompt shows the mistake
    out["wrong-template"] = make_folder(root / "wrong-template", tiny_llama_path, template=CHATML)
    return out


def smoke(target, via, *args):
    args = tuple(map(str, args))
    timeout = () if "--timeout" in args else ("--timeout", "120")
    result = CliRunner().invoke(main, ["smoke", str(target), "--backend", "ollama", "--via", via, "--json",
                                       *timeout, *args], catch_exceptions=False)
    data = json.loads(result.stdout) if result.stdout.strip().startswith("{") else None
    return result, data


def checks(case: dict) -> dict[str, dict]:
    return {c["name"]: c for c in case["checks"]}


def assert_runaway(case: dict, done_reason: str, how: str) -> None:
    """The TURN_END model without its stop: the end token leaks and the done check names it."""
    leak = checks(case)["leak"]
    assert leak["status"] == "fail" and ggufs.TURN_END in leak["message"], leak
    assert case["done_reason"] == done_reason
    done = checks(case)["done"]
    assert done["status"] == "fail" and how in done["message"], done
    assert f"add {ggufs.TURN_END} to params.stop" in done["message"]


def assert_left_clean(server) -> None:
    """No scratch model left behind (no --keep) and nothing left in memory."""
    client = ollama.Client(host=server.url)
    assert [m.model for m in client.list().models if m.model.startswith("publish-smoke/")] == []
    assert client.ps().models == []


@pytest.mark.parametrize("via", ["api", "cli"])
def test_good_folder_passes_with_answer_2(via, folders, real_ollama):
    res, data = smoke(folders["good"], via)
    assert res.exit_code == 0, res.output
    first, system, two_turn = data["quants"][0]["cases"]
    assert first["answer"] == "2"
    assert checks(first)["params"]["status"] == "pass", checks(first)["params"]
    assert first["prompt_tokens"] > 10 and first["eval_tokens"] >= 1
    if via == "api":
        assert all(c["answer"] == "2" for c in (system, two_turn))
        for name in ("render-go", "render-jinja", "bos-text", "done", "leak"):
            assert checks(first)[name]["status"] == "pass", checks(first)[name]
        assert checks(system)["system"]["status"] == "pass"
        assert checks(two_turn)["turns"]["status"] == "pass"
        assert first["done_reason"] == "stop"
        assert first["prompt_tokens_per_second"] and first["eval_tokens_per_second"]
    else:
        # `ollama run` cannot send a system message or a conversation, nor show its prompt
        for case in (system, two_turn):
            assert checks(case)["chat"]["status"] == "skip"
            assert "--via api" in checks(case)["chat"]["message"]
            assert case["status"] == "skip" and case["answer"] is None, case
        assert data["counts"]["skip"] == 2 and data["counts"]["pass"] + data["counts"]["warn"] == 1
        assert checks(first)["render-go"]["status"] == "skip"
        assert checks(first)["leak"]["status"] == "pass"
        # no num_predict in the release: `ollama run` gives no evidence of why generation ended
        assert first["done_reason"] == "unknown" and checks(first)["done"]["status"] == "skip"
    assert_left_clean(real_ollama)


def test_cases_the_cli_never_sent_are_skipped_in_every_report(folders, real_ollama, tmp_path):
    """`ollama run` cannot send the system-prompt and two-turn cases: the table, the counts, JUnit,
    Markdown and JSON all say skipped, with the reason, never passed (docs/smoke.md)."""
    junit, md = tmp_path / "smoke.xml", tmp_path / "smoke.md"
    res = CliRunner().invoke(main, ["smoke", str(folders["good"]), "--backend", "ollama", "--via", "cli",
                                    "--timeout", "120", "--report-junit", str(junit), "--report-markdown", str(md)],
                             catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "1 passed, 0 failed, 2 skipped" in res.output, res.output
    rows = [line for line in res.output.splitlines() if line.split()[1:2] in (["system-prompt"], ["two-turn"])]
    assert len(rows) == 2, res.output
    assert all(" skip " in r for r in rows), rows
    assert any("system message" in r for r in rows) and any("multi-turn" in r for r in rows), rows

    import xml.etree.ElementTree as ET
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite.get("skipped") == "2" and suite.get("tests") == "3", ET.tostring(suite)
    skipped = {tc.get("name"): tc.find("skipped") for tc in suite.iter("testcase")}
    assert skipped[next(iter(skipped))] is None  # the one-user-message case was sent and passed
    reasons = [s.get("message") for s in skipped.values() if s is not None]
    assert len(reasons) == 2 and all("ollama run" in r and "--via api" in r for r in reasons), reasons

    table = [line for line in md.read_text().splitlines() if line.startswith("| ")][1:]
    assert sum("⏭️ skip" in line for line in table) == 2 and sum("✅ pass" in line for line in table) == 1, table

    _, data = smoke(folders["good"], "cli")
    _, system, two_turn = data["quants"][0]["cases"]
    assert "system message" in system["skip_reason"] and "multi-turn" in two_turn["skip_reason"]


@pytest.mark.parametrize("via", ["api", "cli"])
def test_missing_stop_runs_away_and_fails_naming_the_stop(via, folders, real_ollama):
    res, data = smoke(folders["runaway"], via)
    assert res.exit_code == 1, res.output
    case = data["quants"][0]["cases"][0]
    assert case["answer"].startswith(f"2{ggufs.TURN_END}2")
    # api: Ollama's done_reason; cli: the `--verbose` eval count reached the release's num_predict
    assert_runaway(case, "length", "generation ran to num_predict after 8 tokens")
    assert_left_clean(real_ollama)


@pytest.mark.parametrize("via", ["api", "cli"])
def test_the_same_model_with_its_stop_passes(via, folders, real_ollama):
    res, data = smoke(folders["turn-end-good"], via)
    assert res.exit_code == 0, res.output
    assert data["quants"][0]["cases"][0]["answer"] == "2"


def test_gemma_end_of_turn_ends_generation_in_ollama_even_without_the_stop(folders, real_ollama):
    """What the real Ollama does and the old stand-in did not: <end_of_turn> is an end-of-
    generation token for llama.cpp's vocab loader by its text, so the answer ends there."""
    res, data = smoke(folders["gemma-no-stop"], "api")
    case = data["quants"][0]["cases"][0]
    assert case["answer"] == "2" and case["done_reason"] == "stop", case
    assert checks(case)["leak"]["status"] == "pass"


def test_missing_stop_through_the_cli_without_num_predict_ends_at_the_timeout(tmp_path, real_ollama):
    """`ollama run` sends no options: without a num_predict in the release Ollama generates until
    it is stopped or the context is full, so the smoke kills it at its timeout and says why. The
    model gets a 128k context (num_ctx too): a 512-token one fills within the timeout once ggml is
    compiled with SIMD, and the runner then ends the answer by itself."""
    gguf = ggufs.write_tiny_llama(tmp_path / "tiny-turn-end-128k.gguf", end_token=ggufs.TURN_END,
                                  chat_template=ggufs.GEMMA_JINJA.replace("<end_of_turn>", ggufs.TURN_END),
                                  extra_kv={"llama.context_length": 131072})
    folder = make_folder(tmp_path / "runaway", gguf, template=GEMMA_GO_SYSTEM.replace("<end_of_turn>", ggufs.TURN_END),
                         params=NO_STOP | {"num_ctx": 131072})
    res, data = smoke(folder, "cli", "--timeout", "6")
    assert res.exit_code == 1
    assert_runaway(data["quants"][0]["cases"][0], "timeout", "did not end before the timeout")
    assert_left_clean(real_ollama)


@pytest.mark.parametrize("via", ["api", "cli"])
def test_template_starting_with_bos_fails_the_double_bos_check(via, folders, real_ollama):
    res, data = smoke(folders["bos"], via)
    assert res.exit_code == 1, res.output
    bos = checks(data["quants"][0]["cases"][0])["bos-text"]
    assert bos["status"] == "fail" and "double BOS" in bos["message"], bos


@pytest.mark.parametrize("via", ["api", "cli"])
def test_template_of_another_family_fails_against_the_chat_template(via, folders, real_ollama):
    res, data = smoke(folders["wrong-template"], via)
    assert res.exit_code == 1, res.output
    first = data["quants"][0]["cases"][0]
    assert first["answer"] == "2"    # the answer alone cannot tell
    jinja = checks(first)["render-jinja"]
    assert jinja["status"] == "fail" and "differs from the GGUF's Jinja template" in jinja["message"], jinja
    if via == "cli":
        assert "ollama show --template" in jinja["message"]


@pytest.mark.parametrize("via", ["api", "cli"])
def test_broken_gguf_is_a_load_failure_and_the_run_goes_on(via, folders, real_ollama):
    res, data = smoke(folders["broken"], via)
    assert res.exit_code == 1
    status = {q["label"]: q["status"] for q in data["quants"]}
    assert status == {"Q2_K": "pass", "Q4_K_M": "fail", "Q8_0": "pass"}
    broken = next(q for q in data["quants"] if q["label"] == "Q4_K_M")
    assert broken["load_error"], broken
    load = checks(broken["cases"][0])["load"]
    assert load["status"] == "fail" and "load failure" in load["message"]
    assert_left_clean(real_ollama)


@pytest.mark.parametrize("via", ["api", "cli"])
def test_params_the_server_dropped_fail_the_params_check(via, folders, real_ollama):
    """A server that ignores `parameters` at create: the fault injector strips them on the way to
    the real Ollama; `show` then proves they were never applied."""
    from standins.ollama_faults import Fault, OllamaFaultProxy

    with OllamaFaultProxy(real_ollama.url, [Fault("/api/create", strip=("parameters",))]) as proxy:
        res, data = smoke(folders["good"], via, "--host", proxy.url)
    assert res.exit_code == 1
    params = checks(data["quants"][0]["cases"][0])["params"]
    assert params["status"] == "fail"
    assert "params not applied" in params["message"] and "stop missing" in params["message"]


def test_rendered_prompt_check_is_skipped_when_the_server_cannot_render_only(folders, real_ollama):
    """An Ollama older than `_debug_render_only` (stripped by the fault injector) generates instead
    of rendering: the prompt checks are skipped, never passed."""
    from standins.ollama_faults import Fault, OllamaFaultProxy

    with OllamaFaultProxy(real_ollama.url, [Fault("/api/chat", strip=("_debug_render_only",))]) as proxy:
        res, data = smoke(folders["good"], "api", "--host", proxy.url)
    assert res.exit_code == 0, res.output
    assert checks(data["quants"][0]["cases"][0])["render-go"]["status"] == "skip"


@pytest.mark.parametrize("via", ["api", "cli"])
def test_a_string_stop_fails_every_case_with_ollamas_own_error(via, tiny_llama_path, real_ollama, tmp_path):
    """`ollama create -f` (the cli path) would take `PARAMETER stop <end_of_turn>` as a one-item
    list, but the hf.co bridge hands the `params` file to api.Options.FromMap, which refuses a
    string on every request (tests/test_ollama_options.py holds the text to the real server)."""
    folder = make_folder(tmp_path / "string-stop", tiny_llama_path, params=GOOD_PARAMS | {"stop": "<end_of_turn>"})
    result, data = smoke(folder, via)
    assert result.exit_code == 1, result.output
    for case in data["quants"][0]["cases"]:
        assert checks(case)["params"]["status"] == "fail"
        assert 'params stop = "<end_of_turn>": option "stop" must be of type array' in checks(case)["params"]["message"]
    assert_left_clean(real_ollama)
