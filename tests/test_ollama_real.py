"""The same smoke against a REAL Ollama, whenever one answers at OLLAMA_HOST (default
127.0.0.1:11434); skipped otherwise, with the reason. No Ollama could be installed where these
tests were written: they have not run against a real server yet. Run them on a machine with
Ollama: `ollama serve &` then `pytest -m real_ollama`."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from publish.smoke.serve import base_url, server_version
from smoke_folders import GEMMA_GO_SYSTEM, GOOD_PARAMS, make_folder

URL = base_url()
VERSION = server_version(URL)

pytestmark = [
    pytest.mark.real_ollama,
    pytest.mark.skipif(VERSION is None, reason=f"no Ollama server answers at {URL} (set OLLAMA_HOST, or start `ollama serve`)"),
    pytest.mark.skipif(VERSION is not None and VERSION.endswith("-standin"),
                       reason=f"{URL} is the loopback stand-in, not a real Ollama"),
]


@pytest.fixture(scope="module")
def folders(tmp_path_factory, tiny_llama_path):
    root = tmp_path_factory.mktemp("real-ollama")
    return {
        "good": make_folder(root / "good", tiny_llama_path),
        "runaway": make_folder(root / "runaway", tiny_llama_path,
                               params={k: v for k, v in GOOD_PARAMS.items() if k != "stop"}),
        "bos": make_folder(root / "bos", tiny_llama_path, template="<bos>" + GEMMA_GO_SYSTEM),
    }


VIAS = ["api", pytest.param("cli", marks=pytest.mark.skipif(shutil.which("ollama") is None,
                                                            reason="the `ollama` command is not on PATH"))]


def smoke(folder, via):
    from publish.cli import main

    result = CliRunner().invoke(main, ["smoke", str(folder), "--backend", "ollama", "--via", via, "--json",
                                       "--timeout", "120"], catch_exceptions=False)
    return result, json.loads(result.stdout)


@pytest.mark.parametrize("via", VIAS)
def test_real_ollama_good_folder_passes(via, folders):
    res, data = smoke(folders["good"], via)
    assert res.exit_code == 0, res.output
    assert data["quants"][0]["cases"][0]["answer"].strip() == "2"


@pytest.mark.parametrize("via", VIAS)
def test_real_ollama_missing_stop_fails(via, folders):
    res, data = smoke(folders["runaway"], via)
    assert res.exit_code == 1
    checks = {c["name"]: c["status"] for c in data["quants"][0]["cases"][0]["checks"]}
    assert checks["leak"] == "fail"


@pytest.mark.parametrize("via", VIAS)
def test_real_ollama_double_bos_fails(via, folders):
    res, data = smoke(folders["bos"], via)
    assert res.exit_code == 1
    checks = {c["name"]: c["status"] for c in data["quants"][0]["cases"][0]["checks"]}
    assert checks["bos-text"] == "fail"
