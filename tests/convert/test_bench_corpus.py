"""bench/bench_corpus.py judges all three ways with one yardstick and prints one table."""

from __future__ import annotations

import importlib.util
import json
from paths import ROOT

BENCH = ROOT / "bench" / "bench_corpus.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_corpus", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_phi3_row_family_identical_hub_pick_differs(tmp_path, capsys):
    bench = _bench()
    out = tmp_path / "rows.json"
    assert bench.main(["--only", "microsoft-Phi-3-mini-4k-instruct", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "template suggest (families)" in printed and "(Hub pick)" in printed
    [row] = json.loads(out.read_text(encoding="utf-8"))
    assert row["suggest"]["verdict"] == "identical" and row["suggest"]["family"] == "phi3"
    # The Hub serves ollama.com's phi3 template, which ends an assistant turn differently from
    # the model's Jinja template: a multi-turn prompt differs.
    assert row["pick"]["picked"] == "library/phi3:3.8b"
    assert row["pick"]["verdict"] == "failed"
    assert "different" in row["pick"]["why"]
    if bench.convert_mod is not None:
        assert row["convert"]["verdict"] == "identical"


def test_a_template_that_renders_nothing_is_not_counted_against_anyone(tmp_path):
    """firefunction-v1 refuses every plain conversation: n/a (nothing to compare), never identical;
    ollama-utils' own conversion renders it too, fails, and the Hub serves no template."""
    bench = _bench()
    out = tmp_path / "rows.json"
    bench.main(["--only", "hf-fireworks-ai-firefunction-v1", "--json", str(out)])
    [row] = json.loads(out.read_text(encoding="utf-8"))
    assert row["suggest"]["verdict"] == "n/a"
    assert row["pick"]["verdict"] == "none"
