"""publish.jinja_facts: lint parses and renders a chat template once however many rules ask."""

from __future__ import annotations

import pytest

from ggufs import write_tiny_llama
from publish import jinja_facts, probes
from publish.errors import UnsafeTemplateError
from publish.gguf.reader import read_header
from publish.gguf.rules import check_header
from test_template_audit import PAYLOADS


@pytest.fixture(autouse=True)
def fresh():
    jinja_facts._KEPT.clear()
    yield
    jinja_facts._KEPT.clear()


def test_one_render_for_every_rule_that_asks(tiny_llama_path, monkeypatch):
    renders = []
    real = probes.jinja_probe
    monkeypatch.setattr(probes, "jinja_probe", lambda *a: renders.append(a) or real(*a))
    hdr = read_header(tiny_llama_path)
    check_header(hdr)
    check_header(hdr)
    assert len(renders) == 1     # GG204 and GG702 both read the one probe, twice over


def test_a_hostile_template_raises_every_time_it_is_asked(tmp_path):
    hdr = read_header(write_tiny_llama(tmp_path / "h-F32.gguf", chat_template=PAYLOADS["cycler-globals"]))
    for _ in range(2):
        with pytest.raises(UnsafeTemplateError, match="escape the Jinja sandbox"):
            jinja_facts.probe(hdr.chat_template, hdr)


def test_the_kept_facts_are_bounded():
    for i in range(jinja_facts.KEEP + 5):
        jinja_facts.syntax_problem(f"{{{{ messages[{i}] }}}}")
    assert len(jinja_facts._KEPT) == jinja_facts.KEEP
    assert ("syntax", "{{ messages[0] }}") not in jinja_facts._KEPT    # the oldest went first
