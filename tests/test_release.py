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
