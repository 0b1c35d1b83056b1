"""The ollama backends (--via api and --via cli) against the REAL Ollama v0.24.0 the session's
`ollama_server` fixture serves.

The API backend drives the `ollama` Python client; the CLI backend runs the real `ollama` binary.
Failures a healthy server cannot be made to produce (a dropped connection, an old server that
ignores a field, a slow answer) come from the fault injector in tests/standins/ollama_faults.py,
which forwards everything else to the real server.
"""

from __future__ import annotations

import ollama
import pytest

import ggufs
from publish.smoke.base import LoadError, Target, Unsupported
from smoke_folders import make_folder
from standins.ollama_faults import Fault, OllamaFaultProxy

pytestmark = pytest.mark.real_ollama

ONE_PLUS_ONE = [{"role": "user", "content": "What is 1+1?"}]
OPTIONS = {"seed": 42}
PARAMS = {"stop": ["<end_of_turn>"], "temperature": 1.0, "top_k": 64, "top_p": 0.95, "num_predict": 24}


def make_backend(via: str, url: str):
    if via == "api":
        from publish.smoke.ollama_api import OllamaAPIBackend

        return OllamaAPIBackend(url, progress=False)
    from publish.smoke.ollama_cli import OllamaCLIBackend

    return OllamaCLIBackend(url)


@pytest.fixture(params=["api", "cli"])
def via(request, real_ollama):
    return request.param


def folder_target(folder, label="Q8_0", name="publish-smoke/tiny"):
    from publish.staged import load_staged

    f = load_staged(folder)
    q = f.quant(label)
    return Target(label=q.label, model=f"{name}:{label.lower()}", gguf=q.path, template=f.template,
                  params=dict(f.params), system=f.system)


def good_folder(root, gguf, **kw):
    kw.setdefault("template", ggufs.GEMMA_GO)
    kw.setdefault("params", PARAMS)
    return make_folder(root, gguf, **kw)


def done(backend, *targets) -> None:
    """What the smoke runner does after each quant: unload, then remove. (A real `ollama rm`
    deletes the model but leaves a loaded runner in memory until its keep-alive ends.)"""
    for t in targets:
        backend.unload(t)
        backend.remove(t)


def loaded(server) -> list[str]:
    return [m.model for m in ollama.Client(host=server.url).ps().models]


def listed(server) -> list[str]:
    return [m.model for m in ollama.Client(host=server.url).list().models]


def test_good_folder_answers_2_and_stops(via, real_ollama, tiny_llama_path, tmp_path):
    t = folder_target(good_folder(tmp_path / "good", tiny_llama_path))
    with OllamaFaultProxy(real_ollama.url) as proxy, make_backend(via, proxy.url) as backend:
        backend.prepare(t)
        assert loaded(real_ollama) == [t.model]          # loaded by prepare, before any prompt
        res = backend.chat(t, ONE_PLUS_ONE, OPTIONS, timeout=60)
        assert res.text == "2"
        assert res.eval_tokens >= 1 and res.prompt_tokens > 10
        assert res.load_seconds > 0 and res.eval_seconds > 0
        if via == "api":
            assert res.done_reason == "stop"
        again = backend.chat(t, ONE_PLUS_ONE, OPTIONS, timeout=60)
        assert again.text == "2" and again.load_seconds < res.load_seconds   # loaded once per quant
        shown = backend.show(t)
        assert shown.template == ggufs.GEMMA_GO
        # as `ollama show` prints them (`%#v` of the stored JSON numbers): 1.0 prints as 1
        assert shown.parameters == {"stop": ["<end_of_turn>"], "temperature": 1, "top_k": 64, "top_p": 0.95,
                                    "num_predict": 24}
        backend.unload(t)
        assert loaded(real_ollama) == []
        done(backend, t)
    assert t.model not in listed(real_ollama)
    paths = [p for _, p, m in proxy.requests if m == t.model and p in ("/api/delete", "/api/create")]
    assert paths[:2] == ["/api/delete", "/api/create"]   # rm before create


def test_missing_stop_runs_away_and_leaks_the_end_token(via, real_ollama, tmp_path):
    """The tiny model ending its turns with a token llama.cpp does not know by name (Ollama ends
    generation at <end_of_turn> by its text, with or without the stop)."""
    gguf = ggufs.write_tiny_llama(tmp_path / "turn-end.gguf", end_token=ggufs.TURN_END)
    params = {k: v for k, v in PARAMS.items() if k != "stop"} | {"num_predict": 8}
    t = folder_target(good_folder(tmp_path / "nostop", gguf, params=params))
    with make_backend(via, real_ollama.url) as backend:
        backend.prepare(t)
        res = backend.chat(t, ONE_PLUS_ONE, OPTIONS, timeout=60)
        done(backend, t)
    assert res.done_reason == "length"   # cli: the --verbose eval count reached num_predict
    assert res.eval_tokens == 8
    assert res.text.startswith(f"2{ggufs.TURN_END}2{ggufs.TURN_END}")


def test_template_with_bos_is_visible(via, real_ollama, tiny_llama_path, tmp_path):
    t = folder_target(good_folder(tmp_path / "bos", tiny_llama_path, template="<bos>" + ggufs.GEMMA_GO))
    with make_backend(via, real_ollama.url) as backend:
        backend.prepare(t)
        rendered = backend.render(t, ONE_PLUS_ONE)
        shown = backend.show(t)
        done(backend, t)
    assert shown.template.startswith("<bos>")
    if via == "api":
        assert rendered == "<bos><start_of_turn>user\nWhat is 1+1?<end_of_turn>\n<start_of_turn>model\n"
    else:
        assert rendered is None  # the CLI never shows the prompt it built


def test_broken_gguf_is_a_load_error_and_the_next_quant_still_runs(via, real_ollama, tiny_llama_path, tmp_path):
    folder = good_folder(tmp_path / "mixed", tiny_llama_path, labels=("Q4_K_M", "Q8_0"), broken=("Q4_K_M",))
    broken, good = folder_target(folder, "Q4_K_M"), folder_target(folder, "Q8_0")
    with make_backend(via, real_ollama.url) as backend:
        with pytest.raises(LoadError) as info:
            backend.prepare(broken)
        backend.prepare(good)
        assert backend.chat(good, ONE_PLUS_ONE, OPTIONS, timeout=60).text == "2"
        done(backend, broken, good)
    # Ollama v0.24.0 refuses a GGUF whose tensor data is cut short at create, not at load
    assert "exceeds file size" in str(info.value), info.value
    assert broken.model not in listed(real_ollama)


def test_not_a_gguf_fails_at_create(via, real_ollama, tmp_path):
    folder = tmp_path / "junk"
    folder.mkdir()
    (folder / "tiny-Q8_0.gguf").write_bytes(b"not a gguf at all")
    (folder / "template").write_text(ggufs.GEMMA_GO)
    (folder / "params").write_text('{"stop": ["<end_of_turn>"]}')
    t = folder_target(folder)
    with make_backend(via, real_ollama.url) as backend, pytest.raises(LoadError) as info:
        backend.prepare(t)
    assert t.model not in listed(real_ollama)
    assert str(info.value)


def test_params_dropped_by_the_server_show_up_in_show(via, real_ollama, tiny_llama_path, tmp_path):
    """A server that ignores `parameters` at create (the fault injector strips them)."""
    t = folder_target(good_folder(tmp_path / "good", tiny_llama_path))
    with OllamaFaultProxy(real_ollama.url, [Fault("/api/create", strip=("parameters",))]) as proxy:
        with make_backend(via, proxy.url) as backend:
            backend.prepare(t)
            assert backend.show(t).parameters == {}
            done(backend, t)


def test_system_from_the_folder_is_reported_and_rendered(via, real_ollama, tiny_llama_path, tmp_path):
    system = 'Answer with a number.\nSay "2" when unsure.'
    t = folder_target(good_folder(tmp_path / "sys", tiny_llama_path, system=system))
    with make_backend(via, real_ollama.url) as backend:
        backend.prepare(t)
        assert backend.show(t).system == system
        if via == "api":
            assert backend.render(t, ONE_PLUS_ONE).startswith(
                '<start_of_turn>user\nAnswer with a number.\nSay "2" when unsure.<end_of_turn>')
        done(backend, t)


def test_render_is_none_when_the_server_ignores_debug_render_only(real_ollama, tiny_llama_path, tmp_path):
    """An Ollama older than `_debug_render_only` (the fault injector strips the field): it
    generates instead; the backend says it cannot render and does not ask again."""
    from publish.smoke.ollama_api import OllamaAPIBackend

    t = folder_target(good_folder(tmp_path / "good", tiny_llama_path))
    with OllamaFaultProxy(real_ollama.url, [Fault("/api/chat", strip=("_debug_render_only",))]) as proxy:
        with OllamaAPIBackend(proxy.url) as backend:
            backend.prepare(t)
            assert backend.render(t, ONE_PLUS_ONE) is None
            assert backend.render_supported is False
            assert proxy.calls("/api/chat") == 1   # the old server really generated; no second try
            assert backend.render(t, ONE_PLUS_ONE) is None
            assert proxy.calls("/api/chat") == 1
            done(backend, t)


def test_cli_cannot_type_a_conversation(real_ollama, tiny_llama_path, tmp_path):
    from publish.smoke.ollama_cli import OllamaCLIBackend

    t = folder_target(good_folder(tmp_path / "good", tiny_llama_path))
    with OllamaCLIBackend(real_ollama.url) as backend:
        with pytest.raises(Unsupported, match="--via api"):
            backend.chat(t, [{"role": "system", "content": "x"}, *ONE_PLUS_ONE], OPTIONS, timeout=60)


def test_one_model_loaded_at_a_time_and_unloaded_after_each_quant(real_ollama, tiny_llama_path, tmp_path):
    from publish.smoke.ollama_api import OllamaAPIBackend

    folder = good_folder(tmp_path / "two", tiny_llama_path, labels=("Q4_K_M", "Q8_0"))
    with OllamaAPIBackend(real_ollama.url) as backend:
        for label in ("Q4_K_M", "Q8_0"):
            t = folder_target(folder, label)
            backend.prepare(t)
            backend.chat(t, ONE_PLUS_ONE, OPTIONS, timeout=60)
            assert loaded(real_ollama) == [t.model]
            backend.unload(t)
            assert loaded(real_ollama) == []
            done(backend, t)


def test_an_answer_that_does_not_come_in_time(via, real_ollama, tiny_llama_path, tmp_path):
    """api: a load error naming the timeout; cli: `ollama run` is killed, done_reason "timeout".
    The fault injector holds the answer back."""
    t = folder_target(good_folder(tmp_path / "good", tiny_llama_path))
    path = "/api/chat" if via == "api" else "/api/generate"   # `ollama run NAME PROMPT` generates
    with OllamaFaultProxy(real_ollama.url) as proxy, make_backend(via, proxy.url) as backend:
        backend.prepare(t)
        proxy.faults.append(Fault(path, delay=2.0, times=1))
        if via == "api":
            with pytest.raises(LoadError, match="no answer within 0.5s"):
                backend.chat(t, ONE_PLUS_ONE, OPTIONS, timeout=0.5)
        else:
            res = backend.chat(t, ONE_PLUS_ONE, OPTIONS, timeout=0.5)
            assert res.done_reason == "timeout" and res.text == ""
        done(backend, t)


@pytest.mark.parametrize("fault", [Fault("/api/chat", drop=True, times=1),
                                   Fault("/api/chat", status=500, error="llama runner process has terminated",
                                         times=1)], ids=["dropped", "500"])
def test_a_failing_chat_is_a_load_error_of_that_quant(fault, real_ollama, tiny_llama_path, tmp_path):
    from publish.smoke.ollama_api import OllamaAPIBackend

    t = folder_target(good_folder(tmp_path / "good", tiny_llama_path))
    with OllamaFaultProxy(real_ollama.url) as proxy, OllamaAPIBackend(proxy.url) as backend:
        backend.prepare(t)
        proxy.faults.append(fault)
        with pytest.raises(LoadError) as info:
            backend.chat(t, ONE_PLUS_ONE, OPTIONS, timeout=30)
        if fault.status:
            assert "llama runner process has terminated" in str(info.value)
        assert backend.chat(t, ONE_PLUS_ONE, OPTIONS, timeout=30).text == "2"   # the server is still there
        done(backend, t)


def test_show_text_parsing_follows_what_ollama_prints():
    from publish.smoke.ollama_api import parse_parameters

    text = ('stop                           "<end_of_turn>"\n'
            'stop                           "say \\"bye\\"\\n"\n'
            "temperature                    1\n"
            "top_p                          0.95\n"
            "num_ctx                        1e+06\n"
            "use_mmap                       false\n")
    assert parse_parameters(text) == {"stop": ["<end_of_turn>", 'say "bye"\n'], "temperature": 1,
                                      "top_p": 0.95, "num_ctx": 1e6, "use_mmap": False}


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


def test_creating_from_a_folder_shows_the_blob_hash_at_a_terminal_only(real_ollama, tiny_llama_path, tmp_path,
                                                                      capsys, terminal, monkeypatch):
    """The API backend hashes the GGUF before it asks Ollama for the blob: a bar on stderr."""
    from publish import progress
    from publish.smoke.ollama_api import OllamaAPIBackend

    t = folder_target(good_folder(tmp_path / "f", tiny_llama_path))
    with OllamaAPIBackend(real_ollama.url) as backend:
        backend.prepare(t)
        done(backend, t)
    out, err = capsys.readouterr()
    assert out == "" and f"sha256 of {t.gguf.name}:   0%|" in err
    monkeypatch.setattr(progress, "is_terminal", lambda stream=None: False)
    with OllamaAPIBackend(real_ollama.url) as backend:
        backend.prepare(t)
        done(backend, t)
    assert capsys.readouterr() == ("", "")
