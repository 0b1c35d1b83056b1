"""publish.convert.suggest: `publish template suggest` as a library call (the family, else the
conversion; the CLI only prints what it returns)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from publish.cli import main
from publish.convert.inputs import load_chat_template
from publish.convert.suggest import suggest_template
from publish.families import get as get_family

JINJA = Path(__file__).resolve().parents[1] / "data" / "jinja"


def test_a_family_that_builds_the_same_prompts_is_the_answer():
    s = suggest_template(load_chat_template(JINJA / "chatml.jinja"))
    assert (s.found.family.name, s.matches, s.uses_conversion, s.exit_code) == ("chatml", True, False, 0)
    assert s.template == get_family("chatml").template
    assert s.converted is None and s.convert_error is None   # an exact family: nothing converted


def test_without_an_exact_family_the_proven_conversion_is_the_answer_and_the_cli_prints_it():
    path = JINJA / "Qwen-Qwen2.5-7B-Instruct.jinja"
    s = suggest_template(load_chat_template(path), source=path)
    assert not s.found.result.exact and s.uses_conversion and s.exit_code == 0
    assert s.template == s.converted.template != s.found.family.template
    cli = CliRunner().invoke(main, ["template", "suggest", str(path), "--format", "json"])
    assert cli.exit_code == 0 and json.loads(cli.output) == json.loads(json.dumps(s.to_dict()))
    text = CliRunner().invoke(main, ["template", "suggest", str(path)])
    assert text.output.rstrip("\n") == s.format_text()
