"""What the engines make of a GGUF's vocabulary: special-token splitting, BOS, end of generation.

Lint predicts double or missing BOS and runaway generation from the header alone, so it needs
the three decisions the engines take from the same keys:

- `split_special(text, specials)`: the start of a prompt split the way llama.cpp tokenizes with
  parse_special=true (src/llama-vocab.cpp `tokenizer_st_partition`) and Ollama's own tokenizers
  do (tokenizer/vocabulary.go `SpecialVocabulary`: CONTROL and USER_DEFINED tokens): the text of
  a special token becomes that token, the rest stays text.
- `llamacpp_add_bos(hdr)` / `ollama_add_bos(hdr)`: whether the engine puts a BOS token in front
  of the prompt itself (llama.cpp `llama_vocab::impl::load`; Ollama v0.24 `model/models/*/model.go`
  `AddBOS: c.Bool("tokenizer.ggml.add_bos_token", <per-model default>)` for the architectures its
  Go engine runs, llama.cpp's answer for the rest).
- `llamacpp_eog_ids(hdr)` / `ollama_eog_ids(hdr)`: the token ids that end generation without a
  `stop` parameter.

Ollama v0.24 runs an architecture in its own Go engine when `fs/ggml` `OllamaEngineRequired()`
lists it (`OLLAMA_ENGINE_ARCHS`), otherwise through its vendored llama.cpp (runner/llamarunner).
"""

from __future__ import annotations

import re

from publish.gguf.constants import GGUFValueType as T

from publish.gguf.header import GGUFHeader
from publish.records import Record

TYPE_CHECKING = False  # typing is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from typing import Iterable

# gguf token types (llama.cpp llama_token_type)
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6

# Ollama v0.24 fs/ggml/ggml.go OllamaEngineRequired()
OLLAMA_ENGINE_ARCHS = frozenset({
    "bert", "deepseek2", "deepseekocr", "gemma3", "gemma3n", "gemma4", "gptoss", "gpt-oss", "laguna",
    "llama4", "mistral3", "mllama", "nemotron_h", "nemotron_h_moe", "nemotron_h_omni", "nomic-bert",
    "olmo3", "qwen25vl", "qwen3", "qwen3moe", "qwen35", "qwen35moe", "qwen3next", "qwen3vl",
    "qwen3vlmoe", "glm4moelite", "glmocr", "lfm2", "lfm2moe",
})

# Ollama v0.24 model/models/<arch>/model.go: the default of tokenizer.ggml.add_bos_token
_OLLAMA_ADD_BOS_DEFAULT = {
    "bert": True, "nomic-bert": True, "deepseek2": True, "deepseekocr": True, "gemma2": True,
    "gemma3": True, "gemma3n": True, "gemma4": False, "glm4moelite": False, "glmocr": False,
    "gptoss": False, "gpt-oss": False, "laguna": True, "lfm2": True, "lfm2moe": True, "llama": True,
    "llama4": True, "mistral3": True, "mllama": True, "nemotron_h": False, "nemotron_h_moe": False,
    "nemotron_h_omni": False, "olmo3": False, "qwen2": True, "qwen25vl": False, "qwen3": True,
    "qwen3moe": True, "qwen3next": False, "qwen35": False, "qwen35moe": False, "qwen3vl": False,
    "qwen3vlmoe": False,
}

# Ollama v0.24 gemma3/gemma4 model.go also stop on tokenizer.ggml.eot_token_id (default 106)
_OLLAMA_EOT_ARCHS = {"gemma3": 106, "gemma4": 106}

# llama.cpp (the copy vendored by Ollama v0.24, llama/llama.cpp/src/llama-vocab.cpp): BPE
# pre-tokenizers that switch add_bos on, and the token texts always taken as end of generation
_BOS_PRE = {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
            "tekken", "chameleon"}
LLAMACPP_EOG_TEXTS = ("<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<end_of_turn>",
                      "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>",
                      "<end_of_utterance>")
# compiled where used: only a vocabulary without token types needs it
_SPECIAL_SHAPE = r"<\|?[^<>\s]{1,40}\|?>\Z|\[/?[A-Z_]{2,30}\]\Z"
_EOG_ID_KEYS = ("eos", "eot", "eom", "fim_pad", "fim_rep", "fim_sep")


def _uint(hdr: GGUFHeader, key: str, *, strict: bool = False) -> int | None:
    """An integer key; `strict` reads it as Ollama's Go engine does (only UINT32, else absent)."""
    kv = hdr.kv.get(key)
    if kv is None or kv.type == T.ARRAY or isinstance(kv.value, (bool, str)):
        return None
    if strict and kv.type != T.UINT32:
        return None
    try:
        return int(kv.value)
    except (TypeError, ValueError):
        return None


def _bool(hdr: GGUFHeader, key: str) -> bool | None:
    kv = hdr.kv.get(key)
    return kv.value if kv is not None and kv.type == T.BOOL else None


def uses_ollama_engine(hdr: GGUFHeader) -> bool:
    """True when Ollama v0.24 runs this architecture in its Go engine (not its llama.cpp runner)."""
    return hdr.architecture in OLLAMA_ENGINE_ARCHS


def llamacpp_add_bos(hdr: GGUFHeader) -> bool:
    """Whether llama.cpp adds BOS when tokenizing with add_special (llama-vocab.cpp `load`)."""
    explicit = _bool(hdr, "tokenizer.ggml.add_bos_token")
    if explicit is not None:
        return explicit
    model = hdr.value("tokenizer.ggml.model")
    if model in ("llama", "bert"):   # SPM, WPM
        return True
    if model == "gpt2":
        return hdr.value("tokenizer.ggml.pre") in _BOS_PRE
    return False                     # t5 (UGM), rwkv, none


def ollama_add_bos(hdr: GGUFHeader) -> bool:
    """Whether Ollama v0.24 puts BOS in front of the prompt it built from the Go template."""
    if not uses_ollama_engine(hdr):
        return llamacpp_add_bos(hdr)
    explicit = _bool(hdr, "tokenizer.ggml.add_bos_token")
    if explicit is not None:
        return explicit
    return _OLLAMA_ADD_BOS_DEFAULT.get(hdr.architecture or "", llamacpp_add_bos(hdr))


def _ids(hdr: GGUFHeader, key: str) -> list[int]:
    kv = hdr.kv.get(key)
    if kv is None or kv.type != T.ARRAY or len(kv.value) > 4096:
        return []
    return [int(v) for v in kv.value if isinstance(v, int) and not isinstance(v, bool)]


def llamacpp_eog_ids(hdr: GGUFHeader) -> set[int]:
    """llama.cpp's end-of-generation ids: the declared EOS/EOT/EOM/FIM ids plus every token whose
    text is in LLAMACPP_EOG_TEXTS (`<|end|>` excepted when `<|return|>` and `<|call|>` exist)."""
    ids = {v for k in _EOG_ID_KEYS if (v := _uint(hdr, f"tokenizer.ggml.{k}_token_id")) is not None}
    found = {text: tid for text in LLAMACPP_EOG_TEXTS if (tid := token_id(hdr, text)) is not None}
    if "<|return|>" in found and "<|call|>" in found:
        found.pop("<|end|>", None)
    return ids | set(found.values())


def ollama_eog_ids(hdr: GGUFHeader) -> set[int]:
    """The ids Ollama v0.24 stops on without a `stop` parameter. Go engine: eos_token_id (read as
    UINT32 only; 0 when absent) plus tokenizer.ggml.eos_token_ids (gemma3/gemma4 also eot_token_id,
    default 106). llama.cpp runner: `llamacpp_eog_ids`."""
    if not uses_ollama_engine(hdr):
        return llamacpp_eog_ids(hdr)
    ids = {_uint(hdr, "tokenizer.ggml.eos_token_id", strict=True) or 0}
    ids.update(_ids(hdr, "tokenizer.ggml.eos_token_ids"))
    arch = hdr.architecture or ""
    if arch in _OLLAMA_EOT_ARCHS:
        eot = _uint(hdr, "tokenizer.ggml.eot_token_id", strict=True)
        ids.add(_OLLAMA_EOT_ARCHS[arch] if eot is None else eot)
    return ids


def token_id(hdr: GGUFHeader, text: str) -> int | None:
    """Id of the first token whose text is `text`, or None."""
    finder = getattr(hdr.tokens, "find", None)  # the reader's lookup, faster than a dict of the vocab
    if callable(finder):
        found = finder(text)
        return None if found is None or found < 0 else int(found)
    return _index(hdr).get(text)


class Specials(Record):
    """The special tokens of a vocabulary (text -> id), their texts longest first (the order
    llama.cpp matches them in), and a splitter for prompt text. Frozen."""

    __slots__ = ("ids", "longest_first")
    frozen = True
    ids: dict[str, int]
    longest_first: tuple[str, ...]

    def __init__(self, ids: dict[str, int], longest_first: tuple[str, ...]):
        self._fill(ids, longest_first)

    def split(self, text: str, limit: int | None = None) -> list[int | str]:
        """`text` as special-token ids and plain-text pieces, in order; stops after `limit` items.
        At each place the longest special text that matches there wins."""
        out: list[int | str] = []
        pos = 0
        # One alternation of the special texts that occur in `text`, longest first: the others
        # cannot match, so it finds what the alternation of all of them would. A vocabulary can
        # hold thousands (Gemma 3: 6,414), whose whole alternation takes `re` ~200 ms to compile.
        present = [t for t in self.longest_first if t in text]
        if present:
            for m in re.finditer("|".join(map(re.escape, present)), text):
                if m.start() > pos:
                    out.append(text[pos:m.start()])
                out.append(self.ids[m.group(0)])
                pos = m.end()
                if limit is not None and len(out) >= limit:
                    return out[:limit]
        if pos < len(text):
            out.append(text[pos:])
        return out if limit is None else out[:limit]


def specials(hdr: GGUFHeader) -> Specials:
    """CONTROL and USER_DEFINED tokens, longest first as llama.cpp matches them. Without stored
    token types: the declared special ids, `<…>`-shaped tokens and llama.cpp's end-of-generation
    texts (which llama.cpp forces to CONTROL)."""
    return _specials(id(hdr), hdr)


_special_cache: dict[int, tuple[GGUFHeader, Specials]] = {}
_index_cache: dict[int, tuple[GGUFHeader, dict[str, int]]] = {}


def _specials(key: int, hdr: GGUFHeader) -> Specials:
    hit = _special_cache.get(key)
    if hit is not None and hit[0] is hdr:
        return hit[1]
    tokens = hdr.tokens
    types_kv = hdr.kv.get("tokenizer.ggml.token_type")
    ids: dict[str, int] = {}
    if len(tokens) and types_kv is not None and types_kv.type == T.ARRAY and len(types_kv.value) == len(tokens):
        types = types_kv.value
        indices_of = getattr(types, "indices_of", None)  # NumericArray: a byte search, no object per item
        wanted = indices_of((CONTROL, USER_DEFINED)) if indices_of is not None else \
            [i for i, t in enumerate(types) if t in (CONTROL, USER_DEFINED)]
        items_at = getattr(tokens, "items_at", None)  # StringArray: each run of ids walked once
        texts = items_at(wanted) if items_at is not None else [tokens[int(i)] for i in wanted]
        for i, text in zip(wanted, texts):
            if text:
                ids.setdefault(text, int(i))
    elif len(tokens) and types_kv is None:
        # no token types stored: take the declared special ids and <...>-shaped tokens (best effort)
        for key in ("bos", "eos", "eot", "eom", "unknown", "padding"):
            tid = _uint(hdr, f"tokenizer.ggml.{key}_token_id")
            text = hdr.token_text(tid)
            if text:
                ids.setdefault(text, tid)  # type: ignore[arg-type]
        if len(tokens) <= 300_000:
            shape = re.compile(_SPECIAL_SHAPE)
            for i, text in enumerate(tokens.to_list() if hasattr(tokens, "to_list") else tokens):
                if shape.match(text):
                    ids.setdefault(text, i)
        for text in LLAMACPP_EOG_TEXTS:  # llama.cpp forces these to CONTROL; stored types usually agree
            tid = token_id(hdr, text) if text not in ids else None
            if tid is not None:
                ids.setdefault(text, tid)
    result = Specials(ids, tuple(sorted(ids, key=len, reverse=True)))
    _special_cache.clear()  # one header at a time is what lint needs; keep memory flat
    _special_cache[key] = (hdr, result)
    return result


def _index(hdr: GGUFHeader) -> dict[str, int]:
    hit = _index_cache.get(id(hdr))
    if hit is not None and hit[0] is hdr:
        return hit[1]
    index: dict[str, int] = {}
    tokens = hdr.tokens
    items: Iterable[str] = tokens.to_list() if hasattr(tokens, "to_list") else tokens
    for i, text in enumerate(items):
        index.setdefault(text, i)
    _index_cache.clear()
    _index_cache[id(hdr)] = (hdr, index)
    return index


def leading_bos(text: str, hdr: GGUFHeader, *, add_bos: bool, limit: int = 8) -> int:
    """How many BOS tokens the engine's prompt starts with: the one it adds (`add_bos`) plus
    every BOS token among the first `limit` pieces of `text` before any non-blank text."""
    bos = _uint(hdr, "tokenizer.ggml.bos_token_id")
    count = 1 if add_bos and bos is not None else 0
    if bos is None:
        return count
    for piece in specials(hdr).split(text[:4096], limit):
        if isinstance(piece, str):
            if piece.strip():
                break
            continue
        if piece == bos:
            count += 1
    return count
