"""publish.jinja_facts: lint parses and renders a chat template once however many rules ask, in a
worker process (publish.jinja_worker) whose answers are the facts computed in process."""

from __future__ import annotations

import os
import signal

import pytest

from ggufs import write_tiny_llama
from jinja_corpus import load
from publish import jinja_facts, jinja_worker, probes
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
    real = probes.jinja_probe_with
    monkeypatch.setattr(probes, "jinja_probe_with", lambda *a: renders.append(a) or real(*a))
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


def _facts(hdr) -> list:
    """Every fact the rules ask about hdr, each as (kind, value) or (exception class, str)."""
    out = []
    for key in jinja_facts._keys_for(hdr):
        ask = {"syntax": lambda: jinja_facts.syntax_problem(key[1]), "audit": lambda: jinja_facts.audit(key[1]),
               "probe": lambda: jinja_facts.probe(key[1], hdr)}[key[0]]
        try:
            fact = ask()
        except Exception as err:  # noqa: BLE001 - compared below
            out.append((key[0], type(err), str(err)))
            continue
        if isinstance(fact, probes.Probe):   # the error by class and text (exceptions compare by identity)
            fact = (fact.kind, fact.start, fact.history, type(fact.error), str(fact.error))
        out.append((key[0], fact))
    return out


def _corpus_headers(tmp_path):
    from test_template_audit import PAYLOADS

    templates = [(e.name, e.source) for e in load()]
    templates += [(f"payload-{name}", text) for name, text in PAYLOADS.items()]
    templates += [("syntax", "{% for m in messages %}{{ m.content }"),
                  ("go", "{{ .Prompt }}{{ if .System }}x{% endif %}"),
                  ("json", '{"chat_template": "{{ messages }}"}'),
                  ("raises", "{{ raise_exception('no tools given') }}"),
                  ("type-error", "{{ messages[0]['content'] + 1 }}")]
    for i, (name, text) in enumerate(templates):
        yield name, read_header(write_tiny_llama(tmp_path / f"t{i}-F32.gguf", chat_template=text))
    named = {"tokenizer.chat_template.tool_use": PAYLOADS["cycler-globals"]}
    yield "named", read_header(write_tiny_llama(tmp_path / "named-F32.gguf", extra_kv=named))


def test_the_worker_answers_what_this_process_computes_on_every_corpus_template(tmp_path, monkeypatch):
    """162 published chat templates, the sandbox-escape payloads, broken and raising templates:
    each fact the rules ask (GG701 parse, GG290 audit, the GG204/GG702/GG703 probe) is the same,
    value for value and error for error, from the worker as computed in this process."""
    def not_here(key):
        raise AssertionError(f"computed in the lint process: {key[0]}")

    checked = 0
    for name, hdr in _corpus_headers(tmp_path):
        jinja_facts._KEPT.clear()
        here = _facts(hdr)
        jinja_facts._KEPT.clear()
        with jinja_facts.prepared([hdr]) as ready:
            assert ready.worker is not None
            with monkeypatch.context() as only_there:    # after the fork: the worker computes as before
                only_there.setattr(jinja_facts, "_computed", not_here)
                there = _facts(hdr)
        assert there == here, name
        checked += 1
    assert checked > 170


def test_a_worker_that_dies_leaves_the_facts_to_this_process(tiny_llama_path):
    hdr = read_header(tiny_llama_path)
    here = _facts(hdr)
    jinja_facts._KEPT.clear()
    with jinja_facts.prepared([hdr]) as ready:
        os.kill(ready.worker.pid, signal.SIGKILL)
        assert _facts(hdr) == here
        assert not ready.worker.alive


def test_every_worker_is_reaped(tiny_llama_path, tmp_path, monkeypatch):
    """quickcli's prestarted worker, taken by lint or not (a file without a template, a missing
    file), and every `prepared` one: none is left running or unreaped."""
    from publish import quickcli

    pids = []
    start = jinja_worker.Worker.start.__func__
    monkeypatch.setattr(jinja_worker.Worker, "start",
                        classmethod(lambda cls, *a, **k: (lambda w: pids.append(w.pid) or w)(start(cls, *a, **k))))
    plain = write_tiny_llama(tmp_path / "plain-F32.gguf", chat_template=None)
    for path in (tiny_llama_path, plain, tmp_path / "missing.gguf"):
        jinja_facts._KEPT.clear()
        quickcli.run(["lint", str(path)])
    assert len(pids) == 3 and not jinja_worker._PRESTARTED
    for pid in pids:
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def test_prestart_finds_the_template_and_the_bos_and_eos_text_early(tmp_path, monkeypatch):
    """The byte search that decides what the worker computes before lint asks finds the template's
    record (not a named template's) and the BOS/EOS texts the header gives; the facts lint then
    asks come from that early work (the job the lint process sends needs no new render)."""
    tpl = "{{ bos_token }}{% for m in messages %}{{ m['content'] }}{% endfor %}"
    named = {"tokenizer.chat_template.tool_use": "{{ 'tools' }}"}
    path = write_tiny_llama(tmp_path / "m-F32.gguf", chat_template=tpl, extra_kv=named)
    hdr = read_header(path)
    assert jinja_worker._template_in(str(path)) == (tpl, hdr.bos_text, hdr.eos_text) and hdr.bos_text
    assert jinja_worker._template_in(str(write_tiny_llama(tmp_path / "p-F32.gguf", chat_template=None))) is None
    assert jinja_worker._template_in(str(tmp_path / "missing.gguf")) is None

    renders = []
    real = probes.jinja_probe_with
    monkeypatch.setattr(probes, "jinja_probe_with", lambda *a: renders.append(a) or real(*a))
    jinja_worker._warm([str(path)], eager=False)        # in this process: it only fills jinja_facts' keep
    assert len(renders) == 1
    answers = [jinja_facts.answer(list(key)) for key in jinja_facts._keys_for(hdr)]   # the jobs lint sends
    assert len(renders) == 1 and all(a[0] == "value" for a in answers)
    assert answers[2][1][1] == hdr.bos_text + probes.START[0]["content"]   # the probe: BOS, then the user's text
