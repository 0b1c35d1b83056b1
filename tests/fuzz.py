"""Fuzz the four places that read strangers' input, with hypothesis, under time and memory bounds.

    python tests/fuzz.py                 # the CI session (tests/test_fuzz.py runs it): ~30 s
    python tests/fuzz.py --long          # `make fuzz`: a longer session, ~15 minutes
    python tests/fuzz.py --examples N --only reader,gotmpl

Targets (each a hypothesis property; the allowed outcome is a value or the project's error):

- reader   publish.gguf.reader.read_header on GGUFWriter files with mutated, truncated or
           overwritten bytes (and reader windows shrunk to a few bytes): a header or GGUFError.
- jinja    publish.chat.ChatTemplate + render on templates assembled from hostile fragments
           (sandbox escapes, constant bombs, deep nesting, loops, recursion, syntax errors): text,
           TemplateError or UnsafeTemplateError, within its time bound.
- gotmpl   publish.gotmpl on templates assembled from fragments (ranges over big ints, printf
           widths, string doubling, template recursion, invalid code points): text or TemplateError.
- spec     publish.spec.load_spec on release specs assembled from the real keys with hostile
           values (absolute and `..` paths, symlinks out, wrong types, huge numbers): a spec or
           a PublishError.

The process runs under RLIMIT_AS (2 GB) and each example under a wall-clock bound (an alarm);
anything else (another exception, a bound exceeded) fails with hypothesis' shrunk example. At
the end it prints what it tried: examples per target, outcomes by kind, the slowest example,
the peak memory.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import io
import os
import resource
import signal
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

MEMORY_LIMIT = 2 << 30     # bytes of address space for the whole session
EXAMPLE_SECONDS = 10       # wall clock for one example (every bound inside publish is far below)

OUTCOMES: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
SLOWEST: dict[str, tuple[float, str]] = {}


class ExampleTooSlow(Exception):
    pass


@contextlib.contextmanager
def bounded(target: str, label: str):
    """One example: a wall-clock alarm around it, its time recorded."""
    def alarm(signum, frame):
        raise ExampleTooSlow(f"{target}: one example ran over {EXAMPLE_SECONDS} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(EXAMPLE_SECONDS)
    start = time.perf_counter()
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)
        took = time.perf_counter() - start
        if took > SLOWEST.get(target, (0.0, ""))[0]:
            SLOWEST[target] = (took, label[:80])


EXAMPLE_MESSAGES: dict[str, dict[str, str]] = collections.defaultdict(dict)


def record(target: str, outcome: str, message: str = "") -> None:
    OUTCOMES[target][outcome] += 1
    if message:
        EXAMPLE_MESSAGES[target].setdefault(outcome, message.splitlines()[0][:110])


# ---------------------------------------------------------------------------------------------
# reader

def _base_gguf() -> bytes:
    import numpy as np
    from gguf import GGUFValueType as V, GGUFWriter

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "b.gguf"
        w = GGUFWriter(path, "llama")
        w.add_string("general.name", "fuzz")
        w.add_uint32("llama.context_length", 4096)
        w.add_key_value("tokenizer.ggml.tokens", ["", "<s>", "\0" * 7, "x" * 300, "é"] * 8, V.ARRAY, V.STRING)
        w.add_key_value("scores", [0.5] * 20, V.ARRAY, V.FLOAT32)
        w.add_key_value("nested", [["a"], ["b", "c"]], V.ARRAY, V.ARRAY)
        w.add_string("tokenizer.chat_template", "{{ messages }}")
        for i in range(12):
            w.add_tensor(f"blk.{i}.w", np.zeros((2, 32), np.float32))
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        return path.read_bytes()


def reader_target(max_examples: int):
    from publish.errors import GGUFError
    from publish.gguf import reader

    base = _base_gguf()
    u64 = st.sampled_from([0, 1, 7, 8, 255, 256, 2**16, 2**31, 2**32 - 1, 2**40, 2**63 - 1, 2**64 - 1])

    @settings(max_examples=max_examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(bytes_=st.lists(st.tuples(st.integers(0, len(base) - 1), st.integers(0, 255)), max_size=8),
           words=st.lists(st.tuples(st.integers(0, len(base) - 8), u64), max_size=3),
           cut=st.none() | st.integers(0, len(base)), window=st.sampled_from([None, 1, 7, 64, 4096]))
    def reader_fuzz(bytes_, words, cut, window):
        data = bytearray(base)
        for pos, b in bytes_:
            data[pos] = b
        for pos, v in words:
            data[pos:pos + 8] = v.to_bytes(8, "little")
        if cut is not None:
            del data[cut:]
        patches = [] if window is None else [mock.patch.object(reader, "FIRST_WINDOW", window),
                                             mock.patch.object(reader, "GROW_LIMIT", window),
                                             mock.patch.object(reader, "SCAN_CHUNK", max(8, window))]
        with contextlib.ExitStack() as stack, bounded("reader", repr((bytes_, words, cut))):
            for p in patches:
                stack.enter_context(p)
            try:
                hdr = reader.read_header(io.BytesIO(bytes(data)), name="f.gguf")
                for kv in hdr.kv.values():   # whatever parsed is usable
                    if hasattr(kv.value, "to_list"):
                        kv.value.to_list()
                record("reader", "header")
            except GGUFError as err:
                record("reader", "GGUFError", err.expected)
    return reader_fuzz


# ---------------------------------------------------------------------------------------------
# jinja

JINJA_FRAGMENTS = [
    "{{ messages[0].content }}", "{% for m in messages %}{{ m.role }}{% endfor %}", "{{ bos_token }}",
    "{{ ''.__class__.__mro__ }}", "{{ cycler.__init__.__globals__ }}", "{{ self._TemplateReference__context }}",
    "{{ config.items() }}", "{{ lipsum }}", "{{ messages.append(1) }}", "{{ 'a' * 10**9 }}",
    "{{ 'x'|center(10**9) }}", "{{ 7 ** (7 ** 9) }}", "{% for i in range(10**6) %}{% endfor %}",
    "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
    "{% macro m(n) %}{{ m(n) }}{% endmacro %}{{ m(1) }}", "{% set ns = namespace(s='a') %}",
    "{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", "{{ raise_exception('no') }}",
    "{% for a in [1] %}" * 25, "{% endfor %}", "{% if true %}", "{% endif %}", "(" * 300, ")" * 300,
    "{{", "}}", "{%", "%}", "{#", "#}", "{{ x|tojson }}", "{{ tools|tojson(indent=2) }}",
    "{% generation %}x{% endgeneration %}", "{{ strftime_now('%Y') }}", "{{ messages|length }}",
    "{{ range(3)|list }}", "{% break %}", "{{ x.y.z }}", "text", "\n", "{%- raw %}", "{% endraw -%}",
]


def jinja_target(max_examples: int):
    from publish.chat import ChatTemplate
    from publish.errors import TemplateError

    @settings(max_examples=max_examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(parts=st.lists(st.sampled_from(JINJA_FRAGMENTS), min_size=1, max_size=8))
    def jinja_fuzz(parts):
        source = "".join(parts)
        with bounded("jinja", source):
            try:
                t = ChatTemplate(source, timeout=1.0, memory_mb=256, max_output=100_000)
                t.render([{"role": "user", "content": "hi"}], tools=[{"type": "function"}])
                record("jinja", "rendered")
            except TemplateError as err:
                record("jinja", type(err).__name__, str(err))
    return jinja_fuzz


# ---------------------------------------------------------------------------------------------
# gotmpl

GO_FRAGMENTS = [
    "{{ .Prompt }}", "{{ range .Messages }}{{ .Content }}{{ end }}", "{{ range 200000 }}", "{{ end }}",
    '{{ printf "%999999d" 1 }}', '{{ $s := printf "%99999s" "é" }}', "{{ $s = print $s $s }}",
    "{{ len $s }}", "{{ slice $s 1 }}", "{{ js $s }}", "{{ html $s }}", "{{ json $s }}",
    '{{ define "a" }}{{ template "a" . }}{{ end }}{{ template "a" . }}', '{{ printf "%c" 55296 }}',
    '{{ printf "%c%q" -1 1114112 }}', "{{ if 1 }}", "{{ with .System }}", "{{ else }}",
    "{{ index .Messages 99 }}", "{{ .Messages | len }}", "{{ eq .Prompt 1 }}", "{{", "}}", "x",
    "{{ break }}", "{{ $x := 1 }}", "{{ $x }}", "{{ call .Prompt }}", "{{ printf }}", "{{/* c */}}",
]


def gotmpl_target(max_examples: int):
    from publish import gotmpl
    from publish.errors import TemplateError
    from publish.gotmpl import executor

    leaf = st.sampled_from(GO_FRAGMENTS)
    body = st.recursive(leaf, lambda inner: st.one_of(
        st.tuples(st.sampled_from(["{{ range 200000 }}", "{{ range .Messages }}", "{{ if .System }}",
                                   "{{ with $s := .Prompt }}", "{{ range $i, $m := .Messages }}"]),
                  st.lists(inner, max_size=3)).map(lambda t: t[0] + "".join(t[1]) + "{{ end }}"),
        st.lists(inner, min_size=1, max_size=3).map("".join)), max_leaves=8)

    @settings(max_examples=max_examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(parts=st.lists(body, min_size=1, max_size=4))
    def gotmpl_fuzz(parts):
        text = "".join(parts)
        with bounded("gotmpl", text), mock.patch.object(executor, "MAX_SECONDS", 2.0):
            try:
                out = gotmpl.render(text, [{"role": "system", "content": "s"}, {"role": "user", "content": "hi"}])
                out.encode("utf-8")
                record("gotmpl", "rendered")
            except TemplateError as err:
                record("gotmpl", type(err).__name__, str(err))
    return gotmpl_fuzz


# ---------------------------------------------------------------------------------------------
# spec

PATHS = ["system.txt", "./system.txt", "/proc/self/environ", "../secret.txt", "~/.bashrc", "link",
         "dir/../system.txt", "", "a" * 300, "nul\0x", "fifo"]


def spec_target(max_examples: int, workdir: Path):
    import json as _json

    from publish.errors import PublishError
    from publish.spec import load_spec

    folder = workdir / "spec"
    folder.mkdir()
    (folder / "system.txt").write_text("be brief", encoding="utf-8")
    (folder / "secret-outside.txt").write_text("x", encoding="utf-8")
    (workdir / "secret.txt").write_text("HF_TOKEN=hf_fuzz", encoding="utf-8")
    os.symlink("/proc/self/environ", folder / "link")
    os.mkfifo(folder / "fifo")
    import ggufs

    ggufs.write_tiny_llama(folder / "m-Q8_0.gguf")

    value = st.one_of(st.sampled_from(PATHS), st.integers(-2**70, 2**70), st.booleans(), st.floats(),
                      st.lists(st.sampled_from(PATHS), max_size=3), st.text(max_size=20))
    top = st.dictionaries(st.sampled_from(["repo", "license", "system", "system_file", "license_file",
                                           "base_model", "model_name", "pipeline_tag", "quantized_by"]),
                          value, max_size=5)
    tables = st.fixed_dictionaries({}, optional={
        "template": st.dictionaries(st.sampled_from(["family", "file", "text"]), value, max_size=2),
        "params": st.dictionaries(st.sampled_from(["stop", "temperature", "num_ctx", "seed", "bogus"]), value,
                                  max_size=3),
        "quants": st.dictionaries(st.sampled_from(["dir", "pattern", "files", "mmproj"]), value, max_size=2),
        "card": st.dictionaries(st.sampled_from(["title", "extra", "extra_file", "recommended"]), value, max_size=2),
    })

    def toml_value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, float):
            return repr(v) if v == v and v not in (float("inf"), float("-inf")) else "nan"
        if isinstance(v, int):
            return str(v)
        if isinstance(v, list):
            return "[" + ", ".join(toml_value(x) for x in v) + "]"
        return _json.dumps(v)  # a TOML basic string is a JSON string, escapes included

    @settings(max_examples=max_examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(top=top, tables=tables)
    def spec_fuzz(top, tables):
        base = {"repo": '"org/fuzz-GGUF"', "license": '"mit"', "base_model": '"org/fuzz"',
                "quantized_by": '"fuzz"'}  # a valid spec unless the example changes it
        lines = [f"{k} = {toml_value(v)}" for k, v in top.items()]
        lines += [f"{k} = {v}" for k, v in base.items() if k not in top]
        tables = {"template": {"family": "gemma3"}, "quants": {"dir": ".", "pattern": "m-*.gguf"}, **tables}
        for name, table in tables.items():
            lines.append(f"[{name}]")
            lines += [f"{k} = {toml_value(v)}" for k, v in table.items()]
        text = "\n".join(lines) + "\n"
        path = folder / "release.toml"
        path.write_text(text, encoding="utf-8")
        with bounded("spec", text):
            try:
                spec = load_spec(path)
                record("spec", "loaded")
                assert "hf_fuzz" not in repr(spec), "a file outside the spec's folder was read"
            except PublishError as err:
                record("spec", type(err).__name__, str(err))
                assert "hf_fuzz" not in str(err)
    return spec_fuzz


# ---------------------------------------------------------------------------------------------

TARGETS = ("reader", "jinja", "gotmpl", "spec")
CI_EXAMPLES = {"reader": 300, "jinja": 60, "gotmpl": 200, "spec": 150}
LONG_EXAMPLES = {"reader": 20_000, "jinja": 1_500, "gotmpl": 10_000, "spec": 5_000}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--long", action="store_true", help="the `make fuzz` session (~15 minutes)")
    ap.add_argument("--examples", type=int, help="examples per target (overrides --long)")
    ap.add_argument("--only", default=",".join(TARGETS), help="comma-separated targets")
    args = ap.parse_args(argv)
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    counts = LONG_EXAMPLES if args.long else CI_EXAMPLES
    chosen = [t for t in args.only.split(",") if t]
    failed = []
    with tempfile.TemporaryDirectory(prefix="publish-fuzz-") as tmp:
        for name in chosen:
            n = args.examples or counts[name]
            build = {"reader": reader_target, "jinja": jinja_target, "gotmpl": gotmpl_target,
                     "spec": lambda k: spec_target(k, Path(tmp))}[name]
            start = time.perf_counter()
            try:
                build(n)()
            except Exception as err:  # hypothesis re-raises the shrunk failing example
                failed.append(name)
                print(f"FAIL {name}: {type(err).__name__}: {err}", flush=True)
            took = time.perf_counter() - start
            kinds = ", ".join(f"{k} {v}" for k, v in OUTCOMES[name].most_common())
            slow, label = SLOWEST.get(name, (0.0, ""))
            print(f"{name:7} tried {sum(OUTCOMES[name].values()):6} examples in {took:6.1f} s: {kinds}", flush=True)
            print(f"        slowest {slow:.2f} s: {label!r}", flush=True)
            for kind, message in EXAMPLE_MESSAGES[name].items():
                print(f"        e.g. {kind}: {message}", flush=True)
    # VmHWM, not ru_maxrss: Linux carries the parent's high-water mark across execve into ru_maxrss
    peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")) / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory {peak:.0f} MB (render children {children:.0f} MB), limit {MEMORY_LIMIT >> 20} MB; "
          f"each example limited to {EXAMPLE_SECONDS} s")
    print("FAILED: " + ", ".join(failed) if failed else "fuzz: no failure")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
