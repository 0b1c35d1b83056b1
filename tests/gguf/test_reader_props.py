"""Property tests: random valid files agree with gguf.GGUFReader; mutated or truncated files raise
only GGUFError."""

from __future__ import annotations

import io
import math
import tempfile
from pathlib import Path

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType as T, GGUFReader, GGUFValueType as V, GGUFWriter
from hypothesis import HealthCheck, given, settings, strategies as st

from publish.errors import GGUFError
from publish.gguf.reader import read_header

INT_RANGES = {V.UINT8: (0, 2**8 - 1), V.INT8: (-2**7, 2**7 - 1), V.UINT16: (0, 2**16 - 1),
              V.INT16: (-2**15, 2**15 - 1), V.UINT32: (0, 2**32 - 1), V.INT32: (-2**31, 2**31 - 1),
              V.UINT64: (0, 2**64 - 1), V.INT64: (-2**63, 2**63 - 1)}
TENSOR_TYPES = [T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_K, T.Q6_K, T.IQ4_XS, T.I8, T.MXFP4]

text = st.text(st.characters(codec="utf-8"), max_size=12) | st.text(st.characters(codec="utf-8"), min_size=250,
                                                                      max_size=400)


def values_of(vtype: V) -> st.SearchStrategy:
    if vtype in INT_RANGES:
        lo, hi = INT_RANGES[vtype]
        return st.integers(lo, hi)
    if vtype == V.FLOAT32:
        return st.floats(allow_nan=False, width=32)
    if vtype == V.FLOAT64:
        return st.floats(allow_nan=False)
    if vtype == V.BOOL:
        return st.booleans()
    return text


SCALAR_TYPES = [t for t in V if t != V.ARRAY]


@st.composite
def kv_value(draw):
    kind = draw(st.sampled_from(SCALAR_TYPES + ["array", "nested"]))
    if kind == "array":
        item_type = draw(st.sampled_from(SCALAR_TYPES))
        return draw(st.lists(values_of(item_type), min_size=1, max_size=20)), V.ARRAY, item_type
    if kind == "nested":  # arrays of arrays of strings
        inner = st.lists(text, min_size=1, max_size=5)
        return draw(st.lists(inner, min_size=1, max_size=4)), V.ARRAY, V.ARRAY
    return draw(values_of(kind)), kind, None


@st.composite
def tensor_specs(draw):
    specs = []
    for i in range(draw(st.integers(0, 4))):
        ggml_type = draw(st.sampled_from(TENSOR_TYPES))
        block = GGML_QUANT_SIZES[ggml_type][0]
        dims = [block * draw(st.integers(1, 2))] + draw(st.lists(st.integers(1, 3), max_size=2))
        specs.append((f"blk.{i}.w", dims, ggml_type))
    return specs


keys = st.text(st.characters(codec="utf-8", exclude_characters="\0"), min_size=1, max_size=20).filter(
    lambda k: not k.startswith("general.a"))


def write(path: Path, kvs: dict, tensors: list, alignment: int | None) -> None:
    writer = GGUFWriter(path, "testarch")
    if alignment:
        writer.add_custom_alignment(alignment)
    for key, (value, vtype, sub) in kvs.items():
        writer.add_key_value(key, value, vtype, sub)
    rng = np.random.default_rng(len(tensors))
    for name, dims, ggml_type in tensors:
        block, size = GGML_QUANT_SIZES[ggml_type]
        row = dims[0] // block * size
        raw = rng.integers(0, 256, size=tuple(reversed(dims[1:])) + (row,), dtype=np.uint8)
        writer.add_tensor(name, raw, raw_dtype=ggml_type)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def same(a, b) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return a == b or (math.isinf(a) and a == b)
    return a == b


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kvs=st.dictionaries(keys, kv_value(), max_size=8), tensors=tensor_specs(),
       alignment=st.sampled_from([None, 8, 64, 256]))
def test_random_valid_files_agree_with_gguf_reader(kvs, tensors, alignment):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "r.gguf"
        write(path, kvs, tensors, alignment)
        hdr = read_header(path)
        ref = GGUFReader(path)
        assert hdr.data_offset == ref.data_offset
        fields = {k: f for k, f in ref.fields.items() if not k.startswith("GGUF.")}
        assert list(hdr.kv) == list(fields)
        for key, (value, vtype, sub) in kvs.items():
            kv = hdr.kv[key]
            assert kv.type == vtype == fields[key].types[0]
            if vtype == V.ARRAY:
                assert kv.array_type == sub
                got = kv.value.to_list()
                if sub == V.FLOAT32:
                    value = np.array(value, np.float32).tolist()
                assert got == value
                if sub != V.ARRAY:
                    assert got == fields[key].contents()
                    assert len(kv.value) == len(value) and kv.value[-1] == got[-1]
            else:
                assert kv.value == fields[key].contents()
                if vtype == V.FLOAT32:
                    value = float(np.float32(value))
                assert same(kv.value, value)
        assert [t.name for t in hdr.tensors] == [t.name for t in ref.tensors]
        for mine, theirs in zip(hdr.tensors, ref.tensors):
            assert mine.ggml_type == theirs.tensor_type
            assert mine.shape == tuple(int(x) for x in theirs.shape)
            assert (mine.n_elements, mine.n_bytes) == (theirs.n_elements, theirs.n_bytes)
            assert hdr.data_offset + mine.offset == theirs.data_offset


def _base_file() -> bytes:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "base.gguf"
        kvs = {"general.name": ("base", V.STRING, None), "n": (7, V.UINT32, None), "f": (1.5, V.FLOAT32, None),
               "b": (True, V.BOOL, None), "toks": (["<s>", "", "héllo", "x" * 300] * 5, V.ARRAY, V.STRING),
               "scores": ([0.5] * 10, V.ARRAY, V.FLOAT32),
               "nested": ([["a", "b"], ["c"]], V.ARRAY, V.ARRAY)}
        write(path, kvs, [("a", [32, 2], T.Q8_0), ("b", [4], T.F32)], None)
        return path.read_bytes()


BASE = _base_file()


@settings(max_examples=300, deadline=None)
@given(edits=st.lists(st.tuples(st.integers(0, len(BASE) - 1), st.integers(0, 255)), min_size=1, max_size=6),
       cut=st.none() | st.integers(0, len(BASE)))
def test_mutated_or_truncated_files_raise_only_gguf_error(edits, cut):
    data = bytearray(BASE)
    for pos, byte in edits:
        data[pos] = byte
    if cut is not None:
        del data[cut:]
    try:
        hdr = read_header(io.BytesIO(bytes(data)), name="m.gguf")
    except GGUFError as err:
        assert err.path == "m.gguf" and 0 <= err.offset <= len(BASE) * 2 and "expected" in str(err)
        return
    for kv in hdr.kv.values():  # whatever parsed must be usable
        if kv.type == V.ARRAY:
            kv.value.to_list()
    assert hdr.data_offset <= len(data) or not hdr.tensors


@settings(max_examples=150, deadline=None)
@given(pos=st.integers(0, 400), value=st.sampled_from([0, 1, 2**31, 2**32 - 1, 2**40, 2**63 - 1, 2**64 - 1]))
def test_hostile_u64_fields_raise_only_gguf_error(pos, value):
    """Counts and lengths overwritten with absurd values fail fast with the reader's error."""
    data = bytearray(BASE)
    data[pos:pos + 8] = value.to_bytes(8, "little")
    try:
        read_header(io.BytesIO(bytes(data)))
    except GGUFError:
        pass
