"""The hf.co path of both ollama backends at the backend level, on the REAL Ollama v0.24.0 pulling
from the loopback Hub stand-in's registry (tests/standins/hub.py; the model name carries the
stand-in's host, never hf.co): `ollama rm` comes before every pull, so a re-upload is really
fetched; a person at a terminal sees the pull progress. The end-to-end hf.co smoke (good, no stop,
double BOS, a tag no file answers, no template file) is tests/smoke/test_hf_co_real.py.
"""

from __future__ import annotations

import json

import pytest
from publish.smoke.base import Target
from smoke_folders import make_folder
from standins.ollama_faults import OllamaFaultProxy

pytestmark = pytest.mark.real_ollama

ONE_PLUS_ONE = [{"role": "user", "content": "What is 1+1?"}]


def upload(hub, repo, folder):  # noqa: F811
    for f in sorted(folder.iterdir()):
        hub.put_file(repo, f.name, f.read_bytes())


def make_backend(via: str, url: str, **kw):
    if via == "api":
        from publish.smoke.ollama_api import OllamaAPIBackend

        return OllamaAPIBackend(url, **kw)
    from publish.smoke.ollama_cli import OllamaCLIBackend

    return OllamaCLIBackend(url)


@pytest.mark.parametrize("via", ["api", "cli"])
def test_hf_target_is_removed_then_really_pulled(via, hub, real_ollama, tiny_llama_path, tmp_path):  # noqa: F811
    upload(hub, "org/tiny-GGUF", make_folder(tmp_path / "repo", tiny_llama_path,
                                             params={"stop": ["<end_of_turn>"], "num_predict": 24}))
    host = hub.url.removeprefix("http://")
    t = Target(label="Q8_0", model=f"{host}/org/tiny-GGUF:Q8_0", insecure=True)
    with OllamaFaultProxy(real_ollama.url) as proxy, make_backend(via, proxy.url) as backend:
        backend.prepare(t)
        assert backend.show(t).parameters == {"stop": ["<end_of_turn>"], "num_predict": 24}
        # a re-upload: the maintainer fixed the params on the Hub; the next smoke must see them
        hub.put_file("org/tiny-GGUF", "params", json.dumps({"stop": ["<end_of_turn>"], "num_predict": 8}).encode())
        backend.prepare(t)
        assert backend.show(t).parameters == {"stop": ["<end_of_turn>"], "num_predict": 8}
        assert backend.chat(t, ONE_PLUS_ONE, {"seed": 42}, timeout=60).text == "2"
        backend.unload(t)
        backend.remove(t)
    rm_pull = [p for _, p, m in proxy.requests if m == t.model and p in ("/api/delete", "/api/pull")]
    assert rm_pull[:4] == ["/api/delete", "/api/pull"] * 2


def test_pull_progress_for_a_person_at_a_terminal(hub, real_ollama, tiny_llama_path, tmp_path, capsys,  # noqa: F811
                                                  terminal):
    import hashlib

    from publish.smoke.ollama_api import OllamaAPIBackend

    upload(hub, "org/tiny-GGUF", make_folder(tmp_path / "repo", tiny_llama_path))
    t = Target(label="Q8_0", model=f"{hub.url.removeprefix('http://')}/org/tiny-GGUF:Q8_0", insecure=True)
    with OllamaAPIBackend(real_ollama.url) as backend:   # progress: publish.progress decides (a terminal)
        backend.prepare(t)
        backend.unload(t)
        backend.remove(t)
    out, err = capsys.readouterr()
    assert out == ""
    digest = hashlib.sha256(tiny_llama_path.read_bytes()).hexdigest()
    assert "pulling manifest" in err and f"pulling {digest[:12]}" in err and "success" in err
