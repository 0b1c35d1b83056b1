"""What `publish template convert` says when it cannot convert: a Jinja syntax error, constructs
Go templates cannot express (slices with a step, Python str methods), each with its line:column
in the Jinja source and exit status 2, never a silent DIFFERENT or a traceback."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import ggufs
from publish.cli import main


def run(*args):
    return CliRunner().invoke(main, list(map(str, args)))


# -- a template jinja2 cannot parse ----------------------------------------------------------

@pytest.mark.parametrize("command", [["template", "convert"], ["template", "suggest"], ["template", "check"]])
def test_a_syntax_error_names_file_line_and_column_with_a_hint_about_the_syntax(tmp_path, command):
    src = tmp_path / "broken.jinja"
    src.write_text("{% for m in messages %}<|{{ m.role }}|>\n{{ m.content }<|end|>\n{% endfor %}", encoding="utf-8")
    go = tmp_path / "template"
    go.write_text("{{ .Prompt }}", encoding="utf-8")
    args = [*command, src] if command[1] != "check" else [*command, "--jinja", src, "--go", go]
    out = run(*args)
    assert out.exit_code == 2, out.output
    assert "Traceback" not in out.output
    assert "broken.jinja:2:14: not valid Jinja: unexpected '}'" in out.output, out.output
    assert "fix the syntax at that place" in out.output
    # not the hints of other faults
    assert "no Ollama Go template counterpart" not in out.output and "GGUF" not in out.output


def test_a_syntax_error_in_a_ggufs_chat_template_points_to_publish_fix(tmp_path):
    gguf = ggufs.write_tiny_llama(tmp_path / "m.gguf", chat_template="{{ bos_token }}\n  {% endif %}")
    out = run("template", "convert", gguf)
    assert out.exit_code == 2
    assert "m.gguf:tokenizer.chat_template:2:3: not valid Jinja: Encountered unknown tag 'endif'" in out.output
    assert f"publish fix m.gguf --chat-template FILE" in out.output
