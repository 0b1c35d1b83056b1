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


def _json(path):
    out = CliRunner().invoke(main, ["template", "suggest", str(path), "--format", "json"])
    return out.exit_code, json.loads(out.output)


def test_the_json_says_what_was_picked_and_carries_its_template_and_stops(tmp_path):
    """The JSON held the closest family's template/stop/name beside "match": true when the conversion
    was what matched, and no field said which one to ship."""
    # a family, byte-identical
    code, data = _json(JINJA / "chatml.jinja")
    chatml = get_family("chatml")
    assert (code, data["picked"], data["match"], data["exact"], data["family"]) == (0, "family", True, True, "chatml")
    assert (data["template"], data["stop"]) == (chatml.template, list(chatml.stop))
    # the conversion: its template and stops, not the closest family's
    code, data = _json(JINJA / "Qwen-Qwen2.5-7B-Instruct.jinja")
    assert (code, data["picked"], data["match"], data["exact"], data["family"]) == (0, "conversion", True, True, None)
    assert (data["template"], data["stop"]) == (data["converted"]["template"], data["converted"]["stop"])
    closest = data["closest_family"]
    assert closest["template"] == get_family(closest["name"]).template != data["template"]
    assert closest["name"] == data["ranking"][0]["family"] and closest["check"]["conversations"]
    # a family that matches only up to the Jinja template's trimming, the conversion having failed
    gemma = tmp_path / "gemma-reversing.jinja"
    gemma.write_text((JINJA / "google-gemma-3-it.jinja").read_text(encoding="utf-8")
                     + "{%- if messages | length > 1000 -%}{{ messages[0]['content'][::-1] }}{%- endif -%}",
                     encoding="utf-8")
    code, data = _json(gemma)
    assert (code, data["picked"], data["match"], data["exact"], data["family"]) == (0, "family", True, False, "gemma3")
    assert data["template"] == get_family("gemma3").template and data["convert_error"]["message"]
    # nothing
    shouty = tmp_path / "shouty.jinja"
    shouty.write_text("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] | upper }}</s>{% endfor %}",
                      encoding="utf-8")
    code, data = _json(shouty)
    assert (code, data["picked"], data["match"], data["exact"]) == (1, None, False, False)
    assert (data["template"], data["stop"], data["family"]) == (None, None, None)


def test_a_python_caller_gets_the_same_decision():
    s = suggest_template(load_chat_template(JINJA / "Qwen-Qwen2.5-7B-Instruct.jinja"))
    assert (s.picked, s.template, s.stops) == ("conversion", s.converted.template, s.converted.stops)
    s = suggest_template(load_chat_template(JINJA / "chatml.jinja"))
    assert (s.picked, s.stops) == ("family", list(get_family("chatml").stop))
