"""The ollama backends (--via api and --via cli) against the loopback Ollama stand-in.

The API backend drives the real `ollama` Python client; the CLI backend runs the stand-in
`ollama` executable (tests/fake_bin/ollama) as subprocesses. Both share the stand-in's store.
"""

from __future__ import annotations

import pytest
from conftest import have_llama_cpp

import ggufs
from ollama_standin import FAKE_BIN, GOOD_PARAMS, OllamaStandin, truncated_copy, write_staged_folder
from publish.smoke.base import LoadError, Target, Unsupported

pytestmark = [
    pytest.mark.llamacpp,
    pytest.mark.skipif(not have_llama_cpp(), reason="llama-cpp-python is not installed (pip install 'publish[llamacpp]')"),
]

ONE_PLUS_ONE = [{"role": "user", "content": "What is 1+1?"}]
OPTIONS = {"seed": 42}


@pytest.fixture
def cli_env(monkeypatch):
    import sys

    monkeypatch.setenv("PATH", f"{FAKE_BIN}:/usr/bin:/bin")
    monkeypatch.setenv("PUBLISH_TEST_PYTHON", sys.executable)


def make_backend(via: str, url: str):
    if via == "api":
        from publish.smoke.ollama_api import OllamaAPIBackend

        return OllamaAPIBackend(url, progress=False)
    from publish.smoke.ollama_cli import OllamaCLIBackend

    return OllamaCLIBackend(url)


@pytest.fixture(params=["api", "cli"])
def via(request, cli_env):
    return request.param


def folder_target(folder, label="Q8_0", name="publish-smoke/tiny"):
    from publish.staged import load_staged

    f = load_staged(folder)
    q = f.quant(label)
    return Target(label=q.label, model=f"{name}:{label.lower()}", gguf=q.path, template=f.template,
                  params=dict(f.params), system=f.system)


def test_good_folder_answers_2_and_stops(via, standin, tiny_llama_path, tmp_path):
    folder = write_staged_folder(tmp_path / "good", {"Q8_0": tiny_llama_path}, template=ggufs.GEMMA_GO)
    t = folder_target(folder)
    with make_backend(via, standin.url) as backend:
        backend.prepare(t)
        res = backend.chat(t, ONE_PLUS_ONE, OPTIONS, timeout=60)
        assert res.text == "2"
        assert res.done_reason == "stop"
        assert res.eval_tokens == 2 and res.prompt_tokens > 10
        assert res.load_seconds > 0 and res.eval_seconds > 0
        again = backend.chat(t, ONE_PLUS_ONE, OPTIONS, timeout=60)
        assert again.text == "2" and again.load_seconds == 0  # loaded once per quant
        shown = backend.show(t)
        assert shown.template == ggufs.GEMMA_GO
        assert shown.parameters == {"stop": ["<end_of_turn>"], "temperature": 1, "top_k": 64, "top_p": 0.95,
                                    "num_predict": 24}
        backend.unload(t)
        assert standin.loaded_model is None
        backend.remove(t)
    assert standin.models == {}
    assert ("delete", "publish-smoke/tiny:q8_0") == standin.events[0]  # rm before create


def test_missing_stop_runs_away_and_leaks_the_end_token(via, standin, tiny_llama_path, tmp_path):
    params = {k: v for k, v in GOOD_PARAMS.items() if k != "stop"}
    folder = write_staged_folder(tmp_path / "nostop", {"Q8_0": tiny_llama_path}, template=ggufs.GEMMA_GO, params=params)
    t = folder_target(folder)
    with make_backend(via, standin.url) as backend:
        backend.prepare(t)
        res = backend.chat(t, ONE_PLUS_ONE, OPTIONS, timeout=60)
    assert res.done_reason == "length"
    assert res.eval_tokens == 24
    assert res.text.startswith("2<end_of_turn>2<end_of_turn>")


def test_template_with_bos_is_visible(via, standin, tiny_llama_path, tmp_path):
    folder = write_staged_folder(tmp_path / "bos", {"Q8_0": tiny_llama_path}, template="<bos>" + ggufs.GEMMA_GO)
    t = folder_target(folder)
    with make_backend(via, standin.url) as backend:
        backend.prepare(t)
        rendered = backend.render(t, ONE_PLUS_ONE)
        shown = backend.show(t)
    assert shown.template.startswith("<bos>")
    if via == "api":
        assert rendered == "<bos><start_of_turn>user\nWhat is 1+1?<end_of_turn>\n<start_of_turn>model\n"
    else:
        assert rendered is None  # the CLI never shows the prompt it built


def test_broken_gguf_is_a_load_error_and_the_next_quant_still_runs(via, standin, tiny_llama_path, tmp_path):
    folder = write_staged_folder(tmp_path / "mixed", {"Q4_K_M": truncated_copy(tiny_llama_path), "Q8_0": tiny_llama_path},
                                 template=ggufs.GEMMA_GO)
    broken, good = folder_target(folder, "Q4_K_M"), folder_target(folder, "Q8_0")
    with make_backend(via, standin.url) as backend:
        # create succeeds (the header parses, as in Ollama); the load right after it fails
        with pytest.raises(LoadError, match="llama runner process has terminated: error loading model"):
            backend.prepare(broken)
        backend.prepare(good)
        assert backend.chat(good, ONE_PLUS_ONE, OPTIONS, timeout=60).text == "2"


def test_not_a_gguf_fails_at_create(via, standin, tmp_path):
    folder = write_staged_folder(tmp_path / "junk", {"Q8_0": b"not a gguf at all"}, template=ggufs.GEMMA_GO)
    t = folder_target(folder)
    with make_backend(via, standin.url) as backend, pytest.raises(LoadError, match="invalid file magic"):
        backend.prepare(t)


def test_params_dropped_by_the_server_show_up_in_show(via, tiny_llama_path, tmp_path):
    with OllamaStandin(tmp_path / "store", drop_params=True) as s:
        folder = write_staged_folder(tmp_path / "good", {"Q8_0": tiny_llama_path}, template=ggufs.GEMMA_GO)
        t = folder_target(folder)
        with make_backend(via, s.url) as backend:
            backend.prepare(t)
            assert backend.show(t).parameters == {}


def test_system_from_the_folder_is_reported_and_rendered(standin, tiny_llama_path, tmp_path, cli_env):
    folder = write_staged_folder(tmp_path / "sys", {"Q8_0": tiny_llama_path}, template=ggufs.GEMMA_GO,
                                 system='Answer with a number.\nSay "2" when unsure.')
    t = folder_target(folder)
    for via in ("api", "cli"):
        with make_backend(via, standin.url) as backend:
            backend.prepare(t)
            assert backend.show(t).system == 'Answer with a number.\nSay "2" when unsure.'
            if via == "api":
                assert backend.render(t, ONE_PLUS_ONE).startswith(
                    '<start_of_turn>user\nAnswer with a number.\nSay "2" when unsure.<end_of_turn>')


def test_render_is_none_when_the_server_ignores_debug_render_only(tiny_llama_path, tmp_path):
    from publish.smoke.ollama_api import OllamaAPIBackend

    with OllamaStandin(tmp_path / "store", render_only=False) as s:
        folder = write_staged_folder(tmp_path / "good", {"Q8_0": tiny_llama_path}, template=ggufs.GEMMA_GO)
        t = folder_target(folder)
        with OllamaAPIBackend(s.url) as backend:
            backend.prepare(t)
            assert backend.render(t, ONE_PLUS_ONE) is None
            assert backend.render_supported is False
            generated = [e for e in s.events if e[0] == "chat"]
            assert len(generated) == 1  # the old server really generated; no second try
            assert backend.render(t, ONE_PLUS_ONE) is None
            assert [e for e in s.events if e[0] == "chat"] == generated


def test_cli_cannot_type_a_conversation(standin, tiny_llama_path, tmp_path, cli_env):
    from publish.smoke.ollama_cli import OllamaCLIBackend

    folder = write_staged_folder(tmp_path / "good", {"Q8_0": tiny_llama_path}, template=ggufs.GEMMA_GO)
    t = folder_target(folder)
    with OllamaCLIBackend(standin.url) as backend:
        with pytest.raises(Unsupported, match="--via api"):
            backend.chat(t, [{"role": "system", "content": "x"}, *ONE_PLUS_ONE], OPTIONS, timeout=60)


def test_one_model_loaded_at_a_time_and_unloaded_after_each_quant(standin, tiny_llama_path, tmp_path):
    from publish.smoke.ollama_api import OllamaAPIBackend

    folder = write_staged_folder(tmp_path / "two", {"Q4_K_M": tiny_llama_path, "Q8_0": tiny_llama_path},
                                 template=ggufs.GEMMA_GO)
    with OllamaAPIBackend(standin.url) as backend:
        for label in ("Q4_K_M", "Q8_0"):
            t = folder_target(folder, label)
            backend.prepare(t)
            backend.chat(t, ONE_PLUS_ONE, OPTIONS, timeout=60)
            assert standin.loaded_model == t.model
            backend.unload(t)
            assert standin.loaded_model is None
    loads = [e for e in standin.events if e[0] in ("load", "unload")]
    assert loads == [("load", "publish-smoke/tiny:q4_k_m"), ("unload", "publish-smoke/tiny:q4_k_m"),
                     ("load", "publish-smoke/tiny:q8_0"), ("unload", "publish-smoke/tiny:q8_0")]


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


def test_an_answer_that_does_not_come_in_time(via, tiny_llama_path, tmp_path):
    """api: a load error naming the timeout; cli: `ollama run` is killed, done_reason "timeout"."""
    with OllamaStandin(tmp_path / "store", chat_delay=2.0) as s:
        folder = write_staged_folder(tmp_path / "good", {"Q8_0": tiny_llama_path}, template=ggufs.GEMMA_GO)
        t = folder_target(folder)
        with make_backend(via, s.url) as backend:
            backend.prepare(t)
            if via == "api":
                with pytest.raises(LoadError, match="no answer within 0.5s"):
                    backend.chat(t, ONE_PLUS_ONE, OPTIONS, timeout=0.5)
            else:
                res = backend.chat(t, ONE_PLUS_ONE, OPTIONS, timeout=0.5)
                assert res.done_reason == "timeout" and res.text == ""


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


def test_show_text_parsing_follows_what_ollama_prints():
    from publish.smoke.ollama_api import parse_parameters, system_from_modelfile

    text = ('stop                           "<end_of_turn>"\n'
            'stop                           "say \\"bye\\"\\n"\n'
            "temperature                    1\n"
            "top_p                          0.95\n"
            "use_mmap                       false\n")
    assert parse_parameters(text) == {"stop": ["<end_of_turn>", 'say "bye"\n'], "temperature": 1,
                                      "top_p": 0.95, "use_mmap": False}
    modelfile = ('# Modelfile generated by "ollama show"\nFROM /blobs/sha256-1\n'
                 'TEMPLATE """{{ if .System }}\nSYSTEM {{ .System }}{{ end }}"""\n'
                 'SYSTEM "Be brief.\nAnswer with a number."\nPARAMETER stop <end_of_turn>\n')
    assert system_from_modelfile(modelfile) == "Be brief.\nAnswer with a number."
    assert system_from_modelfile('FROM x\nPARAMETER stop "<eos>"\n') is None


def test_cli_output_parsing_follows_what_ollama_prints():
    from publish.smoke.ollama_cli import _answer, _error_text, go_duration_seconds, parse_verbose_stats

    assert go_duration_seconds("1m2.5s") == pytest.approx(62.5)
    assert go_duration_seconds("523.41ms") == pytest.approx(0.52341)
    assert go_duration_seconds("850µs") == pytest.approx(0.00085)
    assert go_duration_seconds("12 tokens") == 0.0
    stderr = ("\u280b \u2819 \r\x1b[?25l\x1b[2K"
              "total duration:       1.234567891s\n"
              "load duration:        12.3456ms\n"
              "prompt eval count:    26 token(s)\n"
              "prompt eval duration: 250.5µs\n"
              "prompt eval rate:     103792.41 tokens/s\n"
              "eval count:           2 token(s)\n"
              "eval duration:        1m2.5s\n")
    assert parse_verbose_stats(stderr) == {
        "total duration": pytest.approx(1.234567891), "load duration": pytest.approx(0.0123456),
        "prompt eval count": 26, "prompt eval duration": pytest.approx(0.0002505), "eval count": 2,
        "eval duration": pytest.approx(62.5)}
    assert _answer("\x1b[?25l2\x1b[?25h\n\n") == "2"

    class Proc:
        returncode, stderr = 1, "\u280b pulling manifest \r\nError: pull model manifest: file does not exist\n"

    assert _error_text(Proc) == "pull model manifest: file does not exist"
