"""`publish release` checks the folder it ships: the staged-folder lint, no push after a failed
check, the repo recorded by the build, smoke prompts passed through."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

import ggufs
from gguf import GGMLQuantizationType as T
from publish.cli import main
from publish.lint import lint_paths
from publish.release import ReleaseOptions, release
from publish.staged import load_staged

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "examples" / "tiny"
OFFLINE = {"OLLAMA_HOST": "http://127.0.0.1:9"}


def split_spec(tmp_path: Path) -> Path:
    """A spec whose one quant is a 3-part split set written by gguf.GGUFWriter."""
    src = tmp_path / "src"
    src.mkdir()
    ggufs.write_gguf(src / "m-Q8_0.gguf", kv={"general.name": "m"},
                     tensors=[(f"blk.{i}.w", (32, 2), T.Q8_0) for i in range(5)], split_max_tensors=2)
    assert len(list(src.glob("m-Q8_0-0000?-of-00003.gguf"))) == 3
    spec = (TINY / "release.toml").read_text().replace('pattern = "tiny-llama-*.gguf"', 'pattern = "m-*.gguf"')
    path = src / "release.toml"
    path.write_text(spec)
    return path


def test_a_split_release_fails_at_the_folder_lint_and_agrees_with_lint_dir(tmp_path):
    out = tmp_path / "dist" / "m"
    result = release(split_spec(tmp_path), ReleaseOptions(out_dir=out, backend="llamacpp", keep_going=True,
                                                          host="http://127.0.0.1:9"))
    stage = result.stage("lint folder")
    assert stage is not None and stage.status == "failed", result.stages
    assert "RP120" in stage.detail
    # the same findings, code for code and file for file, as `publish lint DIR`
    alone = lint_paths([str(out)]).findings
    key = lambda f: (f.code, f.path, f.subject, f.message)  # noqa: E731
    assert sorted(map(key, result.folder_findings)) == sorted(map(key, alone))
    assert any(f.code.startswith("RP") for f in alone)
    assert result.exit_code == 1


def test_keep_going_never_pushes_after_a_failed_check(tmp_path, monkeypatch):
    import publish.hub.plan as plan_mod
    import publish.hub.push as push_mod

    calls = []
    monkeypatch.setattr(plan_mod, "plan_push", lambda *a, **kw: calls.append(("plan", a)))
    monkeypatch.setattr(push_mod, "push", lambda *a, **kw: calls.append(("push", a)))
    result = release(split_spec(tmp_path), ReleaseOptions(out_dir=tmp_path / "out", backend="llamacpp", push=True,
                                                          keep_going=True, repo="me/m-GGUF",
                                                          host="http://127.0.0.1:9"))
    push = result.stage("push")
    assert push.status == "skipped" and "lint folder" in push.summary, push
    assert calls == []
    assert result.stage("smoke hf.co").status == "skipped"


def test_the_build_records_its_repo_and_returns_the_staged_folder(tmp_path):
    from publish.build import build_folder
    from publish.spec import load_spec

    out = tmp_path / "tiny"
    built = build_folder(load_spec(TINY / "release.toml"), out)
    staged = built.staged
    assert staged.path == out and staged.repo == "your-org/tiny-llama-GGUF"
    assert sorted(q.label for q in staged.quants) == ["F32", "Q8_0"]
    assert sorted(staged.modelfiles) == ["F32", "Q8_0"] and staged.card == out / "README.md"
    assert staged.stops == ["<end_of_turn>"]
    # without the manifest the Modelfile header still names the repo
    (tmp_path / ".tiny.publish-build.json").unlink()
    assert load_staged(out).repo == "your-org/tiny-llama-GGUF"


def test_push_dry_run_takes_the_repo_from_the_staged_folder(tmp_path, hub):  # noqa: F811
    out = tmp_path / "tiny"
    res = CliRunner().invoke(main, ["build", str(TINY / "release.toml"), "-o", str(out)], catch_exceptions=False)
    assert res.exit_code == 0, res.output
    res = CliRunner().invoke(main, ["push", str(out), "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "your-org/tiny-llama-GGUF@main" in res.output and "dry run: nothing was sent" in res.output
    assert hub.requests and all("your-org/tiny-llama-GGUF" in r for r in map(str, hub.requests))


def test_push_without_repo_on_a_folder_that_records_none_says_what_to_pass(tmp_path):
    folder = tmp_path / "f"
    folder.mkdir()
    ggufs.write_gguf(folder / "m-Q8_0.gguf", kv={"general.name": "m"}, tensors=[("w", (32, 2), T.Q8_0)])
    res = CliRunner().invoke(main, ["push", str(folder), "--dry-run"])
    assert res.exit_code == 2
    assert "--repo ORG/NAME" in res.output and "Traceback" not in res.output


def test_release_passes_its_prompts_to_the_smoke(tmp_path, monkeypatch):
    import publish.smoke.runner as runner

    seen = []

    def fake_smoke(target, options):
        seen.append(options.prompts)
        raise SystemExit(0)

    monkeypatch.setattr(runner, "smoke", fake_smoke)
    prompts = tmp_path / "prompts.toml"
    prompts.write_text('[[prompt]]\nname = "two"\nprompt = "1+1?"\nexpect = "2"\n')
    res = CliRunner().invoke(main, ["release", str(TINY / "release.toml"), "-o", str(tmp_path / "out"),
                                    "--backend", "llamacpp", "--prompts", str(prompts)], env=OFFLINE)
    assert seen and [p.name for p in seen[0]] == ["two"], res.output


def test_an_empty_stop_list_is_a_spec_error_with_the_fix(tmp_path):
    for p in TINY.glob("*.gguf"):
        (tmp_path / p.name).write_bytes(p.read_bytes())
    spec = tmp_path / "release.toml"
    spec.write_text((TINY / "release.toml").read_text().replace('stop = ["<end_of_turn>"]', "stop = []"))
    res = CliRunner().invoke(main, ["build", str(spec), "-o", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert "params.stop" in res.output and "empty" in res.output
    assert 'stop = ["<end_of_turn>"]' in res.output and "Traceback" not in res.output


def test_build_refuses_to_rename_a_quant_to_a_label_its_header_contradicts(tmp_path):
    q8 = TINY / "tiny-llama-Q8_0.gguf"
    (tmp_path / "weights.gguf").write_bytes(q8.read_bytes())   # no label in the name
    spec = tmp_path / "release.toml"
    text = (TINY / "release.toml").read_text().replace('pattern = "tiny-llama-*.gguf"', "")
    text = text.replace('recommended = "Q8_0"', 'recommended = "Q4_K_M"')
    spec.write_text(text + '\n[[quants.files]]\nlabel = "Q4_K_M"\nfile = "weights.gguf"\n')
    res = CliRunner().invoke(main, ["build", str(spec), "-o", str(tmp_path / "out")])
    assert res.exit_code == 2, res.output
    assert "Q4_K_M" in res.output and "Q8_0" in res.output and "weights.gguf" in res.output
    assert not (tmp_path / "out" / "tiny-llama-Q4_K_M.gguf").exists()
    # the label its header carries is staged under that label
    spec.write_text(text.replace('"Q4_K_M"', '"Q8_0"') + '\n[[quants.files]]\nlabel = "Q8_0"\nfile = "weights.gguf"\n')
    res = CliRunner().invoke(main, ["build", str(spec), "-o", str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "tiny-llama-Q8_0.gguf").is_file()
