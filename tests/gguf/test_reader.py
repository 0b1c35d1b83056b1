"""read_header on real files (agreeing with gguf.GGUFReader), v2 files, streams, and hostile input."""

from __future__ import annotations

import io
import struct
import tracemalloc

import numpy as np
import pytest
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader, GGUFValueType as V, GGUFWriter

import gguf_bytes as gb
from ggufs import CountingFile, assert_matches_gguf_reader
from publish.errors import GGUFError
from publish.gguf.reader import read_header


def expect_error(data: bytes, *, at: int | None = None, contains: str = "") -> GGUFError:
    with pytest.raises(GGUFError) as info:
        read_header(io.BytesIO(data), name="bad.gguf")
    err = info.value
    assert err.path == "bad.gguf"
    if at is not None:
        assert err.offset == at, str(err)
    assert contains in str(err), str(err)
    return err


# ---------------------------------------------------------------------------------------------
# Real files


def test_gemma3n_header(gemma3n_broken_path):
    """gguf.GGUFReader needs seconds for this vocabulary, so the values are checked against what
    tests/ggufs.py wrote (agreement with GGUFReader is checked on smaller files)."""
    hdr = read_header(gemma3n_broken_path)
    assert hdr.version == 3 and hdr.alignment == 32
    kv = hdr.kv["gemma3n.attention.shared_kv_layers"]
    assert kv.type == V.FLOAT32 and kv.value == 10.0
    tokens = hdr.tokens
    assert len(tokens) == 262_144
    assert tokens[105] == "<start_of_turn>" and tokens[-1] == "tok262143"
    assert tokens.index("<end_of_turn>") == 106
    assert "tok4" in tokens and "tok262144" not in tokens
    expected = ["<pad>", "<eos>", "<bos>", "<unk>"] + [f"tok{i}" for i in range(4, 262_144)]
    expected[105], expected[106] = "<start_of_turn>", "<end_of_turn>"
    assert tokens.to_list() == expected
    scores = hdr.kv["tokenizer.ggml.scores"]
    assert scores.type == V.ARRAY and scores.array_type == V.FLOAT32
    assert scores.value.numpy().dtype == np.float32 and len(scores.value) == 262_144
    assert hdr.bos_text == "<bos>" and hdr.eos_text == "<eos>" and hdr.add_bos_token is True
    by_name = {t.name: t for t in hdr.tensors}
    embd = by_name["per_layer_token_embd.weight"]
    assert (embd.ggml_type, embd.shape, embd.n_bytes) == (T.Q4_K, (512, 64), 512 * 64 // 256 * 144)
    assert hdr.data_offset + hdr.tensors[-1].offset + hdr.tensors[-1].n_bytes == hdr.file_size


def test_key_value_offsets_point_at_the_stored_bytes(gemma3n_broken_path):
    hdr = read_header(gemma3n_broken_path)
    raw = gemma3n_broken_path.read_bytes()
    kv = hdr.kv["gemma3n.attention.shared_kv_layers"]
    key = kv.key.encode()
    assert raw[kv.offset:kv.offset + 8 + len(key)] == struct.pack("<Q", len(key)) + key
    assert raw[kv.value_offset - 4:kv.value_offset] == struct.pack("<I", V.FLOAT32)
    assert raw[kv.value_offset:kv.value_offset + 4] == struct.pack("<f", 10.0)


def test_tiny_llama_every_value_matches_gguf_reader(tiny_llama_path):
    assert_matches_gguf_reader(tiny_llama_path)
    hdr, ref = read_header(tiny_llama_path), GGUFReader(tiny_llama_path)
    assert hdr.n_params == sum(int(t.n_elements) for t in ref.tensors)


def test_reads_a_stream_in_few_calls_and_never_the_tensor_data(gemma3n_broken_path):
    with CountingFile(gemma3n_broken_path) as fh:
        hdr = read_header(fh)
    assert fh.reads <= 12  # one per MiB or so: a remote stream makes a handful of range requests
    assert fh.bytes_read <= hdr.data_offset + 1024 * 1024
    assert hdr.path == str(gemma3n_broken_path)


def test_header_cost_does_not_depend_on_data_size(tmp_path):
    """A 20 GB (sparse) file reads exactly the same bytes as the same header over 20 MB."""
    def build(path, n_rows):
        writer = GGUFWriter(path, "llama")
        writer.add_array("tokenizer.ggml.tokens", [f"t{i}" for i in range(5000)])
        writer.add_tensor_info("token_embd.weight", (n_rows, 1024), np.dtype(np.float32), n_rows * 1024 * 4)
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_ti_data_to_file()
        writer.close()
        with open(path, "r+b") as fh:
            fh.truncate(path.stat().st_size + 64 + n_rows * 1024 * 4)
            hdr = read_header(path)
            fh.truncate(hdr.data_offset + hdr.tensor_bytes)
        return hdr

    small, big = tmp_path / "small.gguf", tmp_path / "big.gguf"
    build(small, 5 * 1024)
    h_big = build(big, 5 * 1024 * 1024)
    assert big.stat().st_size > 20 * 10**9
    assert big.stat().st_blocks * 512 < 10**8  # really sparse: nothing was written
    with CountingFile(small) as a, CountingFile(big) as b:
        read_header(a)
        hdr = read_header(b)
    assert hdr.tensors[0].n_bytes == h_big.tensor_bytes > 20 * 10**9
    assert b.bytes_read <= a.bytes_read + h_big.data_offset and b.reads <= a.reads + 1
    assert b.bytes_read < 2 * 1024 * 1024


# ---------------------------------------------------------------------------------------------
# Hand-built files: v2, empty arrays, nested arrays, long and odd strings


def test_version_2_file():
    data = gb.gguf([gb.kv("general.architecture", gb.scalar(V.STRING, "llama")),
                    gb.kv("llama.block_count", gb.scalar(V.UINT32, 2)),
                    gb.kv("tokenizer.ggml.tokens", gb.array(V.STRING, ["a", "b", ""]))],
                   [gb.tensor_info("w", [32, 2], T.Q8_0, 0)], version=2, data=b"\1" * 68)
    hdr = read_header(io.BytesIO(data))
    assert hdr.version == 2 and hdr.architecture == "llama" and hdr.arch_value("block_count") == 2
    assert list(hdr.tokens) == ["a", "b", ""]
    assert hdr.tensors[0].n_bytes == 68 and hdr.data_offset % 32 == 0
    assert hdr.data_offset + 68 == len(data)


def test_version_2_variants():
    no_tensors = gb.gguf([ARCH, gb.kv("general.alignment", gb.scalar(V.UINT32, 64)),
                          gb.kv("scores", gb.array(V.FLOAT32, [0.5, -1.0])),
                          gb.kv("flag", gb.scalar(V.BOOL, 1))], version=2)
    hdr = read_header(io.BytesIO(no_tensors))
    assert (hdr.version, hdr.alignment, hdr.tensors) == (2, 64, [])
    assert hdr.value("scores").to_list() == [0.5, -1.0] and hdr.value("flag") is True
    quant = gb.gguf([ARCH], [gb.tensor_info("a", [256, 2], T.Q4_K, 0), gb.tensor_info("b", [32], T.F16, 288)],
                    version=2, data=b"\0" * 352)
    hdr = read_header(io.BytesIO(quant))
    assert [(t.name, t.n_bytes, t.offset) for t in hdr.tensors] == [("a", 288, 0), ("b", 64, 288)]
    with pytest.raises(GGUFError, match="inside the file"):
        read_header(io.BytesIO(quant[:-1]))


def test_empty_and_nested_arrays_and_odd_strings():
    long_item = "x" * 300
    huge_item = "é" * 40_000  # 80,000 bytes: longer than 64 KiB
    items = ["", "", "a\0b", long_item, "", huge_item, "ü", "\0\0\0\0\0\0\0\0\0"]
    data = gb.gguf([gb.kv("empty", gb.array(V.UINT32, [])),
                    gb.kv("empty.strings", gb.array(V.STRING, [])),
                    gb.kv("strings", gb.array(V.STRING, items)),
                    gb.kv("nested", gb.array(V.ARRAY, [(V.STRING, ["x", "yy"]), (V.INT8, [-1, 2])])),
                    gb.kv("bools", gb.array(V.BOOL, [1, 0, 1]))])
    hdr = read_header(io.BytesIO(data))
    assert len(hdr.value("empty")) == 0 and hdr.value("empty").to_list() == []
    assert hdr.value("empty.strings").to_list() == []
    strings = hdr.value("strings")
    assert strings.to_list() == items and strings[-1] == items[-1] and strings[3] == long_item
    assert strings.index("ü") == 6 and strings.index("") == 0 and strings.find("nope") == -1
    assert hdr.value("nested").to_list() == [["x", "yy"], [-1, 2]]
    assert hdr.kv["nested"].array_type == V.ARRAY
    assert hdr.value("bools").to_list() == [True, False, True]


def test_many_short_and_empty_strings_take_the_vectorised_path_correctly():
    rng = np.random.default_rng(7)
    items = ["" if rng.random() < 0.2 else "w" * int(rng.integers(1, 300)) for _ in range(20_000)]
    data = gb.gguf([gb.kv("tokens", gb.array(V.STRING, items)), gb.kv("after", gb.scalar(V.UINT8, 5))])
    hdr = read_header(io.BytesIO(data))
    assert hdr.value("tokens").to_list() == items and hdr.value("after") == 5


def test_custom_alignment(tmp_path):
    path = tmp_path / "a.gguf"
    writer = GGUFWriter(path, "llama")
    writer.add_custom_alignment(64)
    writer.add_tensor("w", np.ones(32, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    assert read_header(path).alignment == 64 and read_header(path).data_offset % 64 == 0
    assert read_header(path).data_offset == GGUFReader(path).data_offset


# ---------------------------------------------------------------------------------------------
# Hostile input: the project's error, naming the offset and what was expected


ARCH = gb.kv("general.architecture", gb.scalar(V.STRING, "llama"))


def test_not_a_gguf():
    expect_error(b"PK\3\4" + b"\0" * 40, at=0, contains="found a zip archive")
    expect_error(b"GG", at=0, contains="magic")
    expect_error(b"", at=0)


def test_unsupported_versions():
    expect_error(gb.gguf([ARCH], version=1), at=4, contains="version 1 files are not supported")
    expect_error(gb.gguf([ARCH], version=7), at=4, contains="found 7")
    expect_error(b"GGUF" + struct.pack(">I", 3) + b"\0" * 16, at=4, contains="big-endian")


def test_truncated_everywhere_raises_only_gguf_error(tiny_llama_path):
    raw = tiny_llama_path.read_bytes()
    hdr = read_header(tiny_llama_path)
    for cut in list(range(0, 64)) + list(range(64, hdr.header_size, 997)) + [hdr.header_size - 1]:
        with pytest.raises(GGUFError):
            read_header(io.BytesIO(raw[:cut]))
    # cut inside the tensor data: the header parses but the tensors no longer fit
    err = expect_error(raw[:hdr.data_offset + 10], contains="truncated")
    assert err.offset > hdr.data_offset - hdr.header_size


def test_absurd_counts_fail_fast_without_allocating():
    tracemalloc.start()
    try:
        expect_error(gb.gguf([ARCH], n_kv=2**62), at=16, contains="plausible key/value count")
        expect_error(gb.gguf([ARCH], n_tensors=2**40), at=8, contains="plausible tensor count")
        expect_error(gb.gguf([ARCH, gb.kv("t", struct.pack("<IIQ", V.ARRAY, V.STRING, 2**60))]), contains="claims")
        huge_floats = gb.gguf([ARCH, gb.kv("s", struct.pack("<IIQ", V.ARRAY, V.FLOAT32, 2**61))])
        expect_error(huge_floats, contains="need")
        expect_error(b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 2**63) + b"\0" * 16, at=24, contains="only")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024


class HugeSparseStream(io.RawIOBase):
    """`data` followed by zeros up to 1 TiB, as a remote file would look; counts the bytes read."""

    def __init__(self, data: bytes):
        self.data, self.at, self.bytes_read = data, 0, 0

    def seekable(self):
        return True

    def seek(self, offset, whence=0):
        self.at = {0: offset, 1: self.at + offset, 2: 2**40 + offset}[whence]
        return self.at

    def readinto(self, b):
        n = min(len(b), 2**40 - self.at)
        chunk = self.data[self.at:self.at + n]
        b[:n] = chunk + bytes(n - len(chunk))
        self.at += n
        self.bytes_read += n
        return n


def test_length_fields_past_a_sane_header_size_fail_without_reading_tensor_data():
    # a key name, a string value and a string array each claiming 1 GiB inside a 1 TiB file
    for record in (struct.pack("<Q", 2**30),
                   gb.kv("k", struct.pack("<IQ", V.STRING, 2**30)),
                   gb.kv("k", struct.pack("<IIQQ", V.ARRAY, V.STRING, 1, 2**30))):
        stream = HugeSparseStream(gb.gguf([ARCH, record]))
        with pytest.raises(GGUFError, match="at most 256 MiB"):
            read_header(stream, name="huge.gguf")
        assert stream.bytes_read < 4 * 1024 * 1024


def test_duplicate_key():
    expect_error(gb.gguf([ARCH, gb.kv("a", gb.scalar(V.UINT8, 1)), gb.kv("a", gb.scalar(V.UINT8, 2))]),
                 contains="'a' appears twice")


def test_unknown_value_and_ggml_types():
    expect_error(gb.gguf([ARCH, gb.kv("x", struct.pack("<I", 13) + b"\0" * 8)]), contains="value type (0-12), found 13")
    expect_error(gb.gguf([ARCH, gb.kv("x", struct.pack("<IIQ", V.ARRAY, 99, 1))]), contains="found 99")
    expect_error(gb.gguf([ARCH], [gb.tensor_info("w", [32], 4, 0)], data=b"\0" * 64), contains="known ggml type")


def test_non_utf8_strings():
    expect_error(gb.gguf([ARCH, gb.kv(b"k\xff", gb.scalar(V.UINT8, 1))]), contains="UTF-8")
    expect_error(gb.gguf([ARCH, gb.kv("k", gb.scalar(V.STRING, b"\xc3"))]), contains="UTF-8 text in the value of 'k'")
    items = [b"ok", b"fine", b"bad\xe2\x82", b"x"]
    err = expect_error(gb.gguf([ARCH, gb.kv("toks", gb.array(V.STRING, items))]), contains="item #2")
    data = gb.gguf([ARCH, gb.kv("toks", gb.array(V.STRING, items))])
    assert data[err.offset - 3:err.offset + 2] == b"bad\xe2\x82"
    # a character split across two items is two broken items, not one good one
    expect_error(gb.gguf([ARCH, gb.kv("toks", gb.array(V.STRING, [b"a\xc3", b"\xa9b"]))]), contains="item #0")


def test_non_utf8_items_of_long_arrays_are_named_whatever_their_lengths():
    """Long arrays are checked in one decode of all their bytes; a length byte >= 0x80 (an item
    of 128 bytes or more) must not complete a broken character at the end of the item before it."""
    for broken_at in (0, 63, 64, 150, 199):
        items = [f"t{i}".encode() for i in range(200)]
        items[broken_at] = b"bad\xc3"           # a lead byte with nothing after it ...
        if broken_at + 1 < len(items):
            items[broken_at + 1] = b"y" * 0xA9    # ... followed by a length byte that is a continuation byte
        data = gb.gguf([ARCH, gb.kv("toks", gb.array(V.STRING, items))])
        err = expect_error(data, contains=f"UTF-8 text in item #{broken_at} of the value of 'toks'")
        assert data[err.offset - 3:err.offset + 1] == b"bad\xc3"
    good = [("é" * (i % 300)).encode() for i in range(400)]  # many non-ASCII length bytes, all valid
    assert read_header(io.BytesIO(gb.gguf([ARCH, gb.kv("toks", gb.array(V.STRING, good))]))).value("toks") \
        .to_list() == [g.decode() for g in good]


def test_utf8_check_in_pieces_keeps_characters_across_piece_edges_and_names_items_past_them():
    """A long array is checked UTF8_CHUNK bytes at a time: a multi-byte character that straddles
    the edge of a piece is valid, and a broken item past the first piece is still the one named."""
    from publish.gguf.reader import UTF8_CHUNK

    items = ["😀é" * 7 + str(i) for i in range(3 * UTF8_CHUNK // 40)]   # 4-byte and 2-byte characters at every phase
    data = gb.gguf([ARCH, gb.kv("toks", gb.array(V.STRING, [t.encode() for t in items]))])
    assert len(data) > 2 * UTF8_CHUNK
    assert read_header(io.BytesIO(data)).value("toks").to_list() == items
    for broken_at in (len(items) // 2, len(items) - 1):
        raw = [t.encode() for t in items]
        raw[broken_at] = raw[broken_at][:-2] + b"\xf0\x9f"     # a 4-byte character cut after two
        data = gb.gguf([ARCH, gb.kv("toks", gb.array(V.STRING, raw))])
        err = expect_error(data, contains=f"UTF-8 text in item #{broken_at} of the value of 'toks'")
        assert data[err.offset:err.offset + 2] == b"\xf0\x9f"


@pytest.mark.parametrize("n", [0, 1, 63, 64, 65, 129, 1000])
def test_string_arrays_index_find_and_count_like_a_list(n):
    """Items are found by walking from every 64th item's offset: each access agrees with a list."""
    items = [["", "a", "\0" * 8, "é" * 90, "tok", "x" * 300][(i * 7) % 6] + str(i % 5) for i in range(n)]
    hdr = read_header(io.BytesIO(gb.gguf([ARCH, gb.kv("s", gb.array(V.STRING, items)), gb.kv("z", gb.scalar(V.UINT8, 9))])))
    arr = hdr.value("s")
    assert len(arr) == n and arr.to_list() == items and list(arr) == items and hdr.value("z") == 9
    for i in list(range(-min(n, 3), 0)) + list(range(0, n, max(1, n // 37))) + ([n - 1] if n else []):
        assert arr[i] == items[i] and arr.item_bytes(i) == items[i].encode()
    for sl in (slice(0, 5), slice(60, 70), slice(3, None, 17), slice(None, None, -50), slice(n, n + 3)):
        assert arr[sl] == items[sl]
    with pytest.raises(IndexError):
        arr[n]
    for value in {*items[:5], *items[-3:], "nope", "\0" * 8}:
        assert (value in arr) == (value in items) and arr.count(value) == items.count(value)
        first = items.index(value) if value in items else -1
        assert arr.find(value) == first
        if first >= 0:
            assert arr.index(value) == first and arr.find(value, first + 1) == (
                items.index(value, first + 1) if value in items[first + 1:] else -1)
            assert arr.find(value, 0, first) == -1


def test_indices_of_finds_small_values_in_every_integer_type():
    """Token types are found by a byte search over the items' low bytes: the other bytes must be
    zero (259 and -253 have the low byte 3 but are not 3)."""
    values = [3, 4, 259, 1, 3, 0, 4, 1027, 3]
    for vtype in (V.UINT8, V.UINT16, V.INT16, V.UINT32, V.INT32, V.UINT64, V.INT64):
        fits = [v for v in values if v < 256] if vtype == V.UINT8 else values
        if vtype in (V.INT16, V.INT32, V.INT64):
            fits = fits + [-253, -1, 3]
        hdr = read_header(io.BytesIO(gb.gguf([ARCH, gb.kv("t", gb.array(vtype, fits))])))
        want = [i for i, v in enumerate(fits) if v in (3, 4)]
        assert hdr.value("t").indices_of((3, 4)) == want, vtype
        assert hdr.value("t").indices_of((3, 4)) == [i for i, v in enumerate(hdr.value("t").to_list()) if v in (3, 4)]
    for vtype, vals in ((V.FLOAT32, [3.0, 3.5, 4.0]), (V.BOOL, [1, 0, 1]), (V.INT32, [300, 3])):
        hdr = read_header(io.BytesIO(gb.gguf([ARCH, gb.kv("t", gb.array(vtype, vals))])))
        assert hdr.value("t").indices_of((3, 4, 300)) == [i for i, v in enumerate(hdr.value("t").to_list())
                                                        if v in (3, 4, 300)]


def test_numeric_arrays_convert_like_numpy():
    """to_list(), indexing and numpy() of every numeric type (numpy only when numpy() is called)."""
    cases = {V.UINT8: [0, 255], V.INT8: [-128, 127], V.UINT16: [0, 65535], V.INT16: [-1, 2], V.UINT32: [2**32 - 1, 0],
             V.INT32: [-(2**31), 5], V.UINT64: [2**64 - 1, 1], V.INT64: [-(2**63), 7], V.FLOAT32: [1e-5, -2.5],
             V.FLOAT64: [1e-300, 0.1], V.BOOL: [1, 0]}
    for vtype, vals in cases.items():
        arr = read_header(io.BytesIO(gb.gguf([ARCH, gb.kv("a", gb.array(vtype, vals))]))).value("a")
        ref = arr.numpy()
        assert arr.to_list() == ref.tolist() and [arr[0], arr[-1]] == ref[[0, -1]].tolist() and arr[:1] == ref[:1].tolist()
        assert len(arr) == len(vals) and (vtype == V.BOOL or not ref.flags.writeable)  # BOOL: a converted copy


def test_bad_alignment():
    expect_error(gb.gguf([ARCH, gb.kv("general.alignment", gb.scalar(V.UINT32, 24))]), contains="power of two")
    expect_error(gb.gguf([ARCH, gb.kv("general.alignment", gb.scalar(V.UINT32, 0))]), contains="power of two")
    expect_error(gb.gguf([ARCH, gb.kv("general.alignment", gb.scalar(V.UINT64, 32))]), contains="UINT32")


def test_bad_tensor_infos():
    def with_tensors(*infos, data=b"\0" * 256):
        return gb.gguf([ARCH], list(infos), data=data)

    expect_error(with_tensors(gb.tensor_info("w", [30], T.Q8_0, 0)), contains="multiple of the Q8_0 block size 32")
    expect_error(with_tensors(gb.tensor_info("w", [1] * 5, T.F32, 0)), contains="at most 4 dimensions")
    expect_error(with_tensors(gb.tensor_info("w", [2**40, 2**40], T.F32, 0)), contains="plausible size")
    expect_error(with_tensors(gb.tensor_info("w", [8], T.F32, 1)), contains="multiple of the alignment")
    expect_error(with_tensors(gb.tensor_info("w", [64], T.F32, 32)), contains="inside the file")
    expect_error(with_tensors(gb.tensor_info("w", [32], T.F32, 0), gb.tensor_info("v", [32], T.F32, 96)),
                 contains="not to overlap")
    expect_error(with_tensors(gb.tensor_info("w", [8], T.F32, 0), gb.tensor_info("w", [8], T.F32, 32)),
                 contains="appears twice")


def test_nesting_is_bounded():
    body = struct.pack("<IQ", V.UINT8, 1) + b"\1"
    for _ in range(10):
        body = struct.pack("<IQ", V.ARRAY, 1) + body
    expect_error(gb.gguf([ARCH, gb.kv("deep", struct.pack("<I", V.ARRAY) + body)]), contains="nested arrays")


def test_missing_file(tmp_path):
    with pytest.raises(GGUFError, match="readable file"):
        read_header(tmp_path / "nope.gguf")


class ReadOnlyStream:
    """A file-like with only read/seek/tell (no readinto), returning short reads."""

    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def seek(self, offset, whence=0):
        self.at = {0: offset, 1: self.at + offset, 2: len(self.data) + offset}[whence]
        return self.at

    def tell(self):
        return self.at

    def read(self, n=-1):
        n = min(n, 1000)  # short reads on purpose
        chunk = self.data[self.at:self.at + n]
        self.at += len(chunk)
        return chunk


def test_minimal_stream_with_short_reads(tiny_llama_path):
    hdr = read_header(ReadOnlyStream(tiny_llama_path.read_bytes()), name="stream.gguf")
    ref = read_header(tiny_llama_path)
    assert hdr.path == "stream.gguf" and hdr.data_offset == ref.data_offset and list(hdr.kv) == list(ref.kv)
    assert hdr.tensors == ref.tensors and hdr.tokens.to_list() == ref.tokens.to_list()
    with pytest.raises(GGUFError, match="stream.gguf"):
        read_header(ReadOnlyStream(tiny_llama_path.read_bytes()[:5000]), name="stream.gguf")


def test_header_records_compare_hash_and_refuse_assignment_as_frozen_dataclasses_did():
    from publish.gguf.header import KV, GGUFHeader, TensorInfo

    a, b = KV("k", V.UINT32, 1, 0, 12), KV("k", V.UINT32, 1, 0, 12)
    assert a == b and hash(a) == hash(b) and a != KV("k", V.UINT32, 2, 0, 12) and len({a, b}) == 1
    assert repr(a) == "KV(key='k', type=<GGUFValueType.UINT32: 4>, value=1, offset=0, value_offset=12, array_type=None)"
    with pytest.raises(AttributeError):
        a.value = 2
    t = TensorInfo("w", (32,), T.F32, 0, 32, 128, 40)
    assert t == TensorInfo("w", (32,), T.F32, 0, 32, 128, 40) and hash(t)
    h = GGUFHeader("p", 3, 32, 64, 60, 100)
    assert h.kv == {} and h.tensors == [] and h == GGUFHeader("p", 3, 32, 64, 60, 100, {}, [])
    with pytest.raises(TypeError):
        hash(h)
    assert h.replace(tensors=[t]).tensors == [t] and h.tensors == []
