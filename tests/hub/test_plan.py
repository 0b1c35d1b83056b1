"""`publish ci-matrix` (formerly `publish plan --matrix`) for a spec, a folder and hf.co/ORG/NAME
(loopback Hub stand-in), and the
hf.co smoke it fans out to (loopback Ollama stand-in pulling what the Hub stand-in holds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from publish.cli import main
from smoke_folders import make_folder
from paths import ROOT

LABELS = ("Q2_K", "Q4_K_M", "Q8_0")


def plan(*args):
    return CliRunner().invoke(main, ["ci-matrix", *map(str, args)])


@pytest.fixture
def repo_folder(tmp_path, tiny_llama_path) -> Path:
    return make_folder(tmp_path / "tiny-GGUF", tiny_llama_path, labels=LABELS)


@pytest.fixture
def hub_repo(hub, repo_folder):  # noqa: F811
    hub.create_repo("alice-org/tiny-GGUF")
    for p in sorted(repo_folder.iterdir()):
        hub.put_file("alice-org/tiny-GGUF", p.name, p.read_bytes())
    hub.put_file("alice-org/tiny-GGUF", "mmproj-F16.gguf", (repo_folder / "tiny-Q8_0.gguf").read_bytes())
    return "alice-org/tiny-GGUF"


def test_spec_plan_targets_the_hub_repo():
    res = plan(ROOT / "examples/tiny/release.toml")
    assert res.exit_code == 0
    data = json.loads(res.stdout)
    assert [(e["shard"], e["quants"], e["target"]) for e in data["include"]] == [
        ("1/2", "F32", "hf.co/your-org/tiny-llama-GGUF"), ("2/2", "Q8_0", "hf.co/your-org/tiny-llama-GGUF")]


def test_hub_plan_lists_the_repo_quants_without_projectors(hub_repo):
    res = plan(f"hf.co/{hub_repo}", "--shards", "2")
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert [(e["shard"], e["quants"]) for e in data["include"]] == [("1/2", "Q2_K,Q8_0"), ("2/2", "Q4_K_M")]
    assert {e["target"] for e in data["include"]} == {f"hf.co/{hub_repo}"}


def test_unknown_hub_repo_is_a_setup_error(hub):  # noqa: F811
    res = plan("hf.co/alice-org/missing")
    assert res.exit_code == 2
    assert "not found" in res.output


def test_not_a_target(tmp_path):
    res = plan(tmp_path / "nothing.toml")
    assert res.exit_code == 2
    assert "not a release spec, a staged folder or hf.co/ORG/NAME" in res.output
    assert plan(ROOT / "examples/tiny/release.toml", "--shards", "0").exit_code == 2


@pytest.mark.real_ollama
def test_each_shard_smokes_its_quants_from_hf_co(hub, hub_repo, repo_folder, real_ollama):  # noqa: F811
    """The workflow's matrix job, end to end: every shard of the plan, smoked as hf.co by the
    real Ollama pulling from the Hub stand-in's registry (`--registry`); the release params come
    from the repo's own `params` file on the Hub."""
    import ollama

    matrix = json.loads(plan(f"hf.co/{hub_repo}", "--shards", "2").stdout)
    smoked = []
    host = hub.url.removeprefix("http://")
    for entry in matrix["include"]:
        res = CliRunner().invoke(main, ["smoke", entry["target"], "--registry", hub.url, "--shard", entry["shard"],
                                        "--json"])
        assert res.exit_code == 0, res.output
        data = json.loads(res.stdout)
        smoked += [q["label"] for q in data["quants"]]
        for q in data["quants"]:
            assert q["model"] == f"{host}/{hub_repo}:{q['label']}"
            checks = {c["name"]: c for c in q["cases"][0]["checks"]}
            assert checks["params"]["status"] == "pass"
            assert checks["render-jinja"]["status"] == "pass"  # header read over HTTP range requests
        assert entry["quants"].split(",") == [q["label"] for q in data["quants"]]
    assert sorted(smoked) == sorted(LABELS)
    assert hub.count("GET", rf"(?i)^/v2/{hub_repo}/manifests/Q8_0$") >= 1   # really pulled
    # pulled models are removed at the end (no --keep)
    assert not [m.model for m in ollama.Client(host=real_ollama.url).list().models if m.model.startswith(host)]


def test_spec_without_its_ggufs_plans_from_the_hub_repo(hub_repo, tmp_path):
    spec = (ROOT / "examples/tiny/release.toml").read_text()
    spec = spec.replace('repo = "your-org/tiny-llama-GGUF"', f'repo = "{hub_repo}"')
    (tmp_path / "ci").mkdir()
    path = tmp_path / "ci" / "release.toml"   # a checkout without the GGUFs next to it
    path.write_text(spec)
    res = plan(path)
    assert res.exit_code == 0, res.output
    entries = json.loads(res.stdout)["include"]
    assert [e["quants"] for e in entries] == ["Q2_K", "Q4_K_M", "Q8_0"]
    assert {e["target"] for e in entries} == {f"hf.co/{hub_repo}"}
