"""Quant labels as they appear in file names (`…-UD-Q4_K_XL.gguf`) and in `hf.co/org/repo:TAG`."""

from __future__ import annotations

import re

_SHARD = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)

# Longest alternatives first; matched case-insensitively at the end of the stem.
_LABEL = re.compile(
    r"(?:^|[-_.])("
    r"(?:UD-)?(?:"
    r"IQ[1-4]_(?:XXS|XS|S|M|NL|L)"
    r"|Q[2-8]_K(?:_(?:XXL|XL|L|M|S))?"
    r"|Q[2-8]_[01]"
    r"|TQ[12]_0|MXFP4(?:_MOE)?|BF16|F16|FP16|F32|FP32"
    r"))$",
    re.IGNORECASE,
)


def shard_info(filename: str) -> tuple[int, int] | None:
    """(part, count) for `name-00001-of-00003.gguf`, else None."""
    m = _SHARD.search(filename)
    return (int(m.group(1)), int(m.group(2))) if m else None


def shard_names(path: str) -> list[str] | None:
    """Every part of the split set `path` names (part 1 first, same folder and ".gguf" spelling),
    or None when the name is not `name-0000i-of-0000N.gguf` with N >= 1."""
    m = _SHARD.search(path)
    if m is None or int(m.group(2)) == 0:
        return None
    count, stem, ext = int(m.group(2)), path[:m.start()], path[m.end(2):]
    return [f"{stem}-{i:05d}-of-{count:05d}{ext}" for i in range(1, count + 1)]


def unsplit_name(path: str) -> str:
    """`name-00001-of-00003.gguf` -> `name.gguf` (what llama-gguf-split --merge should write)."""
    return _SHARD.sub(".gguf", path)


def label_from_filename(filename: str) -> str | None:
    """The quant label in a GGUF file name, upper-cased (`UD-Q4_K_XL`), or None.

    >>> label_from_filename("gemma-3n-E4B-it-UD-Q4_K_XL.gguf")
    'UD-Q4_K_XL'
    >>> label_from_filename("model-Q8_0-00001-of-00002.gguf")
    'Q8_0'
    """
    name = filename.rsplit("/", 1)[-1]
    stem = _SHARD.sub("", name)
    if stem.lower().endswith(".gguf"):
        stem = stem[: -len(".gguf")]
    m = _LABEL.search(stem)
    return m.group(1).upper() if m else None


# llama.h `enum llama_ftype` (`general.file_type`), as gguf-py 0.19 LlamaFileType names it. A table,
# not an import of gguf (which imports numpy): `publish inspect` and `lint` need only this.
# tests/gguf/test_constants.py checks it equals gguf-py's LlamaFileType.
LLAMA_FILE_TYPES: dict[int, str] = {
    0: "ALL_F32", 1: "MOSTLY_F16", 2: "MOSTLY_Q4_0", 3: "MOSTLY_Q4_1", 7: "MOSTLY_Q8_0", 8: "MOSTLY_Q5_0",
    9: "MOSTLY_Q5_1", 10: "MOSTLY_Q2_K", 11: "MOSTLY_Q3_K_S", 12: "MOSTLY_Q3_K_M", 13: "MOSTLY_Q3_K_L",
    14: "MOSTLY_Q4_K_S", 15: "MOSTLY_Q4_K_M", 16: "MOSTLY_Q5_K_S", 17: "MOSTLY_Q5_K_M", 18: "MOSTLY_Q6_K",
    19: "MOSTLY_IQ2_XXS", 20: "MOSTLY_IQ2_XS", 21: "MOSTLY_Q2_K_S", 22: "MOSTLY_IQ3_XS", 23: "MOSTLY_IQ3_XXS",
    24: "MOSTLY_IQ1_S", 25: "MOSTLY_IQ4_NL", 26: "MOSTLY_IQ3_S", 27: "MOSTLY_IQ3_M", 28: "MOSTLY_IQ2_S",
    29: "MOSTLY_IQ2_M", 30: "MOSTLY_IQ4_XS", 31: "MOSTLY_IQ1_M", 32: "MOSTLY_BF16", 36: "MOSTLY_TQ1_0",
    37: "MOSTLY_TQ2_0", 38: "MOSTLY_MXFP4_MOE", 39: "MOSTLY_NVFP4", 40: "MOSTLY_Q1_0", 1024: "GUESSED",
}
_FILE_TYPE_NAMES = frozenset(LLAMA_FILE_TYPES.values())


def file_type_label(value: int) -> str | None:
    """The label llama-quantize uses for a `general.file_type` value: 15 -> "Q4_K_M", 0 -> "F32"."""
    try:
        name = LLAMA_FILE_TYPES.get(value)  # what LlamaFileType(value) accepts: 15, 15.0, True
    except TypeError:  # unhashable (an array value)
        return None
    if name is None:
        return None
    return name.removeprefix("MOSTLY_").removeprefix("ALL_")


def normalize_label(label: str) -> tuple[str, bool]:
    """("Q4_K_XL", True) for "UD-Q4_K_XL": the label without Unsloth's dynamic prefix, and whether it had one."""
    dynamic = label.startswith("UD-")
    base = label[3:] if dynamic else label
    return {"FP16": "F16", "FP32": "F32"}.get(base, base), dynamic


def label_family(label: str) -> str:
    """Q4_K_XL, Q4_K_M, Q4_0 -> "Q4"; IQ2_XXS -> "IQ2"; anything else is its own family."""
    m = re.match(r"^(I?Q\d)_", label)
    return m.group(1) if m else label


# compiled on first use (re's cache): few lints need it
_TYPE_AND_SIZE = r"(I?Q\d_(?:K|0|1|NL|XXS|XS|S|M))(?:_(?:XXL|XL|L|M|S))?\Z"


def label_type_name(label: str) -> str | None:
    """The ggml type name a quant label is built on, its size suffix dropped: "Q4_K_XL" -> "Q4_K",
    "IQ4_NL_XL" -> "IQ4_NL", "Q4_K_M" -> "Q4_K", "Q8_0" -> "Q8_0"; None for a label of another
    shape (F16, MXFP4_MOE, TQ1_0). Unsloth's `UD-` prefix is dropped first. Not llama-quantize's
    default type for the label (Q4_K_M starts from Q4_K, IQ2_M from IQ2_S: publish.gguf.quantmix
    DEFAULT_TYPE holds those): the type the label's name spells."""
    m = re.match(_TYPE_AND_SIZE, normalize_label(label)[0])
    return m.group(1) if m else None


def quality_class(label: str) -> str:
    """Where a quant label sits on the size/quality scale, for a model card's `use` text: "float"
    (F32, F16/FP16, BF16), "near-lossless" (Q8_0, Q8_K_XL), "high" (Q5*, Q6*), "balance" (Q4*,
    IQ4*, MXFP4*), "small" (Q3*, IQ3*) or "smallest" (everything below). Case and Unsloth's `UD-`
    prefix are ignored."""
    core = normalize_label(label.upper())[0]
    if core in ("F32", "F16", "BF16"):
        return "float"
    family = label_family(core)
    if family == "Q8":
        return "near-lossless"
    if family in ("Q5", "Q6"):
        return "high"
    if family in ("Q4", "IQ4") or core.startswith("MXFP4"):
        return "balance"
    if family in ("Q3", "IQ3"):
        return "small"
    return "smallest"


def file_type_disagrees(label: str, file_type: int) -> str | None:
    """The `general.file_type` label when it contradicts `label`, else None.

    A label llama-quantize writes as a file type ("Q4_K_M", "Q8_0", "F32") must match exactly; a
    label it does not (Q4_K_XL, IQ4_NL_XL, …) only has to be in the same family ("Q4"). Unsloth's
    dynamic `UD-*` mixes never disagree (llama-quantize starts them from another type). An unknown
    file type value gives None (GG401 reports it on its own). Mirrors llama.cpp's
    `llama_ftype` names (src/llama-model-loader.cpp, gguf-py 0.19 LlamaFileType)."""
    want, dynamic = normalize_label(label)
    if dynamic:
        return None
    have = file_type_label(file_type)
    if have is None:
        return None
    exact_only = f"MOSTLY_{want}" in _FILE_TYPE_NAMES or want == "F32"
    if have == want or (not exact_only and label_family(have) == label_family(want)):
        return None
    return have


def is_projector_filename(filename: str) -> bool:
    """Whether a file name (a path's last part) names a multimodal projector: it starts with
    `mmproj` in any case, the convention of llama.cpp's convert_hf_to_gguf.py --mmproj and of the
    Hub."""
    return filename.rsplit("/", 1)[-1].lower().startswith("mmproj")


# The label the Hugging Face Hub gives a file for `hf.co/ORG/REPO:TAG`: huggingface.js
# packages/tasks/src/gguf.ts `parseGGUFQuantLabel` (@huggingface/tasks 0.21.54) takes the LAST match of
# `(UD-)?(<file type>)(_[A-Z]+)?` in the upper-cased file name, the file types tried in the order of
# its enum GGMLFileQuantizationType (so `Q4_0_4_4` reads as `Q4_0`); tags match it case-insensitively.
# Two files with the same label answer the same tag. tests/hub/test_ollama_tags.py holds this to the
# real package on a corpus of names.
_HUB_TYPES = ("F32 F16 Q4_0 Q4_1 Q4_1_SOME_F16 Q4_2 Q4_3 Q8_0 Q5_0 Q5_1 Q2_K Q3_K_S Q3_K_M Q3_K_L Q4_K_S "
              "Q4_K_M Q5_K_S Q5_K_M Q6_K IQ2_XXS IQ2_XS Q2_K_S IQ3_XS IQ3_XXS IQ1_S IQ4_NL IQ3_S IQ3_M IQ2_S "
              "IQ2_M IQ4_XS IQ1_M BF16 Q4_0_4_4 Q4_0_4_8 Q4_0_8_8 TQ1_0 TQ2_0 MXFP4_MOE NVFP4 Q1_0 Q2_0 Q2_K_XL "
              "Q3_K_XL Q4_K_XL Q5_K_XL Q6_K_XL Q8_K_XL").split()
_HUB_LABEL = re.compile("(?:UD-)?(?:" + "|".join(map(re.escape, _HUB_TYPES)) + ")(?:_[A-Z]+)?")


def hub_tag_label(filename: str) -> str | None:
    """The quant label the Hub derives from a file name for `hf.co/ORG/REPO:TAG`, upper-cased.

    >>> hub_tag_label("X-imat-Q8_0.gguf"), hub_tag_label("x.q8_0.imatrix.gguf")
    ('Q8_0', 'Q8_0')
    """
    found = _HUB_LABEL.findall(filename.rsplit("/", 1)[-1].upper())
    return found[-1] if found else None


def ambiguous_tag_message(names: list[str], address: str) -> str:
    """What lint (GG802) and inspect say when several files answer one tag: `names` are the files'
    names, `address` the `hf.co/…:TAG` they answer."""
    return f"{' and '.join(names)} both answer {address}: the Hub picks one of them by file name, so users cannot choose"
