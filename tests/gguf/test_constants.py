"""publish.gguf.constants and publish.quants.LLAMA_FILE_TYPES are copies of gguf-py's tables (so
that reading a header needs neither gguf nor numpy): they must equal the installed gguf-py's, member
for member, so a new ggml type or file type in gguf-py fails here instead of being read as unknown."""

from __future__ import annotations

import gguf
import pytest

from publish.gguf import constants as c
from publish.quants import LLAMA_FILE_TYPES, file_type_label


@pytest.mark.parametrize("ours, theirs", [(c.GGUFValueType, gguf.GGUFValueType),
                                          (c.GGMLQuantizationType, gguf.GGMLQuantizationType)],
                         ids=["GGUFValueType", "GGMLQuantizationType"])
def test_enums_equal_gguf_py(ours, theirs):
    assert {m.name: int(m) for m in ours} == {m.name: int(m) for m in theirs}
    for member in theirs:  # usable in place of each other: equal, same hash, same name
        assert ours[member.name] == member and hash(ours[member.name]) == hash(member)


def test_block_sizes_equal_gguf_py():
    assert {t.name: size for t, size in c.GGML_QUANT_SIZES.items()} == \
        {t.name: size for t, size in gguf.GGML_QUANT_SIZES.items()}
    assert c.QK_K == gguf.QK_K


def test_format_constants_and_key_names_equal_gguf_py():
    assert (c.GGUF_MAGIC, c.GGUF_DEFAULT_ALIGNMENT) == (gguf.GGUF_MAGIC, gguf.GGUF_DEFAULT_ALIGNMENT)
    assert gguf.GGUF_VERSION in c.GGUF_SUPPORTED_VERSIONS
    assert c.KEY_ALIGNMENT == gguf.Keys.General.ALIGNMENT
    assert (c.KEY_SPLIT_NO, c.KEY_SPLIT_COUNT, c.KEY_SPLIT_TENSORS_COUNT) == (
        gguf.Keys.Split.LLM_KV_SPLIT_NO, gguf.Keys.Split.LLM_KV_SPLIT_COUNT, gguf.Keys.Split.LLM_KV_SPLIT_TENSORS_COUNT)


def test_file_types_equal_gguf_py():
    assert LLAMA_FILE_TYPES == {int(t): t.name for t in gguf.LlamaFileType}
    for t in gguf.LlamaFileType:
        assert file_type_label(int(t)) == t.name.removeprefix("MOSTLY_").removeprefix("ALL_")
    # what LlamaFileType(value) accepted before the table: equal numbers, nothing else
    assert (file_type_label(15.0), file_type_label(True), file_type_label(4), file_type_label(-1)) == \
        ("Q4_K_M", "F16", None, None)
    assert file_type_label([15]) is None and file_type_label("15") is None
