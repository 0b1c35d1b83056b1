"""`publish release` on the bundled tiny example, offline, with the llamacpp backend."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from publish.cli import main
from smoke_folders import GEMMA_GO_SYSTEM

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "examples" / "tiny"

pytestmark = [
    pytest.mark.llamacpp,
]

# No Ollama answers here (nothing listens on port 9); the Hub is the loopback stand-in where a
# test needs to prove it was not contacted.
OFFLINE = {"OLLAMA_HOST": "http://127.0.0.1:9"}


def release(*args):
    return CliRunner().invoke(main, ["release", *map(str, args)], env=OFFLINE, catch_exceptions=False)


def lines_of(output: str, stage: str) -> str:
    return next(line for line in output.splitlines() if line.strip().startswith(stage + " "))


def test_main_job_runs_offline_and_prints_the_push_plan(tmp_path, hub):  # noqa: F811
    out = tmp_path / "dist" / "tiny"
    res = release(TINY / "release.toml", "--backend", "llamacpp", "-o", out)
    assert res.exit_code == 0, res.output
    assert hub.requests == []  # without --push the Hub is not contacted
    text = res.stdout
    for stage in ("lint", "build", "smoke folder"):
        assert " passed " in lines_of(text, stage), text
    assert " skipped " in lines_of(text, "push") and "no --push" in lines_of(text, "push")
    assert "nothing pushed" in lines_of(text, "smoke hf.co")
    assert "2 quant(s) × 3 prompt(s): 6 passed, 0 failed" in lines_of(text, "smoke folder")
    # the push plan names every staged file with its size and sha256
    files = sorted(p for p in out.iterdir() if p.is_file() and not p.name.startswith("."))
    assert {p.name for p in files} >= {"template", "params", "README.md", "tiny-llama-Q8_0.gguf"}
    for p in files:
        assert f"sha256:{hashlib.sha256(p.read_bytes()).hexdigest()}" in text, p.name
    assert f"publish push {out} --repo your-org/tiny-llama-GGUF" in text
    assert text.rstrip().endswith("result: passed (local stages; nothing was pushed)")


@pytest.fixture
def runaway_spec(tmp_path) -> Path:
    """The tiny example with an inline template and no stop: its smoke runs away."""
    spec = (TINY / "release.toml").read_text()
    spec = spec.replace('family = "gemma3"', f"text = {json.dumps(GEMMA_GO_SYSTEM)}")
    spec = spec.replace('stop = ["<end_of_turn>"]\n', "")
    path = tmp_path / "release.toml"
    path.write_text(spec)
    return path


def test_failing_smoke_stops_the_release(runaway_spec, tmp_path):
    # the GGUFs come from --gguf-dir: a spec may only name files inside its own folder
    res = release(runaway_spec, "--gguf-dir", TINY, "--backend", "llamacpp", "-o", tmp_path / "out")
    assert res.exit_code == 1
    text = res.stdout
    smoke = lines_of(text, "smoke folder")
    assert " FAILED " in smoke and "add <end_of_turn> to params.stop" in smoke
    assert "an earlier stage failed" in lines_of(text, "push")
    assert "sha256:" not in text  # no push plan after a failure
    assert "== smoke folder ==" in text  # the failing stage's table is shown
    assert "result: FAILED at smoke folder" in text


def test_keep_going_runs_the_later_stages(runaway_spec, tmp_path):
    res = release(runaway_spec, "--gguf-dir", TINY, "--backend", "llamacpp", "-o", tmp_path / "out", "--keep-going")
    assert res.exit_code == 1
    assert "no --push" in lines_of(res.stdout, "push")
    assert "sha256:" in res.stdout


def test_bad_spec_is_a_setup_error(tmp_path):
    bad = tmp_path / "release.toml"
    bad.write_text('repo = "x"\n')
    res = release(bad, "--backend", "llamacpp")
    assert res.exit_code == 2
    assert "release.toml" in res.output


def test_push_without_ollama_skips_the_hub_smoke_with_the_reason(monkeypatch, tmp_path):
    """--push goes through publish.hub (replaced here: no Hub in this workplace); the hf.co smoke
    is skipped with the reason because no Ollama answers and none is installed."""
    import publish.hub.plan as plan_mod
    import publish.hub.push as push_mod
    from publish.release import ReleaseOptions, format_summary, release as run_release

    pushed = []
    monkeypatch.setattr(plan_mod, "plan_push", lambda folder, repo, **kw: ("plan", folder, repo))
    monkeypatch.setattr(plan_mod, "format_plan", lambda plan: "plan text")

    class Result:
        def summary(self):
            return "pushed 8 file(s) in one commit"

    monkeypatch.setattr(push_mod, "push", lambda plan, **kw: pushed.append(plan) or Result())
    monkeypatch.setenv("PATH", str(tmp_path))  # no `ollama` binary
    out = tmp_path / "out"
    result = run_release(TINY / "release.toml", ReleaseOptions(out_dir=out, push=True, repo="me/tiny-GGUF",
                                                              backend="llamacpp", host="http://127.0.0.1:9"))
    # the push plan gets the folder the build read (one object), not a path to read again
    assert pushed == [("plan", result.staged, "me/tiny-GGUF")] and result.staged.path == out
    assert result.stage("push").status == "passed"
    hub = result.stage("smoke hf.co")
    assert hub.status == "skipped" and "Ollama is not available" in hub.summary
    assert result.exit_code == 0
    assert "result: passed" in format_summary(result) and "nothing was pushed" not in format_summary(result)


def release_json(*args) -> tuple[int, dict]:
    res = release(*args, "--format", "json")
    return res.exit_code, json.loads(res.stdout)   # stdout is the one JSON document, nothing else


def test_format_json_gives_each_stage_with_its_result(tmp_path, hub):
    out = tmp_path / "dist" / "tiny"
    code, doc = release_json(TINY / "release.toml", "--backend", "llamacpp", "-o", out)
    assert code == 0 and doc["passed"] is True and doc["exit_code"] == 0
    assert doc["failed_stage"] is None and doc["failed_stages"] == [] and doc["pushed"] is False
    assert doc["repo"] == "your-org/tiny-llama-GGUF" and doc["folder"] == str(out)
    stages = {s["name"]: s for s in doc["stages"]}
    assert [s["name"] for s in doc["stages"]] == ["lint", "build", "lint folder", "smoke folder", "push", "smoke hf.co"]
    assert {n: s["status"] for n, s in stages.items()} == {
        "lint": "passed", "build": "passed", "lint folder": "passed", "smoke folder": "passed",
        "push": "skipped", "smoke hf.co": "skipped"}
    built = stages["build"]["result"]
    assert built["folder"] == str(out)
    assert {f["name"]: f["size"] for f in built["files"]} == {
        p.name: p.stat().st_size for p in out.iterdir() if p.is_file() and not p.name.startswith(".")}
    assert isinstance(stages["lint"]["result"]["findings"], list)
    smoke = stages["smoke folder"]["result"]
    assert smoke["backend"] == "llamacpp" and smoke["passed"] is True
    assert sorted(q["label"] for q in smoke["quants"]) == ["F32", "Q8_0"] and smoke["counts"]["pass"] == 6
    local = stages["push"]["result"]
    assert local["pushed"] is False
    assert {f["path"]: f["sha256"] for f in local["local"]} == {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in out.iterdir()
        if p.is_file() and not p.name.startswith(".")}
    assert stages["smoke hf.co"]["result"] is None and "nothing pushed" in stages["smoke hf.co"]["summary"]
    assert hub.requests == []


def test_format_json_names_the_stage_that_failed(runaway_spec, tmp_path):
    code, doc = release_json(runaway_spec, "--gguf-dir", TINY, "--backend", "llamacpp", "-o", tmp_path / "out")
    assert code == 1 and doc["exit_code"] == 1 and doc["passed"] is False
    assert doc["failed_stage"] == "smoke folder" and doc["failed_stages"] == ["smoke folder"]
    stages = {s["name"]: s for s in doc["stages"]}
    assert stages["smoke folder"]["status"] == "failed" and stages["smoke folder"]["exit_code"] == 1
    failed = [c for q in stages["smoke folder"]["result"]["quants"] for c in q["cases"] if c["status"] == "fail"]
    assert failed and any("<end_of_turn>" in ch["message"] for c in failed for ch in c["checks"] if ch["message"])
    assert stages["push"]["status"] == "skipped" and stages["push"]["result"] is None


def test_format_json_of_a_setup_failure_in_a_stage(tmp_path):
    """A stage's error (here: no GGUF in the --gguf-dir) is that stage's failure, exit 2, with the
    error's message as the stage's detail and its hint apart in error.hint (never a literal
    "\\n  hint:" inside the one-line detail); the later stages are skipped, with no result."""
    code, doc = release_json(TINY / "release.toml", "--gguf-dir", tmp_path, "--backend", "llamacpp",
                             "-o", tmp_path / "out")
    assert code == 2 and doc["exit_code"] == 2 and doc["failed_stage"] == "lint"
    lint, *later = doc["stages"]
    assert lint["status"] == "failed" and lint["exit_code"] == 2 and lint["result"] is None
    assert "matches no file" in lint["detail"] and "hint" not in lint["detail"] and "\n" not in lint["detail"]
    assert "matches no file" in lint["error"]["message"] and lint["error"]["hint"].startswith("pass --gguf-dir")
    assert [(s["status"], s["result"]) for s in later] == [("skipped", None)] * 5


def test_push_format_json_gives_the_commit_and_never_the_token(tmp_path, hub):
    """--push against the Hub stand-in with a (fake) HF_TOKEN set: the push stage's result names the
    commit; neither the JSON nor the text summary holds the token."""
    import os

    token = os.environ["HF_TOKEN"]
    assert token.startswith("hf_standin")
    hub.create_repo("alice/tiny-GGUF")
    out = tmp_path / "out"
    code, doc = release_json(TINY / "release.toml", "--backend", "llamacpp", "-o", out, "--push",
                             "--repo", "alice/tiny-GGUF")
    assert code == 0, doc
    push = next(s for s in doc["stages"] if s["name"] == "push")
    assert push["status"] == "passed" and doc["pushed"] is True
    result = push["result"]
    assert result["committed"] is True and result["commit"]["oid"] == hub.head("alice/tiny-GGUF").oid
    assert {u["path"] for u in result["uploaded"]} == {
        p.name for p in out.iterdir() if p.is_file() and not p.name.startswith(".")}
    assert result["unchanged"] == []
    text = release(TINY / "release.toml", "--backend", "llamacpp", "-o", out, "--push", "--repo", "alice/tiny-GGUF",
                   "-v")
    assert text.exit_code == 0, text.output
    assert "up to date" in lines_of(text.stdout, "push")
    again = release_json(TINY / "release.toml", "--backend", "llamacpp", "-o", out, "--push",
                         "--repo", "alice/tiny-GGUF")[1]
    pushed = next(s for s in again["stages"] if s["name"] == "push")["result"]
    assert pushed["committed"] is False and len(pushed["unchanged"]) == len(result["uploaded"])
    for printed in (json.dumps(doc), json.dumps(again), text.stdout, text.stderr):
        assert token not in printed


def test_push_refused_is_the_push_stages_error_and_never_shows_the_token(tmp_path, hub, monkeypatch):
    from standins.hub import READ_TOKEN

    monkeypatch.setenv("HF_TOKEN", READ_TOKEN)   # a (fake) token that may read, not write
    hub.create_repo("alice/tiny-GGUF")
    args = (TINY / "release.toml", "--backend", "llamacpp", "-o", tmp_path / "out", "--push", "--repo", "alice/tiny-GGUF")
    res = release(*args, "--format", "json")
    doc = json.loads(res.stdout)
    assert res.exit_code == doc["exit_code"] == 2 and doc["failed_stage"] == "push" and doc["pushed"] is False
    push = next(s for s in doc["stages"] if s["name"] == "push")
    assert push["result"] is None and "no write access" in push["error"]["message"]
    assert "no write access" in push["detail"] and "\n" not in push["detail"] and "hint:" not in push["detail"]
    text = release(*args)
    assert text.exit_code == 2 and "no write access" in text.stdout
    for printed in (res.stdout, res.stderr, text.stdout, text.stderr):
        assert READ_TOKEN not in printed


def test_no_server_reason_says_how_to_ask_for_serve(monkeypatch, tmp_path):
    """With an `ollama` on PATH and no server, the hf.co smoke's skip reason says how to start one:
    `pass --serve` on the command line, `make demo DEMO_FLAGS=--serve` under `make demo` (the
    Makefile's variable: a bare --serve cannot be passed to make)."""
    import re

    from publish.release import ollama_unavailable

    fake = tmp_path / "ollama"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("PUBLISH_SERVE_HINT", raising=False)
    assert ollama_unavailable("http://127.0.0.1:9", serve=False).endswith("(pass --serve to start one)")

    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    [hint] = re.findall(r'PUBLISH_SERVE_HINT="([^"]+)"', makefile)
    variable = re.search(r"DEMO_FLAGS=--serve", hint) and "DEMO_FLAGS"
    assert variable and re.search(rf"^{variable} \?=", makefile, re.M) and f"$({variable})" in makefile
    monkeypatch.setenv("PUBLISH_SERVE_HINT", hint)
    assert ollama_unavailable("http://127.0.0.1:9", serve=False).endswith(
        "(run make demo DEMO_FLAGS=--serve to start one)")
