"""`publish smoke --backend ollama` end to end, `--via api` and `--via cli`, against the loopback
Ollama stand-in (tests/ollama_standin.py) and the stand-in `ollama` executable (tests/fake_bin).

What the CLI mode cannot see (the rendered prompt, multi-turn and system-message chats) must be
reported as skipped, never passed.
"""

from __future__ import annotations

import json
import os
import socket
import sys

import pytest
from click.testing import CliRunner
from conftest import have_llama_cpp

from hub_standin import hub  # noqa: F401 - fixture
from ollama_standin import FAKE_BIN, OllamaStandin
from publish.cli import main
from smoke_folders import GOOD_PARAMS, make_folder, outcome_folders

pytestmark = [
    pytest.mark.llamacpp,
    pytest.mark.skipif(not have_llama_cpp(), reason="llama-cpp-python is not installed (pip install 'publish[llamacpp]')"),
]


@pytest.fixture(scope="module")
def folders(tmp_path_factory, tiny_llama_path):
    return outcome_folders(tmp_path_factory.mktemp("ollama-smoke"), tiny_llama_path)


@pytest.fixture
def cli_on_path(monkeypatch):
    monkeypatch.setenv("PATH", f"{FAKE_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}")
    monkeypatch.setenv("PUBLISH_TEST_PYTHON", sys.executable)


def smoke(target, *args):
    result = CliRunner().invoke(main, ["smoke", str(target), "--backend", "ollama", *map(str, args), "--json"],
                                catch_exceptions=False)
    data = json.loads(result.stdout) if result.stdout.strip().startswith("{") else None
    return result, data


def checks(case: dict) -> dict[str, dict]:
    return {c["name"]: c for c in case["checks"]}


@pytest.mark.parametrize("via", ["api", "cli"])
def test_good_folder_passes_with_answer_2(via, folders, standin, cli_on_path):
    res, data = smoke(folders["good"], "--via", via, "--host", standin.url)
    assert res.exit_code == 0, res.output
    first, system, two_turn = data["quants"][0]["cases"]
    assert first["answer"] == "2"
    assert checks(first)["params"]["status"] == "pass"
    if via == "api":
        assert all(c["answer"] == "2" for c in (system, two_turn))
        for name in ("render-go", "render-jinja", "bos-text"):
            assert checks(first)[name]["status"] == "pass", checks(first)[name]
        assert checks(system)["system"]["status"] == "pass"
        assert first["done_reason"] == "stop" and checks(first)["done"]["status"] == "pass"
        assert first["prompt_tokens_per_second"] and first["eval_tokens_per_second"]
    else:
        # `ollama run` cannot send a system message or a conversation, nor show its prompt
        for case in (system, two_turn):
            assert checks(case)["chat"]["status"] == "skip"
            assert "--via api" in checks(case)["chat"]["message"]
        assert checks(first)["render-go"]["status"] == "skip"
        # no num_predict in the release: `ollama run` gives no evidence of why generation ended
        assert first["done_reason"] == "unknown" and checks(first)["done"]["status"] == "skip"
    assert standin.models == {}  # scratch models removed at the end (no --keep)
    assert standin.loaded_model is None
    assert not [e for e in standin.events if e[0] == "evict"]  # the smoke unloaded each quant itself


def test_missing_stop_fails_as_runaway_naming_the_stop(folders, standin):
    res, data = smoke(folders["runaway"], "--via", "api", "--host", standin.url)
    assert res.exit_code == 1
    case = data["quants"][0]["cases"][0]
    assert case["done_reason"] == "length"
    done = checks(case)["done"]
    assert done["status"] == "fail" and "runaway" in done["message"] and "add <end_of_turn> to params.stop" in done["message"]
    assert checks(case)["leak"]["status"] == "fail"


@pytest.mark.parametrize("num_predict", [None, 24])
def test_missing_stop_through_the_cli(num_predict, tiny_llama_path, tmp_path, standin, cli_on_path):
    """`ollama run` prints no done_reason: with the release's num_predict the eval count in the
    --verbose summary proves the runaway; without it, the leaked end token does."""
    params = {k: v for k, v in GOOD_PARAMS.items() if k != "stop"}
    if num_predict:
        params["num_predict"] = num_predict
    folder = make_folder(tmp_path / "runaway", tiny_llama_path, params=params)
    res, data = smoke(folder, "--via", "cli", "--host", standin.url)
    assert res.exit_code == 1
    case = data["quants"][0]["cases"][0]
    leak = checks(case)["leak"]
    assert leak["status"] == "fail" and "<end_of_turn>" in leak["message"]
    done = checks(case)["done"]
    if num_predict:
        assert case["done_reason"] == "length" and case["eval_tokens"] == num_predict
        assert done["status"] == "fail" and "add <end_of_turn> to params.stop" in done["message"]
    else:
        assert case["done_reason"] == "unknown" and done["status"] == "skip"


@pytest.mark.parametrize("via", ["api", "cli"])
def test_template_starting_with_bos_fails_the_double_bos_check(via, folders, standin, cli_on_path):
    res, data = smoke(folders["bos"], "--via", via, "--host", standin.url)
    assert res.exit_code == 1
    bos = checks(data["quants"][0]["cases"][0])["bos-text"]
    assert bos["status"] == "fail" and "double BOS" in bos["message"]


@pytest.mark.parametrize("via", ["api", "cli"])
def test_broken_gguf_is_a_load_failure_and_the_run_goes_on(via, folders, standin, cli_on_path):
    res, data = smoke(folders["broken"], "--via", via, "--host", standin.url)
    assert res.exit_code == 1
    status = {q["label"]: q["status"] for q in data["quants"]}
    assert status == {"Q2_K": "pass", "Q4_K_M": "fail", "Q8_0": "pass"}
    loads = [e for e in standin.events if e[0] in ("load", "unload", "evict")]
    assert [e[0] for e in loads] == ["load", "unload", "load", "unload"]  # one model in memory at a time
    broken = next(q for q in data["quants"] if q["label"] == "Q4_K_M")
    # both modes load right after create (api: generate without a prompt; cli: `ollama run NAME ""`)
    assert "error loading model" in broken["load_error"]
    assert checks(broken["cases"][0])["load"]["status"] == "fail"


@pytest.mark.parametrize("via", ["api", "cli"])
def test_params_the_server_dropped_fail_the_params_check(via, folders, tmp_path, cli_on_path):
    with OllamaStandin(tmp_path / "store", drop_params=True) as s:
        res, data = smoke(folders["good"], "--via", via, "--host", s.url)
    assert res.exit_code == 1
    params = checks(data["quants"][0]["cases"][0])["params"]
    assert params["status"] == "fail"
    assert "params not applied" in params["message"] and "stop missing" in params["message"]


def test_rendered_prompt_check_is_skipped_when_the_server_cannot_render_only(folders, tmp_path):
    with OllamaStandin(tmp_path / "store", render_only=False) as s:
        res, data = smoke(folders["good"], "--via", "api", "--host", s.url)
    assert res.exit_code == 0, res.output
    render = checks(data["quants"][0]["cases"][0])["render-go"]
    assert render["status"] == "skip"


def test_serve_starts_the_stand_in_ollama_for_the_run(folders, tmp_path, cli_on_path, monkeypatch):
    from publish.smoke.serve import server_version

    monkeypatch.setenv("PUBLISH_STANDIN_STORE", str(tmp_path / "store"))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    host = f"127.0.0.1:{port}"
    res, data = smoke(folders["good"], "--via", "api", "--host", host, "--serve", "--quants", "Q8_0")
    assert res.exit_code == 0, res.output
    assert data["quants"][0]["cases"][0]["answer"] == "2"
    assert server_version(f"http://{host}") is None  # stopped after the run


@pytest.mark.parametrize("via", ["api", "cli"])
def test_hf_target_is_removed_then_pulled_and_checked(via, hub, folders, tmp_path, cli_on_path):
    """After publishing: the runner lists the quants on the Hub (Hub stand-in) and Ollama (Ollama
    stand-in, whose hf.co bridge reads the same files) must `rm` then `pull` each one."""
    good = folders["good"]
    for f in sorted(good.iterdir()):
        hub.put_file("alice/tiny-GGUF", f.name, f.read_bytes())
    with OllamaStandin(tmp_path / "store", hf_repos={"alice/tiny-GGUF": good}) as s:
        res, data = smoke("hf.co/alice/tiny-GGUF", "--via", via, "--host", s.url)
    assert res.exit_code == 0, res.output
    assert [q["label"] for q in data["quants"]] == ["Q8_0"]
    case = data["quants"][0]["cases"][0]
    assert case["answer"] == "2" and checks(case)["params"]["status"] == "pass"
    name = "hf.co/alice/tiny-gguf:q8_0"
    assert [e for e in s.events if e[1] == name and e[0] in ("delete", "pull")][:2] == [("delete", name), ("pull", name)]
