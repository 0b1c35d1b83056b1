"""publish.gguf.quantmix and the quant-label rules (GG401-GG403): they accept what llama-quantize
writes for each label, and name the tensors when a label lies.

The model of llama-quantize is publish.gguf.quantmix (from llama.cpp src/llama-quant.cpp). The
headers here copy real layouts with gguf.GGUFWriter (tensor infos only, sparse data), and the real
Gemma 3 270M Q4_K_M by GGUF-my-repo is linted as a user would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as T

from ggufs import write_gguf_header
from publish.cli import main
from publish.gguf import quantmix
from publish.gguf.reader import read_header
from publish.gguf.rules import check_header
from publish.lint import lint_paths

LABEL_CODES = {"GG401", "GG402", "GG403"}


def gemma3_270m_tensors(types: dict[str, Q] | None = None, *, vocab: int = 262144, layers: int = 18) -> list:
    """The tensor layout of Gemma 3 270M (hidden 640, 4 heads of 256, 1 KV head, FFN 2048, tied
    embeddings) with the types GGUF-my-repo's Q4_K_M has: rows of 640 are not a multiple of 256, so
    Q4_K falls back to Q5_0 and Q6_K to Q8_0. `types` overrides a role ("attn_q", "ffn_up", ...)."""
    t = {"token_embd": Q.Q8_0, "attn_q": Q.Q5_0, "attn_k": Q.Q5_0, "attn_output": Q.Q4_K,
         "ffn_gate": Q.Q5_0, "ffn_up": Q.Q5_0} | (types or {})
    out = [("token_embd.weight", (640, vocab), t["token_embd"])]
    for i in range(layers):
        more_bits = i < layers // 8 or i >= 7 * layers // 8 or (i - layers // 8) % 3 == 2
        b = f"blk.{i}."
        out += [
            (b + "attn_norm.weight", (640,), Q.F32), (b + "attn_q_norm.weight", (256,), Q.F32),
            (b + "attn_k_norm.weight", (256,), Q.F32), (b + "post_attention_norm.weight", (640,), Q.F32),
            (b + "ffn_norm.weight", (640,), Q.F32), (b + "post_ffw_norm.weight", (640,), Q.F32),
            (b + "attn_q.weight", (640, 1024), t["attn_q"]), (b + "attn_k.weight", (640, 256), t["attn_k"]),
            (b + "attn_v.weight", (640, 256), t.get("attn_v", Q.Q8_0 if more_bits else Q.Q5_0)),
            (b + "attn_output.weight", (1024, 640), t["attn_output"]),
            (b + "ffn_gate.weight", (640, 2048), t["ffn_gate"]), (b + "ffn_up.weight", (640, 2048), t["ffn_up"]),
            (b + "ffn_down.weight", (2048, 640), t.get("ffn_down", Q.Q6_K if more_bits else Q.Q4_K)),
        ]
    return out + [("output_norm.weight", (640,), Q.F32)]


GEMMA3_KV = {
    "general.file_type": (15, T.UINT32),
    "gemma3.context_length": 32768, "gemma3.embedding_length": 640, "gemma3.block_count": 18,
    "gemma3.feed_forward_length": 2048, "gemma3.attention.head_count": 4, "gemma3.attention.head_count_kv": 1,
}


def header(tmp_path: Path, name: str, tensors: list, kv: dict | None = None, arch: str = "gemma3"):
    return read_header(write_gguf_header(tmp_path / name, arch=arch, kv=kv if kv is not None else GEMMA3_KV,
                                         tensors=tensors))


def label_findings(hdr):
    return [f for f in check_header(hdr) if f.code in LABEL_CODES]


# -- the real file --------------------------------------------------------------------------------

def test_real_gemma3_270m_q4_k_m_has_no_quant_label_finding(gemma3_270m_path, tmp_path):
    """GGUF-my-repo's own Gemma 3 270M Q4_K_M: 'mostly Q5_0' before (GG402), and the rename it
    advised then tripped GG401. Linted under its published name, it must have no error and no
    label finding."""
    named = tmp_path / "gemma-3-270m-Q4_K_M.gguf"
    named.symlink_to(gemma3_270m_path)
    result = lint_paths([str(named)])
    assert result.exit_code == 0
    assert not [f for f in result.findings if f.code in LABEL_CODES or f.severity.value == "error"], result.findings
    res = CliRunner().invoke(main, ["lint", str(named)])
    assert res.exit_code == 0 and "GG402" not in res.output and "GG401" not in res.output


def test_copied_layout_matches_the_real_file(gemma3_270m_path):
    """The hand-written layout used below is the real file's tensor list (names, shapes, types)."""
    real = read_header(str(gemma3_270m_path))
    got = {(t.name, t.shape, t.ggml_type) for t in real.tensors}
    assert got == set(gemma3_270m_tensors())
    assert quantmix.matching_labels(real)[0] == "Q4_K_M"


# -- genuine mixes pass ----------------------------------------------------------------------------

def test_header_copying_the_real_layout_is_silent(tmp_path):
    assert label_findings(header(tmp_path, "gemma-3-270m-it-Q4_K_M.gguf", gemma3_270m_tensors())) == []


@pytest.mark.parametrize("label,file_type,types", [
    # llama.cpp#26616 (llama2.c-stories15M, rows of 288): Q4_K_M falls back to Q5_0 everywhere
    ("Q4_K_M", 15, {}),
    # pure run (`--pure`): every weight in the default type, via its fallback
    ("Q4_K_M", 15, {"attn_v": Q.Q5_0, "ffn_down": Q.Q4_K}),
    # llama.cpp#3747: Q5_K falls back to Q5_1 on rows that are not a multiple of 256
    ("Q5_K_M", 17, {"attn_q": Q.Q5_1, "attn_k": Q.Q5_1, "attn_v": Q.Q5_1, "attn_output": Q.Q5_K,
                    "ffn_gate": Q.Q5_1, "ffn_up": Q.Q5_1, "ffn_down": Q.Q5_K}),
    # Q6_K falls back to Q8_0 (llama.cpp#28474's nemotron shared experts, rows of 2688)
    ("Q6_K", 18, {"attn_q": Q.Q8_0, "attn_k": Q.Q8_0, "attn_v": Q.Q8_0, "attn_output": Q.Q6_K,
                  "ffn_gate": Q.Q8_0, "ffn_up": Q.Q8_0, "ffn_down": Q.Q6_K}),
    # i-quants fall back to IQ4_NL; GQA 4 raises attn_v to Q4_K (-> Q5_0); a tied embedding is Q8_0
    ("IQ2_XXS", 19, {"attn_q": Q.IQ4_NL, "attn_k": Q.IQ4_NL, "attn_v": Q.Q5_0, "attn_output": Q.IQ2_XXS,
                     "ffn_gate": Q.IQ4_NL, "ffn_up": Q.IQ4_NL, "ffn_down": Q.IQ2_XXS}),
    # older llama.cpp quantized a tied token_embd like any other weight
    ("Q4_K_M", 15, {"token_embd": Q.Q5_0}),
    # `--token-embedding-type q8_0 --output-tensor-type f16` style overrides raise precision
    ("Q4_K_M", 15, {"token_embd": Q.F16}),
])
def test_llama_quantize_mixes_on_gemma_rows_are_accepted(tmp_path, label, file_type, types):
    kv = GEMMA3_KV | {"general.file_type": (file_type, T.UINT32)}
    hdr = header(tmp_path, f"gemma-3-270m-{label}.gguf", gemma3_270m_tensors(types), kv)
    assert label_findings(hdr) == []


def llama_like(types: dict[str, Q], *, layers: int = 8, n_embd: int = 256, ff: int = 512, heads=(8, 2)) -> list:
    """A llama with 256-aligned rows and GQA 4 (Llama 3 style) and an untied output."""
    out = [("token_embd.weight", (n_embd, 512), types.get("token_embd", Q.Q4_K)),
           ("output.weight", (n_embd, 512), types.get("output", Q.Q6_K)), ("output_norm.weight", (n_embd,), Q.F32)]
    kv_dim = n_embd // heads[0] * heads[1]
    for i in range(layers):
        b = f"blk.{i}."
        pick = (lambda role, default: types.get(f"{role}.{i}", types.get(role, default)))
        out += [(b + "attn_norm.weight", (n_embd,), Q.F32), (b + "ffn_norm.weight", (n_embd,), Q.F32),
                (b + "attn_q.weight", (n_embd, n_embd), pick("attn_q", Q.Q4_K)),
                (b + "attn_k.weight", (n_embd, kv_dim), pick("attn_k", Q.Q4_K)),
                (b + "attn_v.weight", (n_embd, kv_dim), pick("attn_v", Q.Q6_K if i in (0, 3, 6, 7) else Q.Q4_K)),
                (b + "attn_output.weight", (n_embd, n_embd), pick("attn_output", Q.Q4_K)),
                (b + "ffn_gate.weight", (n_embd, ff), pick("ffn_gate", Q.Q4_K)),
                (b + "ffn_up.weight", (n_embd, ff), pick("ffn_up", Q.Q4_K)),
                (b + "ffn_down.weight", (ff, n_embd), pick("ffn_down", Q.Q6_K if i in (0, 3, 6, 7) else Q.Q4_K))]
    return out


LLAMA_KV = {"general.file_type": (15, T.UINT32), "llama.block_count": 8, "llama.embedding_length": 256,
            "llama.context_length": 4096, "llama.attention.head_count": 8, "llama.attention.head_count_kv": 2}


def test_llama_q4_k_m_and_its_dynamic_cousins_are_accepted(tmp_path):
    assert label_findings(header(tmp_path, "Llama-3-Q4_K_M.gguf", llama_like({}), LLAMA_KV, "llama")) == []
    # Unsloth UD-Q4_K_XL (unslothai/unsloth dynamic 2.0): Q4_K bulk, some layers Q5_K/Q6_K/Q8_0, BF16 output;
    # general.file_type of a UD mix is the base run's, not the label's (TurboLLM#171 saw UD-IQ2_M as Q4_K_S)
    ud = llama_like({"attn_v": Q.Q8_0, "ffn_down.0": Q.Q5_K, "output": Q.BF16})
    kv = LLAMA_KV | {"general.file_type": (14, T.UINT32)}
    assert label_findings(header(tmp_path, "Llama-3-UD-Q4_K_XL.gguf", ud, kv, "llama")) == []


# -- lying labels are named precisely -------------------------------------------------------------

def test_renamed_q8_0_is_named_with_the_label_it_holds(tmp_path):
    q8 = gemma3_270m_tensors({r: Q.Q8_0 for r in ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate",
                                                   "ffn_up", "ffn_down")})
    (f,) = label_findings(header(tmp_path, "gemma-3-270m-Q4_K_M.gguf", q8))
    assert f.code == "GG402" and f.severity.value == "warning"
    assert "most weight bytes are Q8_0" in f.message
    assert "rename the file to …-Q8_0.gguf" in f.hint


def test_q4_k_s_sold_as_q4_k_m_names_the_tensors_and_types(tmp_path):
    """Q4_K_S raises the first attn_v layers and the first 1/8 of ffn_down to Q5_K; Q4_K_M never
    writes Q5_K there."""
    types = {f"attn_v.{i}": Q.Q5_K for i in range(4)} | {f"attn_v.{i}": Q.Q4_K for i in range(4, 8)} \
        | {"ffn_down.0": Q.Q5_K} | {f"ffn_down.{i}": Q.Q4_K for i in range(1, 8)}
    (f,) = label_findings(header(tmp_path, "Llama-3-Q4_K_M.gguf", llama_like(types), LLAMA_KV, "llama"))
    assert f.code == "GG402"
    assert "5 tensors are not in its mix" in f.message
    assert "blk.0.attn_v.weight, blk.1.attn_v.weight, blk.2.attn_v.weight and 1 more are Q5_K" in f.message
    assert "where llama-quantize writes Q4_K or Q6_K" in f.message
    assert f.subject == "blk.0.attn_v.weight" and f.offset is not None
    assert "…-Q4_K_S.gguf" in f.hint


def test_lower_precision_than_the_label_is_named(tmp_path):
    """A Q3_K file sold as Q4_K_M: every body tensor is named as off the mix."""
    types = {r: Q.Q3_K for r in ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")}
    (f,) = label_findings(header(tmp_path, "Llama-3-Q4_K_M.gguf", llama_like(types), LLAMA_KV, "llama"))
    assert "are Q3_K where llama-quantize writes" in f.message
    res = CliRunner().invoke(main, ["lint", "--select", "GG4", str(tmp_path / "Llama-3-Q4_K_M.gguf")])
    assert res.exit_code == 0 and "GG402 [warning]" in res.output  # a warning: the file still runs


def test_dynamic_label_without_its_family_is_named(tmp_path):
    q8 = llama_like({r: Q.Q8_0 for r in ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up",
                                          "ffn_down")})
    (f,) = label_findings(header(tmp_path, "Llama-3-UD-Q2_K_XL.gguf", q8, LLAMA_KV, "llama"))
    assert f.code == "GG402" and "no quantized weight is Q2_K" in f.message and "Q8_0 x56" in f.message


def test_rename_advice_does_not_loop_into_gg401(tmp_path):
    """Issue 8: following GG402's rename advice ('mostly Q5_0') tripped GG401. The advice now names
    the label llama-quantize would have written, and the renamed file is clean on both rules."""
    q8 = gemma3_270m_tensors({r: Q.Q8_0 for r in ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate",
                                                   "ffn_up", "ffn_down")})
    kv = GEMMA3_KV | {"general.file_type": (7, T.UINT32)}          # MOSTLY_Q8_0: only the name lies
    found = {x.code: x for x in label_findings(header(tmp_path, "gemma-3-270m-Q4_K_M.gguf", q8, kv))}
    assert "…-Q8_0.gguf" in found["GG402"].hint and "Q8_0" in found["GG401"].message
    renamed = header(tmp_path, "gemma-3-270m-Q8_0.gguf", q8, kv)
    assert label_findings(renamed) == []


def test_edited_file_type_is_called_out(tmp_path):
    q8 = gemma3_270m_tensors({r: Q.Q8_0 for r in ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate",
                                                   "ffn_up", "ffn_down")})
    (f,) = [x for x in label_findings(header(tmp_path, "gemma-3-270m-Q4_K_M.gguf", q8)) if x.code == "GG402"]
    assert "general.file_type says Q4_K_M" in f.hint and "re-quantizing is the safe fix" in f.hint
