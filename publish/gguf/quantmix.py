"""What llama-quantize writes for a quant label: the tensor types a `…-Q4_K_M.gguf` may hold.

A quant label names a *mix*, not one tensor type. llama-quantize picks each tensor's type from
the label (`llama_ftype`), the tensor's role and layer, the model's shape and the row length:

- every 2-D+ weight starts from the label's default type (`llama_ftype_get_default_type`:
  Q4_K_M -> Q4_K, IQ3_M -> IQ3_S, IQ2_S -> IQ2_XS, ...);
- the mix raises (sometimes lowers) some roles: `output.weight` (or a tied `token_embd.weight`)
  to Q6_K/Q5_K/Q8_0, `attn_v` and `ffn_down` of some layers, `attn_output`, ... depending on
  grouped-query attention (heads / kv heads >= 4), the number of experts, 70B-sized models,
  Falcon, and whether an importance matrix was used;
- a k-quant or i-quant needs rows that are a multiple of 256 values; when a tensor's row length
  (ne0) is not, llama-quantize falls back: Q2_K/Q3_K -> Q4_0, Q4_K -> Q5_0, Q5_K -> Q5_1,
  Q6_K -> Q8_0, IQ* -> IQ4_NL, and F16 when even 32 does not divide the row. Small models are
  full of such tensors: Gemma 3 270M (rows of 640) Q4_K_M is mostly Q5_0 and Q8_0;
- norms, 1-D tensors, MoE router weights and a list of small tensors are never quantized.

This module mirrors that choice as a *set* of types per tensor (the union over the layer
position and imatrix, which a header does not record), from llama.cpp `src/llama-quant.cpp`
(ggml-org/llama.cpp 007dbbf, functions `llama_tensor_get_type_impl`, `tensor_type_fallback`,
`tensor_allows_quantization`, `llama_ftype_get_default_type`). `--pure` (every weight in the
default type) is always accepted. A tensor at *higher* precision than the mix is an override
(`--token-embedding-type`, `--output-tensor-type`, `--tensor-type`, or an imatrix-driven
dynamic mix such as Unsloth's `UD-*`) and is accepted unless it is most of the file.

    verdict = check_mix(header, "Q4_K_M")
    verdict.off          # tensors whose type no Q4_K_M from llama-quantize has
    verdict.mostly       # the type most of the bytes are in, when that is an upgrade of the label
    matching_labels(header)  # every llama-quantize label whose mix explains all tensors
"""

from __future__ import annotations

from publish.gguf.constants import GGML_QUANT_SIZES
from publish.gguf.constants import GGMLQuantizationType as Q

from publish.gguf.header import GGUFHeader, TensorInfo
from publish.quants import label_family, label_type_name, normalize_label
from publish.records import Record

TYPE_CHECKING = False  # typing is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from typing import Iterable

SOURCE = "llama.cpp src/llama-quant.cpp (ggml-org/llama.cpp 007dbbf): llama_tensor_get_type_impl, tensor_type_fallback"


def _q(name: str) -> Q | None:
    return Q.__members__.get(name)


# llama_ftype_get_default_type: label -> the type every quantizable weight starts from
DEFAULT_TYPE: dict[str, str] = {
    "Q4_0": "Q4_0", "Q4_1": "Q4_1", "Q5_0": "Q5_0", "Q5_1": "Q5_1", "Q8_0": "Q8_0",
    "MXFP4_MOE": "MXFP4",
    "Q2_K_S": "Q2_K", "Q2_K": "Q2_K", "IQ3_XS": "IQ3_S",
    "Q3_K_S": "Q3_K", "Q3_K_M": "Q3_K", "Q3_K_L": "Q3_K",
    "Q4_K_S": "Q4_K", "Q4_K_M": "Q4_K", "Q5_K_S": "Q5_K", "Q5_K_M": "Q5_K", "Q6_K": "Q6_K",
    "TQ1_0": "TQ1_0", "TQ2_0": "TQ2_0",
    "IQ2_XXS": "IQ2_XXS", "IQ2_XS": "IQ2_XS", "IQ2_S": "IQ2_XS", "IQ2_M": "IQ2_S",
    "IQ3_XXS": "IQ3_XXS", "IQ1_S": "IQ1_S", "IQ1_M": "IQ1_M", "IQ4_NL": "IQ4_NL", "IQ4_XS": "IQ4_XS",
    "IQ3_S": "IQ3_S", "IQ3_M": "IQ3_S",
}
# labels the GGUF type table of this gguf-py knows (newer llama.cpp types may be missing)
LABELS = tuple(lbl for lbl, t in DEFAULT_TYPE.items() if _q(t) is not None)

_VERY_LOW = {"IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ2_S", "IQ2_M", "IQ1_M"}
_OUTPUT_Q5K = _VERY_LOW | {"IQ3_XXS"}
_FLOAT = {Q.F32, Q.F16, Q.BF16, Q.F64}

# tensor roles (llama-quant.cpp tensor_get_category)
TOKEN_EMBD, OUTPUT, ATTN_V, ATTN_K, ATTN_Q, ATTN_OUTPUT = "token_embd", "output", "attn_v", "attn_k", "attn_q", "attn_output"
FFN_UP, FFN_GATE, FFN_DOWN, OTHER = "ffn_up", "ffn_gate", "ffn_down", "other"


def category(name: str) -> str:
    """The role llama-quantize gives a tensor by its name (llama.cpp src/llama-quant.cpp 007dbbf,
    llama_tensor_get_type_impl): OUTPUT, TOKEN_EMBD, ATTN_V (also fused qkv and kv_b), ATTN_K,
    ATTN_Q, ATTN_OUTPUT, FFN_UP, FFN_GATE, FFN_DOWN, else OTHER."""
    if name == "output.weight":
        return OUTPUT
    if name in ("token_embd.weight", "per_layer_token_embd.weight"):
        return TOKEN_EMBD
    for needle, cat in (("attn_qkv.weight", ATTN_V), ("attn_kv_b.weight", ATTN_V), ("attn_v.weight", ATTN_V),
                        ("attn_k.weight", ATTN_K), ("attn_q.weight", ATTN_Q), ("attn_output.weight", ATTN_OUTPUT),
                        ("ffn_up", FFN_UP), ("ffn_gate", FFN_GATE), ("ffn_down", FFN_DOWN)):
        if needle in name:
            return cat
    return OTHER


_NEVER_QUANTIZED = ("_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
                    "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight",
                    "indexer.q_proj.weight", "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight",
                    "time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight",
                    "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight",
                    "time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight",
                    "time_mix_lerp_fused.weight", "attn_rel_b.weight", ".position_embd", "sam.pos_embd",
                    "sam.neck.", "sam.net_", ".rel_pos", ".patch_embd", ".patch_merger", "a.rvq.codebook",
                    "mm.a.code_embd")


def n_dims(shape: tuple[int, ...]) -> int:
    """ggml_n_dims: the number of dimensions without trailing 1s (at least 1)."""
    n = len(shape)
    while n > 1 and shape[n - 1] == 1:
        n -= 1
    return max(n, 1)


def quantizable(t: TensorInfo) -> bool:
    """Whether llama-quantize quantizes this tensor at all (`tensor_allows_quantization`)."""
    name = t.name
    if n_dims(t.shape) < 2 or not name.endswith("weight"):
        return False
    if name in ("position_embd.weight", "token_types.weight"):
        return False
    return not any(s in name for s in _NEVER_QUANTIZED)


def block_size(t: Q) -> int:
    """Values per block of a ggml type (gguf-py GGML_QUANT_SIZES): 256 for k-quants, 32 for the
    legacy quants, 1 for F16/F32."""
    return GGML_QUANT_SIZES[t][0]


def bits_per_weight(t: Q) -> float:
    """Bits per weight of a ggml type: block bytes * 8 / values per block (Q4_K: 4.5, Q8_0: 8.5)."""
    block, size = GGML_QUANT_SIZES[t]
    return size * 8 / block


_FALLBACK = {"IQ1_S": "IQ4_NL", "IQ1_M": "IQ4_NL", "IQ2_XXS": "IQ4_NL", "IQ2_XS": "IQ4_NL", "IQ2_S": "IQ4_NL",
             "IQ3_XXS": "IQ4_NL", "IQ3_S": "IQ4_NL", "IQ4_XS": "IQ4_NL", "Q2_K": "Q4_0", "Q3_K": "Q4_0",
             "TQ1_0": "Q4_0", "TQ2_0": "Q4_0", "Q4_K": "Q5_0", "Q5_K": "Q5_1", "Q6_K": "Q8_0"}


def fallback(t: Q, ncols: int) -> Q:
    """tensor_type_fallback: the type llama-quantize writes instead of `t` for rows of `ncols` values."""
    if ncols % block_size(t) == 0:
        return t
    alt = _q(_FALLBACK.get(t.name, ""))
    if alt is None:
        return t  # llama-quantize refuses the tensor; nothing else to expect
    return alt if ncols % block_size(alt) == 0 else Q.F16


class ModelShape(Record):
    """What the per-tensor choice depends on, as far as a header tells it. None: unknown (both).
    Frozen (publish.records.Record)."""

    __slots__ = ("gqa_ge_4", "n_expert", "is_70b", "falcon", "tied")
    frozen = True
    gqa_ge_4: bool | None             # attention.head_count / head_count_kv >= 4
    n_expert: int
    is_70b: bool                      # 80 layers: llama.cpp's LLM_TYPE_70B bumps attn_v to Q5_K
    falcon: bool
    tied: bool                        # no output.weight: token_embd is chosen like output

    def __init__(self, gqa_ge_4: bool | None = None, n_expert: int = 0, is_70b: bool = False, falcon: bool = False,
                 tied: bool = True):
        self._fill(gqa_ge_4, n_expert, is_70b, falcon, tied)

    @classmethod
    def of(cls, hdr: GGUFHeader) -> "ModelShape":
        """The shape read from a header: grouped-query attention from {arch}.attention.head_count /
        head_count_kv (the first positive value of a per-layer array), {arch}.expert_count, 80
        layers for llama.cpp's 70B case, Falcon, and whether output.weight is tied to token_embd
        (absent)."""
        def first_int(v):
            if isinstance(v, (list, tuple)) or hasattr(v, "to_list"):
                vals = [x for x in (v.to_list() if hasattr(v, "to_list") else v) if isinstance(x, int) and x > 0]
                return vals[0] if vals else None
            return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else None

        heads, kv = first_int(hdr.arch_value("attention.head_count")), first_int(hdr.arch_value("attention.head_count_kv"))
        gqa = None if heads is None else (heads // (kv or heads)) >= 4
        experts = hdr.arch_value("expert_count")
        blocks = hdr.arch_value("block_count")
        return cls(gqa_ge_4=gqa,
                   n_expert=experts if isinstance(experts, int) and not isinstance(experts, bool) else 0,
                   is_70b=blocks == 80, falcon=hdr.architecture == "falcon",
                   tied=not any(t.name == "output.weight" for t in hdr.tensors))


def _gqa(shape: ModelShape, yes: set[str], no: set[str]) -> set[str]:
    if shape.gqa_ge_4 is None:
        return yes | no
    return yes if shape.gqa_ge_4 else no


def mix_types(label: str, cat: str, shape: ModelShape, ncols: int, dims: int = 2) -> set[str]:
    """Type names llama_tensor_get_type_impl may choose for a tensor of role `cat` under `label`,
    before the row-length fallback (a union over layer position and imatrix use)."""
    d = DEFAULT_TYPE[label]
    if cat == OUTPUT or (shape.tied and cat == TOKEN_EMBD):
        # llama.cpp before the tied-embedding case (2024) quantized a tied token_embd like any weight
        older = {d} if cat == TOKEN_EMBD else set()
        if label == "MXFP4_MOE" or shape.falcon or ncols % block_size(Q[d]) != 0:
            return {"Q8_0"} | older
        if label in _OUTPUT_Q5K:
            return {"Q5_K"} | older
        return ({"Q8_0"} if d == "Q8_0" else {"Q6_K"}) | older
    if label == "MXFP4_MOE":
        return {"MXFP4"} if dims >= 3 else {"Q8_0"}
    if cat == TOKEN_EMBD:
        if label in {"IQ2_XXS", "IQ2_XS", "IQ1_S", "IQ1_M"}:
            return {"Q2_K"}
        if label in {"IQ2_S", "IQ2_M", "IQ3_XXS"}:
            return {"IQ3_S"}
        if label in {"TQ1_0", "TQ2_0"}:
            return {"Q4_K"}
        return {d}
    iq_s_m = label in {"IQ2_S", "IQ2_M"}
    out: set[str] = {d}
    if label in _VERY_LOW:
        if cat == ATTN_V:
            out = {"Q4_K"} if (shape.gqa_ge_4 or shape.n_expert >= 4) else (
                {"IQ3_S" if iq_s_m else "Q2_K"} | ({"Q4_K"} if shape.gqa_ge_4 is None else set()))
        elif shape.n_expert == 8 and cat == ATTN_K:
            out = {"Q4_K"}
        elif cat == FFN_DOWN:
            out = {d, "IQ3_S" if iq_s_m else "Q2_K"}
        elif cat == ATTN_OUTPUT:
            out = {"Q5_K"} if shape.n_expert == 8 else (
                {"IQ2_XXS"} if label in {"IQ1_S", "IQ1_M"} else {"IQ3_S"} if iq_s_m else {d})
        return out | {d}
    if cat == ATTN_V:
        table = {
            "Q2_K": _gqa(shape, {"Q4_K"}, {"Q3_K"}),
            "Q2_K_S": _gqa(shape, {"Q4_K"}, {d}),
            "IQ3_XXS": _gqa(shape, {"Q4_K"}, {"IQ3_S", "IQ3_XXS"}),
            "IQ3_XS": _gqa(shape, {"Q4_K"}, {d}),
            "IQ3_S": _gqa(shape, {"Q4_K"}, {d}),
            "IQ3_M": {"Q4_K"},
            "Q3_K_M": {"Q5_K", "Q4_K"},
            "Q3_K_L": {"Q5_K"},
            "IQ4_NL": _gqa(shape, {"Q5_K"}, {d}),
            "IQ4_XS": _gqa(shape, {"Q5_K"}, {d}),
            "Q4_K_M": {"Q6_K", d},
            "Q5_K_M": {"Q6_K", d},
            "Q4_K_S": {"Q5_K", d},
        }
        out = set(table.get(label, {d}))
        if shape.is_70b:
            out = {"Q5_K" if t in ("Q3_K", "Q4_K") else t for t in out} | out
        if shape.n_expert == 8:
            out = {"Q8_0"}
    elif cat == ATTN_K:
        out = {"Q8_0"} if shape.n_expert == 8 else {"IQ3_XXS"} if label == "IQ3_XS" else \
            {"IQ2_S"} if label == "IQ3_XXS" else {d}
    elif cat == ATTN_Q:
        out = {"IQ3_XXS"} if label == "IQ3_XS" else {"IQ2_S"} if label == "IQ3_XXS" else {d}
    elif cat == FFN_DOWN:
        falcon = shape.falcon
        table = {
            "Q2_K": {"Q3_K"},
            "Q2_K_S": {"Q4_K", d},
            "IQ3_XXS": {"Q4_K", "Q3_K", d},
            "Q3_K_M": {"Q5_K", "Q4_K", "Q3_K"} if falcon else {"Q5_K", "Q4_K"},
            "IQ3_M": {"Q4_K", d},
            "Q3_K_L": {"Q4_K"} if falcon else {"Q5_K"},
            "Q4_K_M": {"Q6_K", "Q5_K", "Q4_K"} if falcon else {"Q6_K", d},
            "IQ4_NL": {"Q5_K", d},
            "IQ4_XS": {"Q5_K", d},
            "Q5_K_M": {"Q6_K", d},
            "Q4_K_S": {d} if falcon else {"Q5_K", d},
            "Q4_0": {"Q4_1", d},
            "Q5_0": {"Q5_1", d},
        }
        out = set(table.get(label, {d}))
    elif cat == ATTN_OUTPUT:
        if shape.falcon:
            out = {"Q4_K"} if label == "Q3_K_L" else {d}
        elif shape.n_expert == 8:
            out = {"Q5_K"} if label in {"Q2_K", "IQ3_XS", "IQ3_XXS", "Q3_K_S", "Q3_K_M", "IQ4_NL", "Q4_K_S",
                                         "Q4_K_M", "IQ3_S", "IQ3_M", "IQ4_XS"} else {d}
        else:
            out = {{"Q2_K": "Q3_K", "IQ3_XXS": "IQ3_S", "Q3_K_M": "Q4_K", "Q3_K_L": "Q5_K",
                    "IQ3_M": "Q4_K"}.get(label, d)}
    elif cat in (FFN_GATE, FFN_UP) and label == "IQ3_XS":
        out = {"IQ3_XXS", d}
    # --pure writes the default type everywhere
    return out | {d}


def allowed_types(label: str, t: TensorInfo, shape: ModelShape) -> frozenset[Q]:
    """The types llama-quantize may write for tensor `t` under `label`, row-length fallback included."""
    ncols = t.shape[0] if t.shape else 0
    names = mix_types(label, category(t.name), shape, ncols, n_dims(t.shape))
    return frozenset(fallback(q, ncols) for q in (_q(n) for n in names) if q is not None)




class MixVerdict(Record):
    """How a header's tensors compare with what llama-quantize writes for `label`
    (publish.records.Record; `off` and `upgraded` None: a new empty list)."""

    __slots__ = ("label", "modelled", "off", "upgraded", "mostly", "family_missing", "base")
    label: str
    modelled: bool                    # label is a llama-quantize label (else: a dynamic/custom mix)
    off: list[tuple[TensorInfo, frozenset[Q]]]  # not in the mix, not an upgrade
    upgraded: list[TensorInfo]        # above the mix (overrides)
    mostly: Q | None                  # set when most weight bytes are upgraded: the type they are in
    family_missing: bool              # dynamic label whose base type appears nowhere
    base: Q | None

    def __init__(self, label: str, modelled: bool, off: list[tuple[TensorInfo, frozenset[Q]]] | None = None,
                 upgraded: list[TensorInfo] | None = None, mostly: Q | None = None, family_missing: bool = False,
                 base: Q | None = None):
        self._fill(label, modelled, [] if off is None else off, [] if upgraded is None else upgraded, mostly,
                   family_missing, base)

    @property
    def lies(self) -> bool:
        """Whether the label misdescribes the file: a tensor no such mix has, most weight bytes in
        an upgraded type, or a dynamic label whose base type appears nowhere."""
        return bool(self.off) or self.mostly is not None or self.family_missing


def _base_type(label: str) -> Q | None:
    plain = normalize_label(label)[0]
    if plain in DEFAULT_TYPE:
        return _q(DEFAULT_TYPE[plain])
    head = label_type_name(plain)
    if head is None:
        return None
    return _q(DEFAULT_TYPE.get(head, head))


def check_mix(hdr: GGUFHeader, label: str, shape: ModelShape | None = None) -> MixVerdict:
    """Compare the tensors of `hdr` with llama-quantize's mix for `label` ("Q4_K_M", "UD-Q4_K_XL").

    A llama-quantize label gets the full per-tensor model; a dynamic label (Unsloth `UD-*`,
    `_XL`/`_L` mixes) only needs its base type, or that type's row-length fallback, somewhere in
    the quantized weights other than the embeddings and output."""
    shape = shape or ModelShape.of(hdr)
    plain, dynamic = normalize_label(label)
    base = _base_type(label)
    weights = [t for t in hdr.tensors if quantizable(t)]
    modelled = plain in LABELS and not dynamic
    verdict = MixVerdict(label, modelled, base=base)
    if not weights:
        return verdict
    if not modelled:
        body = [t for t in weights if category(t.name) not in (TOKEN_EMBD, OUTPUT)] or weights
        if base is not None:
            accepted = {base} | {fallback(base, t.shape[0]) for t in body}
            fam = label_family(base.name)
            verdict.family_missing = not any(
                t.ggml_type in accepted or (fam != base.name and t.ggml_type.name.startswith(fam + "_"))
                for t in body)
        return verdict
    upgraded_bytes = body_bytes = 0
    by_type: dict[Q, int] = {}
    for t in weights:
        allowed = allowed_types(plain, t, shape)
        cat = category(t.name)
        if t.ggml_type in allowed:
            pass
        elif bits_per_weight(t.ggml_type) > max(bits_per_weight(a) for a in allowed):
            verdict.upgraded.append(t)
        elif cat in (TOKEN_EMBD, OUTPUT) and bits_per_weight(t.ggml_type) >= min(bits_per_weight(a) for a in allowed):
            verdict.upgraded.append(t)   # --token-embedding-type / --output-tensor-type
        else:
            verdict.off.append((t, allowed))
        if cat not in (TOKEN_EMBD, OUTPUT):
            body_bytes += t.n_bytes
            by_type[t.ggml_type] = by_type.get(t.ggml_type, 0) + t.n_bytes
            if t in verdict.upgraded:
                upgraded_bytes += t.n_bytes
    if body_bytes and upgraded_bytes * 2 > body_bytes:
        verdict.mostly = max(by_type, key=by_type.get)
    return verdict


def matching_labels(hdr: GGUFHeader, shape: ModelShape | None = None) -> list[str]:
    """Every llama-quantize label whose mix explains each quantized tensor of `hdr` (no tensor off
    the mix, and not mostly upgraded), the closest first: fewest upgraded tensors."""
    shape = shape or ModelShape.of(hdr)
    experts = any(n_dims(t.shape) >= 3 for t in hdr.tensors if quantizable(t))
    found = []
    for order, label in enumerate(LABELS):
        if label == "MXFP4_MOE" and not experts:
            continue  # without expert tensors it is indistinguishable from Q8_0
        v = check_mix(hdr, label, shape)
        if not v.lies:
            found.append((len(v.upgraded), order, label))
    return [label for _, _, label in sorted(found)]


def describe_types(types: Iterable[Q]) -> str:
    """Type names for a message, sorted and joined with ` or ` ("Q4_K or Q5_0")."""
    return " or ".join(sorted({t.name for t in types}))
