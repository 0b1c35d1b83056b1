"""Our model of which `params` values real Ollama refuses, held to the REAL server (v0.24.0, the
session's `ollama_server`).

One tiny llama GGUF is uploaded once; each variant is a model created from that blob through
/api/create with `parameters` = the variant, which Ollama stores as the model's params layer
as given (server/create.go setParameters) -- the same JSON object the hf.co bridge takes from a
repo's `params` file -- and then asked through /api/generate. Ollama runs api.Options.FromMap
over those params on every request (server/routes.go modelOptions): the answer is either an
error or a generated token. Our verdicts are held to it: publish.modelfile.ollama_option_error
(the exact error text, or None), the smoke's runner.refused_params, lint's RP113 (an error
exactly where Ollama refuses; RP117 where it accepts but changes the value), and the spec
check `publish build` runs (it refuses every value Ollama refuses).
"""

from __future__ import annotations

import hashlib
import json

import httpx
import pytest

from publish.errors import ModelfileError
from publish.folder_rules import check_folder
from publish.modelfile import PARAMETER_TYPES, check_parameter_value, ollama_option_error
from publish.smoke.runner import refused_params

pytestmark = pytest.mark.real_ollama

# (key, value as the params file holds it, whether lint warns that Ollama changes or skips it:
# RP117); the comment is what real Ollama does
VARIANTS = [
    ("stop", "<end_of_turn>", False),         # refused: must be of type array
    ("stop", ["<end_of_turn>", 5], False),    # refused: must be of an array of strings
    ("stop", {"a": "b"}, False),              # refused
    ("stop", [], False),                      # accepted
    ("stop", None, True),                     # accepted (skipped)
    ("num_ctx", "4096", False),               # refused: no conversion from text
    ("num_ctx", 4096.0, False),               # accepted
    ("num_ctx", None, True),                  # accepted (skipped)
    ("top_k", 1.5, True),                     # accepted: truncated to 1
    ("top_k", -1, False),                     # accepted
    ("top_k", True, False),                   # refused: must be of type integer
    ("top_k", 1e30, True),                    # accepted (Go's int64 conversion: undefined)
    ("num_thread", [2], False),               # refused
    ("seed", "42", False),                    # refused
    ("temperature", "0.7", False),            # refused: must be of type float32
    ("temperature", 1, False),                # accepted: an integer is a JSON number
    ("temperature", False, False),            # refused
    ("temperature", 1e39, False),             # refused after loading: +Inf cannot be sent to the runner
    ("typical_p", {}, False),                 # refused
    ("min_p", -1e39, False),                  # refused after loading: -Inf
    ("use_mmap", "true", False),              # refused: must be of type boolean
    ("use_mmap", 1, False),                   # refused
    ("use_mmap", False, False),               # accepted
    ("temprature", "hot", False),             # accepted: unknown names are skipped (server log warning)
    ("tfs_z", "x", False),                    # accepted: removed option, skipped
    ("mirostat", "x", False),                 # accepted: deprecated option, skipped
]
IDS = [f"{k}={json.dumps(v)}" for k, v, _ in VARIANTS]


@pytest.fixture(scope="module")
def blob(ollama_server, tiny_llama_path) -> str:
    data = tiny_llama_path.read_bytes()
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    r = httpx.post(f"{ollama_server.url}/api/blobs/{digest}", content=data, timeout=60)
    assert r.status_code in (200, 201), r.text
    # a model that keeps the blob referenced: deleting a variant's model would remove it otherwise
    r = httpx.post(f"{ollama_server.url}/api/create", json={"model": "publish-options/anchor",
                                                            "files": {"tiny.gguf": digest}, "stream": False},
                   timeout=60)
    assert r.status_code == 200, r.text
    return digest


def server_verdict(url: str, digest: str, name: str, params: dict) -> str | None:
    """None when real Ollama generates with `params` as the model's params, else its error text."""
    r = httpx.post(f"{url}/api/create", json={"model": name, "files": {"tiny.gguf": digest},
                                              "parameters": params, "stream": False}, timeout=60)
    assert r.status_code == 200, r.text
    try:
        r = httpx.post(f"{url}/api/generate", json={"model": name, "prompt": "1+1=", "stream": False,
                                                    "options": {"num_predict": 1}, "keep_alive": 0}, timeout=120)
    finally:
        httpx.request("DELETE", f"{url}/api/delete", json={"model": name}, timeout=30)
    if r.status_code == 200:
        assert r.json()["done"], r.text
        return None
    return r.json()["error"]


def lint_codes(folder, key, value) -> set[str]:
    (folder / "params").write_text(json.dumps({key: value}), encoding="utf-8")
    return {f.code for f in check_folder(folder, {}) if f.subject == key}


@pytest.mark.parametrize("key, value, changed", VARIANTS, ids=IDS)
def test_our_verdicts_are_real_ollamas(ollama_server, blob, tmp_path, key, value, changed):
    index = IDS.index(f"{key}={json.dumps(value)}")
    real = server_verdict(ollama_server.url, blob, f"publish-options/v{index}", {key: value})

    assert ollama_option_error(key, value) == real
    smoke = refused_params({key: value})
    if real is None:
        assert smoke is None
    else:   # the case failure names the key, the value and Ollama's own text
        assert f"params {key} = {json.dumps(value)}: {real}" in smoke

    codes = lint_codes(tmp_path, key, value)
    assert ("RP113" in codes) == (real is not None), codes
    assert ("RP117" in codes) == changed, codes
    assert ("RP111" in codes) == (key not in PARAMETER_TYPES and key != "mirostat"), codes
    if real is not None:   # `publish build` never writes a params value Ollama refuses
        with pytest.raises(ModelfileError):
            check_parameter_value(key, value, where="params")


def test_a_refused_value_fails_the_request_even_when_the_request_sets_it(ollama_server, blob):
    """FromMap runs over the model's params before the request's options: the request cannot
    repair a refused params value."""
    name = "publish-options/override"
    r = httpx.post(f"{ollama_server.url}/api/create", json={"model": name, "files": {"tiny.gguf": blob},
                                                            "parameters": {"stop": "x"}, "stream": False},
                   timeout=60)
    assert r.status_code == 200, r.text
    try:
        r = httpx.post(f"{ollama_server.url}/api/chat", json={
            "model": name, "messages": [{"role": "user", "content": "1+1="}], "stream": False,
            "options": {"num_predict": 1, "stop": ["x"]}}, timeout=120)
    finally:
        httpx.request("DELETE", f"{ollama_server.url}/api/delete", json={"model": name}, timeout=30)
    assert r.status_code != 200 and r.json()["error"] == ollama_option_error("stop", "x")
