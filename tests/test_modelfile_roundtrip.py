"""Properties of publish.modelfile, checked against Ollama's own parser.

1. Every Modelfile we render parses back to exactly the values we rendered, or the renderer
   refuses with a ModelfileError for text Ollama's parser cannot carry.
2. Ollama's parser (github.com/ollama/ollama/parser v0.24.0, imported by the Go program in
   tests/ollama/parser_ref) reads the same commands and the same typed values from those
   Modelfiles as publish.modelfile does.
3. The same holds for hand-written-looking Modelfiles (odd spacing, comments, case, CRLF, stray
   quotes, numbers in every syntax Go accepts): both parsers accept or refuse alike and agree on
   everything they read.
"""

from __future__ import annotations

import json
import os
import subprocess
import unicodedata
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import go_binary
from publish.errors import ModelfileError
from publish.modelfile import (PARAMETER_TYPES, ModelfileSpec, go_is_print,
                               ollama_value, parse, render)

REF_DIR = Path(__file__).parent / "ollama" / "parser_ref"


@pytest.fixture(scope="session")
def ollama_parser(tmp_path_factory):
    """Run Ollama's parser (tests/ollama/parser_ref, built once per session) on Modelfile texts."""
    go = go_binary()
    if go is None:
        pytest.fail("Go is not installed: the Modelfile tests need it to build Ollama's own parser "
                    "(tests/ollama/parser_ref); install Go >= 1.26 (`make go` says how)", pytrace=False)
    exe = tmp_path_factory.mktemp("parser-ref") / "parser-ref"
    # The user's module and build caches: after `make ollama` every module is already there.
    env = dict(os.environ, GOFLAGS="-mod=readonly", GOTOOLCHAIN="local", CGO_ENABLED="0")
    proc = subprocess.run([go, "build", "-o", str(exe), "."], cwd=REF_DIR, env=env, capture_output=True,
                          text=True, timeout=900)
    assert proc.returncode == 0, f"building {REF_DIR} failed:\n{proc.stderr}"

    def read(texts: list[str]) -> list[dict]:
        out = subprocess.run([str(exe)], input=json.dumps(texts).encode(),
                             capture_output=True, timeout=120)
        assert out.returncode == 0, out.stderr.decode()
        return json.loads(out.stdout)

    return read


# -- what publish.modelfile reads, in the Go program's shape --------------------------------------

_KIND = {int: "int64", float: "float32", bool: "bool", list: "[]string"}


def publish_reads(text: str) -> dict:
    """publish.modelfile's reading of `text`, shaped like parser_ref's output."""
    try:
        mf = parse(text)
        commands = [{"name": c.name, "args": c.args} for c in mf.commands]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            params = mf.parameters()
    except ModelfileError as err:
        return {"error": str(err)}
    typed = {k: {"kind": _KIND[PARAMETER_TYPES[k]], "value": v} for k, v in params.items()}
    request = {"from": mf.from_[-1], "template": mf.template or "", "system": mf.system or "",
               "license": mf.licenses or None}
    if mf.messages:
        request["messages"] = [list(m) for m in mf.messages]
    return {"commands": commands, "request": request, "parameters": typed}


def go_reads(result: dict) -> dict:
    if result.get("error"):
        return {"error": result["error"]}
    request = {k: v for k, v in result["request"].items() if k != "files"}
    return {"commands": result["commands"], "request": request, "parameters": result.get("parameters") or {}}


def assert_same_reading(text: str, go_result: dict) -> None:
    mine, theirs = publish_reads(text), go_reads(go_result)
    if "error" in theirs:
        assert "error" in mine, f"Ollama refuses ({theirs['error']}) what publish reads:\n{text!r}\n{mine}"
        return
    if "error" in mine:
        # The one refusal of ours Ollama does not share at parse time: a float option of
        # Inf/NaN, which Ollama reads and then cannot store (its params layer is JSON).
        special = [p for p in theirs["parameters"].values()
                   if p["kind"] == "float32" and isinstance(p["value"], str)]
        assert special, f"publish refuses ({mine['error']}) what Ollama reads:\n{text!r}\n{theirs}"
        return
    assert mine == theirs, f"publish and Ollama read {text!r} differently"


# -- 1 + 2: rendered Modelfiles -------------------------------------------------------------------

tricky = st.sampled_from(['"', '""', '"""', "'", "\n", "\r\n", "\t", " ", "#", "{{ .Prompt }}",
                          "<end_of_turn>", "é", "日本", "🙂", "\u200b", "\x00", "\\", "PARAMETER"])
# Characters Python's Unicode 14 tables know (Go 1.26 has Unicode 15: see unicode_gap below).
known_chars = st.characters(blacklist_categories=("Cs",)).filter(lambda c: unicodedata.category(c) != "Cn")
text = st.lists(st.one_of(tricky, st.text(known_chars, max_size=8)), max_size=10).map("".join)

params = st.fixed_dictionaries({}, optional={
    "temperature": st.floats(-1e6, 1e6, allow_nan=False),      # any double: Ollama keeps float32
    "top_p": st.floats(0, 1, width=32),
    "top_k": st.integers(-(2**63), 2**63 - 1),
    "num_ctx": st.integers(0, 2**31),
    "seed": st.integers(-(2**31), 2**31),
    "use_mmap": st.booleans(),
    "stop": st.lists(text.filter(bool), min_size=1, max_size=4),
})


def carriable(value: str) -> bool:
    """Exactly what Ollama's parser can carry: printable text (plus tab/CR/LF) in which no line
    before the last ends in `\"\"\"` (trailing blanks aside): there a quoted value would end."""
    if not all(go_is_print(c) or c in "\t\r\n" for c in value):
        return False
    return not any(value[:i].rstrip(" \t\r\n").endswith('"""') for i, c in enumerate(value) if c in "\r\n")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(template=st.none() | text, system=st.none() | text, licenses=st.lists(text, max_size=2), params=params)
def test_render_parse_round_trip(template, system, licenses, params, ollama_parser):
    spec = ModelfileSpec(from_=("./model-Q4_K_M.gguf", "./mmproj-model-f16.gguf"), template=template,
                         system=system, params=params, licenses=tuple(licenses))
    values = [v for v in (template, system, *licenses, *params.get("stop", [])) if v is not None]
    try:
        out = render(spec)
    except ModelfileError:
        assert not all(carriable(v) for v in values)
        return
    assert all(carriable(v) for v in values)
    mf = parse(out)
    assert mf.from_ == ["./model-Q4_K_M.gguf", "./mmproj-model-f16.gguf"]
    assert mf.template == template
    assert mf.system == system
    assert mf.licenses == licenses
    assert mf.parameters() == {k: ollama_value(k, v) for k, v in params.items()}
    # Ollama's own parser reads the same file the same way
    [theirs] = ollama_parser([out])
    assert_same_reading(out, theirs)
    got = go_reads(theirs)
    assert got["request"]["template"] == (template or "") and got["request"]["system"] == (system or "")
    assert got["request"]["license"] == (licenses or None)
    want = {k: ([*v] if k == "stop" else ollama_value(k, v)) for k, v in params.items()}
    assert {k: p["value"] for k, p in got["parameters"].items()} == want


# -- 3: hand-written Modelfiles -------------------------------------------------------------------

# (values Go's strconv accepts, values it refuses) per option kind
INTS = (["0", "1", "-1", "+5", "007", "-0", "4096", "9223372036854775807", "-9223372036854775808"],
        ["9223372036854775808", "1_000", "1.5", "1e3", "0x10", "5 "])
FLOATS = (["0", "1", "-1", "0.95", ".5", "5.", "1e3", "1E-3", "+.5e-3", "1_000.5", "0x1p-2", "0X1P+2",
           "0x_1p0", "inf", "-Infinity", "NaN", "3.4028235e38", "1e-50", "0.1", "2.5e+1_0",
           "9223372036854775807", "0.7"],
          ["1__0", "_1", "1_", "0x1.8", "+nan", "1e39", "3.40282357e38", "1e", "0.5.1"])
BOOLS = (["1", "t", "T", "TRUE", "True", "true", "0", "f", "F", "FALSE", "False", "false"],
         ["yes", "tRUE", "2"])
BY_KIND = {int: INTS, float: FLOATS, bool: BOOLS}
ODD_NAMES = ["mirostat", "penalize_newline", "tfs_z", "Temperature", "STOP", "system", "model", "", "a b"]
WORDS = ["FROM", "from", "From", "TEMPLATE", "template", "SYSTEM", "System", "LICENSE", "MESSAGE"]
ODD_WORDS = ["FRM", "ADAPTERS", "PARAMETERS", "FROM1"]
seldom = st.integers(0, 19).map(lambda n: n == 0)          # one time in twenty
sep = st.sampled_from([" "] * 18 + ["  ", "\t"])
newline = st.sampled_from(["\n", "\n", "\n", "\r\n", "\r", "\n\n"])
plain = st.text(st.sampled_from("abc XYZ<>{}.|_-:#'\\é日🙂\t"), max_size=12)


@st.composite
def value(draw) -> str:
    form = draw(st.sampled_from(["bare", "bare", "quoted", "block", "block", "raw"]))
    if form == "raw":                                        # anything, stray quotes included
        return draw(text)
    body = draw(plain) if form == "bare" else draw(st.lists(plain | st.sampled_from(['"', "\n", "\r\n", '""']),
                                                           max_size=5).map("".join))
    return {"bare": body, "quoted": f'"{body}"', "block": f'"""{body}"""'}[form]


@st.composite
def instruction(draw) -> str:
    kind = draw(st.sampled_from(["word", "param", "param", "param", "message", "comment"]))
    if kind == "comment":
        return draw(st.sampled_from(["#", "  #", "\t# "])) + draw(plain)
    if kind == "param":
        name = draw(st.sampled_from(ODD_NAMES)) if draw(seldom) else draw(st.sampled_from(sorted(PARAMETER_TYPES)))
        kind_ = PARAMETER_TYPES.get(name, float)
        raw = draw(value()) if kind_ is list else draw(st.sampled_from(BY_KIND[kind_][draw(seldom)]))
        if kind_ is not list and draw(seldom):
            raw = f'"{raw}"'
        return "PARAMETER" + draw(sep) + name + draw(sep) + raw
    if kind == "message":
        role = draw(st.sampled_from(["User", "tool", ""])) if draw(seldom) else draw(st.sampled_from(["user", "assistant", "system"]))
        return "MESSAGE " + role + draw(sep) + draw(value())
    word = draw(st.sampled_from(ODD_WORDS)) if draw(seldom) else draw(st.sampled_from(WORDS))
    return word + ("" if draw(seldom) else draw(sep)) + draw(value())


@st.composite
def modelfile(draw) -> str:
    lines = draw(st.lists(instruction(), max_size=6))
    if not draw(seldom):
        lines.insert(draw(st.integers(0, len(lines))), "FROM ./model.gguf")
    out = "".join(line + draw(newline) for line in lines)
    if draw(st.booleans()):
        out = out.rstrip("\r\n")  # no newline at the end of the file
    return ("\ufeff" if draw(seldom) else "") + out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(modelfile(), min_size=1, max_size=8))
def test_publish_reads_modelfiles_like_ollama(texts, ollama_parser):
    for text_, theirs in zip(texts, ollama_parser(texts)):
        assert_same_reading(text_, theirs)


@pytest.mark.parametrize("text_, note", [
    ("FROM x\nPARAMETER top_p 0x1p-2\n", "hex float"),
    ("FROM x\nPARAMETER temperature 1_000.5\n", "underscores between digits"),
    ("FROM x\nPARAMETER temperature 0.7\n", "float32 rounding"),
    ("FROM x\nPARAMETER temperature 3.4028235e38\n", "rounds to float32's max"),
    ("FROM x\nPARAMETER temperature 1e-50\n", "underflows to 0"),
    ("FROM x\nPARAMETER temperature inf\n", "Ollama reads Inf; publish refuses it"),
    ("FROM x\nPARAMETER num_ctx +007\n", "signed, leading zeros"),
    ("FROM x\nPARAMETER num_ctx 1_000\n", "no `_` in ints (ParseInt base 10)"),
    ("FROM x\nPARAMETER use_mmap yes\n", "ParseBool knows no yes"),
    ("FROM x\nPARAMETER use_mmap tRUE\n", "nor mixed case"),
    ("FROM x\nPARAMETER temperature inf\nPARAMETER temperature 1\n", "Inf replaced by a later line"),
    ("FROM x\nPARAMETER  stop x\n", "two spaces: an empty parameter name"),
    ("FROM x\nPARAMETER system hello\n", "a PARAMETER named like an instruction is that instruction"),
    ("\ufeffFROM x\r\nSYSTEM \"a\r\nb\"\r\n", "BOM and CRLF"),
    ("FROM x\nSYSTEM \"\"\"a\"\"\"b\"\"\"\n", "triple quotes inside a line"),
])
def test_known_corners_read_alike(text_, note, ollama_parser):
    [theirs] = ollama_parser([text_])
    assert_same_reading(text_, theirs)


def test_unicode_gap_is_only_characters_new_in_unicode_15(ollama_parser):
    """Go 1.26 has Unicode 15.0, Python 3.11 Unicode 14.0: a character assigned in 15.0 (here
    U+1FAE8 SHAKING FACE) is printable for Ollama's parser and unassigned for ours. publish drops
    it when parsing and refuses to write it (quote() raises), never writes a file Ollama reads
    differently."""
    text_ = "FROM x\nSYSTEM a\U0001FAE8b\n"
    [theirs] = ollama_parser([text_])
    assert theirs["request"]["system"] == "a\U0001FAE8b"
    if unicodedata.unidata_version.startswith("14."):
        assert parse(text_).system == "ab"
        with pytest.raises(ModelfileError, match="U\\+1FAE8"):
            render(ModelfileSpec(from_=("x",), system="a\U0001FAE8b"))
    else:
        assert parse(text_).system == "a\U0001FAE8b"
