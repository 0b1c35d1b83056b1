"""Release spec: typed values, and every error names the file, the dotted key and the fix."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from publish.errors import SpecError, SpecErrors
from publish.spec import load_spec

ROOT = Path(__file__).resolve().parent.parent

BASE = """\
repo = "acme/tiny-GGUF"
base_model = "acme/tiny"
license = "apache-2.0"
quantized_by = "acme"
"""
TEMPLATE = '[template]\ntext = "{{ .Prompt }}"\n'
QUANTS = '[quants]\nfiles = [{ label = "Q8_0", file = "tiny-Q8_0.gguf" }]\n'


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "release.toml"
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def spec_error(tmp_path: Path, text: str, **kw) -> SpecError:
    p = write(tmp_path, text)
    with pytest.raises(SpecError) as info:
        load_spec(p, **kw).resolve_quants()
    err = info.value
    assert err.path == str(p)
    assert str(p) in str(err)
    assert err.hint, f"no fix suggested: {err}"
    return err


def test_minimal_spec_is_typed(tmp_path):
    spec = load_spec(write(tmp_path, BASE + 'system = "Be brief."\n' + TEMPLATE
                           + "[params]\ntemperature = 1\ntop_k = 64\nstop = [\"<end>\"]\n" + QUANTS))
    assert spec.repo == "acme/tiny-GGUF" and spec.name == "tiny-GGUF" and spec.model_name == "tiny"
    assert spec.template.text == "{{ .Prompt }}" and spec.template.source == "inline"
    assert spec.params == {"temperature": 1.0, "top_k": 64, "stop": ["<end>"]}
    assert isinstance(spec.params["temperature"], float)
    assert spec.system == "Be brief."
    assert spec.gguf_dir == tmp_path.resolve()
    assert [(e.label, e.file) for e in spec.quant_entries] == [("Q8_0", "tiny-Q8_0.gguf")]
    with pytest.raises(Exception):
        spec.repo = "x/y"  # frozen


def test_paths_are_relative_to_the_spec_and_gguf_dir_overrides(tmp_path):
    (tmp_path / "ggufs").mkdir()
    (tmp_path / "ggufs" / "tiny-Q8_0.gguf").write_bytes(b"GGUF")
    (tmp_path / "t.gotmpl").write_text("{{ .Prompt }}", encoding="utf-8")
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "tiny-Q8_0.gguf").write_bytes(b"GGUF")
    text = BASE + '[template]\nfile = "t.gotmpl"\n' + QUANTS + 'dir = "ggufs"\n'
    spec = load_spec(write(tmp_path, text))
    assert spec.resolve_quants()[0].path == (tmp_path / "ggufs" / "tiny-Q8_0.gguf").resolve()
    assert load_spec(tmp_path / "release.toml", gguf_dir=other).resolve_quants()[0].path == other.resolve() / "tiny-Q8_0.gguf"
    assert spec.with_gguf_dir(other).resolve_quants()[0].path == other.resolve() / "tiny-Q8_0.gguf"


def test_pattern_takes_the_label_from_the_file_name(tmp_path):
    for name in ["m-UD-Q4_K_XL.gguf", "m-Q8_0.gguf", "mmproj-m-F16.gguf", "m-BF16-00001-of-00002.gguf",
                 "m-BF16-00002-of-00002.gguf"]:
        (tmp_path / name).write_bytes(b"GGUF")
    spec = load_spec(write(tmp_path, BASE + TEMPLATE + '[quants]\npattern = "m*.gguf"\n'))
    quants = {q.label: [f.name for f in q.files] for q in spec.resolve_quants()}
    assert quants == {"BF16": ["m-BF16-00001-of-00002.gguf", "m-BF16-00002-of-00002.gguf"],
                      "Q8_0": ["m-Q8_0.gguf"], "UD-Q4_K_XL": ["m-UD-Q4_K_XL.gguf"]}


def test_pattern_is_matched_inside_a_folder_whose_name_looks_like_a_glob(tmp_path):
    folder = tmp_path / "models [v2]"
    folder.mkdir()
    (folder / "m-Q8_0.gguf").write_bytes(b"GGUF")
    spec = load_spec(write(tmp_path, BASE + TEMPLATE + '[quants]\npattern = "m*.gguf"\ndir = "models [v2]"\n'))
    assert [q.files for q in spec.resolve_quants()] == [(folder.resolve() / "m-Q8_0.gguf",)]


def test_family_stop_is_the_default_stop(tmp_path):
    spec = load_spec(write(tmp_path, BASE + '[template]\nfamily = "gemma3"\n' + QUANTS))
    assert spec.template.family == "gemma3"
    assert "<end_of_turn>" in spec.params["stop"]


def test_missing_spec_file(tmp_path):
    with pytest.raises(SpecError, match="release spec not found") as info:
        load_spec(tmp_path / "nope.toml")
    # an installed publish has no examples/ folder to copy from (the hint pointed there)
    assert info.value.hint.startswith("check the path;") and "examples/" not in info.value.hint


def test_a_folder_as_spec_is_a_spec_error(tmp_path):
    with pytest.raises(SpecError, match="cannot read: not a regular file") as info:
        load_spec(tmp_path)
    assert info.value.hint == "pass the path of a release.toml file"


def test_invalid_toml_names_the_line(tmp_path):
    err = spec_error(tmp_path, BASE + "[params\n")
    assert "invalid TOML" in str(err) and "line 5" in str(err)


@pytest.mark.parametrize("text, key, fragment", [
    (BASE.replace("base_model", "base_modle") + TEMPLATE + QUANTS, "base_modle", "did you mean 'base_model'"),
    (BASE + "temperature = 1.0\n" + TEMPLATE + QUANTS, "temperature", "move `temperature = …` there"),
    (BASE + TEMPLATE + "[params]\ntemprature = 1.0\n" + QUANTS, "params.temprature", "did you mean 'temperature'"),
    (BASE + '[template]\nfamly = "gemma3"\n' + QUANTS, "template.famly", "did you mean 'family'"),
    (BASE + TEMPLATE + '[quants]\nfiles = [{ label = "Q8_0", fil = "a.gguf" }]\n', "quants.files[0].fil",
     "did you mean 'file'"),
    (BASE + TEMPLATE + QUANTS + '[card]\nextras = "x"\n', "card.extras", "did you mean 'extra'"),
])
def test_unknown_keys_suggest_the_right_one(tmp_path, text, key, fragment):
    err = spec_error(tmp_path, text)
    assert err.key == key
    assert "unknown" in str(err)
    assert fragment in str(err)


@pytest.mark.parametrize("text, key, fragment", [
    (BASE.replace('"acme/tiny-GGUF"', '"tiny-GGUF"') + TEMPLATE + QUANTS, "repo", "ORG/NAME"),
    (BASE.replace('"acme/tiny-GGUF"', '"acme/ti ny"') + TEMPLATE + QUANTS, "repo", "not a Hub repo id"),
    (BASE.replace('"acme/tiny"', '"acme//tiny"') + TEMPLATE + QUANTS, "base_model", "not a Hub model id"),
    (BASE.replace('quantized_by = "acme"\n', "") + TEMPLATE + QUANTS, "quantized_by", "missing"),
    (BASE.replace('license = "apache-2.0"', "license = 2") + TEMPLATE + QUANTS, "license", "must be a string"),
    (BASE + TEMPLATE + "[params]\ntop_k = \"64\"\n" + QUANTS, "params.top_k", "must be a number"),
    (BASE + TEMPLATE + "[params]\ntop_k = 64.5\n" + QUANTS, "params.top_k", "must be an integer"),
    (BASE + TEMPLATE + "[params]\ntemperature = true\n" + QUANTS, "params.temperature", "must be a number"),
    (BASE + TEMPLATE + "[params]\nuse_mmap = 1\n" + QUANTS, "params.use_mmap", "true or false"),
    (BASE + TEMPLATE + "[params]\nstop = \"<end>\"\n" + QUANTS, "params.stop", "array of strings"),
    (BASE + TEMPLATE + "[params]\nstop = [\"\"]\n" + QUANTS, "params.stop", "empty stop string"),
    (BASE + TEMPLATE + "[params]\ntemperature = inf\n" + QUANTS, "params.temperature", "finite"),
    (BASE + TEMPLATE + "[params]\nmirostat = 2\n" + QUANTS, "params.mirostat", "deprecated"),
    (BASE + TEMPLATE + "[params]\ntfs_z = 1.0\n" + QUANTS, "params.tfs_z", "Ollama removed it"),
    (BASE + '[template]\nfamily = "gemma3"\ntext = "x"\n' + QUANTS, "template", "exactly one of"),
    (BASE + "[template]\n" + QUANTS, "template", "exactly one of"),
    (BASE + '[template]\nfamily = "gema3n"\n' + QUANTS, "template.family", "unknown family 'gema3n'"),
    (BASE + '[template]\nfile = "missing.gotmpl"\n' + QUANTS, "template.file", "file not found"),
    (BASE + '[template]\ntext = "{{ if .System }}"\n' + QUANTS, "template.text", "not a valid Go template"),
    (BASE + TEMPLATE + "[quants]\n", "quants", "lists no quant"),
    (BASE + TEMPLATE + '[quants]\nfiles = [{ label = "q4km", file = "a.gguf" }]\n', "quants.files[0].label",
     "not a quant label"),
    (BASE + TEMPLATE + '[quants]\nfiles = [{ label = "Q8_0", file = "a.bin" }]\n', "quants.files[0].file",
     "must be a .gguf file name"),
    (BASE + TEMPLATE + QUANTS + 'mmproj = "../vision.gguf"\n', "quants.mmproj", "must be a .gguf file name"),
    (BASE + TEMPLATE + QUANTS + 'mmproj = "vision.bin"\n', "quants.mmproj", "must be a .gguf file name"),
    (BASE + TEMPLATE + '[quants]\nfiles = [{ label = "Q8_0", file = "a.gguf" }, { label = "Q8_0", file = "b.gguf" }]\n',
     "quants.files[1].label", "listed twice"),
    (BASE + TEMPLATE + '[quants]\nfiles = ["a.gguf"]\n', "quants.files[0]", "must be a table"),
    (BASE + TEMPLATE + QUANTS, "quants.files[0].file", "file not found"),
    (BASE + TEMPLATE + '[quants]\npattern = "nothing-*.gguf"\n', "quants.pattern", "matches no file"),
    (BASE + 'system = ""\n' + TEMPLATE + QUANTS, "system", "is empty"),
    (BASE + 'system = "a\\u200Bb"\n' + TEMPLATE + QUANTS, "system", "U+200B"),
    (BASE + "[template]\ntext = '''say \"\"\"hi\"\"\"\nthen'''\n" + QUANTS, "template.text",
     "cannot be written into a Modelfile"),
    (BASE + TEMPLATE + '[params]\nstop = ["\\u0007"]\n' + QUANTS, "params.stop[0]", "U+0007"),
    (BASE + 'system_file = "nope.txt"\n' + TEMPLATE + QUANTS, "system_file", "file not found"),
    (BASE + 'system_file = "."\n' + TEMPLATE + QUANTS, "system_file", "cannot read"),
    (BASE + TEMPLATE + QUANTS + '[card]\nextra_file = "nope.md"\n', "card.extra_file", "file not found"),
    (BASE + TEMPLATE + QUANTS + '[card]\nextra = ""\n', "card.extra", "is empty"),
    (BASE + 'model_name = "../tiny"\n' + TEMPLATE + QUANTS, "model_name", "not a file-name stem"),
    (BASE + TEMPLATE + QUANTS + '[card]\ntitle = "Tiny\\nGGUF"\n', "card.title", "one non-empty line"),
    (BASE + TEMPLATE + '[quants]\nfiles = [{ label = "Q8_0", file = "a.gguf", use = "x\\ny" }]\n',
     "quants.files[0].use", "one non-empty line"),
])
def test_errors_name_file_key_and_fix(tmp_path, text, key, fragment):
    err = spec_error(tmp_path, text)
    assert err.key == key
    assert f"{tmp_path / 'release.toml'}: {key}: " in str(err)
    assert fragment in str(err)


def test_missing_gguf_points_at_gguf_dir(tmp_path):
    err = spec_error(tmp_path, BASE + TEMPLATE + QUANTS)
    assert "--gguf-dir" in err.hint


def test_template_error_carries_line_and_column(tmp_path):
    err = spec_error(tmp_path, BASE + '[template]\ntext = """\nok\n{{ .Prompt }\n"""\n' + QUANTS)
    assert err.key == "template.text"
    # TOML drops the newline after """; the location once, line:column of the template (Go's column)
    assert err.message.endswith(': template.text: not a valid Go template at 2:11: unexpected "}" in operand')
    assert "line:column" in err.hint


def test_an_unclosed_template_action_names_its_opener_and_its_position(tmp_path):
    err = spec_error(tmp_path, BASE + '[template]\ntext = "{{ .System }}{{ if .Prompt }}hi"\n' + QUANTS)
    assert err.message.endswith(": template.text: not a valid Go template at 1:31: unexpected EOF")
    assert err.hint == "the {{if}} at 1:16 has no {{end}}: add one where its body ends"


def test_examples_load():
    gemma = load_spec(ROOT / "examples" / "gemma-3n-E4B-it" / "release.toml")
    assert gemma.repo == "your-org/gemma-3n-E4B-it-GGUF"
    assert gemma.base_model == "google/gemma-3n-E4B-it"
    assert gemma.template.family == "gemma3n"
    assert gemma.license == "gemma"
    assert gemma.params == {"temperature": 1.0, "top_k": 64, "top_p": 0.95, "min_p": 0.0,
                            "repeat_penalty": 1.0, "num_ctx": 32768, "stop": ["<end_of_turn>"]}
    assert [e.label for e in gemma.quant_entries] == ["UD-Q4_K_XL", "Q4_K_M", "Q8_0", "BF16"]
    tiny = load_spec(ROOT / "examples" / "tiny" / "release.toml")
    assert {q.label for q in tiny.resolve_quants()} == {"F32", "Q8_0"}
    assert tiny.params["stop"] == ["<end_of_turn>"] and tiny.params["num_predict"] == 16


def test_a_damaged_family_index_is_not_reported_as_an_unknown_family(tmp_path, monkeypatch):
    from publish import families
    from publish.errors import UsageError

    (tmp_path / "ollama").mkdir()
    (tmp_path / "ollama" / "families.toml").write_text('[gemma3]\ntemplate = "missing.gotmpl"\n')
    monkeypatch.setattr(families, "families_dir", lambda: tmp_path / "ollama")
    families._load.cache_clear()
    try:
        with pytest.raises(UsageError, match="cannot be loaded") as info:
            load_spec(write(tmp_path, BASE + '[template]\nfamily = "gemma3"\n' + QUANTS))
        assert not isinstance(info.value, SpecError)
    finally:
        families._load.cache_clear()


def test_every_section_s_problem_is_reported_in_one_run(tmp_path):
    """A spec with problems in several sections gets them all in one run, each on its own
    `error:` line with its key and hint (as a compiler does), exit 2 and no traceback; a fix-one,
    rerun, find-the-next loop is what a maintainer should not have to do."""
    from click.testing import CliRunner

    from publish.cli import main
    p = write(tmp_path, """\
        repo = "acme/ti ny"
        base_model = "acme/tiny"
        license = "apache-2.0"
        quantized_by = "acme"
        colour = "blue"
        [template]
        family = "gemma4x"
        [params]
        temperature = "hot"
        top_k = 1.5
        num_ctx = 2048
        [quants]
        files = [{ label = "q8_0", file = "tiny-Q8_0.gguf" }]
        [card]
        recommended = "q8"
        """)
    with pytest.raises(SpecErrors) as info:
        load_spec(p)
    keys = [e.key for e in info.value.errors]
    assert keys == ["colour", "repo", "template.family", "params.temperature", "params.top_k",
                    "quants.files[0].label", "card.recommended"]
    assert all(e.hint for e in info.value.errors)
    r = CliRunner().invoke(main, ["build", str(p), "-o", str(tmp_path / "out")])
    assert r.exit_code == 2 and isinstance(r.exception, SystemExit), r.output   # no traceback
    lines = [line for line in r.output.splitlines() if line.startswith("error: ")]
    assert [line.split(": ")[2] for line in lines] == keys, r.output
    assert r.output.count("  hint: ") == len(keys)
    assert not (tmp_path / "out").exists()


def test_a_misspelt_key_is_reported_once_not_again_as_missing(tmp_path):
    # base_modle → "did you mean 'base_model'?", not also "base_model: missing"; the same inside a table
    err = spec_error(tmp_path, BASE.replace("base_model", "base_modle") + TEMPLATE + QUANTS)
    assert not isinstance(err, SpecErrors)
    assert err.key == "base_modle"
    err = spec_error(tmp_path, BASE + TEMPLATE + QUANTS.replace("file =", "fil ="))
    assert err.key == "quants.files[0].fil" and "did you mean 'file'" in err.hint


def _documented_keys() -> dict[str, str]:
    """docs/spec.md's key table: the key as its first cell writes it -> its "required" cell."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "spec.md").read_text(encoding="utf-8")
    table = text.split("## Every key", 1)[1]
    rows = re.findall(r"^\| `([^`]+)` \| ([^|]+) \|", table, re.M)
    return {key: required.strip() for key, required in rows}


def test_spec_page_documents_every_key_and_marks_the_required_ones():
    """Every key spec.py accepts has a row in docs/spec.md's key table, and exactly the keys spec.py
    requires say **required** there (a key only convert.md mentioned, `template.name`, and a required
    `quantized_by` that looked optional, once slipped through)."""
    from publish import spec as spec_module

    documented = _documented_keys()
    expected: dict[str, bool] = {}
    for table, keys in spec_module._SCHEMA.items():
        for key, (types, _) in keys.items():
            if table == "":
                name = f"[{key}]" if types == (dict,) else key
                expected[name] = key in spec_module._REQUIRED or key == "template"
            elif table == "quants.files":
                expected[f"quants.files[].{key}"] = key in spec_module._REQUIRED_ENTRY
            else:
                expected[f"{table}.{key}"] = False
    missing = sorted(set(expected) - set(documented))
    assert not missing, f"docs/spec.md's key table lacks {missing}"
    stray = sorted(set(documented) - set(expected))
    assert not stray, f"docs/spec.md documents keys spec.py does not accept: {stray}"
    wrong = {k: documented[k] for k, required in expected.items() if ("**required**" in documented[k]) != required}
    assert not wrong, f"required/optional marked wrongly in docs/spec.md: {wrong}"
