"""The GGUF format's constants as plain tables: magic, alignment, value types, ggml tensor types
and their block sizes, the key names the core reads.

Copied from gguf-py 0.19 (`gguf/constants.py`: GGUF_MAGIC, GGUF_DEFAULT_ALIGNMENT, GGUFValueType,
GGMLQuantizationType, GGML_QUANT_SIZES, Keys.General.ALIGNMENT, Keys.Split.*), which mirrors
ggml/include/ggml.h (`enum ggml_type`), ggml/src/ggml.c (`type_traits`: blck_size, type_size) and
ggml/include/gguf.h (`enum gguf_type`, GGUF_DEFAULT_ALIGNMENT). They are tables here, not imports,
because importing `gguf` imports numpy and costs several times more than reading a 262,144-token
header (`publish inspect` and `publish lint` import only this module). tests/gguf/test_constants.py
checks every table equals gguf-py's, so they cannot drift apart unnoticed.

The enums are IntEnums with gguf-py's member names and values: a member compares and hashes equal
to gguf-py's (`GGUFValueType.UINT32 == gguf.GGUFValueType.UINT32`), so either can be used as a key.
"""

from __future__ import annotations

from enum import IntEnum

GGUF_MAGIC = 0x46554747  # b"GGUF" read as a little-endian uint32
GGUF_DEFAULT_ALIGNMENT = 32
GGUF_SUPPORTED_VERSIONS = (2, 3)
GGML_MAX_DIMS = 4  # llama.cpp refuses tensors with more dimensions
QK_K = 256  # the super-block size of the k-quants

KEY_ALIGNMENT = "general.alignment"
KEY_SPLIT_NO = "split.no"
KEY_SPLIT_COUNT = "split.count"
KEY_SPLIT_TENSORS_COUNT = "split.tensors.count"


class GGUFValueType(IntEnum):
    """gguf.h `enum gguf_type`: how a metadata value is stored."""

    UINT8 = 0
    INT8 = 1
    UINT16 = 2
    INT16 = 3
    UINT32 = 4
    INT32 = 5
    FLOAT32 = 6
    BOOL = 7
    STRING = 8
    ARRAY = 9
    UINT64 = 10
    INT64 = 11
    FLOAT64 = 12


class GGMLQuantizationType(IntEnum):
    """ggml.h `enum ggml_type`: a tensor's storage type (removed types are left out, as in gguf-py)."""

    F32 = 0
    F16 = 1
    Q4_0 = 2
    Q4_1 = 3
    Q5_0 = 6
    Q5_1 = 7
    Q8_0 = 8
    Q8_1 = 9
    Q2_K = 10
    Q3_K = 11
    Q4_K = 12
    Q5_K = 13
    Q6_K = 14
    Q8_K = 15
    IQ2_XXS = 16
    IQ2_XS = 17
    IQ3_XXS = 18
    IQ1_S = 19
    IQ4_NL = 20
    IQ3_S = 21
    IQ2_S = 22
    IQ4_XS = 23
    I8 = 24
    I16 = 25
    I32 = 26
    I64 = 27
    F64 = 28
    IQ1_M = 29
    BF16 = 30
    TQ1_0 = 34
    TQ2_0 = 35
    MXFP4 = 39
    NVFP4 = 40
    Q1_0 = 41


_Q = GGMLQuantizationType

# (elements per block, bytes per block): ggml.c type_traits[].blck_size / .type_size.
GGML_QUANT_SIZES: dict[GGMLQuantizationType, tuple[int, int]] = {
    _Q.F32: (1, 4),
    _Q.F16: (1, 2),
    _Q.Q4_0: (32, 2 + 16),
    _Q.Q4_1: (32, 2 + 2 + 16),
    _Q.Q5_0: (32, 2 + 4 + 16),
    _Q.Q5_1: (32, 2 + 2 + 4 + 16),
    _Q.Q8_0: (32, 2 + 32),
    _Q.Q8_1: (32, 4 + 4 + 32),
    _Q.Q2_K: (256, 2 + 2 + QK_K // 16 + QK_K // 4),
    _Q.Q3_K: (256, 2 + QK_K // 4 + QK_K // 8 + 12),
    _Q.Q4_K: (256, 2 + 2 + QK_K // 2 + 12),
    _Q.Q5_K: (256, 2 + 2 + QK_K // 2 + QK_K // 8 + 12),
    _Q.Q6_K: (256, 2 + QK_K // 2 + QK_K // 4 + QK_K // 16),
    _Q.Q8_K: (256, 4 + QK_K + QK_K // 8),
    _Q.IQ2_XXS: (256, 2 + QK_K // 4),
    _Q.IQ2_XS: (256, 2 + QK_K // 4 + QK_K // 32),
    _Q.IQ3_XXS: (256, 2 + QK_K // 4 + QK_K // 8),
    _Q.IQ1_S: (256, 2 + QK_K // 8 + QK_K // 16),
    _Q.IQ4_NL: (32, 2 + 16),
    _Q.IQ3_S: (256, 2 + QK_K // 4 + QK_K // 8 + QK_K // 32 + 4),
    _Q.IQ2_S: (256, 2 + QK_K // 4 + QK_K // 16),
    _Q.IQ4_XS: (256, 2 + 2 + QK_K // 2 + QK_K // 64),
    _Q.I8: (1, 1),
    _Q.I16: (1, 2),
    _Q.I32: (1, 4),
    _Q.I64: (1, 8),
    _Q.F64: (1, 8),
    _Q.IQ1_M: (256, QK_K // 8 + QK_K // 16 + QK_K // 32),
    _Q.BF16: (1, 2),
    _Q.TQ1_0: (256, 2 + 4 * 13),
    _Q.TQ2_0: (256, 2 + 64),
    _Q.MXFP4: (32, 1 + 16),
    _Q.NVFP4: (64, 4 + 32),
    _Q.Q1_0: (128, 2 + 16),
}

__all__ = ["GGUF_MAGIC", "GGUF_DEFAULT_ALIGNMENT", "GGUF_SUPPORTED_VERSIONS", "GGML_MAX_DIMS", "QK_K",
           "KEY_ALIGNMENT", "KEY_SPLIT_NO", "KEY_SPLIT_COUNT", "KEY_SPLIT_TENSORS_COUNT", "GGUFValueType",
           "GGMLQuantizationType", "GGML_QUANT_SIZES"]
