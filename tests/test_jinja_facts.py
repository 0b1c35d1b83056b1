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
    real = probes.jinja_probe
    monkeypatch.setattr(probes, "jinja_probe", lambda *a, **kw: renders.append(a) or real(*a, **kw))
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
    template = hdr.chat_template
    asked = jinja_facts._keys_for(hdr) + ([("capabilities", template)] if isinstance(template, str) else [])
    for key in asked:   # what the GGUF rules ask, and the folder rules' capabilities (not foreseen)
        ask = {"syntax": lambda: jinja_facts.syntax_problem(key[1]), "audit": lambda: jinja_facts.audit(key[1]),
               "probe": lambda: jinja_facts.probe(key[1], hdr),
               "capabilities": lambda: jinja_facts.capabilities(key[1], hdr)}[key[0]]
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
                  ("type-error", "{{ messages[0]['content'] + 1 }}"),
                  ("lone-surrogate", "{% for m in messages %}{{ m.content }}{% endfor %}{{ '\\ud800' }}"),
                  ("blank", "   \n"),
                  # nested past what Jinja's recursive parser takes at one stack depth and not at another
                  ("not-955", "{{ " + "not " * 955 + "messages }}"),
                  ("not-2000", "{{ " + "not " * 2000 + "messages }}"),
                  ("parens-69", "{{ " + "(" * 69 + "messages" + ")" * 69 + " }}")]
    for i, (name, text) in enumerate(templates):
        yield name, read_header(write_tiny_llama(tmp_path / f"t{i}-F32.gguf", chat_template=text))
    named = {"tokenizer.chat_template.tool_use": PAYLOADS["cycler-globals"]}
    yield "named", read_header(write_tiny_llama(tmp_path / "named-F32.gguf", extra_kv=named))
    no_vocab = ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type")
    yield "no-vocabulary", read_header(write_tiny_llama(tmp_path / "novocab-F32.gguf", drop_kv=no_vocab))


def test_the_worker_answers_what_this_process_computes_on_every_corpus_template(tmp_path, monkeypatch):
    """161 published chat templates, the sandbox-escape payloads, broken, raising, blank and deeply
    nested templates, a lone surrogate in the output, a file without vocabulary: every fact the
    rules ask (GG701 parse, GG290 audit, the GG204/GG702/GG703 probe, RP150/RP151's capabilities)
    is the same, value for value and error for error, from one worker for all of them at once (a
    batch far larger than the facts kept between lints) as computed in this process."""
    def not_here(key):
        raise AssertionError(f"computed in the lint process: {key}")

    headers = dict(_corpus_headers(tmp_path))
    here = {}
    for name, hdr in headers.items():
        jinja_facts._KEPT.clear()
        here[name] = _facts(hdr)
    jinja_facts._KEPT.clear()
    with jinja_facts.prepared(headers.values()) as ready:
        assert ready.session is not None and len(ready.keys) > 3 * jinja_facts.KEEP
        with monkeypatch.context() as only_there:    # after the fork: the worker computes as before
            only_there.setattr(jinja_facts, "_computed", not_here)
            there = {name: _facts(hdr) for name, hdr in headers.items()}
        assert ready.session.worker.alive
    for name in headers:
        assert there[name] == here[name], name
    assert len(headers) > 170
    assert [k[0] for k in jinja_facts._keys_for(headers["no-vocabulary"])] == ["syntax", "audit"]   # no render
    assert jinja_facts._keys_for(headers["blank"]) == [("audit", "   \n")]                            # GG290's


def test_a_worker_that_dies_leaves_the_facts_to_this_process(tiny_llama_path):
    hdr = read_header(tiny_llama_path)
    here = _facts(hdr)
    jinja_facts._KEPT.clear()
    with jinja_facts.prepared([hdr]) as ready:
        os.kill(ready.session.worker.pid, signal.SIGKILL)
        assert _facts(hdr) == here
        assert not ready.session.worker.alive


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


def test_the_prestarted_worker_imports_jinja_before_lint_sends_anything(tmp_path, monkeypatch):
    """The worker `publish lint` forks first imports Jinja at once, while the lint process reads
    the headers (no job has arrived yet): the import, ~35 ms, is what lint would otherwise wait
    for once the header is read."""
    import time

    marker = tmp_path / "imported"
    real = jinja_worker._load_jinja_lean

    def load():   # runs in the worker (forked after this patch)
        real()
        marker.write_text("yes")
    monkeypatch.setattr(jinja_worker, "_load_jinja_lean", load)
    jinja_worker.prestart()
    try:
        deadline = time.monotonic() + 10
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert marker.exists(), "the worker waited for a job before importing Jinja"
    finally:
        jinja_worker.stop_prestarted()


def test_a_lint_of_files_without_a_chat_template_stops_the_worker_before_its_rules(tmp_path, monkeypatch):
    """The prestarted worker imports Jinja on the other core; when the headers hold no chat
    template, lint stops it before running its rules (its CPU is freed for them). A staged folder
    keeps it: its rules ask facts its headers do not foresee."""
    from publish import lint
    from publish.gguf import rules

    plain = str(write_tiny_llama(tmp_path / "plain-F32.gguf", chat_template=None))
    seen = []
    real = rules.check_header
    monkeypatch.setattr(rules, "check_header", lambda *a, **k: seen.append(worker.alive) or real(*a, **k))
    jinja_worker.prestart()
    worker = jinja_worker._PRESTARTED[0]
    lint.lint_paths([plain])
    assert seen == [False] and not worker.alive
    with pytest.raises(ChildProcessError):
        os.waitpid(worker.pid, os.WNOHANG)


LOOP = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"   # 5 s, then stopped


def _group_gone(pgid: int, within: float = 3.0) -> bool:
    import time

    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_stopping_a_worker_mid_render_stops_its_render_child_too(tmp_path):
    """Lint left a worker's render child running for up to 5 s after Ctrl-C (a tester's find):
    the worker leads its own process group and `stop` kills the group."""
    import time

    worker = jinja_worker.Worker.start()
    assert worker.send([["probe", LOOP, "<s>", "</s>"]])
    time.sleep(0.5)   # the worker parses, audits and forks the render child
    assert os.getpgid(worker.pid) == worker.pid
    worker.stop()
    assert _group_gone(worker.pid)


def test_an_interrupt_while_the_batch_is_sent_stops_the_worker(tiny_llama_path, monkeypatch):
    pids = []
    start = jinja_worker.Worker.start.__func__
    monkeypatch.setattr(jinja_worker.Worker, "start",
                        classmethod(lambda cls, *a, **k: (lambda w: pids.append(w.pid) or w)(start(cls, *a, **k))))

    def interrupted(self, jobs):
        raise KeyboardInterrupt

    monkeypatch.setattr(jinja_worker.Worker, "send", interrupted)
    with pytest.raises(KeyboardInterrupt):
        with jinja_facts.prepared([read_header(tiny_llama_path)]):
            pytest.fail("the block ran")
    assert len(pids) == 1 and not jinja_facts._SESSION
    with pytest.raises(ChildProcessError):
        os.waitpid(pids[0], os.WNOHANG)


def test_a_fork_that_fails_leaves_lint_to_compute_in_process(tiny_llama_path, monkeypatch):
    """The worker's fork fails once (EAGAIN: too many processes): lint crashed with a traceback."""
    real_fork, calls = os.fork, []

    def fork_fails_once():
        calls.append(1)
        if len(calls) == 1:
            raise BlockingIOError(11, "Resource temporarily unavailable")
        return real_fork()

    hdr = read_header(tiny_llama_path)
    here = _facts(hdr)
    jinja_facts._KEPT.clear()
    monkeypatch.setattr(os, "fork", fork_fails_once)
    with jinja_facts.prepared([hdr]) as ready:
        assert ready.session is None and _facts(hdr) == here   # the render child's fork still works


def test_lints_in_several_threads_each_get_their_own_answers(tmp_path):
    """The worker belongs to the thread whose `prepared` started it; other threads compute in
    process. Six threads linting six files (a hostile one among them) crashed or mixed up findings
    (a tester's find: GG290 lost)."""
    import threading

    from publish.lint import lint_paths
    from test_template_audit import PAYLOADS

    templates = [PAYLOADS["cycler-globals"], LOOP.replace("100000", "3"), "{{ bos_token }}{{ messages[0].content }}",
                 "{% for m in messages %}{{ m.content }", "{{ raise_exception('no') }}", "{{ messages }}"]
    paths = [str(write_tiny_llama(tmp_path / f"t{i}-F32.gguf", chat_template=t)) for i, t in enumerate(templates)]
    alone = {}
    for p in paths:
        jinja_facts._KEPT.clear()
        alone[p] = [(f.code, f.message) for f in lint_paths([p]).findings]
    assert any(code == "GG290" for code, _ in alone[paths[0]])
    for _ in range(3):
        jinja_facts._KEPT.clear()
        got, errors = {}, []

        def lint(p):
            try:
                got[p] = [(f.code, f.message) for f in lint_paths([p]).findings]
            except Exception as err:  # noqa: BLE001 - reported below
                errors.append(err)

        threads = [threading.Thread(target=lint, args=(p,)) for p in paths]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == [] and got == alone


def test_lint_of_a_staged_folder_or_a_blank_template_imports_no_jinja(tmp_path):
    """The folder rules' probe and capabilities go to the worker too; GG290's audit of a blank
    template as well (both imported Jinja into the lint process: a tester's find)."""
    import subprocess
    import sys

    from paths import ROOT

    folder = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "publish", "build", str(ROOT / "examples" / "tiny" / "release.toml"),
                    "-o", str(folder)], check=True, capture_output=True)
    blank = write_tiny_llama(tmp_path / "blank-F32.gguf", chat_template="   \n")
    code = ("import sys; from publish import quickcli; quickcli.run(['lint', sys.argv[1]]); "
            "print('jinja2' in sys.modules)")
    for target in (folder, blank):
        out = subprocess.run([sys.executable, "-c", code, str(target)], capture_output=True, text=True)
        assert out.stdout.splitlines()[-1] == "False", (target, out.stdout, out.stderr)


def test_a_worker_dies_with_the_lint_process(tmp_path):
    """In its own process group the worker missed the SIGTERM or the group SIGKILL that ended lint
    and ran on for 5 s a render (a tester's find); the kernel now kills it with its parent."""
    import subprocess
    import sys
    import time

    code = ("from publish import jinja_worker; w = jinja_worker.Worker.start(); print(w.pid, flush=True); "
            "import time; time.sleep(60)")
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    worker_pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        try:
            os.kill(worker_pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    pytest.fail("the worker outlived the process that started it")


_KILLED_MID_BATCH = r"""
import sys, time
from publish import jinja_facts, jinja_worker
real = jinja_facts.answer
def slow(job):   # three jobs of 2 s each (a render can take up to its 5 s bound)
    time.sleep(2)
    return real(job)
jinja_facts.answer = slow
w = jinja_worker.Worker.start()
if sys.argv[1] == "later":
    w.send([["audit", "{{ 1 }}"]])
    assert w.receive() is not None
w.send([["audit", "{{ %d }}" % n] for n in range(3)])
print(w.pid, flush=True)
time.sleep(60)
"""


@pytest.mark.parametrize("batch, within", [("first", 3.5), ("later", 1.0)])
def test_a_worker_outlives_a_killed_lint_by_one_job_at_most(batch, within):
    """Lint killed (SIGKILL, in another process group than its worker) while the worker computes a
    batch of three slow jobs: in the batch lint sends first, the worker looks for its parent
    between jobs and ends after the job it is in, not after all three; in a later batch the kernel
    kills it with lint at once (PR_SET_PDEATHSIG, set up after the first batch: ctypes' import is
    3 ms lint would wait for)."""
    import subprocess
    import sys
    import time

    lint = subprocess.Popen([sys.executable, "-c", _KILLED_MID_BATCH, batch], stdout=subprocess.PIPE, text=True)
    worker_pid = int(lint.stdout.readline())
    time.sleep(1.0)   # in the first job by now
    lint.kill()
    lint.wait()
    killed = time.monotonic()
    while time.monotonic() - killed < within:
        if not _running(worker_pid):
            return
        time.sleep(0.05)
    os.killpg(worker_pid, signal.SIGKILL)
    pytest.fail(f"the worker outlived lint by {within} s")


def _running(pid: int) -> bool:
    """Whether `pid` runs: not gone, and not a zombie its new parent has yet to reap."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except FileNotFoundError:
        return False


_SPY = r"""
import gc, json, sys
from publish import jinja_facts, jinja_worker

load = jinja_worker._load_jinja_lean
def spied():   # in the worker: which of jinja2's modules it imported, and the collector meanwhile
    before = [s["collections"] for s in gc.get_stats()]
    load()
    after = [s["collections"] for s in gc.get_stats()]
    with open(sys.argv[1], "w") as fh:
        json.dump({"modules": sorted(n for n in sys.modules if n.split(".")[0] == "jinja2"),
                   "collections": sum(after) - sum(before), "enabled after": gc.isenabled()}, fh)
jinja_worker._load_jinja_lean = spied

start = jinja_worker.Worker.start.__func__
def started(cls, *args, **kw):   # returns in the lint process only: from here on it computes nothing
    worker = start(cls, *args, **kw)
    def here(key):
        raise AssertionError(f"computed in the lint process: {key[0]}")
    jinja_facts._computed = here
    return worker
jinja_worker.Worker.start = classmethod(started)

from publish.lint import lint_report
print(lint_report(sys.argv[2:], "json")[0])
"""


def test_a_fresh_worker_imports_jinja_without_its_package_init_and_answers_the_same(tmp_path):
    """In a fresh process the worker imports Jinja's modules without jinja2/__init__.py (~9 ms:
    publish.jinja_worker._load_jinja_lean), the path every `publish lint FILE` takes and the
    other tests here cannot (their process imported Jinja whole before forking). Its answers are
    what this process computes: the lint report of every corpus template, payload and broken
    template is the same. The garbage collector stays off during that import (nothing it makes
    is garbage) and is on again after it, for what templates make."""
    import json
    import subprocess
    import sys

    from publish.lint import lint_report

    paths = [str(hdr.path) for _, hdr in _corpus_headers(tmp_path)]
    seen = tmp_path / "jinja-modules.json"
    out = subprocess.run([sys.executable, "-c", _SPY, str(seen), *paths], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    spied = json.loads(seen.read_text())
    assert spied["collections"] == 0 and spied["enabled after"]
    modules = spied["modules"]
    assert "jinja2.sandbox" in modules and "jinja2.bccache" not in modules and "jinja2.loaders" not in modules
    with pytest.MonkeyPatch.context() as here:   # this process imported Jinja whole: compute here
        here.setattr(jinja_worker.Worker, "start", classmethod(lambda cls, *a, **k: None))
        expected = lint_report(paths, "json")[0]
    assert json.loads(out.stdout) == json.loads(expected)
    assert {"GG701", "GG290", "GG204", "GG703"} <= {f["code"] for f in json.loads(expected)["findings"]}


def test_the_worker_kills_with_sigkill():
    assert jinja_worker._SIGKILL == signal.SIGKILL


def test_a_selection_without_jinja_rules_asks_nothing_and_frees_the_worker(tmp_path, monkeypatch):
    """`publish lint --select GG1` (or an --ignore / --target that leaves no rule asking Jinja) on a
    file with a chat template: the Jinja rules do not run, so lint waits for no render and stops
    the worker its start forked; the findings are the selected ones of a full lint."""
    from publish.lint import lint_paths

    path = str(write_tiny_llama(tmp_path / "m-F32.gguf", chat_template="{{ bos_token }}{{ messages[0].content }}",
                                add_bos_token=True, drop_kv=("llama.context_length",)))
    full = [f for f in lint_paths([path]).findings if f.code.startswith("GG7")]
    assert {"GG204", "GG710"} <= {f.code for f in lint_paths([path]).findings}
    jinja_facts._KEPT.clear()
    jinja_worker.prestart()
    worker = jinja_worker._PRESTARTED[0]

    def asked(key):
        raise AssertionError(f"a rule asked {key[0]}")
    monkeypatch.setattr(jinja_facts, "_fact", asked)
    selected = lint_paths([path], select=["GG7"], ignore=["GG70", "GG290"]).findings
    assert selected == [f for f in full if not f.code.startswith("GG70")] and selected
    assert not worker.alive and jinja_worker._PRESTARTED == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_a_killed_lint_does_not_keep_its_output_open(tmp_path, sig):
    """`publish lint FILE | tee log` killed while the worker renders a template that loops: the
    worker and its render child may live up to the render's 5 s bound, but they hold none of
    lint's output (publish.forked), so the reader gets the end of the output at once."""
    import subprocess
    import sys
    import time

    path = write_tiny_llama(tmp_path / "loop-F32.gguf", chat_template=LOOP)
    lint = subprocess.Popen([sys.executable, "-m", "publish", "lint", str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    time.sleep(1.0)   # the worker is rendering by now
    lint.send_signal(sig)
    t0 = time.monotonic()
    lint.stdout.read()
    lint.stderr.read()
    lint.wait()
    assert time.monotonic() - t0 < 2.0
