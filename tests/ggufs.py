"""Build real GGUF files for tests with `gguf.GGUFWriter`.

- `write_gguf`: any architecture, metadata with explicit stored types, tensors of any ggml type
  (raw bytes of the right size), optional split sets.
- `write_tiny_llama`: a 1-layer llama llama.cpp really loads and runs. Attention and FFN output
  weights are zero, so the residual stream is the last token's embedding and the next token
  depends on the last token alone. Every token predicts ANSWER ("2"); ANSWER predicts END_TOKEN
  (`<end_of_turn>`). With logits 160 apart the choice is deterministic at any temperature.
  The GGUF's declared EOS is `<eos>`, not END_TOKEN: like Gemma, the model relies on the
  `stop` parameter to end its turn, so a release without that stop runs away in llama.cpp.
  Ollama v0.24.0 (its llama.cpp vocab loader) ends generation at `<end_of_turn>` by the token's
  text alone; `write_tiny_llama(end_token=TURN_END)` ends turns with a token no engine knows by
  name, which only `stop` can end: the runaway case on the real Ollama.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any, Iterable

import numpy as np
from gguf import GGML_QUANT_SIZES, GGMLQuantizationType, GGUFValueType, GGUFWriter, TokenType

GEMMA_JINJA = (
    "{{ bos_token }}"
    "{%- if messages[0]['role'] == 'system' -%}"
    "{%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}"
    "{%- set loop_messages = messages[1:] -%}"
    "{%- else -%}{%- set first_user_prefix = '' -%}{%- set loop_messages = messages -%}{%- endif -%}"
    "{%- for message in loop_messages -%}"
    "{%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}"
    "{%- endif -%}"
    "{%- set role = 'model' if message['role'] == 'assistant' else message['role'] -%}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') }}"
    "{{ message['content'] | trim }}"
    "{{ '<end_of_turn>\n' }}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{ '<start_of_turn>model\n' }}{%- endif -%}"
)

GEMMA_GO = (
    "{{- range $i, $_ := .Messages }}\n"
    "{{- $last := eq (len (slice $.Messages $i)) 1 }}\n"
    "{{- if or (eq .Role \"user\") (eq .Role \"system\") }}<start_of_turn>user\n"
    "{{ .Content }}<end_of_turn>\n"
    "{{ if $last }}<start_of_turn>model\n"
    "{{ end }}\n"
    "{{- else if eq .Role \"assistant\" }}<start_of_turn>model\n"
    "{{ .Content }}{{ if not $last }}<end_of_turn>\n"
    "{{ end }}\n"
    "{{- end }}\n"
    "{{- end }}"
)

ANSWER = "2"
END_TOKEN = "<end_of_turn>"
TURN_END = "<|turn_end|>"   # an end-of-turn token llama.cpp does not recognise by its text
SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", END_TOKEN]


class CountingFile(io.FileIO):
    """A real file that counts read() calls and bytes, standing in for an HTTP-range-backed stream."""

    def __init__(self, path):
        super().__init__(path, "rb")
        self.reads = 0
        self.bytes_read = 0

    def read(self, size=-1):
        data = super().read(size)
        self.reads += 1
        self.bytes_read += len(data)
        return data

    def readinto(self, b):
        n = super().readinto(b)
        self.reads += 1
        self.bytes_read += n or 0
        return n


def raw_tensor_bytes(shape: tuple[int, ...], ggml_type: GGMLQuantizationType) -> int:
    block, type_size = GGML_QUANT_SIZES[ggml_type]
    n = int(np.prod(shape))
    assert shape[0] % block == 0, f"ne0={shape[0]} must be a multiple of {block} for {ggml_type.name}"
    return n // block * type_size


def _add_kv(writer: GGUFWriter, key: str, value: Any) -> None:
    """value is either a plain Python value (type inferred like GGUFWriter does) or (value, GGUFValueType)
    or (list, GGUFValueType.ARRAY, item_type)."""
    if isinstance(value, tuple) and len(value) >= 2 and isinstance(value[1], GGUFValueType):
        if value[1] == GGUFValueType.ARRAY:
            writer.add_key_value(key, list(value[0]), GGUFValueType.ARRAY, value[2] if len(value) > 2 else None)
        else:
            writer.add_key_value(key, value[0], value[1])
    elif isinstance(value, bool):
        writer.add_bool(key, value)
    elif isinstance(value, int):
        writer.add_uint32(key, value) if value >= 0 else writer.add_int32(key, value)
    elif isinstance(value, float):
        writer.add_float32(key, value)
    elif isinstance(value, str):
        writer.add_string(key, value)
    elif isinstance(value, (list, np.ndarray)):
        writer.add_array(key, value)
    else:
        raise TypeError(f"{key}: cannot store {type(value).__name__}")


def write_gguf(
    path: str | Path,
    *,
    arch: str = "llama",
    kv: dict[str, Any] | None = None,
    tensors: Iterable[tuple[str, tuple[int, ...], GGMLQuantizationType]] = (),
    tensor_data: dict[str, np.ndarray] | None = None,
    split_max_tensors: int = 0,
    fill: int = 0,
) -> Path:
    """Write a GGUF. `tensors` are (name, ggml shape ne0-first, type); data is `fill` bytes unless
    `tensor_data[name]` gives a real array. `kv` keys keep insertion order."""
    path = Path(path)
    writer = GGUFWriter(path, arch, split_max_tensors=split_max_tensors)
    for key, value in (kv or {}).items():
        _add_kv(writer, key, value)
    tensor_data = tensor_data or {}
    for name, shape, ggml_type in tensors:
        if name in tensor_data:
            if ggml_type is None or ggml_type in (GGMLQuantizationType.F32, GGMLQuantizationType.F16):
                writer.add_tensor(name, tensor_data[name])
            else:  # already-quantized bytes (gguf.quants.quantize)
                writer.add_tensor(name, tensor_data[name], raw_dtype=ggml_type)
            continue
        nbytes = raw_tensor_bytes(shape, ggml_type)
        if ggml_type in (GGMLQuantizationType.F32, GGMLQuantizationType.F16):
            dtype = np.float32 if ggml_type == GGMLQuantizationType.F32 else np.float16
            arr = np.full(tuple(reversed(shape)), 0, dtype=dtype)
            writer.add_tensor(name, arr)
        else:
            block, type_size = GGML_QUANT_SIZES[ggml_type]
            byte_shape = tuple(reversed(shape[1:])) + (shape[0] // block * type_size,)
            arr = np.full(byte_shape, fill, dtype=np.uint8)
            writer.add_tensor(name, arr, raw_dtype=ggml_type)
            assert arr.nbytes == nbytes
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def tiny_vocab(extra_specials: tuple[str, ...] = ()) -> tuple[list[str], list[float], list[int]]:
    """SPM vocab: specials, 256 byte-fallback tokens, printable ASCII and '▁' (space), then
    `extra_specials` (control tokens at the end, so every other id stays the same)."""
    tokens = list(SPECIALS)
    types = [TokenType.CONTROL] * len(SPECIALS)
    types[3] = TokenType.UNKNOWN
    for b in range(256):
        tokens.append(f"<0x{b:02X}>")
        types.append(TokenType.BYTE)
    for ch in ["\u2581"] + [chr(c) for c in range(0x21, 0x7F)]:
        tokens.append(ch)
        types.append(TokenType.NORMAL)
    scores = [0.0] * len(SPECIALS) + [0.0] * 256 + [-1.0] * (len(tokens) - len(SPECIALS) - 256)
    for extra in extra_specials:
        tokens.append(extra)
        types.append(TokenType.CONTROL)
        scores.append(0.0)
    return tokens, scores, [int(t) for t in types]


def _tiny_tokenizer_kv(tokens, scores, types, *, add_bos_token: bool) -> dict[str, Any]:
    """The tokenizer keys of the tiny test models (tiny_vocab's ids: <pad> 0, <eos> 1, <bos> 2, <unk> 3)."""
    return {
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": (tokens, GGUFValueType.ARRAY, GGUFValueType.STRING),
        "tokenizer.ggml.scores": (scores, GGUFValueType.ARRAY, GGUFValueType.FLOAT32),
        "tokenizer.ggml.token_type": (types, GGUFValueType.ARRAY, GGUFValueType.INT32),
        "tokenizer.ggml.bos_token_id": 2,
        "tokenizer.ggml.eos_token_id": 1,
        "tokenizer.ggml.unknown_token_id": 3,
        "tokenizer.ggml.padding_token_id": 0,
        "tokenizer.ggml.add_bos_token": add_bos_token,
        "tokenizer.ggml.add_eos_token": False,
    }


def write_tiny_llama(
    path: str | Path,
    *,
    chat_template: str | None = GEMMA_JINJA,
    answer: str = ANSWER,
    end_token: str = END_TOKEN,
    add_bos_token: bool = True,
    extra_kv: dict[str, Any] | None = None,
    name: str = "tiny-llama",
    quant: GGMLQuantizationType | None = None,
    drop_kv: Iterable[str] = (),
) -> Path:
    """A real, loadable llama that answers `answer` then `end_token`, deterministically.
    `quant` (e.g. Q8_0, F16) quantizes the 2-D weights with gguf.quants; norms stay F32."""
    tokens, scores, types = tiny_vocab(() if end_token in SPECIALS else (end_token,))
    n_vocab, n_embd, n_ff, n_head = len(tokens), 32, 64, 2
    answer_id, end_id = tokens.index(answer), tokens.index(end_token)

    embd = np.zeros((n_vocab, n_embd), dtype=np.float32)
    embd[:, 1] = 1.0
    embd[answer_id] = 0.0
    embd[answer_id, 0] = 1.0
    out = np.zeros((n_vocab, n_embd), dtype=np.float32)
    out[answer_id, 1] = 20.0  # anything else -> answer
    out[end_id, 0] = 20.0     # answer -> end token
    ones = np.ones(n_embd, dtype=np.float32)
    data = {
        "token_embd.weight": embd,
        "output_norm.weight": ones,
        "output.weight": out,
        "blk.0.attn_norm.weight": ones,
        "blk.0.ffn_norm.weight": ones,
        "blk.0.attn_q.weight": np.zeros((n_embd, n_embd), np.float32),
        "blk.0.attn_k.weight": np.zeros((n_embd, n_embd), np.float32),
        "blk.0.attn_v.weight": np.zeros((n_embd, n_embd), np.float32),
        "blk.0.attn_output.weight": np.zeros((n_embd, n_embd), np.float32),
        "blk.0.ffn_gate.weight": np.zeros((n_ff, n_embd), np.float32),
        "blk.0.ffn_up.weight": np.zeros((n_ff, n_embd), np.float32),
        "blk.0.ffn_down.weight": np.zeros((n_embd, n_ff), np.float32),
    }
    kv: dict[str, Any] = {
        "general.name": name,
        "general.file_type": (0, GGUFValueType.UINT32),  # ALL_F32
        "general.quantized_by": "publish tests",
        "general.license": "apache-2.0",
        "llama.context_length": 512,
        "llama.embedding_length": n_embd,
        "llama.block_count": 1,
        "llama.feed_forward_length": n_ff,
        "llama.attention.head_count": n_head,
        "llama.attention.head_count_kv": n_head,
        "llama.rope.dimension_count": n_embd // n_head,
        "llama.attention.layer_norm_rms_epsilon": 1e-5,
        "llama.vocab_size": n_vocab,
        **_tiny_tokenizer_kv(tokens, scores, types, add_bos_token=add_bos_token),
    }
    if chat_template is not None:
        kv["tokenizer.chat_template"] = chat_template
    kv.update(extra_kv or {})
    for key in drop_kv:
        kv.pop(key)
    types: dict[str, GGMLQuantizationType | None] = {n: None for n in data}
    if quant is not None and quant != GGMLQuantizationType.F32:
        from gguf import LlamaFileType
        from gguf.quants import quantize

        kv["general.file_type"] = (int(getattr(LlamaFileType, f"MOSTLY_{quant.name}")), GGUFValueType.UINT32)
        for n, arr in list(data.items()):
            if arr.ndim == 2:
                data[n] = arr.astype(np.float16) if quant == GGMLQuantizationType.F16 else quantize(arr, quant)
                types[n] = quant
    return write_gguf(path, arch="llama", kv=kv, tensors=[(n, (), types[n]) for n in data], tensor_data=data)


GEMMA3N_VOCAB = 262_144


def write_gemma3n_like(
    path: str | Path,
    *,
    shared_kv_type: GGUFValueType = GGUFValueType.FLOAT32,
    per_layer_type: GGMLQuantizationType = GGMLQuantizationType.Q4_K,
    n_vocab: int = GEMMA3N_VOCAB,
    file_type: int = 15,  # MOSTLY_Q4_K_M
    chat_template: str | None = GEMMA_JINJA,
    extra_tensors: Iterable[tuple[str, tuple[int, ...], GGMLQuantizationType]] = (),
    weight_type: GGMLQuantizationType | None = None,
    unused_specials: int = 0,
) -> Path:
    """Header-realistic gemma3n: 262,144-token vocab, `shared_kv_layers` stored as given, the
    per-layer embedding in the given type. Tensor data is small zero bytes (not runnable).
    `unused_specials`: that many CONTROL tokens `<unused0>`... from id 107 on, as Gemma 3's
    vocabulary holds (6,242: bench/bench_cli.py; its five other specials are these tests' default)."""
    tokens = ["<pad>", "<eos>", "<bos>", "<unk>"] + [f"tok{i}" for i in range(4, n_vocab)]
    tokens[105], tokens[106] = "<start_of_turn>", "<end_of_turn>"
    tokens[107:107 + unused_specials] = [f"<unused{i}>" for i in range(unused_specials)]
    value = 10.0 if shared_kv_type == GGUFValueType.FLOAT32 else 10
    types = np.ones(n_vocab, np.int32)                  # NORMAL, and CONTROL for the specials as in Gemma
    types[[0, 1, 2, 105, 106]] = 3
    types[107:107 + unused_specials] = 3
    types[3] = 2                                        # <unk>: UNKNOWN
    kv = {
        "general.name": "Gemma-3N-E4B-It",
        "general.file_type": (file_type, GGUFValueType.UINT32),
        "general.quantization_version": (2, GGUFValueType.UINT32),
        "gemma3n.context_length": 32768,
        "gemma3n.embedding_length": 256,
        "gemma3n.block_count": 2,
        "gemma3n.feed_forward_length": (
            [512, 512], GGUFValueType.ARRAY, GGUFValueType.INT32),
        "gemma3n.attention.layer_norm_rms_epsilon": 1e-6,
        "gemma3n.attention.head_count": 8,
        "gemma3n.attention.head_count_kv": 2,
        "gemma3n.attention.shared_kv_layers": (value, shared_kv_type),
        "gemma3n.embedding_length_per_layer_input": 256,
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": (tokens, GGUFValueType.ARRAY, GGUFValueType.STRING),
        "tokenizer.ggml.scores": (np.zeros(n_vocab, np.float32), GGUFValueType.ARRAY, GGUFValueType.FLOAT32),
        "tokenizer.ggml.token_type": (types, GGUFValueType.ARRAY, GGUFValueType.INT32),
        "tokenizer.ggml.bos_token_id": 2,
        "tokenizer.ggml.eos_token_id": 1,
        "tokenizer.ggml.padding_token_id": 0,
        "tokenizer.ggml.add_bos_token": True,
    }
    if chat_template is not None:
        kv["tokenizer.chat_template"] = chat_template
    # weight_type (e.g. Q8_0, BF16) replaces the default Q4_K/Q6_K mix of the 2-D weights.
    # The embeddings (n_vocab rows) are left out: 262,144 rows would make every copy of this header
    # fixture 40-130 MB; lint's header-vs-tensor rules (GG70x) check them only when present.
    tensors = [
        ("per_layer_token_embd.weight", (512, 64), per_layer_type),
        ("blk.0.attn_q.weight", (256, 256), weight_type or GGMLQuantizationType.Q4_K),
        ("blk.0.ffn_down.weight", (512, 256), weight_type or GGMLQuantizationType.Q6_K),
        ("blk.1.attn_q.weight", (256, 256), weight_type or GGMLQuantizationType.Q4_K),
        ("blk.1.ffn_down.weight", (512, 256), weight_type or GGMLQuantizationType.Q6_K),
        ("output_norm.weight", (256,), GGMLQuantizationType.F32),
        *extra_tensors,
    ]
    return write_gguf(path, arch="gemma3n", kv=kv, tensors=tensors)


def write_gguf_header(path: str | Path, *, arch: str, kv: dict[str, Any] | None = None,
                      tensors: Iterable[tuple[str, tuple[int, ...], GGMLQuantizationType]] = ()) -> Path:
    """A GGUF whose header lists `tensors` (name, ggml shape ne0-first, type) without writing their
    data: the file is extended to its full size as a sparse file, so a 270M-parameter layout costs
    a few KB of disk. For header-only checks (lint), never for loading."""
    path = Path(path)
    writer = GGUFWriter(path, arch)
    for key, value in (kv or {}).items():
        _add_kv(writer, key, value)
    total = 0
    for name, shape, ggml_type in tensors:
        nbytes = raw_tensor_bytes(shape, ggml_type)
        writer.add_tensor_info(name, tuple(reversed(shape)), np.dtype(np.float32), nbytes, raw_dtype=ggml_type)
        total += -(-nbytes // writer.data_alignment) * writer.data_alignment
    writer.write_header_to_file(path)
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    with open(path, "r+b") as f:
        f.seek(0, 2)
        end = f.tell()
        f.truncate(-(-end // writer.data_alignment) * writer.data_alignment + total)
    return path


# ---- a tiny gemma3n that the real Ollama runs -----------------------------------------------------

TINY_GEMMA3N = dict(n_embd=64, n_layer=4, per_layer=64, n_head=2, n_kv=1, head_dim=32, n_ff=128,
                    altup=4, laurel_rank=16, shared_kv=2, window=64)


def random_q4_k(rows: int, cols: int, rng: np.random.Generator) -> np.ndarray:
    """Valid Q4_K bytes (block_q4_K: f16 d, f16 dmin, 12 packed 6-bit scale/min bytes, 128 nibble
    bytes per 256 values) with random scales and nibbles, shape (rows, cols // 256 * 144).
    gguf-py cannot quantize to Q4_K, but it dequantizes it: `dequantize(bytes, Q4_K)` gives the
    exact values, so the same weights can also be written as F32."""
    assert cols % 256 == 0
    blocks = rng.integers(0, 256, size=(rows * cols // 256, 144), dtype=np.uint8)
    blocks[:, 0:2] = np.frombuffer(np.float16(0.002).tobytes(), np.uint8)   # d
    blocks[:, 2:4] = np.frombuffer(np.float16(0.001).tobytes(), np.uint8)   # dmin
    return blocks.reshape(rows, cols // 256 * 144)


def write_tiny_gemma3n(
    path: str | Path,
    *,
    shared_kv_type: GGUFValueType = GGUFValueType.UINT32,
    per_layer_type: GGMLQuantizationType = GGMLQuantizationType.F32,
    seed: int = 3,
) -> Path:
    """A tiny `gemma3n` (4 layers, 64-wide, the 357-token tiny vocab) that Ollama's own gemma3n
    engine loads and runs: every tensor and key its model/models/gemma3n (v0.24.0) reads, named as
    llama.cpp's converter names them (gguf-py MODEL_TENSOR for GEMMA3N), random weights from `seed`.

    The two faults of the seed's release can be written in:
    - `shared_kv_type`: how `gemma3n.attention.shared_kv_layers` (2) is stored (FLOAT32: GG101);
    - `per_layer_type`: `per_layer_token_embd.weight` as F32, F16, Q8_0 (gguf-py quantizes) or
      Q4_K (random valid Q4_K blocks; GG102). Whatever the type, the tensor holds the same values:
      those of the Q4_K blocks drawn from `seed`, so every variant is the same model.

    The output projection (`output.weight`) never favours a special or byte token, so greedy
    generation produces text and does not stop by itself (bound it with num_predict)."""
    from gguf import LlamaFileType
    from gguf.quants import dequantize, quantize

    c = TINY_GEMMA3N
    rng = np.random.default_rng(seed)
    tokens, scores, types = tiny_vocab()
    n_vocab, d, L, hpl = len(tokens), c["n_embd"], c["n_layer"], c["per_layer"]
    hd, nh, nkv, ff, A, r = c["head_dim"], c["n_head"], c["n_kv"], c["n_ff"], c["altup"], c["laurel_rank"]

    def w(rows: int, cols: int, scale: float | None = None) -> np.ndarray:
        """A (rows, cols) numpy weight = ggml shape (cols, rows): maps cols inputs to rows outputs."""
        return (rng.standard_normal((rows, cols)) * (scale or cols ** -0.5)).astype(np.float32)

    ones = lambda n: np.ones(n, dtype=np.float32)  # noqa: E731
    per_layer_q4k = random_q4_k(n_vocab, L * hpl, rng)
    per_layer_values = dequantize(per_layer_q4k, GGMLQuantizationType.Q4_K).reshape(n_vocab, L * hpl)
    output = w(n_vocab, d, 1.0)
    output[: len(SPECIALS) + 256] = 0.0  # specials and byte tokens: never the greedy pick

    data: dict[str, np.ndarray] = {
        "token_embd.weight": w(n_vocab, d, 1.0),
        "per_layer_token_embd.weight": per_layer_values,
        "per_layer_model_proj.weight": w(L * hpl, d),
        "per_layer_proj_norm.weight": ones(hpl),
        "altup_proj.weight": np.stack([w(d, d) for _ in range(A - 1)]),
        "altup_unembd_proj.weight": np.stack([w(d, d) for _ in range(A - 1)]),
        "output_norm.weight": ones(d),
        "output.weight": output,
    }
    for i in range(L):
        b = f"blk.{i}."
        data.update({
            b + "altup_correct_scale.weight": ones(d),
            b + "altup_predict_coef.weight": w(A * A, A, 0.1),
            b + "altup_correct_coef.weight": w(A, A, 0.1),
            b + "altup_router.weight": w(A, d),
            b + "altup_router_norm.weight": ones(d),
            b + "laurel_l.weight": w(r, d),
            b + "laurel_r.weight": w(d, r),
            b + "laurel_post_norm.weight": ones(d),
            b + "attn_norm.weight": ones(d),
            b + "attn_q.weight": w(nh * hd, d),
            b + "attn_q_norm.weight": ones(hd),
            b + "attn_k.weight": w(nkv * hd, d),
            b + "attn_k_norm.weight": ones(hd),
            b + "attn_v.weight": w(nkv * hd, d),
            b + "attn_output.weight": w(d, nh * hd),
            b + "post_attention_norm.weight": ones(d),
            b + "ffn_norm.weight": ones(d),
            b + "ffn_gate.weight": w(ff, d),
            b + "ffn_up.weight": w(ff, d),
            b + "ffn_down.weight": w(d, ff),
            b + "post_ffw_norm.weight": ones(d),
            b + "inp_gate.weight": w(hpl, d),
            b + "proj.weight": w(d, hpl),
            b + "post_norm.weight": ones(d),
        })
    tensor_types: dict[str, GGMLQuantizationType | None] = {n: None for n in data}
    P = GGMLQuantizationType
    if per_layer_type == P.Q4_K:
        data["per_layer_token_embd.weight"] = per_layer_q4k
        tensor_types["per_layer_token_embd.weight"] = P.Q4_K
    elif per_layer_type == P.F16:
        data["per_layer_token_embd.weight"] = per_layer_values.astype(np.float16)
    elif per_layer_type != P.F32:
        data["per_layer_token_embd.weight"] = quantize(per_layer_values, per_layer_type)
        tensor_types["per_layer_token_embd.weight"] = per_layer_type

    shared = (float(c["shared_kv"]), shared_kv_type) if shared_kv_type in (GGUFValueType.FLOAT32,
                                                                          GGUFValueType.FLOAT64) \
        else (c["shared_kv"], shared_kv_type)
    kv: dict[str, Any] = {
        "general.type": "model",
        "general.name": "tiny-gemma3n",
        "general.file_type": (int(LlamaFileType.ALL_F32), GGUFValueType.UINT32),
        "general.quantized_by": "publish tests",
        "general.license": "apache-2.0",
        "gemma3n.context_length": 512,
        "gemma3n.embedding_length": d,
        "gemma3n.block_count": L,
        "gemma3n.feed_forward_length": ([ff] * L, GGUFValueType.ARRAY, GGUFValueType.INT32),
        "gemma3n.attention.head_count": nh,
        "gemma3n.attention.head_count_kv": nkv,
        "gemma3n.attention.key_length": hd,
        "gemma3n.attention.value_length": hd,
        "gemma3n.attention.layer_norm_rms_epsilon": 1e-6,
        "gemma3n.rope.freq_base": 1_000_000.0,
        "gemma3n.attention.sliding_window": c["window"],
        "gemma3n.attention.sliding_window_pattern": ([True, False] * (L // 2), GGUFValueType.ARRAY,
                                                     GGUFValueType.BOOL),
        "gemma3n.attention.shared_kv_layers": shared,
        "gemma3n.embedding_length_per_layer_input": hpl,
        "gemma3n.altup.active_idx": 0,
        "gemma3n.altup.num_inputs": A,
        "gemma3n.activation_sparsity_scale": ([1.6448536, 1.6448536] + [0.0] * (L - 2),
                                              GGUFValueType.ARRAY, GGUFValueType.FLOAT32),
        **_tiny_tokenizer_kv(tokens, scores, types, add_bos_token=True),
    }
    return write_gguf(path, arch="gemma3n", kv=kv,
                      tensors=[(n, (), tensor_types[n]) for n in data], tensor_data=data)


def assert_matches_gguf_reader(path: str | Path) -> None:
    """publish's reader and gguf.GGUFReader agree on every key, type, value, tensor and offset."""
    from gguf import GGUFReader

    from publish.gguf.reader import read_header

    hdr = read_header(path)
    ref = GGUFReader(path)
    fields = {k: f for k, f in ref.fields.items() if not k.startswith("GGUF.")}
    assert list(hdr.kv) == list(fields)
    for key, field in fields.items():
        kv = hdr.kv[key]
        assert kv.type == field.types[0], key
        if kv.type == GGUFValueType.ARRAY and kv.array_type == GGUFValueType.ARRAY:  # GGUFReader flattens nested arrays
            got = [x for item in kv.value.to_list() for x in item]
        else:
            if kv.type == GGUFValueType.ARRAY:
                assert kv.array_type == field.types[-1], key
            got = kv.value.to_list() if kv.type == GGUFValueType.ARRAY else kv.value
        assert got == field.contents(), key
    assert [(t.name, t.shape, t.n_bytes) for t in hdr.tensors] == \
        [(t.name, tuple(int(x) for x in t.shape), int(t.n_bytes)) for t in ref.tensors]
    assert [hdr.data_offset + t.offset for t in hdr.tensors] == [int(t.data_offset) for t in ref.tensors]
    assert hdr.data_offset == ref.data_offset
