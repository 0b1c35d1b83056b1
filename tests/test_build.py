"""publish build: spec -> staged folder that passes lint, deterministic, GGUFs linked not symlinked."""

from __future__ import annotations

import json
import os
import re
import shutil
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import ggufs
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as T
from publish.build import build, build_folder
from publish.cli import main
from publish.errors import SpecError, SpecErrors, UsageError
from publish.lint import lint_paths
from publish.modelfile import ollama_value, parse
from publish.spec import load_spec
from publish.staged import load_staged

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "examples" / "tiny" / "release.toml"
GEMMA = ROOT / "examples" / "gemma-3n-E4B-it" / "release.toml"

# label -> (general.file_type, weight type (None: the Q4_K/Q6_K mix), per_layer_token_embd type)
GEMMA_QUANTS = {
    "UD-Q4_K_XL": (15, None, Q.Q8_0),
    "Q4_K_M": (15, None, Q.Q8_0),
    "Q8_0": (7, Q.Q8_0, Q.Q8_0),
    "BF16": (32, Q.BF16, Q.BF16),
}


@pytest.fixture(scope="session")
def gemma_ggufs(tmp_path_factory) -> Path:
    """Header-realistic, lint-clean gemma3n GGUFs for every quant of the Gemma example."""
    folder = tmp_path_factory.mktemp("gemma-ggufs")
    for label, (file_type, weights, per_layer) in GEMMA_QUANTS.items():
        ggufs.write_gemma3n_like(folder / f"gemma-3n-E4B-it-{label}.gguf", shared_kv_type=T.UINT32,
                                 per_layer_type=per_layer, weight_type=weights, file_type=file_type)
    return folder


@pytest.fixture(scope="session")
def gemma_folder(gemma_ggufs, tmp_path_factory) -> Path:
    return build(load_spec(GEMMA), tmp_path_factory.mktemp("gemma-dist") / "out", gguf_dir=gemma_ggufs)


def text_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix != ".gguf"}


def assert_lint_clean(folder: Path) -> None:
    result = lint_paths([str(folder)])
    errors = [f for f in result.findings if f.severity.value == "error"]
    assert not errors, errors
    assert not [f for f in result.findings if f.code.startswith("RP")]


def test_tiny_example_builds_a_folder_that_passes_lint(tmp_path):
    folder = build(load_spec(TINY), tmp_path / "tiny")
    assert sorted(p.name for p in folder.iterdir()) == [
        "Modelfile.F32", "Modelfile.Q8_0", "README.md", "params", "system", "template",
        "tiny-llama-F32.gguf", "tiny-llama-Q8_0.gguf"]
    assert_lint_clean(folder)
    staged = load_staged(folder)
    spec = load_spec(TINY)
    assert [q.label for q in staged.quants] == ["F32", "Q8_0"]
    assert staged.template == spec.template.text
    assert staged.params == spec.params
    assert staged.system == spec.system
    assert staged.stops == ["<end_of_turn>"]
    card = (folder / "README.md").read_text()
    assert ("```text\n<start_of_turn>user\nYou are a calculator. Answer with the number only.\n\n"
            "Hello!<end_of_turn>\n<start_of_turn>model\n\n```") in card   # the prompt Ollama builds
    assert (folder / "params").read_text() == (
        '{\n  "num_ctx": 512,\n  "num_predict": 16,\n  "seed": 42,\n  "stop": [\n    "<end_of_turn>"\n  ],\n'
        '  "temperature": 1.0\n}\n')


def test_gemma_example_with_gguf_dir_passes_lint(gemma_folder):
    assert_lint_clean(gemma_folder)
    staged = load_staged(gemma_folder)
    assert sorted(q.label for q in staged.quants) == sorted(GEMMA_QUANTS)
    assert staged.params["stop"] == ["<end_of_turn>"] and staged.params["num_ctx"] == 32768
    assert staged.system is None and not (gemma_folder / "system").exists()


def test_card_front_matter_table_and_run_lines(gemma_folder):
    card = (gemma_folder / "README.md").read_text()
    meta = yaml.safe_load(card.split("---\n")[1])
    assert meta == {"base_model": "google/gemma-3n-E4B-it", "base_model_relation": "quantized",
                    "license": "gemma", "pipeline_tag": "text-generation", "quantized_by": "your-org",
                    "tags": ["gguf", "ollama", "gemma3n", "unsloth"]}
    rows = [line for line in card.splitlines() if line.startswith("| ") and ".gguf`" in line]
    assert len(rows) == 4
    assert rows[0].startswith("| UD-Q4_K_XL (recommended) | `gemma-3n-E4B-it-UD-Q4_K_XL.gguf` |")
    bf16 = next(r for r in rows if r.startswith("| BF16 "))
    assert "| 16.01 |" in bf16      # bits per weight from the header: BF16 weights + one F32 norm
    q8 = next(r for r in rows if r.startswith("| Q8_0 "))
    assert "| 8.51 |" in q8          # Q8_0 blocks: 34 bytes per 32 weights, plus the F32 norm
    for label in GEMMA_QUANTS:
        assert f"ollama run hf.co/your-org/gemma-3n-E4B-it-GGUF:{label}\n" in card
        assert f"llama-cli -hf your-org/gemma-3n-E4B-it-GGUF:{label}\n" in card
    assert "| `top_k` | `64` |" in card and "| `stop` | `[\"<end_of_turn>\"]` |" in card
    assert (gemma_folder / "template").read_text() in card


def test_one_modelfile_per_quant_matches_the_folder(gemma_folder):
    template = (gemma_folder / "template").read_text()
    for label in GEMMA_QUANTS:
        mf = parse((gemma_folder / f"Modelfile.{label}").read_bytes())
        assert mf.from_ == [f"./gemma-3n-E4B-it-{label}.gguf"]
        assert mf.template == template
        # Ollama's reading of it: float options as float32
        assert mf.parameters() == {k: ollama_value(k, v) for k, v in load_spec(GEMMA).params.items()}
        assert mf.licenses == ["gemma"]


def test_build_is_deterministic(tmp_path):
    a = build(load_spec(TINY), tmp_path / "a")
    b = build(load_spec(TINY), tmp_path / "b")
    assert text_files(a) == text_files(b)
    again = build_folder(load_spec(TINY), a)
    assert {f.action for f in again.files} == {"unchanged"}
    assert text_files(a) == text_files(b)


def test_ggufs_are_hard_links_never_symlinks(tmp_path):
    result = build_folder(load_spec(TINY), tmp_path / "out")
    for f in result.files:
        p = result.folder / f.name
        assert not p.is_symlink()
        if f.name.endswith(".gguf"):
            assert f.action == "hard link"
            assert p.stat().st_ino == (TINY.parent / f.name).stat().st_ino


def test_copy_when_links_fail_and_rebuild_sees_it_unchanged(tmp_path, monkeypatch):
    def no_link(*a, **k):
        raise OSError(18, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", no_link)
    result = build_folder(load_spec(TINY), tmp_path / "out")
    for f in result.files:
        if f.name.endswith(".gguf"):
            p = result.folder / f.name
            assert f.action in ("copy", "reflink")
            assert p.read_bytes() == (TINY.parent / f.name).read_bytes()
            assert p.stat().st_ino != (TINY.parent / f.name).stat().st_ino
    again = build_folder(load_spec(TINY), tmp_path / "out")
    assert {f.action for f in again.files} == {"unchanged"}


def test_a_symlink_in_the_folder_is_replaced_by_a_real_file(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "tiny-llama-Q8_0.gguf").symlink_to(TINY.parent / "tiny-llama-Q8_0.gguf")
    (out / "params").symlink_to(TINY)
    build(load_spec(TINY), out)
    assert not any(p.is_symlink() for p in out.iterdir())


def _copy_tiny(tmp_path: Path, extra: str = "") -> Path:
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    for p in TINY.parent.glob("*.gguf"):
        shutil.copyfile(p, src / p.name)
    spec = src / "release.toml"
    spec.write_text(TINY.read_text() + extra)
    return spec


def test_rebuild_removes_stale_generated_files_but_not_user_files(tmp_path):
    spec_path = _copy_tiny(tmp_path)
    out = tmp_path / "out"
    build(load_spec(spec_path), out)
    (out / "notes.txt").write_text("mine")
    (tmp_path / "src" / "tiny-llama-F32.gguf").unlink()
    result = build_folder(load_spec(spec_path), out)
    assert result.removed == ["Modelfile.F32", "tiny-llama-F32.gguf"]
    assert result.foreign == ["notes.txt"]
    assert (out / "notes.txt").read_text() == "mine"
    assert [q.label for q in load_staged(out).quants] == ["Q8_0"]
    assert "tiny-llama-F32" not in (out / "README.md").read_text()


def test_explicit_labels_rename_files_that_do_not_carry_them(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copyfile(TINY.parent / "tiny-llama-Q8_0.gguf", src / "model.gguf")
    (src / "release.toml").write_text(textwrap.dedent("""\
        repo = "acme/tiny-GGUF"
        base_model = "acme/tiny"
        license = "mit"
        quantized_by = "acme"
        [template]
        family = "gemma3"
        [quants]
        files = [{ label = "Q8_0", file = "model.gguf" }]
        """))
    folder = build(load_spec(src / "release.toml"), tmp_path / "out")
    assert (folder / "tiny-Q8_0.gguf").is_file()
    assert parse((folder / "Modelfile.Q8_0").read_text()).from_ == ["./tiny-Q8_0.gguf"]
    assert [q.label for q in load_staged(folder).quants] == ["Q8_0"]


def test_missing_gguf_is_refused_before_anything_is_written(tmp_path):
    spec = load_spec(GEMMA)
    with pytest.raises(SpecError, match=r"quants.files\[0\].file: file not found") as info:
        build(spec, tmp_path / "out", gguf_dir=tmp_path)
    assert "--gguf-dir" in info.value.hint
    assert not (tmp_path / "out").exists()


def test_not_a_gguf_is_refused(tmp_path):
    spec_path = _copy_tiny(tmp_path)
    (tmp_path / "src" / "tiny-llama-Q8_0.gguf").write_bytes(b"not a gguf at all")
    with pytest.raises(Exception) as info:
        build(load_spec(spec_path), tmp_path / "out")
    assert "tiny-llama-Q8_0.gguf" in str(info.value)
    assert not (tmp_path / "out").exists()


def test_default_out_dir_is_dist_name(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert build(load_spec(TINY)) == Path("dist") / "tiny-llama-GGUF"
    assert (tmp_path / "dist" / "tiny-llama-GGUF" / "README.md").is_file()


def test_cli_build(tmp_path, gemma_ggufs):
    runner = CliRunner()
    res = runner.invoke(main, ["build", str(GEMMA), "-o", str(tmp_path / "g"), "--gguf-dir", str(gemma_ggufs)])
    assert res.exit_code == 0, res.output
    assert "gemma-3n-E4B-it-BF16.gguf" in res.output and "hard link" in res.output
    assert f"next: publish lint {tmp_path / 'g'}" in res.output
    res = runner.invoke(main, ["build", str(GEMMA), "-o", str(tmp_path / "h"), "--gguf-dir", str(tmp_path)])
    assert res.exit_code == 2
    assert "error:" in res.output and "quants.files[0].file" in res.output and "--gguf-dir" in res.output


def test_cli_build_format_json(tmp_path):
    out = tmp_path / "out"
    res = CliRunner().invoke(main, ["build", str(TINY), "-o", str(out), "--format", "json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["folder"] == str(out) and doc["repo"] == "your-org/tiny-llama-GGUF"
    assert {f["name"]: f["size"] for f in doc["files"]} == {
        p.name: p.stat().st_size for p in out.iterdir() if p.is_file() and not p.name.startswith(".")}
    assert {f["action"] for f in doc["files"] if f["name"].endswith(".gguf")} <= {"hard link", "reflink", "copy"}
    assert doc["removed"] == [] and doc["foreign"] == []
    (out / "notes.txt").write_text("mine")
    again = json.loads(CliRunner().invoke(main, ["build", str(TINY), "-o", str(out), "--format", "json"]).stdout)
    assert {f["action"] for f in again["files"]} == {"unchanged"} and again["foreign"] == ["notes.txt"]


def test_mmproj_is_staged_and_referenced(tmp_path):
    spec_path = _copy_tiny(tmp_path)
    text = spec_path.read_text().replace('pattern = "tiny-llama-*.gguf"',
                                         'pattern = "tiny-llama-*.gguf"\nmmproj = "vision.gguf"')
    spec_path.write_text(text)
    from gguf import GGMLQuantizationType as Qt
    ggufs.write_gguf(tmp_path / "src" / "vision.gguf", arch="clip", kv={"general.type": "mmproj"},
                     tensors=[("v.patch_embd.weight", (32, 32), Qt.F32)])
    folder = build(load_spec(spec_path), tmp_path / "out")
    staged = load_staged(folder)
    assert [p.name for p in staged.projectors] == ["mmproj-vision.gguf"]
    assert [q.label for q in staged.quants] == ["F32", "Q8_0"]
    assert parse((folder / "Modelfile.Q8_0").read_text()).from_ == ["./tiny-llama-Q8_0.gguf", "./mmproj-vision.gguf"]
    assert "`mmproj-vision.gguf`" in (folder / "README.md").read_text()


def test_refuses_to_stage_into_the_source_folder():
    from publish.errors import UsageError

    with pytest.raises(UsageError, match="must hold only what the Hub repo will hold"):
        build(load_spec(TINY), TINY.parent)


def test_damaged_manifest_of_an_earlier_build_does_not_stop_a_rebuild(tmp_path):
    spec_path = _copy_tiny(tmp_path)
    out = tmp_path / "out"
    build(load_spec(spec_path), out)
    (tmp_path / "keep.txt").write_text("outside the folder")
    manifest = tmp_path / ".out.publish-build.json"
    manifest.write_text(json.dumps({"files": [["nested"], 7, None, "../keep.txt", "template"]}))
    build_folder(load_spec(spec_path), out)
    assert (tmp_path / "keep.txt").read_text() == "outside the folder"
    assert (out / "template").is_file()
    manifest.write_text(json.dumps({"files": {"template": 1}}))
    assert build_folder(load_spec(spec_path), out).removed == []


def test_staged_text_file_that_is_not_utf8_is_a_usage_error_naming_it(tmp_path):
    out = build(load_spec(_copy_tiny(tmp_path)), tmp_path / "out")
    (out / "system").write_bytes(b"\xffbinary")
    with pytest.raises(UsageError, match=r"system: not UTF-8 text: byte 0xFF at offset 0 \(line 1"):
        load_staged(out)


def test_staged_stops_of_a_malformed_params_file_are_empty_not_a_crash(tmp_path):
    out = build(load_spec(_copy_tiny(tmp_path)), tmp_path / "out")
    (out / "params").write_text('{"stop": 5}')
    assert load_staged(out).stops == []
    (out / "params").write_text('{"stop": ["<end>", 5]}')
    assert load_staged(out).stops == ["<end>"]


def test_a_stop_the_model_cannot_produce_is_refused_before_anything_is_written(tmp_path):
    """Lint's RP114 (an error) at build time, by the same reasoning (folder_rules.stop_problem)
    on the GGUF the build reads anyway: `publish build` accepted it and `publish lint` of the
    folder then failed."""
    spec_path = _copy_tiny(tmp_path)
    spec_path.write_text(spec_path.read_text().replace('stop = ["<end_of_turn>"]',
                                                       'stop = ["<end_of_turn>", "<nope_token>"]'))
    with pytest.raises(SpecError) as info:
        build(load_spec(spec_path), tmp_path / "out")
    err = info.value
    assert err.key == "params.stop[1]"
    assert err.message.endswith("params.stop[1]: '<nope_token>' looks like a special token but is not one in this "
                                "vocab, so the model never emits it (tiny-llama-F32.gguf; publish lint reports it "
                                "as RP114)")
    assert err.hint == ("remove it from [params] stop, or use the token that ends a turn for this model "
                        f"(`publish template suggest {tmp_path / 'src' / 'tiny-llama-F32.gguf'}` names it)")
    assert not (tmp_path / "out").exists()
    # the same spec without it builds, and the folder passes lint's stop rule
    spec_path.write_text(spec_path.read_text().replace(', "<nope_token>"', ""))
    out = build(load_spec(spec_path), tmp_path / "out")
    assert "RP114" not in {f.code for f in lint_paths([str(out)]).findings}


def test_a_family_whose_stops_do_not_fit_the_model_is_refused_with_every_stop(tmp_path):
    spec_path = _copy_tiny(tmp_path)
    text = spec_path.read_text().replace('stop = ["<end_of_turn>"]\n', "")
    text = re.sub(r"\[template\]\n(.*\n)*?(?=\n\[|\Z)", '[template]\nfamily = "chatml"\n', text, count=1)
    spec_path.write_text(text)
    with pytest.raises(SpecErrors) as info:
        build(load_spec(spec_path), tmp_path / "out")
    assert [e.key for e in info.value.errors] == ["params.stop[0]", "params.stop[1]"]
    assert all(e.hint.startswith("family chatml's stop list does not fit this model: pick its family in "
                                 "[template]") for e in info.value.errors)
    assert not (tmp_path / "out").exists()
