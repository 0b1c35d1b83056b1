"""The real Gemma 3 270M base release through the real Ollama (the `real_ollama` fixture, v0.24.0),
`--via api` (/api/generate with the release's `{{ .Prompt }}` template) and `--via cli`
(`ollama rm`, `ollama create -f`, `ollama run NAME PROMPT`).

The folder is the example release with a shorter `num_predict` (4: " Tokyo" is one token; the
Ollama built by `make ollama` runs ggml without SIMD, about a second per token here)."""

from __future__ import annotations

import dataclasses
import json

import pytest
from click.testing import CliRunner

from publish.cli import main
from publish.modelkind import BASE_REASON

pytestmark = [pytest.mark.real_ollama]

JAPAN = "Question: What is the capital of Japan?\nAnswer:"


@pytest.fixture(scope="module")
def folder(tmp_path_factory, gemma3_270m):
    from publish.build import build
    from publish.spec import load_spec

    spec = load_spec("examples/gemma-3-270m/release.toml", gguf_dir=gemma3_270m.parent)
    spec = dataclasses.replace(spec, params={**spec.params, "num_predict": 4, "num_ctx": 256})
    return build(spec, tmp_path_factory.mktemp("gemma-ollama") / "gemma-3-270m-GGUF")


def smoke(folder, via, expect):
    res = CliRunner().invoke(main, ["smoke", str(folder), "--backend", "ollama", "--via", via, "--json",
                                    "--timeout", "600", "--prompt", JAPAN, "--expect", expect])
    return res, json.loads(res.stdout)


@pytest.mark.parametrize("via", ["api", "cli"])
def test_real_gemma_base_release_passes_in_the_real_ollama(via, folder, real_ollama):
    res, data = smoke(folder, via, r"^\s*Tokyo\b")
    assert res.exit_code == 0, res.output
    assert data["backend"] == f"ollama-{via}"
    (case,) = data["quants"][0]["cases"]
    assert case["answer"].startswith(" Tokyo")
    checks = {c["name"]: c for c in case["checks"]}
    assert checks["answer"]["status"] == "pass" and checks["leak"]["status"] == "pass"
    # Ollama reports the release's params and its {{ .Prompt }} template back (show)
    assert checks["params"]["status"] == "pass", checks["params"]
    for name in ("done", "render-jinja", "system", "turns"):
        assert checks[name]["status"] == "skip" and checks[name]["message"].startswith(BASE_REASON), name
    if via == "api":
        # /api/generate's own rendering (_debug_render_only) is the prompt itself
        assert checks["render-go"]["status"] == "pass"


@pytest.mark.parametrize("via", ["api", "cli"])
def test_real_gemma_wrong_expected_answer_fails_in_the_real_ollama(via, folder, real_ollama):
    res, data = smoke(folder, via, "^ Kyoto")
    assert res.exit_code == 1
    (case,) = data["quants"][0]["cases"]
    fails = [c for c in case["checks"] if c["status"] == "fail"]
    assert [c["name"] for c in fails] == ["answer"]
    assert fails[0]["message"].startswith("answer ' Tokyo") and "does not match /^ Kyoto/" in fails[0]["message"]
