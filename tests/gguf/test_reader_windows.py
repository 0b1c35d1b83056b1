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
def windows(first: int, grow: int, scan: int, small: int = 2):
    with mock.patch.object(reader, "FIRST_WINDOW", first), mock.patch.object(reader, "GROW_LIMIT", grow), \
            mock.patch.object(reader, "SCAN_CHUNK", scan), mock.patch.object(reader, "SMALL_ARRAY", small, create=True):
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
       numbers=st.integers(1, 500), small=st.integers(0, 70))
def test_string_and_number_arrays_at_every_scan_window(pad, scan, strings, numbers, small):
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp) / "a.gguf", pad=pad, tensors=2,
                     arrays={"s": (strings, V.STRING), "n": (list(range(numbers)), V.UINT16),
                             "nested": ([strings[:3], strings[3:5] or ["q"]], V.ARRAY)})
        with windows(64, 16, scan, small):
            assert_matches_gguf_reader(path)


@settings(max_examples=150, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=4),
       cut=st.none() | st.integers(0, 10**6), first=st.integers(1, 64))
def test_mutated_many_record_files_raise_only_gguf_error(many_records, edits, cut, first):
    data = bytearray(many_records)
    for pos, byte in edits:
        data[pos % len(data)] = byte
    if cut is not None:
        del data[cut % len(data):]
    with windows(first, 8, 64):
        try:
            read_header(io.BytesIO(bytes(data)), name="m.gguf")
        except GGUFError as err:
            assert err.path == "m.gguf" and "expected" in str(err)


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
