"""The conversion's budget (docs/convert.md: Limits): a hostile template from an untrusted GGUF
that unrolls into a huge Go template (constant loops, macros called in them, long constant
strings, tens of thousands of statements) is refused with its line:column and exit 2 after a
bounded amount of work, never minutes of silence. No timed tests: the work is asserted through
the compiler's own counters (steps, characters built, iterations unrolled)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from publish.cli import main
from publish.convert import compile_template, convert
from publish.convert import compiler as C
from publish.errors import UnsafeTemplateError

CORPUS = Path(__file__).resolve().parents[1] / "data" / "jinja"


@pytest.fixture
def compilers(monkeypatch):
    """Every Compiler made during the test (compile() makes more than one for some templates)."""
    made: list[C.Compiler] = []
    init = C.Compiler.__init__

    def record(self, *args, **kwargs):
        init(self, *args, **kwargs)
        made.append(self)
    monkeypatch.setattr(C.Compiler, "__init__", record)
    return made


def work(made) -> tuple[int, int, int]:
    return (sum(c.steps for c in made), sum(c.built for c in made), sum(c._unrolled_total for c in made))


TESTER = ('{% for m in messages %}{% for i in range(100000) %}{% if m.content == "zz" %}x{% endif %}{% endfor %}'
          '{{ m.content }}{% endfor %}')


@pytest.mark.parametrize("source, col, message", [
    # the tester's template: 100,000 unrolled iterations, refused before the first
    (TESTER, 27, "loops over constants run more than 2,000 times"),
    (TESTER.replace("100000", "5000"), 27, "loops over constants run more than 2,000 times"),
    # the same where a namespace attribute built from printed JSON makes the compiler try loop builders
    ('{% set ns = namespace(t="") %}{% for m in messages %}{% set ns.t = ns.t + (m | tojson) %}'
     '{% for i in range(3000) %}{{ m.content }}{% endfor %}{% endfor %}{{ ns.t }}', 93,
     "loops over constants run more than 2,000 times"),
    # nested constant loops: 90 x 100 iterations; the outermost constant loop is named
    ('{% for m in messages %}{% for i in range(90) %}{% for j in range(100) %}x{% endfor %}{% endfor %}'
     '{{ m.content }}{% endfor %}', 27, "loops over constants run more than 2,000 times"),
    # a literal list multiplied
    ('{% for m in messages %}{% for i in [1, 2] * 5000 %}{{ m.content }}{% endfor %}{% endfor %}', 27,
     "loops over constants run more than 2,000 times"),
    # a macro called in a constant loop: each call is inlined
    ('{% macro g(m) %}{% for k in range(60) %}{% if m.content == "a" %}A{% endif %}{% endfor %}{% endmacro %}'
     '{% for m in messages %}{% for i in range(40) %}{{ g(m) }}{% endfor %}{% endfor %}', 130,
     "loops over constants run more than 2,000 times"),
    # long constant strings printed in a constant loop: characters, not iterations
    ('{% set s = "x" * 90000 %}{% for m in messages %}{% for i in range(500) %}{{ s }}{% endfor %}'
     '{{ m.content }}{% endfor %}', 52, "grows past 5,000,000 characters of Go text built"),
    # many statements with no loop at all: compile steps
    ('{% for m in messages %}' + "".join(f'{{% if m.content == "a{i}" %}}x{{% endif %}}' for i in range(8000)) +
     '{{ m.content }}{% endfor %}', 0, "converting takes more than 20,000 compile steps"),
    # a converted template Ollama would walk on every request
    ('{% set s = "x" * 90000 %}{{ s }}{{ s }}{{ s }}{% for m in messages %}{{ m.content }}{% endfor %}', -1,
     "the converted template would be 270,"),
])
def test_a_template_past_the_budget_is_refused_at_its_place_after_bounded_work(compilers, source, col, message):
    with pytest.raises(UnsafeTemplateError) as err:
        compile_template(source, name="h.jinja")
    where = f"h.jinja:1:{col}: " if col > 0 else "h.jinja:1" if col == 0 else "h.jinja: "
    assert str(err.value).startswith(where) and message in str(err.value), str(err.value)
    assert "refused as hostile" in err.value.hint
    steps, built, unrolled = work(compilers)
    # the work done before refusing is bounded by the limits, whatever the template asks for, and
    # reached once (a refusal is not compiled again another way)
    assert sum(1 for c in compilers if c._unrolled_total > C.MAX_UNROLLED or c.steps > C.MAX_STEPS
               or c.built > C.MAX_BUILT) <= 1
    assert steps <= C.MAX_STEPS + 1 and built <= C.MAX_BUILT + 100_000 + C.MAX_GO_CHARS


def test_the_testers_template_is_refused_before_any_iteration_is_compiled(compilers):
    with pytest.raises(UnsafeTemplateError):
        compile_template(TESTER)
    steps, built, unrolled = work(compilers)
    assert steps < 50 and built < 1000, (steps, built)


def test_the_cli_refuses_with_exit_2_and_no_traceback(tmp_path):
    src = tmp_path / "h.jinja"
    src.write_text(TESTER, encoding="utf-8")
    out = CliRunner().invoke(main, ["template", "convert", str(src)])
    assert out.exit_code == 2, out.output
    assert "Traceback" not in out.output
    assert "h.jinja:1:27: loops over constants run more than 2,000 times" in out.output


def test_the_time_budget_stops_the_proof_with_a_message(monkeypatch):
    import publish.convert as PC

    monkeypatch.setattr(PC, "MAX_SECONDS", -1.0)   # already past: the first Go render of the proof stops it
    with pytest.raises(UnsafeTemplateError) as err:
        convert("{% for m in messages %}{{ m.content }}{% endfor %}", name="t.jinja")
    assert "took longer than -1 s (stopped after 0 of" in str(err.value)


def test_the_time_budget_stops_the_compiler_too():
    comp = C.Compiler("{% for m in messages %}" + "{{ m.content }}" * 300 + "{% endfor %}", deadline=0.0)
    with pytest.raises(C.BudgetError, match="converting took longer than"):
        comp.compile()


@pytest.mark.parametrize("name", ["google-gemma-4-31B-it.jinja", "NVIDIA-Nemotron-3-Nano-30B-A3B-BF16.jinja",
                                  "gguf-ollama-llama-guard3-1b.jinja"])
def test_the_corpus_largest_templates_stay_far_below_every_limit(name):
    # the largest of tests/data/jinja by each counter (docs/convert.md: Limits)
    comp, text = compile_template((CORPUS / name).read_text(encoding="utf-8"))
    assert comp.steps * 10 < C.MAX_STEPS and comp.built * 10 < C.MAX_BUILT
    assert comp._unrolled_total * 100 < C.MAX_UNROLLED and len(text) * 5 < C.MAX_GO_CHARS
