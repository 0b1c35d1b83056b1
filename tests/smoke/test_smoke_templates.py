"""The GGUF's chat templates run only inside publish's sandbox, also when llama-cpp-python loads
the model: `llama_cpp.Llama()` compiles every tokenizer.chat_template* key itself (jinja2, no
bounds: a one-line template took 16.7 GB and 40 s, a syntax error ended in a traceback)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner
from gguf import GGUFValueType as V

import ggufs
from publish.cli import main
from publish.smoke.base import LoadError
from smoke_folders import make_folder

pytestmark = [
    pytest.mark.llamacpp,
]

def tiny(path, **templates):
    kv = {f"tokenizer.chat_template.{k}": (v, V.STRING) for k, v in templates.items() if k != "default"}
    return ggufs.write_tiny_llama(path, chat_template=templates.get("default", ggufs.GEMMA_JINJA), extra_kv=kv)


def test_llama_cpp_python_compiles_no_template_at_load(tmp_path, monkeypatch):
    import llama_cpp.llama_chat_format as chat_format

    from publish.smoke.llamacpp import LlamaCppEngine

    def refuse(*args, **kwargs):
        raise AssertionError("llama-cpp-python compiled a chat template of the GGUF")

    monkeypatch.setattr(chat_format, "Jinja2ChatFormatter", refuse)
    path = tiny(tmp_path / "t.gguf", tool_use="{{ messages|length }} tools")
    with LlamaCppEngine(path, n_ctx=256) as engine:
        assert engine.chat_template == ggufs.GEMMA_JINJA  # still known to the engine, for publish.chat
        assert engine.metadata["tokenizer.chat_template.tool_use"] == "{{ messages|length }} tools"
        assert engine.complete("<start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\n",
                               {"stop": ["<end_of_turn>"], "temperature": 0}).text == ggufs.ANSWER


def test_a_template_that_folds_a_gigabyte_loads_in_bounded_memory(tmp_path):
    """jinja2 folds `'a' * 10**9` while compiling: 1 GB inside llama-cpp-python's Llama() (10**10
    took 16.7 GB; under a memory limit jinja2 quietly gives up folding, so the test measures the
    load's peak memory instead, under a 2 GB limit for safety). ru_maxrss is not that peak: Linux
    keeps the high-water mark across execve, so it reported the forking pytest process's size
    (901 MB, then 1,612 MB in full runs)."""
    path = tiny(tmp_path / "bomb.gguf", default="{{ 'a' * 10**9 }}")
    script = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))
        from publish.smoke.llamacpp import LlamaCppEngine
        with LlamaCppEngine({str(path)!r}, n_ctx=256) as engine:
            print(engine.complete("hi", {{"num_predict": 1, "temperature": 0}}).text)
        # VmHWM is this process's own peak: ru_maxrss would carry pytest's peak across the exec
        print(next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:")) // 1024)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-2000:]
    answer, peak_mb = proc.stdout.split()
    assert answer == ggufs.ANSWER
    assert int(peak_mb) < 600, f"loading took {peak_mb} MB"  # the fold alone would be 1,000 MB


@pytest.mark.parametrize("key, source, words", [
    ("default", "{% for m in messages %}{{ m.content }", "unexpected"),
    ("default", "{% for a in [1] %}" * 30 + "{% endfor %}" * 30, "too deep to compile"),
    ("tool_use", "{% if %}", "tokenizer.chat_template.tool_use"),
])
def test_a_template_that_fails_in_the_sandbox_is_a_load_error(tmp_path, key, source, words):
    from publish.smoke.llamacpp import LlamaCppEngine

    path = tiny(tmp_path / "t.gguf", **{key: source})
    with pytest.raises(LoadError) as err:
        LlamaCppEngine(path, n_ctx=256)
    assert "not loaded" in str(err.value) and words in str(err.value)


def test_smoke_reports_the_failing_quant_and_goes_on(tmp_path):
    good = tiny(tmp_path / "good.gguf")
    bad = tiny(tmp_path / "bad.gguf", default="{{ messages[0].content ")
    folder = make_folder(tmp_path / "rel", good, labels=("Q4_K_M", "Q8_0"))
    (folder / "tiny-Q4_K_M.gguf").write_bytes(bad.read_bytes())
    result = CliRunner().invoke(main, ["smoke", str(folder), "--backend", "llamacpp", "--json"])
    assert "Traceback" not in result.output
    assert result.exit_code == 1, result.output
    quants = {q["label"]: q for q in json.loads(result.stdout)["quants"]}
    assert "fails in publish's Jinja sandbox" in quants["Q4_K_M"]["load_error"]
    assert quants["Q8_0"]["load_error"] is None
    assert all(c["answer"] == ggufs.ANSWER for c in quants["Q8_0"]["cases"])
