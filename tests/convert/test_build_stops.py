"""`publish build` with `[template] from = "gguf"` stages only stops the GGUF's vocabulary can
emit: the conversion's stop list keeps a turn-end text only when it is a token of the vocab (a
fresh-clone tester's find: Gemma 4's template writes '<|turn>' to open a turn; on a vocab without
that token the staged folder failed its own lint with RP114)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ggufs
from publish.build import build
from publish.convert import convert
from publish.convert.inputs import load_chat_template
from publish.errors import SpecError
from publish.lint import lint_paths
from publish.spec import load_spec

GEMMA4 = (Path(__file__).resolve().parents[1] / "data" / "jinja" / "google-gemma-4-31B-it.jinja").read_text(
    encoding="utf-8")

SPEC = """\
repo = "your-org/tiny-llama-GGUF"
base_model = "publish-examples/tiny-llama"
license = "apache-2.0"
quantized_by = "publish tests"

[template]
from = "gguf"

[params]
num_ctx = 512

[quants]
dir = "ggufs"
pattern = "tiny-llama-*.gguf"
"""


def test_without_the_vocab_the_stop_list_holds_both_markers():
    # the template alone: '<turn|>' ends an answer, '<|turn>' opens the next turn
    conv = convert(GEMMA4, bos_token="<bos>", eos_token="<eos>")
    assert conv.stops == ["<turn|>", "<|turn>"]


def test_a_gguf_whose_vocab_lacks_a_marker_gets_only_the_stops_it_can_emit(tmp_path):
    (tmp_path / "ggufs").mkdir()
    gguf = ggufs.write_tiny_llama(tmp_path / "ggufs" / "tiny-llama-Q8_0.gguf", chat_template=GEMMA4,
                                  end_token="<turn|>")
    source = load_chat_template(gguf)
    assert "<turn|>" in source.tokens and "<|turn>" not in source.tokens
    conv = convert(source.text, bos_token=source.bos, eos_token=source.eos, strip_bos=source.strip_bos,
                   specials=source.specials, tokens=source.tokens)
    assert conv.stops == ["<turn|>"]

    (tmp_path / "release.toml").write_text(SPEC, encoding="utf-8")
    folder = build(load_spec(tmp_path / "release.toml"), tmp_path / "out")
    assert json.loads((folder / "params").read_text(encoding="utf-8"))["stop"] == ["<turn|>"]
    result = lint_paths([str(folder)])
    assert not [f for f in result.findings if f.code == "RP114"], result.findings
    assert not [f for f in result.findings if f.severity.value == "error"], result.findings


def test_a_turn_end_the_vocab_lacks_is_neither_a_stop_nor_demanded_by_rp115(tmp_path):
    """A second tester's find: on a vocab with neither Gemma 4 marker, the conversion (rightly)
    stages no stop, then RP115 demanded '<turn|>' as a stop while RP114 refused it as a stop the
    model can never emit: lint failed either way. A text that is not a token of the vocab is
    RP114's business only; the staged folder lints clean, and adding the stop by hand is RP114."""
    (tmp_path / "ggufs").mkdir()
    gguf = ggufs.write_tiny_llama(tmp_path / "ggufs" / "tiny-llama-Q8_0.gguf", chat_template=GEMMA4)
    source = load_chat_template(gguf)
    assert "<turn|>" not in source.tokens and "<|turn>" not in source.tokens
    (tmp_path / "release.toml").write_text(SPEC, encoding="utf-8")
    folder = build(load_spec(tmp_path / "release.toml"), tmp_path / "out")
    assert "stop" not in json.loads((folder / "params").read_text(encoding="utf-8"))
    result = lint_paths([str(folder)])
    assert not [f for f in result.findings if f.severity.value == "error"], result.findings

    # the stop added in the spec: build refuses it by RP114's reasoning before writing anything;
    # added to the staged params by hand, lint reports it as RP114
    (tmp_path / "release.toml").write_text(SPEC.replace("num_ctx = 512", 'num_ctx = 512\nstop = ["<turn|>"]'),
                                           encoding="utf-8")
    with pytest.raises(SpecError) as info:
        build(load_spec(tmp_path / "release.toml"), tmp_path / "out2")
    assert info.value.key == "params.stop[0]" and "RP114" in info.value.message
    assert not (tmp_path / "out2").exists()
    params = json.loads((folder / "params").read_text(encoding="utf-8"))
    (folder / "params").write_text(json.dumps({**params, "stop": ["<turn|>"]}), encoding="utf-8")
    codes = {f.code for f in lint_paths([str(folder)]).findings if f.severity.value == "error"}
    assert codes == {"RP114", "RP141"}, codes   # RP141: the Modelfiles still carry the params as built
