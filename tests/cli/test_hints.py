"""Every expected failure ends in a hint that says what to do, the same one wherever the same
fault is met (lint and inspect, lint and build), and no hint points into publish's source tree
(an installed publish has none) or offers a choice the command does not take."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from publish.cli import main
from publish.gguf.sniff import CORRUPT

ROOT = Path(__file__).resolve().parent.parent.parent
TINY = ROOT / "examples" / "tiny"


def run(*args) -> tuple[int, list[str]]:
    """Exit code and the output's lines (stdout and stderr)."""
    r = CliRunner().invoke(main, [str(a) for a in args])
    return r.exit_code, r.output.splitlines()


def hints(lines: list[str]) -> list[str]:
    return [line.strip()[len("hint: "):] for line in lines if line.strip().startswith("hint: ")]


def truncated(tmp_path: Path) -> Path:
    path = tmp_path / "cut-Q8_0.gguf"
    path.write_bytes((TINY / "tiny-llama-Q8_0.gguf").read_bytes()[:1000])   # the header breaks off
    return path


def test_inspect_gives_lints_hint_for_a_truncated_file(tmp_path):
    path = truncated(tmp_path)
    code, lines = run("inspect", path)
    assert code == 2 and lines[0].startswith(f"error: {path}: at byte ")
    assert hints(lines) == [CORRUPT]
    code, lines = run("lint", path)
    assert code == 1 and hints(lines) == [CORRUPT]


def test_inspect_and_lint_say_the_same_for_a_folder_without_ggufs(tmp_path):
    (tmp_path / "notes.txt").write_text("no models here")
    expected = [f"error: no GGUF files in {tmp_path}",
                "  hint: pass .gguf files, folders that hold them, hf://ORG/NAME/FILE.gguf or hf.co/ORG/NAME[:TAG]"]
    assert run("inspect", tmp_path) == (2, expected)
    assert run("lint", tmp_path) == (2, expected)


def test_build_of_a_spec_whose_gguf_is_truncated_says_what_to_do(tmp_path):
    src = tmp_path / "src"
    shutil.copytree(TINY, src, ignore=shutil.ignore_patterns("*.md"))
    (src / "tiny-llama-Q8_0.gguf").write_bytes((TINY / "tiny-llama-Q8_0.gguf").read_bytes()[:1000])
    code, lines = run("build", src / "release.toml", "-o", tmp_path / "out")
    assert code == 2 and "tiny-llama-Q8_0.gguf: at byte " in lines[0]
    assert hints(lines) == [CORRUPT]


def test_build_given_a_gguf_says_it_is_a_model_not_a_spec(tmp_path):
    model = tmp_path / "my model.gguf"
    shutil.copyfile(TINY / "tiny-llama-F32.gguf", model)   # small enough to be read as text
    code, lines = run("build", model)
    assert code == 2 and lines[0] == f"error: {model}: that is a GGUF, not a release spec"
    assert hints(lines) == [f"did you mean `publish lint '{model}'` or `publish inspect '{model}'`? "
                            "`publish build` takes a release.toml that names the GGUFs (docs: the release spec page)"]


def test_build_given_a_file_named_gguf_that_is_not_one_says_what_it_looks_like(tmp_path):
    """An LFS pointer or an empty file named *.gguf given as the spec: what it looks like and the
    sniffer's fix, exit 2; never "invalid TOML" nor the spec's missing keys."""
    pointer = tmp_path / "lfs-Q4_K_M.gguf"
    pointer.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 4368439584\n")
    empty = tmp_path / "x.gguf"
    empty.write_bytes(b"")
    for path, looks in ((pointer, "a Git LFS pointer"), (empty, "an empty file")):
        code, lines = run("build", path)
        assert code == 2 and lines[0].startswith(f"error: {path}: named like a GGUF but looks like {looks}"), lines
        assert "not a release spec" in lines[0] and "TOML" not in " ".join(lines) and "missing" not in " ".join(lines)
        (hint,) = hints(lines)
        assert "download" in hint and "release.toml" in hint


def test_fix_offers_only_the_rules_it_applies(tmp_path):
    model = tmp_path / "m.gguf"
    shutil.copyfile(TINY / "tiny-llama-F32.gguf", model)
    code, lines = run("fix", model, "--select", "GG999", "--dry-run")
    assert code == 2 and lines[0] == "error: no rule matches 'GG999'"
    (hint,) = hints(lines)
    assert "GG101" in hint and "RP" not in hint
    code, lines = run("fix", model, "--select", "RP114", "--dry-run")
    assert code == 2 and lines[0] == ("error: RP114: a staged-folder rule: publish fix changes GGUF headers "
                                      "(GG rules); rebuild the folder with publish build")
    code, lines = run("lint", model, "--select", "RP114")   # lint does run the folder rules
    assert code == 0


def test_a_malformed_prompt_hint_gives_the_format_not_a_source_file(tmp_path):
    prompts = tmp_path / "prompts.toml"
    prompts.write_text('[[prompt]]\nprompt = "What is 2+2?"\n')   # no expect
    code, lines = run("smoke", TINY / "tiny-llama-Q8_0.gguf", "--prompts", prompts)
    assert code == 2 and lines[0] == f"error: {prompts}: prompt #1: `expect` (a regex string) is required"
    (hint,) = hints(lines)
    assert "`expect` (a regex searched in the answer)" in hint and ".py" not in hint
    spec = tmp_path / "release.toml"
    spec.write_text((TINY / "release.toml").read_text() + '\n[smoke]\nprompt = []\n')
    code, lines = run("build", spec, "-o", tmp_path / "out")
    assert code == 2 and any("smoke.prompt" in line for line in lines)
    assert all(".py" not in h for h in hints(lines)) and hints(lines)


def test_smoke_and_ci_matrix_explain_hf_file_addresses():
    """`hf://` names a file to read; smoke and ci-matrix take the name Ollama pulls (it answered
    "no such folder")."""
    code, lines = run("smoke", "hf://org/name")
    assert code == 2 and lines[0] == (
        "error: hf://org/name: an hf:// address names a Hub file to read (publish inspect and lint take it); "
        "publish smoke works on the model as Ollama pulls it, by the name hf.co/ORG/NAME[:TAG]")
    assert hints(lines) == ["run `publish smoke hf.co/org/name` (no tag: the Hub picks the quant Ollama pulls; "
                            "add :TAG for another)"]
    code, lines = run("smoke", "hf://org/x-GGUF@main/x-UD-Q4_K_XL.gguf")
    assert code == 2 and hints(lines) == ["run `publish smoke hf.co/org/x-GGUF:UD-Q4_K_XL`"]
    code, lines = run("ci-matrix", "hf://org/x-GGUF/sub/x-Q8_0.gguf")
    assert code == 2 and hints(lines) == ["run `publish ci-matrix hf.co/org/x-GGUF:Q8_0`"]


def test_push_given_a_hub_address_says_it_uploads_a_folder(tmp_path):
    """`publish push hf://org/x` said "hf:/org/x: not a folder" (the path mangled, nothing on why)."""
    code, lines = run("push", "hf://org/x-GGUF", "--dry-run")
    assert code == 2 and lines[0] == ("error: hf://org/x-GGUF: a Hub address; publish push uploads a local staged "
                                      "folder (the one `publish build` wrote) to the repo named by --repo")
    assert hints(lines) == ["run `publish push DIR --repo org/x-GGUF` with DIR the staged folder"]
    code, lines = run("push", "hf.co/org/x-GGUF:Q4_K_M", "--repo", "me/y-GGUF", "--dry-run")
    assert code == 2 and hints(lines) == ["run `publish push DIR --repo me/y-GGUF` with DIR the staged folder"]
