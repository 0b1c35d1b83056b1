"""One loader of chat templates (publish.convert.inputs): `publish template` and `publish fix
--chat-template` read a tokenizer_config.json or a Jinja file the same way."""

from __future__ import annotations

import json
import shutil

import pytest
from click.testing import CliRunner

from publish.cli import main
from publish.convert.inputs import load_chat_template, load_go_template, read_chat_templates
from publish.errors import GGUFError, SpecError, UsageError
from publish.fixing import chat_template_changes
from publish.lint import lint_paths
from publish.spec import load_spec

TOOL_USE = "{% for m in messages %}{{ m['content'] }}{% endfor %}{{ tools | tojson }}"
DEFAULT = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}{% endfor %}"


def config(tmp_path, chat_template, name="tokenizer_config.json"):
    path = tmp_path / name
    path.write_text(json.dumps({"bos_token": {"content": "<s>"}, "eos_token": "</s>", "chat_template": chat_template}))
    return path


def test_template_and_fix_read_the_same_named_templates(tmp_path):
    path = config(tmp_path, [{"name": "default", "template": DEFAULT}, {"name": "tool_use", "template": TOOL_USE}])
    changes = {c.key: c.value for c in chat_template_changes(path)}
    assert changes == {"tokenizer.chat_template": DEFAULT, "tokenizer.chat_template.tool_use": TOOL_USE}
    tool = load_chat_template(path, "tool_use")
    assert tool.text == TOOL_USE and tool.names == ["default", "tool_use"]
    assert (tool.bos, tool.eos, tool.name) == ("<s>", "</s>", "tokenizer_config.json:chat_template[tool_use]")


def test_json_saved_under_a_template_name_is_read_as_json_by_both(tmp_path):
    """A tokenizer_config.json saved as chat.jinja: `publish template` once took the JSON text for
    the template; now both commands take its chat_template."""
    path = config(tmp_path, DEFAULT, name="chat.jinja")
    assert load_chat_template(path).text == DEFAULT
    assert [c.value for c in chat_template_changes(path)] == [DEFAULT]
    assert read_chat_templates(path).config is not None


def test_a_config_without_a_chat_template_is_refused_by_both(tmp_path):
    path = config(tmp_path, None)
    for load in (load_chat_template, chat_template_changes):
        with pytest.raises(UsageError, match="no chat_template in this JSON file"):
            load(path)


def test_go_templates_come_from_a_file_a_modelfile_or_beside_a_gguf(tmp_path, tiny_llama_path):
    mf = tmp_path / "Modelfile.Q8_0"
    mf.write_text('FROM ./m.gguf\nTEMPLATE """{{ .Prompt }}"""\n')
    assert (load_go_template(mf).text, load_go_template(mf).name) == ("{{ .Prompt }}", "Modelfile.Q8_0:TEMPLATE")
    repo = tmp_path / "repo"
    repo.mkdir()
    gguf = repo / "m-Q8_0.gguf"
    gguf.write_bytes(tiny_llama_path.read_bytes())
    with pytest.raises(UsageError, match="no `template` file beside it"):
        load_go_template(gguf)
    (repo / "template").write_text("{{ .System }}{{ .Prompt }}")
    go = load_go_template(gguf)
    assert go.text == "{{ .System }}{{ .Prompt }}" and go.name == "repo/template (beside m-Q8_0.gguf)"


# -- a file named *.gguf is a model, never a template (issue 10 tester) --------------------------

LFS_POINTER = (b"version https://git-lfs.github.com/spec/v1\n"
               b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 123\n")
NOT_GGUFS = {   # what the file holds, and the words lint's GG001 uses for it
    "lfs-pointer": (LFS_POINTER, "a Git LFS pointer"),
    "html-page": (b"<!DOCTYPE html>\n<html><head><title>Hugging Face</title></head></html>\n", "an HTML page"),
    "empty": (b"", "an empty file"),
    "a-template": (b"{% for m in messages %}{{ m['content'] }}{% endfor %}", "text file starting"),
}


def _not_a_gguf(tmp_path, kind):
    path = tmp_path / "x-Q4_K_M.gguf"
    path.write_bytes(NOT_GGUFS[kind][0])
    (lint,) = lint_paths([str(path)]).findings
    return path, lint


@pytest.mark.parametrize("kind", NOT_GGUFS)
@pytest.mark.parametrize("command", ["suggest", "check --jinja", "check --go", "convert -o", "fix --chat-template"])
def test_every_command_refuses_a_gguf_name_without_the_magic_as_lint_does(tmp_path, tiny_llama, kind, command):
    """`template suggest x-Q4_K_M.gguf` on an LFS pointer said "the converted chat template is identical
    on every case" (exit 0); convert -o wrote a `template` of the pointer's text; fix --chat-template
    would have written it into the model. Now each says what lint says, exit 2, and writes nothing."""
    path, lint = _not_a_gguf(tmp_path, kind)
    jinja, go, out = tmp_path / "chat.jinja", tmp_path / "template", tmp_path / "out"
    jinja.write_text(DEFAULT)
    go.write_text("{{ range .Messages }}<|{{ .Role }}|>{{ .Content }}{{ end }}")
    args = {"suggest": ["template", "suggest", path],
            "check --jinja": ["template", "check", "--jinja", path, "--go", go],
            "check --go": ["template", "check", "--jinja", jinja, "--go", path],
            "convert -o": ["template", "convert", path, "-o", out],
            "fix --chat-template": ["fix", tiny_llama, "--chat-template", path]}[command]
    before = tiny_llama.read_bytes()
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exit_code == 2, res.output
    assert lint.message.removeprefix("not a readable GGUF: ") in res.output and NOT_GGUFS[kind][1] in res.output
    assert lint.hint in res.output and "Traceback" not in res.output
    assert not out.exists() and tiny_llama.read_bytes() == before


def test_the_library_loaders_refuse_it_too(tmp_path):
    path, lint = _not_a_gguf(tmp_path, "lfs-pointer")
    for load in (load_chat_template, load_go_template, read_chat_templates, chat_template_changes):
        with pytest.raises(GGUFError) as info:
            load(path)
        assert (info.value.offset, info.value.hint) == (0, lint.hint)
    upper = tmp_path / "X.GGUF"   # the name, in any case
    upper.write_bytes(LFS_POINTER)
    with pytest.raises(GGUFError, match="Git LFS pointer"):
        load_chat_template(upper)


def test_a_real_gguf_is_not_a_chat_template_file_for_fix(tiny_llama_path, tiny_llama):
    """`fix --chat-template OTHER.gguf` said the GGUF was "not UTF-8 ... not a GGUF either"."""
    with pytest.raises(UsageError, match="a GGUF, not a chat template file") as info:
        chat_template_changes(tiny_llama_path)
    assert "not a GGUF either" not in str(info.value)


@pytest.mark.parametrize("option, names, not_named", [
    ("--go", ["Go template", "Modelfile"], "tokenizer_config"),
    ("--jinja", ["tokenizer_config.json", "Jinja template"], "Modelfile"),
])
def test_a_binary_file_gets_the_hint_of_the_option_it_was_given_to(tmp_path, option, names, not_named):
    """`template check --go bin.gotmpl` hinted at what --jinja takes (a tokenizer_config.json)."""
    binary, jinja, go = tmp_path / "bin.gotmpl", tmp_path / "chat.jinja", tmp_path / "template"
    binary.write_bytes(bytes(range(128, 256)))
    jinja.write_text(DEFAULT)
    go.write_text("{{ .Prompt }}")
    args = ["--jinja", binary, "--go", go] if option == "--jinja" else ["--jinja", jinja, "--go", binary]
    res = CliRunner().invoke(main, ["template", "check", *map(str, args)])
    assert res.exit_code == 2 and "bin.gotmpl: not UTF-8 text" in res.output, res.output
    hint = res.output.split("hint:", 1)[1]
    assert all(n in hint for n in names) and not_named not in hint, hint


def test_fix_chat_template_hint_names_what_fix_takes(tmp_path, tiny_llama):
    binary = tmp_path / "chat.bin"
    binary.write_bytes(bytes(range(128, 256)))
    res = CliRunner().invoke(main, ["fix", str(tiny_llama), "--chat-template", str(binary)])
    assert res.exit_code == 2 and "tokenizer_config.json or a Jinja template file" in res.output
    assert "pass a GGUF" not in res.output, res.output


# -- a release spec's template sources ----------------------------------------------------------

SPEC = """\
repo = "your-org/tiny-llama-GGUF"
base_model = "publish-examples/tiny-llama"
license = "apache-2.0"
quantized_by = "publish tests"

[template]
{template}

[quants]
dir = "ggufs"
pattern = "tiny-llama-*.gguf"
"""


def _spec(tmp_path, tiny_llama_path, template):
    (tmp_path / "ggufs").mkdir()
    shutil.copyfile(tiny_llama_path, tmp_path / "ggufs" / "tiny-llama-Q8_0.gguf")
    (tmp_path / "release.toml").write_text(SPEC.format(template=template), encoding="utf-8")
    return tmp_path / "release.toml"


def test_template_file_naming_an_lfs_pointer_is_refused_not_shipped(tmp_path, tiny_llama_path):
    """[template] file = "x.gguf" on an LFS pointer staged the pointer's text as the Go template
    (plain text parses as a Go template); it is refused with lint's words."""
    spec = _spec(tmp_path, tiny_llama_path, 'file = "template.gguf"')
    (tmp_path / "template.gguf").write_bytes(LFS_POINTER)
    res = CliRunner().invoke(main, ["build", str(spec), "-o", str(tmp_path / "out")])
    assert res.exit_code == 2 and "template.file:" in res.output and "Git LFS pointer" in res.output, res.output
    assert "git lfs pull" in res.output and not (tmp_path / "out").exists()


def test_template_file_naming_a_real_gguf_says_what_converts_one(tmp_path, tiny_llama_path):
    """It said "not UTF-8 text ... save the template as UTF-8"."""
    spec = _spec(tmp_path, tiny_llama_path, 'file = "ggufs/tiny-llama-Q8_0.gguf"')
    with pytest.raises(SpecError) as info:
        load_spec(spec)
    assert info.value.key == "template.file" and "is a GGUF" in str(info.value) and 'from = "gguf"' in info.value.hint


def test_template_from_gguf_with_a_quant_that_is_an_lfs_pointer(tmp_path, tiny_llama_path):
    spec = _spec(tmp_path, tiny_llama_path, 'from = "gguf"')
    (tmp_path / "ggufs" / "tiny-llama-Q4_K_M.gguf").write_bytes(LFS_POINTER)
    res = CliRunner().invoke(main, ["build", str(spec), "-o", str(tmp_path / "out")])
    assert res.exit_code == 2 and "tiny-llama-Q4_K_M.gguf" in res.output and "Git LFS pointer" in res.output
    assert "git lfs pull" in res.output
    # the library call that converts reads it as a GGUF too (it took the pointer for the chat template)
    from publish.build import QuantInfo, with_converted_template

    pointer = QuantInfo("Q4_K_M", (tmp_path / "ggufs" / "tiny-llama-Q4_K_M.gguf",), ("x",), 0, None, "", False)
    with pytest.raises(SpecError, match="template.from: .*Git LFS pointer"):
        with_converted_template(load_spec(spec), [pointer])


def test_a_chat_template_file_that_is_a_failed_download_or_empty_is_refused(tmp_path):
    """An HTML sign-in page, a Git LFS pointer, an XML error document, an empty or whitespace-only
    file given as the chat template: UsageError naming the file, what it looks like and the fix;
    never a template that `publish fix --chat-template` would write into the GGUF."""
    import pytest

    from publish.convert.inputs import read_chat_templates
    from publish.errors import UsageError

    cases = {
        "page.html": ("<!DOCTYPE html><html><head><title>Sign in</title></head><body>Sign in</body></html>",
                      "an HTML page"),
        "chat_template.jinja": ("version https://git-lfs.github.com/spec/v1\noid sha256:" + "0" * 64 + "\nsize 9\n",
                                "a Git LFS pointer"),
        "t.jinja": ("<?xml version='1.0'?><Error><Code>AccessDenied</Code></Error>", "XML text"),
        "empty.jinja": ("", "empty"),
        "blank.jinja": (" \n\t\n", "empty"),
    }
    for name, (text, looks) in cases.items():
        p = tmp_path / name
        p.write_text(text)
        with pytest.raises(UsageError) as info:
            read_chat_templates(p)
        assert str(p) in info.value.message and looks in info.value.message, info.value.message
        assert "tokenizer_config.json or chat_template.jinja" in info.value.hint
    ok = tmp_path / "ok.jinja"
    ok.write_text("{% for m in messages %}<b>{{ m['content'] }}</b>{% endfor %}")
    assert read_chat_templates(ok).templates["default"].startswith("{% for")
