"""The loopback Ollama stand-in speaks Ollama's documented API (docs/api.md, api/types.go): shapes,
status codes and error bodies, so the backends tested against it meet what a real server sends."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import httpx
import ollama
import pytest
from conftest import have_llama_cpp

import ggufs
from ollama_standin import FAKE_BIN, STANDIN_VERSION, OllamaStandin, write_staged_folder


@pytest.fixture
def standin(tmp_path):
    with OllamaStandin(tmp_path / "store", hf_repos={"org/tiny-GGUF": tmp_path / "hub"}) as s:
        yield s


@pytest.fixture
def http(standin):
    with httpx.Client(base_url=standin.url, timeout=30) as client:
        yield client


def ndjson(resp: httpx.Response) -> list[dict]:
    assert resp.headers["content-type"].startswith("application/x-ndjson")
    return [json.loads(line) for line in resp.text.splitlines() if line.strip()]


def upload(http, data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    assert http.head(f"/api/blobs/{digest}").status_code == 404
    assert http.post(f"/api/blobs/{digest}", content=b"something else").status_code == 400
    assert http.post(f"/api/blobs/{digest}", content=data).status_code == 201
    assert http.head(f"/api/blobs/{digest}").status_code == 200
    return digest


def test_version_tags_and_not_found_errors(http):
    assert http.get("/api/version").json() == {"version": STANDIN_VERSION}
    assert http.get("/api/tags").json() == {"models": []}
    for method, path in (("POST", "/api/show"), ("DELETE", "/api/delete"), ("POST", "/api/chat"),
                         ("POST", "/api/generate")):
        r = http.request(method, path, json={"model": "nope"})
        assert (r.status_code, r.json()) == (404, {"error": "model 'nope' not found"})
    assert http.post("/api/nope").status_code == 404


def test_the_official_client_sees_ollama_errors(standin):
    client = ollama.Client(host=standin.url)
    with pytest.raises(ollama.ResponseError) as info:
        client.show("nope")
    assert (info.value.status_code, info.value.error) == (404, "model 'nope' not found")


def test_blob_digest_is_verified_and_create_streams_status(http, tmp_path, tiny_llama_path):
    digest = upload(http, tiny_llama_path.read_bytes())
    r = http.post("/api/create", json={"model": "tiny", "files": {"tiny.gguf": digest}, "template": "{{ .Prompt }}",
                                       "parameters": {"stop": ["<end_of_turn>"], "temperature": 0.5}})
    lines = ndjson(r)
    assert lines[0] == {"status": "parsing GGUF"} and lines[-1] == {"status": "success"}
    assert http.post("/api/create", json={"model": "tiny2", "files": {"tiny.gguf": digest},
                                          "stream": False}).json() == {"status": "success"}
    tags = http.get("/api/tags").json()["models"]
    assert {m["name"] for m in tags} == {"tiny:latest", "tiny2:latest"}
    assert all(m["digest"] == digest[7:] and m["details"]["format"] == "gguf" for m in tags)
    show = http.post("/api/show", json={"model": "tiny"}).json()
    assert show["parameters"].splitlines() == ['stop                           "<end_of_turn>"',
                                               "temperature                    0.5"]
    assert show["template"] == "{{ .Prompt }}" and show["details"]["family"] == "llama"
    missing = http.post("/api/create", json={"model": "x", "files": {"x.gguf": "sha256:" + "0" * 64}, "stream": False})
    assert missing.status_code == 400 and "not found" in missing.json()["error"]
    junk = upload(http, b"not a gguf")
    bad = http.post("/api/create", json={"model": "x", "files": {"x.gguf": junk}, "stream": False})
    assert (bad.status_code, bad.json()) == (400, {"error": "invalid file magic"})


def test_hf_pull_streams_progress_from_the_local_folder(http, tmp_path, tiny_llama_path):
    write_staged_folder(tmp_path / "hub", {"Q8_0": tiny_llama_path}, template="{{ .Prompt }}",
                        params={"stop": ["<end_of_turn>"]}, system="Be brief.")
    lines = ndjson(http.post("/api/pull", json={"model": "hf.co/org/tiny-GGUF:Q8_0"}))
    statuses = [line["status"] for line in lines]
    assert statuses[0] == "pulling manifest" and statuses[-3:] == ["verifying sha256 digest", "writing manifest", "success"]
    progress = [line for line in lines if "completed" in line]
    size = tiny_llama_path.stat().st_size
    assert progress[-1]["completed"] == progress[-1]["total"] == size
    assert progress[-1]["digest"] == "sha256:" + hashlib.sha256(tiny_llama_path.read_bytes()).hexdigest()
    show = http.post("/api/show", json={"model": "hf.co/org/tiny-GGUF:Q8_0"}).json()
    assert show["system"] == "Be brief." and show["template"] == "{{ .Prompt }}"
    bad = ndjson(http.post("/api/pull", json={"model": "hf.co/org/tiny-GGUF:Q2_K"}))
    assert "tag is not available" in bad[-1]["error"]
    assert "error" in ndjson(http.post("/api/pull", json={"model": "llama3.2"}))[-1]


@pytest.mark.llamacpp
@pytest.mark.skipif(not have_llama_cpp(), reason="llama-cpp-python is not installed (pip install 'publish[llamacpp]')")
def test_chat_generate_render_only_and_keep_alive(http, standin, tiny_llama_path):
    digest = upload(http, tiny_llama_path.read_bytes())
    http.post("/api/create", json={"model": "tiny", "files": {"tiny.gguf": digest}, "template": ggufs.GEMMA_GO,
                                   "system": "S", "parameters": {"stop": ["<end_of_turn>"]}, "stream": False})
    msgs = [{"role": "user", "content": "What is 1+1?"}]
    rendered = http.post("/api/chat", json={"model": "tiny", "messages": msgs, "_debug_render_only": True,
                                            "stream": False}).json()
    assert rendered["done"] is False
    assert rendered["_debug_info"]["rendered_template"] == (
        "<start_of_turn>user\nS<end_of_turn>\n<start_of_turn>user\nWhat is 1+1?<end_of_turn>\n<start_of_turn>model\n")
    gen = http.post("/api/generate", json={"model": "tiny", "prompt": "What is 1+1?", "system": "T",
                                           "_debug_render_only": True}).json()
    assert gen["_debug_info"]["rendered_template"].startswith("<start_of_turn>user\nT<end_of_turn>")

    one = http.post("/api/chat", json={"model": "tiny", "messages": msgs, "stream": False}).json()
    assert one["message"] == {"role": "assistant", "content": "2"} and one["done"] and one["done_reason"] == "stop"
    assert one["eval_count"] == 2 and one["prompt_eval_count"] > 0 and one["eval_duration"] > 0
    parts = ndjson(http.post("/api/chat", json={"model": "tiny", "messages": msgs}))  # streams by default
    assert "".join(p["message"]["content"] for p in parts) == "2" and parts[-1]["done"] is True
    raw = http.post("/api/generate", json={"model": "tiny", "prompt": "x", "raw": True, "stream": False,
                                           "options": {"num_predict": 3, "stop": []}}).json()
    assert raw["response"] == "2<end_of_turn>2" and raw["done_reason"] == "length"

    assert [m["name"] for m in http.get("/api/ps").json()["models"]] == ["tiny:latest"]
    unload = http.post("/api/generate", json={"model": "tiny", "keep_alive": 0}).json()
    assert unload["done_reason"] == "unload" and http.get("/api/ps").json() == {"models": []}
    http.post("/api/chat", json={"model": "tiny", "messages": msgs, "stream": False, "keep_alive": "0s"})
    assert standin.loaded_model is None  # keep_alive 0 on a chat unloads right after it


def test_stand_in_cli_errors_look_like_ollamas(standin, monkeypatch):
    env = {"OLLAMA_HOST": standin.url, "PATH": "/usr/bin:/bin", "PUBLISH_TEST_PYTHON": sys.executable}

    def ollama_cli(*args):
        return subprocess.run([str(FAKE_BIN / "ollama"), *args], env=env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL, timeout=30)

    rm = ollama_cli("rm", "nope")
    assert (rm.returncode, rm.stderr.strip()) == (1, "Error: model 'nope' not found")
    stop = ollama_cli("stop", "nope")
    assert stop.stderr.strip() == 'Error: couldn\'t find model "nope" to stop'
    assert ollama_cli("list").stdout.split() == ["NAME", "ID", "SIZE", "MODIFIED"]
    env["OLLAMA_HOST"] = "127.0.0.1:9"
    down = ollama_cli("list")
    assert (down.returncode, down.stderr.strip()) == (1, "Error: could not connect to ollama app, is it running?")
