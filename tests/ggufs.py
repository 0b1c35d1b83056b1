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
) -> Path:
    """Header-realistic gemma3n: 262,144-token vocab, `shared_kv_layers` stored as given, the
    per-layer embedding in the given type. Tensor data is small zero bytes (not runnable)."""
    tokens = ["<pad>", "<eos>", "<bos>", "<unk>"] + [f"tok{i}" for i in range(4, n_vocab)]
    tokens[105], tokens[106] = "<start_of_turn>", "<end_of_turn>"
    value = 10.0 if shared_kv_type == GGUFValueType.FLOAT32 else 10
    types = np.ones(n_vocab, np.int32)                  # NORMAL, and CONTROL for the specials as in Gemma
    types[[0, 1, 2, 105, 106]] = 3
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
