"""The seed's two Gemma 3n faults, on the real Ollama (the `ollama_server` fixture, v0.24.0).

A tiny gemma3n (tests/ggufs.write_tiny_gemma3n: every tensor and key Ollama's gemma3n engine
reads, random weights) is created in the real Ollama and run greedily; then the same model with

- `gemma3n.attention.shared_kv_layers` stored as FLOAT32 (GG101), before and after `publish fix`;
- `per_layer_token_embd.weight` as Q4_K (GG102), the same values as the good file's F32 tensor.

What the real engine does with each is asserted here and written down in docs/real-engines.md
and in the GG101/GG102 rule docs.
"""

from __future__ import annotations

import shutil

import pytest
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as T

import ggufs
from publish.lint import lint_paths

pytestmark = [pytest.mark.real_ollama]

OPTIONS = {"temperature": 0.0, "num_predict": 16, "seed": 1, "num_ctx": 256}
PROMPT = "Hello"


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("gemma3n")
    return {
        "good": ggufs.write_tiny_gemma3n(root / "good.gguf"),
        "shared-kv-float32": ggufs.write_tiny_gemma3n(root / "shared-kv-float32.gguf", shared_kv_type=T.FLOAT32),
        "per-layer-q4_k": ggufs.write_tiny_gemma3n(root / "per-layer-q4_k.gguf", per_layer_type=Q.Q4_K),
        "per-layer-q8_0": ggufs.write_tiny_gemma3n(root / "per-layer-q8_0.gguf", per_layer_type=Q.Q8_0),
    }


def run_in_ollama(server, gguf, name: str) -> str:
    """create NAME from the GGUF (template {{ .Prompt }}), generate greedily, return the text.
    Raises ollama.ResponseError with the server's own message when create or generate fails."""
    import ollama

    from publish.hub.hashing import sha256_file

    client = ollama.Client(host=server.url, timeout=300)
    digest = f"sha256:{sha256_file(gguf)}"
    client.create_blob(gguf)
    client.create(model=name, files={gguf.name: digest}, template="{{ .Prompt }}", stream=False)
    try:
        return client.generate(model=name, prompt=PROMPT, options=OPTIONS, stream=False).response
    finally:
        try:
            client.generate(model=name, keep_alive=0)
            client.delete(name)
        except ollama.ResponseError:
            pass


@pytest.fixture(scope="module")
def good_text(ollama_server, files):
    text = run_in_ollama(ollama_server, files["good"], "publish-test/gemma3n:good")
    assert len(text) >= 8, f"the tiny gemma3n should write text, wrote {text!r}"
    return text


def codes(path) -> set[str]:
    return {f.code for f in lint_paths([str(path)]).findings}


def test_the_tiny_gemma3n_runs_in_the_real_ollama_and_lints_clean(files, good_text, ollama_server):
    assert not {"GG101", "GG102", "GG103"} & codes(files["good"])
    # deterministic: the same file, created again, writes the same text
    assert run_in_ollama(ollama_server, files["good"], "publish-test/gemma3n:again") == good_text


def test_shared_kv_layers_as_float32_runs_with_the_wrong_kv_sharing_and_fix_repairs_it(
        files, good_text, ollama_server, tmp_path):
    broken = files["shared-kv-float32"]
    assert "GG101" in codes(broken)
    text = run_in_ollama(ollama_server, broken, "publish-test/gemma3n:shared-kv-float32")
    # Ollama reads the key with a Go type assertion to uint32: a FLOAT32 reads as 0, so no layer
    # shares its KV cache; the model loads and writes something else than the good file
    assert text != good_text

    from click.testing import CliRunner

    from publish.cli import main

    fixed = tmp_path / "fixed.gguf"
    shutil.copyfile(broken, fixed)
    res = CliRunner().invoke(main, ["fix", str(fixed)])
    assert res.exit_code == 0, res.output
    assert "GG101" not in codes(fixed)
    assert run_in_ollama(ollama_server, fixed, "publish-test/gemma3n:fixed") == good_text


def test_per_layer_token_embd_q4_k_on_the_cpu(files, good_text, ollama_server):
    q4k = files["per-layer-q4_k"]
    assert "GG102" in codes(q4k)
    # the same values as the good file's F32 tensor: on the CPU backend Ollama v0.24.0 looks rows
    # of a Q4_K tensor up like any other type, so the model writes the same text
    assert run_in_ollama(ollama_server, q4k, "publish-test/gemma3n:per-layer-q4_k") == good_text


def test_per_layer_token_embd_q8_0_is_not_flagged_and_runs(files, ollama_server):
    q8 = files["per-layer-q8_0"]
    assert "GG102" not in codes(q8)
    assert len(run_in_ollama(ollama_server, q8, "publish-test/gemma3n:per-layer-q8_0")) >= 8
