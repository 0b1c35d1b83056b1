"""Every valid GGUF reads, whatever its counts: records that straddle the reader's buffer refills
(the first 256 KiB window, each later growth, each string-array scan window), many tensors, many
keys, long arrays. gguf.GGUFWriter writes the files and gguf.GGUFReader is the oracle.

The property tests shrink the reader's windows (FIRST_WINDOW, GROW_LIMIT, SCAN_CHUNK) to a few
dozen bytes so that a small file crosses hundreds of boundaries at varying offsets; one test per
kind also runs at the real window sizes. Cost is checked as work (bytes scanned), not time."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from click.testing import CliRunner
from gguf import GGUFValueType as V, GGUFWriter
from hypothesis import HealthCheck, given, settings, strategies as st

from ggufs import assert_matches_gguf_reader
from publish.cli import main
from publish.errors import GGUFError
from publish.gguf import reader
from publish.gguf.reader import read_header

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@contextlib.contextmanager
def windows(first: int, grow: int, scan: int, small: int = 2, regex: bool = False):
    """Shrunk windows; `regex`: string arrays of any length take the regex walk of full strides
    (reader._short_stride_regex) before the Python loop, as a vocabulary does."""
    with mock.patch.object(reader, "FIRST_WINDOW", first), mock.patch.object(reader, "GROW_LIMIT", grow), \
            mock.patch.object(reader, "SCAN_CHUNK", scan), mock.patch.object(reader, "SMALL_ARRAY", small, create=True), \
            mock.patch.object(reader, "REGEX_WALK_MIN", 0 if regex else reader.REGEX_WALK_MIN):
        yield


def write(path: Path, *, pad: int = 0, keys: int = 0, tensors: int = 0, arrays: dict | None = None) -> Path:
    """`pad` bytes of a leading string key shift every later record against the windows."""
    writer = GGUFWriter(path, "llama")
    writer.add_string("general.name", "p" * pad)
    for i in range(keys):
        writer.add_uint32(f"k.{i}", i)
    for key, (items, item_type) in (arrays or {}).items():
        writer.add_key_value(key, items, V.ARRAY, item_type)
    for i in range(tensors):
        writer.add_tensor(f"t.{i}", np.full((1,), i, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_a_few_thousand_small_tensors_read_like_gguf_reader(tmp_path):
    """The file from the issue: 9,000 one-float tensors. Their infos cross the 256 KiB first
    window; reading a u64 across it used the buffer from before the refill (struct.error)."""
    path = write(tmp_path / "many.gguf", tensors=9000)
    assert path.stat().st_size > reader.FIRST_WINDOW
    assert_matches_gguf_reader(path)


def test_many_keys_and_long_arrays_across_the_real_windows(tmp_path):
    path = write(tmp_path / "keys.gguf", pad=reader.FIRST_WINDOW - 5, keys=3000, tensors=3,
                 arrays={"a.strings": ([f"s{i}" * (i % 5) for i in range(5_000)], V.STRING),
                         "a.ints": (list(range(100_000)), V.INT32)})
    assert_matches_gguf_reader(path)


@SETTINGS
@given(pad=st.integers(0, 300), keys=st.integers(0, 60), tensors=st.integers(0, 60),
       first=st.integers(1, 96), grow=st.integers(1, 64), scan=st.integers(8, 200))
def test_records_straddling_every_refill_boundary(pad, keys, tensors, first, grow, scan):
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp) / "w.gguf", pad=pad, keys=keys, tensors=tensors)
        with windows(first, grow, scan):
            assert_matches_gguf_reader(path)


@SETTINGS
@given(pad=st.integers(0, 200), scan=st.integers(8, 300),
       strings=st.lists(st.sampled_from(["", "a", "\0" * 7, "\0" * 9, "é", "x" * 255, "y" * 256, "z" * 700]),
                        min_size=1, max_size=200),
       numbers=st.integers(1, 500), small=st.integers(0, 70), regex=st.booleans())
def test_string_and_number_arrays_at_every_scan_window(pad, scan, strings, numbers, small, regex):
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp) / "a.gguf", pad=pad, tensors=2,
                     arrays={"s": (strings, V.STRING), "n": (list(range(numbers)), V.UINT16),
                             "nested": ([strings[:3], strings[3:5] or ["q"]], V.ARRAY)})
        with windows(64, 16, scan, small, regex):
            assert_matches_gguf_reader(path)


@settings(max_examples=150, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
       cut=st.none() | st.integers(0, 10**6), first=st.integers(1, 64), regex=st.booleans())
def test_mutated_many_record_files_raise_only_gguf_error(many_records, edits, cut, first, regex):
    data = bytearray(many_records)
    for pos, byte in edits:
        data[pos % len(data)] = byte
    if cut is not None:
        del data[cut % len(data):]
    with windows(first, 8, 64, regex=regex):
        try:
            read_header(io.BytesIO(bytes(data)), name="m.gguf")
        except GGUFError as err:
            assert err.path == "m.gguf" and "expected" in str(err)


def vocabulary_with_decoys(n: int) -> list[str]:
    """n items, mostly short as in a real vocabulary, with what the regex walk must not be fooled
    by: texts that hold zero bytes shaped like a length prefix, and now and then (so that some
    strides hold one, most none) items of 63, 64, 127, 128, 255, 256 and 300 bytes."""
    decoys = ["\0" * 7, "\x05" + "\0" * 7 + "abcde", "\0" * 15, "é" * 31 + "a"]
    long = ["l" * 63, "l" * 64, "é" * 63 + "a", "l" * 128, "l" * 255, "l" * 256, "日" * 100]
    items = []
    for i in range(n):
        if i % 997 == 0:
            items.append(long[i // 997 % len(long)])
        elif i % 13 == 0:
            items.append(decoys[i % len(decoys)])
        else:
            items.append(f"t{i}"[: 1 + i % 12])
    return items


@pytest.mark.parametrize("source", ["file", "stream"])
def test_a_vocabulary_reads_the_same_through_the_regex_walk_and_the_python_loop(tmp_path, source):
    """A vocabulary past REGEX_WALK_MIN is walked a stride at a time by one regex (in C); strides
    with a long item go through the Python loop. Both give gguf.GGUFReader's items and every
    item's offset, from a file and from a stream read in small windows; and the regex did walk most
    strides (it would be easy to fall back every time and never notice)."""
    items = vocabulary_with_decoys(reader.REGEX_WALK_MIN + 5_000)
    path = write(tmp_path / "v.gguf", pad=3, arrays={"tokenizer.ggml.tokens": (items, V.STRING)}, tensors=2)
    assert_matches_gguf_reader(path)
    data = path.read_bytes()

    def read():
        return read_header(io.BytesIO(data) if source == "stream" else path).value("tokenizer.ggml.tokens")

    matched = []
    real = reader._short_stride_regex()

    class Counting:
        def match(self, *args):
            found = real.match(*args)
            matched.append(found is not None)
            return found

    with mock.patch.object(reader, "_short_stride", [Counting()]), \
            (windows(4096, 1024, 4096) if source == "stream" else contextlib.nullcontext()):
        by_regex = read()
    with mock.patch.object(reader, "REGEX_WALK_MIN", len(items) + 1):
        by_loop = read()
    full_strides = len(items) // reader.STRIDE
    # one stride in ~16 holds a long item; read in 4 KiB windows, a stride that runs past the
    # buffered bytes is walked by the loop too (it refills the buffer)
    assert sum(matched) >= full_strides * (0.9 if source == "file" else 0.6), (sum(matched), full_strides)
    assert not all(matched)   # the strides with a 64-byte item or longer
    assert by_regex.to_list() == by_loop.to_list() == items
    assert [by_regex[i] for i in range(0, len(items), 997)] == items[::997]
    assert by_regex._marks == by_loop._marks


@pytest.mark.parametrize("shape", ["a long item ends each stride", "every item 40 bytes"])
def test_where_long_items_are_common_the_regex_walk_stops_trying(tmp_path, shape):
    """The worst cases of the regex walk: a long item at the end of every stride (each try matches
    63 items and fails), and items too long for the regex to beat the loop (it tries up to 64
    lengths for each, nearest 8 bytes first: 1.3-1.7x the loop's time on 40-63-byte items).
    After a few such strides (more than one in eight) the array is left to the Python loop, which
    then costs what it costs without the regex."""
    if shape == "every item 40 bytes":
        items = [f"{i:040d}" for i in range(reader.REGEX_WALK_MIN)]
    else:
        items = [("x" * 100 if i % reader.STRIDE == reader.STRIDE - 1 else f"t{i % 999}")
                 for i in range(reader.REGEX_WALK_MIN)]
    path = write(tmp_path / "long.gguf", arrays={"tokenizer.ggml.tokens": (items, V.STRING)})
    tries = []
    real = reader._short_stride_regex()

    class Counting:
        def match(self, *args):
            tries.append(real.match(*args))
            return tries[-1]

    with mock.patch.object(reader, "_short_stride", [Counting()]):
        assert read_header(path).value("tokenizer.ggml.tokens").to_list() == items
    assert 0 < len(tries) <= 20 and (shape == "every item 40 bytes" or not any(tries))


@pytest.fixture(scope="module")
def many_records(tmp_path_factory) -> bytes:
    path = write(tmp_path_factory.mktemp("m") / "m.gguf", pad=40, keys=30, tensors=40,
                 arrays={"s": (["", "ab", "\0" * 8, "c" * 300] * 10, V.STRING)})
    return path.read_bytes()


class CountingStruct:
    """Stands in for reader._U64 and counts the length prefixes the reader unpacks."""

    def __init__(self, real):
        self.real, self.calls = real, 0

    def unpack_from(self, buffer, offset=0):
        self.calls += 1
        return self.real.unpack_from(buffer, offset)

    def __getattr__(self, name):
        return getattr(self.real, name)


def prefixes_unpacked(source, **window_sizes) -> int:
    counting = CountingStruct(reader._U64)
    with mock.patch.object(reader, "_U64", counting), \
            (windows(**window_sizes) if window_sizes else contextlib.nullcontext()):
        read_header(source)
    return counting.calls


@pytest.mark.parametrize("items", [[""], ["\0" * 7], ["", "x" * 300], ["\0" * 8, "a"]])
def test_string_arrays_cost_linear_work(tmp_path, items):
    """Empty and zero-filled strings once made every 256 items rescan a 1 MiB window (a 1 MiB
    header took 33 s). Each length prefix is now unpacked once, from a file (mapped) or from a
    stream read in small windows (a refill goes on from the prefix it stopped at)."""
    n = 300_000 // len(items) // 8 * len(items)
    path = write(tmp_path / "e.gguf", arrays={"a": (items * (n // len(items)), V.STRING)})
    assert prefixes_unpacked(path) <= n + 100
    data = path.read_bytes()
    streamed = prefixes_unpacked(io.BytesIO(data), first=4096, grow=1024, scan=4096)
    assert streamed <= n + len(data) // 4096 + 100, (streamed, n)  # plus one try per refill
    assert len(read_header(path).value("a")) == n


def test_nested_arrays_are_bounded_for_the_whole_header(tmp_path):
    """Each nested array is a Python object: their number is capped per header, not per key."""
    inner = [["a"]] * (reader.MAX_NESTED_ITEMS // 2 + 1)
    path = write(tmp_path / "n.gguf", arrays={"n1": (inner, V.ARRAY), "n2": (inner, V.ARRAY)})
    with pytest.raises(GGUFError, match="at most 65,536 in the whole header"):
        read_header(path)
    path = write(tmp_path / "ok.gguf", arrays={"n1": (inner, V.ARRAY)})
    assert len(read_header(path).value("n1")) == len(inner)


def test_a_long_string_is_decoded_without_a_copy_of_its_bytes(tmp_path):
    """Memory for a long string key: the buffer plus the text, never a third copy."""
    import tracemalloc

    text = "a" * (16 << 20)
    writer = GGUFWriter(tmp_path / "s.gguf", "llama")
    writer.add_string("tokenizer.chat_template", text)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    del writer
    tracemalloc.start()
    try:
        hdr = read_header(tmp_path / "s.gguf")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert hdr.chat_template == text
    assert peak < 2.3 * len(text), peak / len(text)


def test_lint_and_inspect_of_a_folder_go_on_past_the_many_tensor_file(tmp_path, tiny_llama_path):
    folder = tmp_path / "f"
    folder.mkdir()
    write(folder / "a-many.gguf", tensors=9000)
    (folder / "b-tiny.gguf").write_bytes(tiny_llama_path.read_bytes())
    (folder / "c-bad.gguf").write_bytes(b"GGUF\3\0\0\0" + b"\0" * 10)
    result = CliRunner().invoke(main, ["lint", str(folder)])
    assert "Traceback" not in result.output and result.exception is None or isinstance(result.exception, SystemExit)
    for name in ("a-many.gguf", "c-bad.gguf"):
        assert name in result.output
    assert "struct.error" not in result.output
    result = CliRunner().invoke(main, ["inspect", str(folder)])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "architecture    llama" in result.output and "tensors         9000" in result.output
    assert "c-bad.gguf: at byte 16" in result.output
