"""hf.co targets (`ollama rm`, then pull, then run) against the loopback Ollama STAND-IN
(tests/ollama_standin.py), not a real Ollama: the real Ollama pulls hf.co/ORG/NAME from the Hub's
registry, which the loopback Hub stand-in does not serve yet (issue 12 section 6). `--via cli`
runs the real `ollama` CLI against the stand-in server. Until section 6 lands,
these keep the product's hf.co path (rm before pull, a re-upload really fetched, the tag that
matches no file, pull progress) under test; every folder path runs against the real Ollama
(tests/test_ollama_real.py, test_ollama_backends.py, test_ollama_create.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import have_llama_cpp

import ggufs
from hub_standin import hub  # noqa: F401 - fixture
from ollama_standin import OllamaStandin, write_staged_folder
from publish.cli import main
from publish.smoke.base import LoadError, Target
from smoke_folders import outcome_folders

pytestmark = [
    pytest.mark.llamacpp,
    pytest.mark.skipif(not have_llama_cpp(), reason="llama-cpp-python is not installed (pip install 'publish[llamacpp]')"),
]

ONE_PLUS_ONE = [{"role": "user", "content": "What is 1+1?"}]
OPTIONS = {"seed": 42}


@pytest.fixture
def cli_env(monkeypatch):
    """The REAL `ollama` CLI first on PATH; it talks HTTP to the stand-in server."""
    from conftest import OLLAMA_VERSION, ollama_binary

    binary = ollama_binary()
    if binary is None:
        pytest.fail(f"no real Ollama {OLLAMA_VERSION}: run `make ollama`", pytrace=False)
    monkeypatch.setenv("PATH", f"{Path(binary).parent}:/usr/bin:/bin")


@pytest.fixture(params=["api", "cli"])
def via(request, cli_env):
    return request.param


@pytest.fixture(scope="module")
def folders(tmp_path_factory, tiny_llama_path):
    return outcome_folders(tmp_path_factory.mktemp("ollama-smoke"), tiny_llama_path)


def make_backend(via: str, url: str):
    if via == "api":
        from publish.smoke.ollama_api import OllamaAPIBackend

        return OllamaAPIBackend(url, progress=False)
    from publish.smoke.ollama_cli import OllamaCLIBackend

    return OllamaCLIBackend(url)


def smoke(target, *args):
    result = CliRunner().invoke(main, ["smoke", str(target), "--backend", "ollama", *map(str, args), "--json"],
                                catch_exceptions=False)
    data = json.loads(result.stdout) if result.stdout.strip().startswith("{") else None
    return result, data


def checks(case: dict) -> dict[str, dict]:
    return {c["name"]: c for c in case["checks"]}


def test_hf_target_is_removed_then_really_pulled(via, tiny_llama_path, tmp_path):
    repo = write_staged_folder(tmp_path / "hub" / "tiny-GGUF", {"Q8_0": tiny_llama_path}, template=ggufs.GEMMA_GO,
                               params={"stop": ["<end_of_turn>"], "num_predict": 24})
    t = Target(label="Q8_0", model="hf.co/org/tiny-GGUF:Q8_0")
    with OllamaStandin(tmp_path / "store", hf_repos={"org/tiny-GGUF": repo}) as s, make_backend(via, s.url) as backend:
        backend.prepare(t)
        assert backend.show(t).parameters == {"stop": ["<end_of_turn>"], "num_predict": 24}
        # a re-upload: the maintainer fixed the params on the Hub; the next smoke must see them
        (repo / "params").write_text('{"stop": ["<end_of_turn>"], "num_predict": 8}')
        backend.prepare(t)
        assert backend.show(t).parameters == {"stop": ["<end_of_turn>"], "num_predict": 8}
        assert backend.chat(t, ONE_PLUS_ONE, OPTIONS, timeout=60).text == "2"
    name = "hf.co/org/tiny-gguf:q8_0"
    rm_pull = [e for e in s.events if e in (("delete", name), ("pull", name))]
    assert rm_pull == [("delete", name), ("pull", name)] * 2


def test_hf_pull_of_a_missing_quant_is_a_load_error(via, tiny_llama_path, tmp_path):
    repo = write_staged_folder(tmp_path / "hub" / "tiny-GGUF", {"Q8_0": tiny_llama_path}, template=ggufs.GEMMA_GO)
    with OllamaStandin(tmp_path / "store", hf_repos={"org/tiny-GGUF": repo}) as s:
        with make_backend(via, s.url) as backend, pytest.raises(LoadError, match="tag is not available"):
            backend.prepare(Target(label="Q2_K", model="hf.co/org/tiny-GGUF:Q2_K"))


def test_pull_progress_for_a_person_at_a_terminal(tiny_llama_path, tmp_path, capsys):
    from publish.smoke.ollama_api import OllamaAPIBackend

    repo = write_staged_folder(tmp_path / "hub" / "tiny-GGUF", {"Q8_0": tiny_llama_path}, template=ggufs.GEMMA_GO)
    with OllamaStandin(tmp_path / "store", hf_repos={"org/tiny-GGUF": repo}) as s:
        with OllamaAPIBackend(s.url, progress=True) as backend:
            backend.prepare(Target(label="Q8_0", model="hf.co/org/tiny-GGUF:Q8_0"))
    err = capsys.readouterr().err
    digest = s.models["hf.co/org/tiny-gguf:q8_0"].digest
    assert "pulling manifest" in err and f"pulling {digest[7:19]}" in err and "success" in err
    assert "100%" in err


@pytest.mark.parametrize("via", ["api", "cli"])
def test_hf_target_is_removed_then_pulled_and_checked(via, hub, folders, tmp_path, cli_env):  # noqa: F811
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
