"""Lint rules over a GGUF header: what breaks a release in Ollama or llama.cpp.

Each rule is a function over a `GGUFHeader` registered with `@rule(...)` under a stable code.
It yields `Hit`s; `check_header` turns them into `Finding`s, and `planned_fixes` hands the
header edits of the fixable ones to `publish fix`.

Code families:
  GG0xx  the file itself          GG4xx  quant label (file name vs. header vs. tensors)
  GG1xx  stored types             GG5xx  general metadata
  GG2xx  tokenizer                GG6xx  multimodal projectors (mmproj)
  GG3xx  split sets               GG7xx  the chat template, parsed and rendered

Split-set rules look at several files at once; `check_split_set` runs them (lint.py groups
the parts).
"""

from __future__ import annotations

import math
import re
from pathlib import PurePosixPath

from publish.gguf.constants import GGMLQuantizationType as Q
from publish.gguf.constants import GGUFValueType as T

from publish.addresses import repo_path
from publish.engines import ALL_ENGINES, Engine
from publish.findings import Finding, Severity
from publish.gguf.changes import Change, RemoveKey, SetValue, type_label
from publish.gguf import quantmix
from publish.gguf.kinds import ADAPTER, DESCRIPTION, IMATRIX, gguf_kind
from publish.gguf.header import GGUFHeader, KV
from publish.gguf.split import SplitSet  # noqa: F401  (rules.SplitSet: the GG3xx rules' subject)
from publish.quants import (ambiguous_tag_message, file_type_disagrees, file_type_label, hub_tag_label,
                            is_projector_filename, label_from_filename, normalize_label, shard_info, unsplit_name)
from publish.records import Record

TYPE_CHECKING = False  # typing is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from typing import Callable, Iterable, Iterator

MODEL = "model"
PROJECTOR = "projector"
ANY = "any"
SPLIT_SET = "split-set"


class Hit(Record):
    """One problem a rule found; `check_header` adds code, path and the rule's defaults. Frozen."""

    __slots__ = ("message", "subject", "offset", "hint", "changes", "severity", "path")
    frozen = True
    message: str
    subject: str | None
    offset: int | None
    hint: str | None
    changes: tuple[Change, ...]
    severity: Severity | None
    path: str | None            # another file than the one checked (a split set's other parts)

    def __init__(self, message: str, subject: str | None = None, offset: int | None = None, hint: str | None = None,
                 changes: tuple[Change, ...] = (), severity: Severity | None = None, path: str | None = None):
        self._fill(message, subject, offset, hint, changes, severity, path)


class Rule(Record):
    """One lint rule, with everything a rule page (`publish rule CODE`, docs/rules) shows.

    `engines` are the engines whose users meet the problem (publish.engines); `sources` name the
    engine source files (and version) the rule's claim comes from; `why`, `example`, `fix` are
    the what/why/example/fix of the rule's page (plain Markdown, no leading indentation). Frozen;
    `check` takes no part in == and hash."""

    __slots__ = ("code", "name", "severity", "summary", "fixable", "applies_to", "check", "engines", "why",
                 "example", "fix", "sources", "chat_only")
    frozen = True
    uncompared = ("check",)
    code: str
    name: str
    severity: Severity
    summary: str           # one line, for the rules table and `--format json`
    fixable: bool          # whether `publish fix` can fix some of its findings
    applies_to: str        # MODEL, PROJECTOR, ANY or SPLIT_SET
    check: Callable[..., Iterable[Hit]] | None
    engines: tuple[Engine, ...]
    why: str
    example: str
    fix: str
    sources: tuple[str, ...]
    chat_only: bool          # meaningless for a base model (publish.modelkind): not run for one

    def __init__(self, code: str, name: str, severity: Severity, summary: str, fixable: bool, applies_to: str,
                 check: Callable[..., Iterable[Hit]] | None = None, engines: tuple[Engine, ...] = ALL_ENGINES,
                 why: str = "", example: str = "", fix: str = "", sources: tuple[str, ...] = (),
                 chat_only: bool = False):
        self._fill(code, name, severity, summary, fixable, applies_to, check, engines, why, example, fix, sources,
                   chat_only)

    def affects(self, targets: Iterable[Engine]) -> bool:
        """Whether the rule's problem reaches any engine in `targets` (`--target`)."""
        return any(e in self.engines for e in targets)


RULES: dict[str, Rule] = {}


def rule(code: str, name: str, severity: Severity, summary: str, *, fixable: bool = False,
         applies_to: str = MODEL, engines: tuple[Engine, ...] = ALL_ENGINES, why: str = "",
         example: str = "", fix: str = "", sources: tuple[str, ...] = (), chat_only: bool = False):
    """Decorator registering a check function as rule `code` in RULES with its page text (summary,
    why, example, fix, sources) and the engines it concerns. `applies_to` picks what the function
    receives (a header, a split set, a repo's files); `chat_only` skips it for base models.
    Raises ValueError for a code registered twice."""
    def register(fn: Callable[..., Iterable[Hit]]):
        if code in RULES:
            raise ValueError(f"duplicate rule code {code}")
        RULES[code] = Rule(code, name, severity, summary, fixable, applies_to, fn, engines, why, example, fix,
                           sources, chat_only)
        return fn

    return register


def document(code: str, *, engines: tuple[Engine, ...], why: str, example: str = "", fix: str = "",
             sources: tuple[str, ...] = ()) -> None:
    """Attach the engines and the page text to an already registered rule (publish/gguf/rule_docs.py)."""
    RULES[code] = RULES[code].replace(engines=engines, why=why, example=example, fix=fix, sources=sources)


def _finding(r: Rule, path: str, hit: Hit) -> Finding:
    return Finding(
        code=r.code,
        severity=hit.severity or r.severity,
        message=hit.message,
        path=hit.path or path,
        subject=hit.subject,
        offset=hit.offset,
        fixable=bool(hit.changes),
        hint=hit.hint,
    )


def is_projector(hdr: GGUFHeader) -> bool:
    """Whether a header is a multimodal projector by its metadata or its file name (`mmproj*`)."""
    return hdr.is_projector or is_projector_filename(hdr.path)


def _scope(hdr: GGUFHeader) -> str:
    """MODEL, PROJECTOR, or IMATRIX/ADAPTER (publish.gguf.kinds): which rules apply to the file."""
    kind = gguf_kind(hdr)
    if kind in (IMATRIX, ADAPTER):
        return kind
    return PROJECTOR if is_projector(hdr) else MODEL


# The rules that ask publish.jinja_facts (they parse, audit or render the chat template).
# check_header runs them after the others: lint's worker (publish.jinja_worker) computes those
# facts meanwhile. tests/gguf/test_rules.py checks that no other rule asks.
JINJA_RULES = frozenset({"GG204", "GG290", "GG701", "GG702", "GG703"})


def _hits(hdr: GGUFHeader, base: bool = False, jinja_last: bool = False,
          only: Callable[[str], bool] | None = None) -> Iterator[tuple[Rule, Hit]]:
    scope = _scope(hdr)
    chosen = [r for r in RULES.values()
              if r.check is not None and r.applies_to in (scope, ANY) and not (base and r.chat_only)
              and (only is None or only(r.code))]
    if jinja_last:
        chosen.sort(key=lambda r: r.code in JINJA_RULES)
    for r in chosen:
        for hit in r.check(hdr):
            yield r, hit


def check_header(hdr: GGUFHeader, *, base: bool = False, only: Callable[[str], bool] | None = None) -> list[Finding]:
    """Every finding of the single-file rules for one header (a whole file or a split set's first
    part), in rule registry order. `base`: the file is a base model (publish.modelkind), so
    chat-only rules (GG203) do not run; `only(code)` false: that rule does not run (lint's
    --select, --ignore and --target)."""
    order = {code: i for i, code in enumerate(RULES)}
    hits = sorted(_hits(hdr, base, jinja_last=True, only=only), key=lambda item: order[item[0].code])
    return [_finding(r, hdr.path, hit) for r, hit in hits]


def planned_fixes(hdr: GGUFHeader, *, base: bool = False) -> list[tuple[Finding, list[Change]]]:
    """The fixable findings of `hdr` with the header edits that fix them (consumed by `publish fix`)."""
    return [(_finding(r, hdr.path, hit), list(hit.changes)) for r, hit in _hits(hdr, base) if hit.changes]


def unreadable(path: str, offset: int | None, expected: str, hint: str | None = None) -> Finding:
    """GG001 for a file the reader refused."""
    from publish.gguf.sniff import CORRUPT

    r = RULES["GG001"]
    return _finding(r, path, Hit(f"not a readable GGUF: {expected}", offset=offset,
                                 hint=hint or CORRUPT))


# ---------------------------------------------------------------------------------------------
# helpers

_INT_TYPES = {T.UINT8, T.INT8, T.UINT16, T.INT16, T.UINT32, T.INT32, T.UINT64, T.INT64}
_FLOAT_TYPES = {T.FLOAT32, T.FLOAT64}
_UINT32_MAX = 2**32 - 1


def _type_name(kv: KV) -> str:
    return type_label(kv.type, kv.array_type)


def _show(value) -> str:
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    return str(value)


def _as_uint32(kv: KV) -> int | None:
    """The value as a UINT32 when it converts without loss (integral, in range), else None."""
    v = kv.value
    if kv.type in _INT_TYPES and not isinstance(v, bool):
        iv = int(v)
    elif kv.type in _FLOAT_TYPES and isinstance(v, float) and math.isfinite(v) and v == int(v):
        iv = int(v)
    else:
        return None
    return iv if 0 <= iv <= _UINT32_MAX else None


def _file_name(hdr_or_path: GGUFHeader | str) -> str:
    path = hdr_or_path if isinstance(hdr_or_path, str) else hdr_or_path.path
    return PurePosixPath(path.replace("\\", "/")).name


HF_BRIDGE_SOURCE = "ollama v0.24.0 server (hf.co pulls: one GGUF per tag)"

# ---------------------------------------------------------------------------------------------
# GG0xx: the file itself

def declare(code: str, name: str, severity: Severity, summary: str, *, applies_to: str = ANY, **docs) -> None:
    """Register a code whose findings are produced outside the rule functions (by lint.py)."""
    RULES[code] = Rule(code, name, severity, summary, False, applies_to, None, **docs)


declare("GG001", "unreadable-gguf", Severity.ERROR,
        "The file is not a readable GGUF (truncated, corrupt or not GGUF); reported with the byte offset.")


# ---------------------------------------------------------------------------------------------
# GG1xx: stored types. Ollama reads metadata with Go type assertions (fs/ggml `keyValue`:
# `kv[key].(T)`), so a key stored with another type silently reads as 0 / false / "".

@rule("GG100", "no-architecture", Severity.ERROR,
      "general.architecture is missing; neither Ollama nor llama.cpp can load the file.",
      applies_to=ANY)
def no_architecture(hdr: GGUFHeader) -> Iterable[Hit]:
    arch = hdr.kv.get("general.architecture")
    if arch is None and gguf_kind(hdr) == IMATRIX:
        return  # llama-imatrix writes none: an importance matrix is not a model
    if arch is None:
        yield Hit("general.architecture is missing: Ollama and llama.cpp cannot tell which model this is",
                  subject="general.architecture",
                  hint="re-convert with llama.cpp's convert_hf_to_gguf.py")
    elif arch.type != T.STRING:
        yield Hit(f"general.architecture is stored as {_type_name(arch)}, not STRING",
                  subject="general.architecture", offset=arch.offset,
                  hint="re-convert with llama.cpp's convert_hf_to_gguf.py")


@rule("GG101", "shared-kv-layers-type", Severity.ERROR,
      "{arch}.attention.shared_kv_layers must be UINT32 (Ollama reads 0 otherwise and shares the wrong KV layers).",
      fixable=True)
def shared_kv_layers(hdr: GGUFHeader) -> Iterable[Hit]:
    key = f"{hdr.architecture}.attention.shared_kv_layers"
    kv = hdr.kv.get(key)
    if kv is None or kv.type == T.UINT32:
        return
    as_u32 = _as_uint32(kv)
    changes = () if as_u32 is None else (
        SetValue(key, as_u32, T.UINT32, reason=f"{_type_name(kv)} {_show(kv.value)} -> UINT32 {as_u32}"),)
    yield Hit(
        f"{key} is stored as {_type_name(kv)} ({_show(kv.value)}); Ollama reads it only as UINT32, "
        "silently gets 0 and shares the wrong KV layers",
        subject=key, offset=kv.offset, changes=changes,
        hint=None if changes else "re-convert the model; the stored value is not a whole number that fits UINT32",
    )


# Types ggml's CUDA backend can look rows up in (ggml-cuda.cu supports_op GGML_OP_GET_ROWS, as
# vendored by Ollama v0.24.0). The CPU backend takes every type.
ROW_LOOKUP_TYPES = (Q.F32, Q.F16, Q.BF16, Q.Q8_0, Q.Q4_0, Q.Q4_1, Q.Q5_0, Q.Q5_1, Q.Q6_K)


@rule("GG102", "per-layer-embedding-type", Severity.WARNING,
      "per_layer_token_embd.weight is a type ggml's CUDA row lookup lacks (not F32/F16/BF16/Q8_0/Q4_0/Q4_1/"
      "Q5_0/Q5_1/Q6_K): it runs in Ollama (checked on the CPU, v0.24.0), but not on the GPU that holds it.")
def per_layer_embedding(hdr: GGUFHeader) -> Iterable[Hit]:
    for t in hdr.tensors:
        if t.name == "per_layer_token_embd.weight" and t.ggml_type not in ROW_LOOKUP_TYPES:
            allowed = "/".join(x.name for x in ROW_LOOKUP_TYPES)
            yield Hit(
                f"{t.name} is {t.ggml_type.name}; Ollama looks rows of this tensor up (get_rows) for every "
                f"token. Ollama v0.24.0 runs it on the CPU (checked: the same output as F32), but ggml's CUDA "
                f"row lookup takes only {allowed}, so on an NVIDIA GPU this large tensor is copied to the CPU "
                "for the lookup; Ollama's own quantizer never quantizes it",
                subject=t.name, offset=t.info_offset,
                hint="requantize from the F16/BF16 GGUF keeping this tensor in a row-lookup type: "
                     "llama-quantize --tensor-type per_layer_token_embd=q8_0 MODEL-F16.gguf OUT.gguf Q4_K_M",
            )


class Expect(Record):
    """The types a metadata key may be stored with: scalar `types`, and `array_items` for an ARRAY
    (empty: no array allowed). From the type each engine reads the key with (Ollama v0.24.0
    fs/ggml/ggml.go keyValue, llama.cpp src/llama-model-loader.cpp get_key). Frozen."""

    __slots__ = ("types", "array_items")
    frozen = True
    types: tuple[T, ...]                 # accepted scalar types (empty: arrays only)
    array_items: tuple[T, ...]           # accepted ARRAY item types (empty: no array allowed)

    def __init__(self, types: tuple[T, ...], array_items: tuple[T, ...] = ()):
        self._fill(types, array_items)

    def accepts(self, kv: KV) -> bool:
        """Whether `kv` is stored with an accepted type (an array: with an accepted item type)."""
        if kv.type == T.ARRAY:
            return kv.array_type in self.array_items
        return kv.type in self.types

    def describe(self) -> str:
        """The accepted types for a message: `UINT32 or INT32`, `ARRAY[STRING]`."""
        parts = [t.name for t in self.types] + [f"ARRAY[{t.name}]" for t in self.array_items]
        return " or ".join(parts)


_U32 = Expect((T.UINT32,))
_U32_OR_ARRAY = Expect((T.UINT32,), (T.UINT32, T.INT32))  # UintOrArrayValueAsArray
_F32 = Expect((T.FLOAT32,))
_BOOL = Expect((T.BOOL,))
_STR = Expect((T.STRING,))

# Expected stored types of well-known keys, as Ollama (fs/ggml/ggml.go KV.Uint/Float/Bool/Strings/
# Ints/Floats, UintOrArrayValueAsArray) and llama.cpp read them. `{arch}` is general.architecture.
# shared_kv_layers has its own rule (GG101).
EXPECTED_TYPES: dict[str, Expect] = {
    "general.alignment": _U32,
    "general.file_type": _U32,
    "general.quantization_version": _U32,
    "general.parameter_count": Expect((T.UINT64,)),
    "general.name": _STR,
    "general.type": _STR,
    "{arch}.block_count": _U32,
    "{arch}.context_length": _U32,
    "{arch}.embedding_length": _U32,
    "{arch}.embedding_length_per_layer_input": _U32,
    "{arch}.feed_forward_length": _U32_OR_ARRAY,
    "{arch}.expert_count": _U32,
    "{arch}.expert_used_count": _U32,
    "{arch}.vocab_size": _U32,
    "{arch}.attention.head_count": _U32_OR_ARRAY,
    "{arch}.attention.head_count_kv": _U32_OR_ARRAY,
    "{arch}.attention.key_length": _U32,
    "{arch}.attention.value_length": _U32,
    "{arch}.attention.sliding_window": _U32,
    "{arch}.attention.layer_norm_rms_epsilon": _F32,
    "{arch}.attention.layer_norm_epsilon": _F32,
    "{arch}.rope.dimension_count": _U32,
    "{arch}.rope.freq_base": _F32,
    "{arch}.rope.scaling.factor": _F32,
    "{arch}.final_logit_softcapping": _F32,
    "{arch}.attn_logit_softcapping": _F32,
    "tokenizer.ggml.model": _STR,
    "tokenizer.ggml.add_bos_token": _BOOL,
    "tokenizer.ggml.add_eos_token": _BOOL,
    "tokenizer.ggml.tokens": Expect((), (T.STRING,)),
    "tokenizer.ggml.scores": Expect((), (T.FLOAT32,)),
    "tokenizer.ggml.token_type": Expect((), (T.INT32,)),
    "tokenizer.ggml.merges": Expect((), (T.STRING,)),
    "tokenizer.ggml.eos_token_ids": Expect((), (T.INT32,)),
    "tokenizer.chat_template": _STR,
    # llama.cpp's gguf-split writes and reads these as UINT16, UINT16, INT32
    "split.no": Expect((T.UINT16,)),
    "split.count": Expect((T.UINT16,)),
    "split.tensors.count": Expect((T.INT32,)),
}
_TOKEN_ID_KEY = re.compile(r"^tokenizer\.ggml\.[a-z_]+_token_id$")
_SMALL_ARRAY = 4096  # arrays rewritten by a fix are per-layer lists, never vocabularies


def expected_type(hdr: GGUFHeader, key: str) -> Expect | None:
    """The Expect for metadata key `key` of this header (`{arch}.*` keys matched under the header's
    architecture, `*_token_id` keys as UINT32), None for a key with no known type."""
    if _TOKEN_ID_KEY.match(key):
        return _U32
    arch = hdr.architecture
    if arch and key.startswith(arch + "."):
        return EXPECTED_TYPES.get("{arch}" + key[len(arch):])
    return EXPECTED_TYPES.get(key)


def _type_fix(key: str, kv: KV, want: Expect) -> tuple[Change, ...]:
    """A lossless re-typing to the first accepted type, when one exists."""
    if kv.type == T.ARRAY:
        if not want.array_items or len(kv.value) > _SMALL_ARRAY or kv.array_type not in _INT_TYPES | _FLOAT_TYPES:
            return ()
        values = list(kv.value.to_list() if hasattr(kv.value, "to_list") else kv.value)
        target = want.array_items[0]
        if all(isinstance(v, (int, float)) and math.isfinite(v) and v == int(v) and 0 <= v <= 2**31 - 1
               for v in values):
            return (SetValue(key, [int(v) for v in values], T.ARRAY, array_type=target,
                             reason=f"{_type_name(kv)} -> ARRAY[{target.name}]"),)
        return ()
    if not want.types:
        return ()
    target = want.types[0]
    reason = f"{_type_name(kv)} {_show(kv.value)} -> {target.name}"
    if target == T.UINT32:
        v = _as_uint32(kv)
        return () if v is None else (SetValue(key, v, T.UINT32, reason=reason),)
    if target == T.UINT64 and kv.type in _INT_TYPES and int(kv.value) >= 0:
        return (SetValue(key, int(kv.value), T.UINT64, reason=reason),)
    if target == T.FLOAT32 and (kv.type in _FLOAT_TYPES | _INT_TYPES) and not isinstance(kv.value, bool):
        if math.isfinite(float(kv.value)):
            return (SetValue(key, float(kv.value), T.FLOAT32, reason=reason),)
    if target == T.BOOL and kv.type in _INT_TYPES and kv.value in (0, 1):
        return (SetValue(key, bool(kv.value), T.BOOL, reason=reason),)
    return ()


@rule("GG103", "key-type", Severity.ERROR,
      "A well-known key is stored with a type Ollama does not accept (it reads 0/false/empty instead).",
      fixable=True, applies_to=ANY)
def key_types(hdr: GGUFHeader) -> Iterable[Hit]:
    shared_kv = f"{hdr.architecture}.attention.shared_kv_layers"
    for key, kv in hdr.kv.items():
        if key == shared_kv or key == "general.architecture":
            continue
        want = expected_type(hdr, key)
        if want is None or want.accepts(kv):
            continue
        changes = _type_fix(key, kv, want)
        if not changes and _TOKEN_ID_KEY.match(key) and (_int_value(kv) or 0) < 0:
            # converters write -1 for "no such token"; absent is how GGUF says that
            changes = (RemoveKey(key, reason=f"{_show(kv.value)} means no such token"),)
        shown = "" if kv.type == T.ARRAY else f" ({_show(kv.value)})"
        yield Hit(
            f"{key} is stored as {_type_name(kv)}{shown}, expected {want.describe()}; "
            "Ollama's strict type assertion then reads the default instead",
            subject=key, offset=kv.offset, changes=changes,
            hint=None if changes else "re-convert with a current convert_hf_to_gguf.py",
        )


# ---------------------------------------------------------------------------------------------
# GG2xx: tokenizer

_SPECIAL_IDS = ("bos", "eos", "eot", "eom", "padding", "unknown", "seperator", "mask")
_TURN_END_TOKENS = ("<end_of_turn>", "<|eot_id|>", "<|im_end|>", "<|end|>", "<|END_OF_TURN_TOKEN|>",
                    "<|endofturn|>", "<turn|>")


def _n_vocab(hdr: GGUFHeader) -> int:
    return len(hdr.tokens)


def _int_value(kv: KV | None) -> int | None:
    if kv is None or kv.type == T.ARRAY or isinstance(kv.value, (str, bool)):
        return None
    try:
        v = float(kv.value)
    except (TypeError, ValueError):
        return None
    return int(v) if math.isfinite(v) and v == int(v) else None


def find_token(hdr: GGUFHeader, text: str) -> int | None:
    """Id of the token whose text is `text`, or None."""
    tokens = hdr.tokens
    finder = getattr(tokens, "find", None)  # a reader may offer a faster lookup than Sequence.index
    if callable(finder):
        found = finder(text)
        return None if found is None or found < 0 else found
    try:
        return tokens.index(text)
    except ValueError:
        return None


@rule("GG200", "no-vocabulary", Severity.ERROR,
      "tokenizer.ggml.tokens is missing; the file has no vocabulary to tokenize with.")
def no_vocabulary(hdr: GGUFHeader) -> Iterable[Hit]:
    if "tokenizer.ggml.tokens" not in hdr.kv:
        yield Hit("tokenizer.ggml.tokens is missing: the file has no vocabulary",
                  subject="tokenizer.ggml.tokens", hint="re-convert with llama.cpp's convert_hf_to_gguf.py")


@rule("GG201", "token-id-out-of-vocab", Severity.ERROR,
      "A special token id (BOS/EOS/EOT/PAD/...) lies outside the vocabulary.")
def token_ids_in_vocab(hdr: GGUFHeader) -> Iterable[Hit]:
    if not hdr.has_vocabulary:
        return
    n = _n_vocab(hdr)
    for key, kv in hdr.kv.items():
        if not _TOKEN_ID_KEY.match(key):
            continue
        v = _int_value(kv)
        if v is not None and v >= n:  # negative ids can only be stored signed: GG103 reports those
            yield Hit(f"{key} = {v} is outside the vocabulary ({n:,} tokens)",
                      subject=key, offset=kv.offset,
                      hint="set the id of the right token with `publish fix` or re-convert the model")
    ids = hdr.kv.get("tokenizer.ggml.eos_token_ids")
    if ids is not None and ids.type == T.ARRAY and len(ids.value) <= _SMALL_ARRAY:
        bad = [int(v) for v in ids.value if isinstance(v, int) and not 0 <= v < n]
        if bad:
            yield Hit(f"tokenizer.ggml.eos_token_ids contains ids outside the vocabulary ({n:,} tokens): "
                      f"{', '.join(map(str, bad[:5]))}", subject="tokenizer.ggml.eos_token_ids", offset=ids.offset)


@rule("GG202", "no-end-token", Severity.ERROR,
      "Neither an EOS nor an EOT token is declared, so generation never stops on its own.")
def no_end_token(hdr: GGUFHeader) -> Iterable[Hit]:
    if not hdr.has_vocabulary:
        return
    keys = ("tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eos_token_ids")
    if not any(k in hdr.kv for k in keys):
        yield Hit("no EOS or EOT token declared (tokenizer.ggml.eos_token_id / eot_token_id): "
                  "Ollama then treats token 0 as EOS and generation runs on",
                  subject="tokenizer.ggml.eos_token_id",
                  hint="set tokenizer.ggml.eos_token_id (and eot_token_id for chat models) to the model's end token")


@rule("GG203", "no-chat-template", Severity.WARNING,
      "tokenizer.chat_template is missing; chat clients fall back to a raw prompt (not run for a base model).",
      chat_only=True)
def no_chat_template(hdr: GGUFHeader) -> Iterable[Hit]:
    if not hdr.chat_template:
        yield Hit("no chat template (tokenizer.chat_template): llama.cpp and Ollama cannot build chat prompts "
                  "from the file alone", subject="tokenizer.chat_template",
                  hint="copy chat_template from the original model's tokenizer_config.json "
                       "(publish fix can set tokenizer.chat_template), or ship a Go `template` file for Ollama; "
                       "a base model has none: say so with [model] kind = \"base\" in the release spec "
                       "or `publish lint --base`")


@rule("GG204", "double-bos", Severity.WARNING,
      "The rendered chat template starts the prompt with BOS while llama.cpp adds one too (add_bos_token): "
      "two BOS tokens.")
def double_bos(hdr: GGUFHeader) -> Iterable[Hit]:
    """Rendered, not searched: BOS written through `{% set %}`, concatenation or a macro counts,
    BOS text in a `{# comment #}` does not. The start of the prompt is split into special tokens as
    llama.cpp does with parse_special (llama-vocab.cpp, "Added a BOS token to the prompt as
    specified by the model but the prompt also starts with a BOS token")."""
    from publish.gguf import vocab

    template = hdr.chat_template
    if not isinstance(template, str) or not template.strip() or not vocab.llamacpp_add_bos(hdr):
        return
    vocab.specials(hdr)   # kept for leading_bos below; built while lint's worker renders the probe
    probe = _jinja_probe(hdr)
    if probe is None or probe.start is None:
        return
    bos = hdr.bos_text
    if vocab.leading_bos(probe.start, hdr, add_bos=True) < 2:
        return
    why = "tokenizer.ggml.add_bos_token is true" if hdr.add_bos_token is True else \
        f"llama.cpp adds BOS by default for this vocabulary ({hdr.value('tokenizer.ggml.model')})"
    yield Hit(
        f"the chat template renders {bos!r} at the start of the prompt and {why}: a client that renders "
        "this template and tokenizes with add_special (LM Studio, llama-cpp-python's raw API, llama.cpp "
        "before the --jinja BOS strip) sends two BOS tokens",
        subject="tokenizer.chat_template",
        offset=hdr.kv["tokenizer.chat_template"].offset,
        hint="when you render prompts from this template, tokenize without adding BOS; "
             "keep BOS out of Ollama Go templates",
    )


def _jinja_probe(hdr: GGUFHeader):
    """The rendered probe conversations of the GGUF's chat template, or None when there is no
    template, it does not parse (GG701) or refuses the probe; a hostile template is GG290's.
    Rendered once per template (publish.jinja_facts keeps it)."""
    template = hdr.chat_template
    if not isinstance(template, str) or not template.strip() or not hdr.has_vocabulary:
        return None
    from publish import jinja_facts  # Jinja is imported only for a file with a template
    from publish.errors import UnsafeTemplateError

    try:
        probe = jinja_facts.probe(template, hdr)
    except UnsafeTemplateError:
        return None
    if probe.error is not None and probe.start is None:
        return None
    return probe


@rule("GG205", "turn-end-not-eog", Severity.WARNING,
      "The chat template ends turns with a token (e.g. <end_of_turn>) that is neither EOS nor EOT.",
      fixable=True)
def turn_end_not_declared(hdr: GGUFHeader) -> Iterable[Hit]:
    template = hdr.chat_template
    if not isinstance(template, str) or not hdr.has_vocabulary:
        return
    eos = _int_value(hdr.kv.get("tokenizer.ggml.eos_token_id"))
    eot_kv = hdr.kv.get("tokenizer.ggml.eot_token_id")
    eot = _int_value(eot_kv)
    declared = {hdr.token_text(eos), hdr.token_text(eot)} - {None}
    ids_kv = hdr.kv.get("tokenizer.ggml.eos_token_ids")
    eos_ids: list[int] | None = []
    if ids_kv is not None:
        usable = ids_kv.type == T.ARRAY and ids_kv.array_type == T.INT32 and len(ids_kv.value) <= _SMALL_ARRAY
        eos_ids = [int(v) for v in ids_kv.value] if usable else None
        declared |= {hdr.token_text(v) for v in eos_ids or ()} - {None}
    for text in _TURN_END_TOKENS:
        if text not in template or text in declared:
            continue
        tid = find_token(hdr, text)
        if tid is None:
            continue
        changes: list[Change] = []
        if eot is None or hdr.token_text(eot) is None:
            changes.append(SetValue("tokenizer.ggml.eot_token_id", tid, T.UINT32,
                                    reason=f"declare {text} (id {tid}) as EOT"))
        if eos_ids is not None:
            # Ollama's own engine (e.g. gemma3n) stops on eos_token_id plus this INT32 array only
            ids = ([eos] if eos is not None and hdr.token_text(eos) and not eos_ids else []) + eos_ids + [tid]
            changes.append(SetValue("tokenizer.ggml.eos_token_ids", ids, T.ARRAY, array_type=T.INT32,
                                    reason=f"add {text} (id {tid}) to the end-of-generation ids Ollama reads"))
        yield Hit(
            f"{text} (id {tid}) ends each turn in the chat template but is not declared as EOS or EOT: "
            "llama.cpp guesses it from its text, Ollama's own engine stops only on "
            "eos_token_id/eos_token_ids and `stop` parameters",
            subject="tokenizer.ggml.eot_token_id",
            offset=None if eot_kv is None else eot_kv.offset,
            changes=tuple(changes),
            # a fixable finding gets its fix line; whether `stop` covers the token is RP115's (folder) call
            hint=None if changes else "re-convert with a current convert_hf_to_gguf.py, which declares the turn end",
        )
        return


# ---------------------------------------------------------------------------------------------
# GG4xx: the quant label in the file name agrees with the header

_FLOAT_TENSOR_TYPES = {Q.F32, Q.F16, Q.BF16, Q.F64}
_NON_WEIGHT_TYPES = {Q.I8, Q.I16, Q.I32, Q.I64}
_FLOAT_LABELS = {"F32", "F16", "BF16"}


@rule("GG401", "label-vs-file-type", Severity.WARNING,
      "The quant label in the file name disagrees with general.file_type.")
def label_vs_file_type(hdr: GGUFHeader) -> Iterable[Hit]:
    label = label_from_filename(_file_name(hdr))
    kv = hdr.kv.get("general.file_type")
    ft = _int_value(kv)
    if label is None or ft is None:
        return
    if normalize_label(label)[1]:
        # Unsloth's UD-* mixes start llama-quantize from another file type and override tensors:
        # general.file_type says nothing about the label (GG402 checks the tensors instead).
        return
    if file_type_label(ft) is None:
        yield Hit(f"general.file_type = {ft} is not a llama.cpp file type", subject="general.file_type",
                  offset=kv.offset)
        return
    have = file_type_disagrees(label, ft)
    if have is None:
        return
    yield Hit(f"file name says {label} but general.file_type is {have} ({ft})",
              subject="general.file_type", offset=kv.offset,
              hint="rename the file to the quant it holds, or re-quantize; users pick files by this label")


@rule("GG402", "label-vs-tensors", Severity.WARNING,
      "The tensor types are not what llama-quantize writes for the quant label in the file name.",
      why="A quant label names a mix, not one type: llama-quantize raises `output`/tied `token_embd`, "
          "some `attn_v`/`ffn_down` layers and more per label, and falls back to Q5_0/Q5_1/Q8_0/IQ4_NL when a "
          "row is not a multiple of 256 (Gemma 3 270M Q4_K_M is mostly Q5_0 and Q8_0 for that reason). "
          "This rule accepts every type llama-quantize may write for the label (and higher precision from "
          "`--tensor-type`/`--output-tensor-type` overrides or dynamic `UD-*` mixes) and names the tensors "
          "that no such run produces: users pick `hf.co/ORG/REPO:Q4_K_M` by that promise of size and quality.",
      example="`model-Q4_K_M.gguf` whose attn_q/ffn_up weights are Q8_0 (a renamed Q8_0), or whose first "
              "attn_v layers are Q5_K (a Q4_K_S).",
      fix="Rename the file to the label its tensors match (the message names it), or re-quantize from the "
          "F16/BF16 GGUF with `llama-quantize MODEL-F16.gguf MODEL-Q4_K_M.gguf Q4_K_M`.",
      sources=(quantmix.SOURCE,))
def label_vs_tensors(hdr: GGUFHeader) -> Iterable[Hit]:
    label = label_from_filename(_file_name(hdr))
    if label is None:
        return
    want = normalize_label(label)[0]
    if want in _FLOAT_LABELS:
        return  # GG403
    verdict = quantmix.check_mix(hdr, label)
    if not verdict.lies:
        return
    matches = quantmix.matching_labels(hdr)
    ft = file_type_label(_int_value(hdr.kv.get("general.file_type")) or -1) if "general.file_type" in hdr.kv else None
    if ft in matches:
        matches = [ft] + [m for m in matches if m != ft]   # the rename GG401 agrees with
    rename = (f"its tensors match {' / '.join(matches[:3])}: rename the file to …-{matches[0]}.gguf"
              if matches else "no llama-quantize label explains every tensor")
    if matches and ft is not None and ft not in matches:
        rename += (f" (general.file_type says {ft}, which these tensors are not either: the header was edited "
                   "or the file re-labelled; re-quantizing is the safe fix)")
    hint = f"{rename}, or re-quantize from the F16/BF16 GGUF with llama-quantize … {want}"
    if verdict.family_missing:
        mix = _type_mix(t for t in hdr.tensors if quantmix.quantizable(t))
        yield Hit(f"file name says {label} but no quantized weight is {verdict.base.name} "
                  f"(or its row-length fallback): the weights are {mix}", hint=hint)
        return
    if verdict.mostly is not None:
        mix = _type_mix(t for t in hdr.tensors if quantmix.quantizable(t))
        yield Hit(f"file name says {label} but most weight bytes are {verdict.mostly.name}, above every type "
                  f"llama-quantize writes for {want} ({mix})", hint=hint)
        return
    groups: dict[tuple[str, Q, frozenset], list[str]] = {}
    for t, allowed in verdict.off:
        groups.setdefault((quantmix.category(t.name), t.ggml_type, allowed), []).append(t.name)
    parts = []
    for (_, have, allowed), names in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        parts.append(f"{shown} {'is' if len(names) == 1 else 'are'} {have.name} where llama-quantize writes "
                     f"{quantmix.describe_types(allowed)}")
    n = len(verdict.off)
    first = verdict.off[0][0]
    yield Hit(f"file name says {label} but {n} tensor{'s' if n != 1 else ''} "
              f"{'are' if n != 1 else 'is'} not in its mix: " + "; ".join(parts[:4]),
              subject=first.name, offset=first.info_offset, hint=hint)


def _type_mix(tensors: Iterable) -> str:
    count: dict[Q, int] = {}
    for t in tensors:
        count[t.ggml_type] = count.get(t.ggml_type, 0) + 1
    return ", ".join(f"{t.name} x{n}" for t, n in sorted(count.items(), key=lambda kv: -kv[1])[:5])


@rule("GG403", "float-label-quantized", Severity.ERROR,
      "A file labelled BF16/F16/F32 contains quantized tensors.")
def float_label_quantized(hdr: GGUFHeader) -> Iterable[Hit]:
    label = label_from_filename(_file_name(hdr))
    if label is None or normalize_label(label)[0] not in _FLOAT_LABELS:
        return
    quantized = [t for t in hdr.tensors if t.ggml_type not in _FLOAT_TENSOR_TYPES | _NON_WEIGHT_TYPES]
    if quantized:
        first = quantized[0]
        yield Hit(f"file name says {label} but {len(quantized)} tensor(s) are quantized "
                  f"(first: {first.name} {first.ggml_type.name})",
                  subject=first.name, offset=first.info_offset,
                  hint="rename the file to the quant it holds, or re-convert to an unquantized GGUF")


@rule("GG404", "no-file-type", Severity.INFO,
      "general.file_type is missing; tools show the quantization as unknown.")
def no_file_type(hdr: GGUFHeader) -> Iterable[Hit]:
    if "general.file_type" not in hdr.kv:
        yield Hit("general.file_type is missing: `ollama show` and the Hub show the quantization as unknown",
                  subject="general.file_type")


@rule("GG405", "no-label-in-name", Severity.INFO,
      "The file name carries no quant label, so `hf.co/ORG/REPO:TAG` cannot select it.")
def no_label_in_name(hdr: GGUFHeader) -> Iterable[Hit]:
    # The Hub's reading of the name decides what `:TAG` reaches, not ours (publish.quants.hub_tag_label)
    name = _file_name(hdr)
    if hub_tag_label(name) is not None:
        return
    ours = label_from_filename(name)
    if ours is not None:
        yield Hit(f"the file name ends in {ours}, which is not a quant name the Hub reads "
                  f"(huggingface.js parseGGUFQuantLabel): `ollama run hf.co/ORG/REPO:{ours}` is refused "
                  "with 400 \"not a valid quantization scheme\"",
                  hint="rename the file to the full quant name general.file_type gives (e.g. …-Q4_K_M.gguf)")
    else:
        yield Hit("the file name carries no quant label (…-Q4_K_M.gguf): `ollama run hf.co/ORG/REPO:TAG` "
                  "selects files by that label", hint="rename the file to NAME-<QUANT>.gguf")


# ---------------------------------------------------------------------------------------------
# GG5xx: general metadata (informational)

def _missing(key: str, why: str) -> Iterator[Hit]:
    yield Hit(f"{key} is missing: {why}", subject=key)


@rule("GG501", "no-name", Severity.INFO, "general.name is missing.")
def no_name(hdr: GGUFHeader) -> Iterable[Hit]:
    if "general.name" not in hdr.kv:
        yield from _missing("general.name", "Ollama and the Hub show the file name instead")


@rule("GG502", "no-quantized-by", Severity.INFO, "general.quantized_by is missing.")
def no_quantized_by(hdr: GGUFHeader) -> Iterable[Hit]:
    if "general.quantized_by" not in hdr.kv:
        yield from _missing("general.quantized_by", "users cannot tell who made this quant")


@rule("GG503", "no-license", Severity.INFO, "general.license is missing.")
def no_license(hdr: GGUFHeader) -> Iterable[Hit]:
    if "general.license" not in hdr.kv:
        yield from _missing("general.license", "`ollama show --license` shows nothing")


@rule("GG504", "no-base-model", Severity.INFO, "general.base_model.* is missing.")
def no_base_model(hdr: GGUFHeader) -> Iterable[Hit]:
    if not any(k.startswith("general.base_model.") for k in hdr.kv):
        yield from _missing("general.base_model.*", "the Hub cannot link the quant to its base model")


# ---------------------------------------------------------------------------------------------
# GG6xx: multimodal projectors (mmproj-*.gguf, general.type "mmproj", architecture "clip")

@rule("GG601", "projector-no-encoder", Severity.WARNING,
      "A projector declares no encoder (clip.has_vision_encoder / clip.has_audio_encoder).",
      applies_to=PROJECTOR)
def projector_no_encoder(hdr: GGUFHeader) -> Iterable[Hit]:
    if not _looks_like_model(hdr) and not (hdr.value("clip.has_vision_encoder") is True
                                           or hdr.value("clip.has_audio_encoder") is True):
        yield Hit("projector declares neither clip.has_vision_encoder nor clip.has_audio_encoder: "
                  "llama.cpp's mtmd loads no encoder from it",
                  subject="clip.has_vision_encoder",
                  hint="re-convert with convert_hf_to_gguf.py --mmproj")


@rule("GG602", "projector-no-type", Severity.WARNING,
      "A projector does not say which projector it is (clip.projector_type).", applies_to=PROJECTOR)
def projector_no_type(hdr: GGUFHeader) -> Iterable[Hit]:
    keys = ("clip.projector_type", "clip.vision.projector_type", "clip.audio.projector_type")
    if not _looks_like_model(hdr) and not any(k in hdr.kv for k in keys):
        yield Hit("projector has no clip.projector_type: llama.cpp guesses the projector architecture",
                  subject="clip.projector_type", hint="re-convert with convert_hf_to_gguf.py --mmproj")


@rule("GG603", "projector-name", Severity.WARNING,
      "A projector's file name does not start with mmproj, so tools do not recognise it.",
      applies_to=PROJECTOR)
def projector_name(hdr: GGUFHeader) -> Iterable[Hit]:
    if not is_projector_filename(hdr.path):
        yield Hit("projector file name does not start with `mmproj`: publish's staged folder takes it for a "
                  "model quant, and tools that pair models with projectors (e.g. vLLM) look for `mmproj` in the name",
                  hint=f"rename it to mmproj-{_file_name(hdr)}")


def _looks_like_model(hdr: GGUFHeader) -> bool:
    return not hdr.is_projector and "tokenizer.ggml.tokens" in hdr.kv


@rule("GG604", "mmproj-name-on-model", Severity.WARNING,
      "A file named mmproj-* holds a language model, not a projector.", applies_to=PROJECTOR)
def model_named_mmproj(hdr: GGUFHeader) -> Iterable[Hit]:
    if _looks_like_model(hdr):
        yield Hit(f"named like a projector but the header is a {hdr.architecture} language model "
                  "(it has a vocabulary and general.type is not mmproj); it is linted as a projector only",
                  subject="general.type", hint="rename the file so it does not start with mmproj")


# ---------------------------------------------------------------------------------------------
# GG7xx: the chat template, parsed and rendered (publish.chat's sandbox, publish.probes)

def _fix_template(hdr: GGUFHeader) -> str:
    """The `publish fix --chat-template` line for this GGUF: its path as given, quoted for the
    shell; the file name alone for a Hub file (fix works on a downloaded copy)."""
    from publish.addresses import is_hub_file_url
    from publish.termtext import shell_command

    path = _file_name(hdr) if is_hub_file_url(hdr.path) else hdr.path
    return (shell_command("publish", "fix", path, "--chat-template", "tokenizer_config.json")
            + " (the original model's; publish takes its chat_template)")


@rule("GG701", "chat-template-syntax", Severity.ERROR,
      "tokenizer.chat_template does not parse as Jinja (a Go template pasted in, an unclosed block, "
      "a whole tokenizer_config.json); llama.cpp falls back to another format or refuses to load.",
      engines=(Engine.LLAMA_CPP, Engine.OLLAMA),
      why="Every client that formats chats from the GGUF parses tokenizer.chat_template as Jinja. llama.cpp "
          "logs `failed to parse chat template (defaulting to chatml)` and formats the chat wrongly; "
          "llama-cpp-python raises TemplateSyntaxError inside `Llama()`, so the model does not load at all. "
          "Ollama v0.24 ignores the Jinja template when the repo ships a Go `template`.",
      example="`{{- range .Messages }}…{{ end }}` (an Ollama Go template) stored as tokenizer.chat_template.",
      fix="`publish fix FILE --chat-template tokenizer_config.json` with the original model's file: publish takes "
          "its chat_template (and named templates) and refuses text that does not parse.",
      sources=("llama.cpp common/chat.cpp (common_chat_templates_init)",
               "llama-cpp-python llama_cpp/llama_chat_format.py (Jinja2ChatFormatter)"))
def chat_template_syntax(hdr: GGUFHeader) -> Iterable[Hit]:
    """Parsing only, nothing runs. Variants: llama.cpp "failed to parse chat template (defaulting
    to chatml)", llama-cpp-python raising TemplateSyntaxError inside Llama() (abetlen/llama-cpp-python#2225)."""
    template = hdr.chat_template
    kv = hdr.kv.get("tokenizer.chat_template")
    if not isinstance(template, str) or kv is None or not template.strip():
        return
    from publish import jinja_facts  # Jinja is imported only for a file with a template

    problem = jinja_facts.syntax_problem(template)
    if problem is None:
        return
    yield Hit(f"tokenizer.chat_template:{problem.where}: {problem.message}",
              subject=f"tokenizer.chat_template:{problem.where}", offset=kv.offset,
              hint=_fix_template(hdr) + (
                  "; the Go template belongs in the Hub repo's `template` file" if problem.kind == "go-template"
                  else ""))


@rule("GG703", "chat-template-fails", Severity.WARNING,
      "The chat template parses but fails on a one-turn conversation without tools (an error, or no end "
      "within its time bound): every plain chat that renders it fails.",
      engines=(Engine.LLAMA_CPP,),
      why="llama.cpp's server and CLI with `--jinja`, llama-cpp-python and LM Studio render "
          "tokenizer.chat_template for every chat request; a template that fails on a plain user message "
          "(a filter or method the renderers lack, a `raise_exception` meant for another case, a loop that "
          "never ends) fails every such request, although the file loads. A warning, not an error: a few "
          "real templates are meant for tool calls only (firefunction asks for `functions` first) or for "
          "extra variables (ShieldGemma's `guideline`); for those, say so on the model card.",
      example="`{% for m in messages %}{{ m['content'] | unknown_filter }}{% endfor %}`: it parses in "
              "Jinja's grammar, but every render stops at the unknown filter.",
      fix="`publish fix FILE --chat-template tokenizer_config.json` with the original model's file; check it "
          "first with `publish template check --jinja tokenizer_config.json --go TEMPLATE`.",
      sources=("llama.cpp common/chat.cpp (common_chat_templates_apply)",
               "llama-cpp-python 0.3.36 llama_cpp/llama_chat_format.py (Jinja2ChatFormatter)"))
def chat_template_fails(hdr: GGUFHeader) -> Iterable[Hit]:
    """Rendered in the sandbox on one user message (publish.probes.START). A template GG701 (does
    not parse) or GG290 (sandbox escape) reports is left to them."""
    template = hdr.chat_template
    kv = hdr.kv.get("tokenizer.chat_template")
    if not isinstance(template, str) or kv is None or not template.strip() or not hdr.has_vocabulary:
        return
    from publish import jinja_facts  # Jinja is imported only for a file with a template
    from publish.errors import UnsafeTemplateError, message_of

    if jinja_facts.syntax_problem(template) is not None or jinja_facts.audit(template):
        return
    try:
        probe = jinja_facts.probe(template, hdr)
    except UnsafeTemplateError as err:
        error = message_of(err)
    else:
        if probe.start is not None or probe.error is None:
            return
        error = message_of(probe.error)
    yield Hit(f"tokenizer.chat_template fails on a one-turn conversation (one user message, no tools): {error}",
              subject="tokenizer.chat_template", offset=kv.offset,
              hint=_fix_template(hdr) + "; if the template is meant only for tool calls or extra variables, "
                                        "say so on the model card")


@rule("GG702", "missing-bos", Severity.ERROR,
      "A Gemma or Llama model whose prompts get no BOS token: add_bos_token is false and the chat "
      "template does not write one (the model degenerates into repeated words).", fixable=True,
      engines=(Engine.LLAMA_CPP, Engine.OLLAMA),
      why="Gemma (and Llama) were trained with BOS in front of every sequence; without it Gemma repeats "
          "words (unsloth#7903, llama.cpp#21500). llama.cpp adds BOS only when add_bos_token says so (or its "
          "vocabulary default does); a chat template that writes `{{ bos_token }}` covers chat clients only. "
          "Ollama's Go template path is RP104.",
      example="A Gemma 3 finetune converted with add_bos_token = false and a template without `{{ bos_token }}`.",
      fix="`publish fix FILE --select GG702` sets tokenizer.ggml.add_bos_token = true.",
      sources=("llama.cpp src/llama-vocab.cpp 00ad355 (llama_vocab::impl::load: add_bos)",))
def missing_bos(hdr: GGUFHeader) -> Iterable[Hit]:
    """llama.cpp adds no BOS (`vocab.llamacpp_add_bos`) and the rendered chat template starts
    without one: Gemma without BOS repeats itself (unsloth#7903, llama.cpp#21500, tabbyAPI#346)."""
    from publish.gguf import vocab
    from publish.probes import needs_bos

    family = needs_bos(hdr)
    bos_id = _int_value(hdr.kv.get("tokenizer.ggml.bos_token_id"))
    if family is None or hdr.token_text(bos_id) is None or vocab.llamacpp_add_bos(hdr):
        return
    probe = _jinja_probe(hdr)
    if probe is not None and probe.start is not None and vocab.leading_bos(probe.start, hdr, add_bos=False):
        return  # the template writes BOS itself: chat clients get one
    kv = hdr.kv.get("tokenizer.ggml.add_bos_token")
    how = "tokenizer.ggml.add_bos_token is false" if kv is not None else \
        "tokenizer.ggml.add_bos_token is missing and llama.cpp adds no BOS for this vocabulary"
    where = "the chat template does not write one either" if probe is not None else "there is no chat template to write one"
    yield Hit(f"{family} models need {hdr.bos_text!r} at the start of every prompt, but {how} and {where}: "
              "the model degenerates (repeated words)",
              subject="tokenizer.ggml.add_bos_token", offset=None if kv is None else kv.offset,
              changes=(SetValue("tokenizer.ggml.add_bos_token", True, T.BOOL,
                                reason=f"{family} needs BOS; nothing else adds it"),))


# ---------------------------------------------------------------------------------------------
# GG290: chat templates built to escape the Jinja sandbox

@rule("GG290", "hostile-chat-template", Severity.ERROR,
      "A chat template contains a Jinja sandbox-escape payload (dunder access, __globals__, cycler/joiner "
      "payload shapes); found by parsing, never by running it.",
      applies_to=ANY,
      why="Chat templates are code from the file's author. llama-cpp-python before 0.2.72 rendered them with an "
          "unsandboxed `jinja2.Environment` (CVE-2024-34359, GHSA-56xg-wfcc-g829): a template reaching "
          "`__globals__` ran shell commands on every machine that loaded the GGUF. Sandboxed renderers refuse "
          "the access at run time, so the model fails to chat there; unsandboxed ones are compromised. No chat "
          "format needs Python internals, so any such access is treated as hostile.",
      example="`{{ cycler.__init__.__globals__.os.popen('id').read() }}` or "
              "`{{ ''.__class__.__mro__[1].__subclasses__() }}` in tokenizer.chat_template.",
      fix="Do not publish the file. Replace tokenizer.chat_template with the original model's template "
          "(`publish fix FILE --chat-template tokenizer_config.json`) and find out where the payload came from.",
      sources=("llama-cpp-python 0.2.72 llama_cpp/llama_chat_format.py (ImmutableSandboxedEnvironment, the "
               "CVE-2024-34359 fix)", "jinja2 jinja2/sandbox.py (is_safe_attribute)"))
def hostile_chat_template(hdr: GGUFHeader) -> Iterable[Hit]:
    for key, text in hdr.chat_templates():
        from publish import jinja_facts  # Jinja only for a file with a template

        suspects = jinja_facts.audit(text)
        if not suspects:
            continue
        shown = "; ".join(f"line {s.line}: {s.what}: {s.excerpt}" for s in suspects[:3])
        more = f" (and {len(suspects) - 3} more)" if len(suspects) > 3 else ""
        yield Hit(f"{key} is built to escape the Jinja sandbox: {shown}{more}. Unsandboxed renderers "
                  "(CVE-2024-34359) run it as code; sandboxed ones refuse to render it",
                  subject=key, offset=hdr.kv[key].offset,
                  hint="do not publish this file: set the original model's chat template with "
                       "`publish fix FILE --chat-template tokenizer_config.json` and find where the payload came from")


# ---------------------------------------------------------------------------------------------
# GG71x: the header and the tensors fit together

_LLAMA_MODEL = "llama.cpp src/llama-model.cpp (load_hparams; create_tensor checks each shape)"
_LOADER_KEYS = ("context_length", "embedding_length", "block_count")  # ml.get_key(...) without `false`
# archs whose load_hparams reads attention.layer_norm_rms_epsilon / layer_norm_epsilon as required
_RMS_EPS_ARCHS = {"llama", "qwen2", "qwen2moe", "qwen3", "qwen3moe", "gemma", "gemma2", "gemma3", "gemma3n",
                  "phi3", "deepseek2", "olmo2", "granite", "mistral3", "llama4", "arcee", "minicpm", "qwen"}
_NORM_EPS_ARCHS = {"falcon", "gpt2", "starcoder", "bloom", "mpt", "stablelm", "phi2", "bert", "nomic-bert", "refact"}
# Ollama v0.24.0 Go engine: keys New() reads with c.Uint(key) and no default, used as dimensions
_GO_ENGINE_KEYS = {
    "gemma3": ("block_count", "embedding_length", "attention.head_count", "attention.head_count_kv"),
    "gemma3n": ("block_count", "embedding_length", "attention.head_count", "attention.head_count_kv"),
    "qwen3": ("block_count", "embedding_length", "attention.head_count", "attention.head_count_kv"),
    "qwen3moe": ("block_count", "embedding_length", "attention.head_count", "attention.head_count_kv"),
    "gptoss": ("block_count", "embedding_length", "attention.head_count", "attention.head_count_kv"),
    "gpt-oss": ("block_count", "embedding_length", "attention.head_count", "attention.head_count_kv"),
    "gemma4": ("block_count", "embedding_length", "attention.head_count"),
}
_GO_SOURCES = ("ollama v0.24.0 model/models/gemma3/model_text.go (numHeads)",
               "ollama v0.24.0 model/models/gemma3n/model_text.go (numKVHeads)",
               "ollama v0.24.0 model/models/qwen3/model.go (hiddenSize)",
               "ollama v0.24.0 model/models/gptoss/model.go (hiddenSize)",
               "ollama v0.24.0 model/models/gemma4/model_text.go (numLayers)")


def required_keys(arch: str) -> dict[str, tuple[Engine, ...]]:
    """`{arch}.*` keys a model of `arch` needs to load, with the engines that need each: llama.cpp's
    load_hparams reads them as required (also Ollama >= 0.30 through llama-server), Ollama v0.24's Go
    engine reads them without a default for the architectures it runs itself."""
    from publish.engines import LLAMA_CPP_LOADER

    need: dict[str, set[Engine]] = {}
    for key in _LOADER_KEYS:
        need.setdefault(key, set()).update(LLAMA_CPP_LOADER)
    if arch in _RMS_EPS_ARCHS:
        need.setdefault("attention.layer_norm_rms_epsilon", set()).update(LLAMA_CPP_LOADER)
    if arch in _NORM_EPS_ARCHS:
        need.setdefault("attention.layer_norm_epsilon", set()).update(LLAMA_CPP_LOADER)
    for key in _GO_ENGINE_KEYS.get(arch, ()):
        need.setdefault(key, set()).add(Engine.OLLAMA_GO)
    order = list(Engine)
    return {k: tuple(sorted(v, key=order.index)) for k, v in need.items()}


@rule("GG710", "missing-required-key", Severity.ERROR,
      "A key the architecture needs to load (`{arch}.embedding_length`, `.block_count`, …) is missing.",
      why="llama.cpp's `load_hparams` reads `{arch}.context_length`, `.embedding_length`, `.block_count` and the "
          "architecture's norm epsilon as required keys and refuses the file without them (`key not found in "
          "model`); Ollama v0.24's Go engine reads the model dimensions with `c.Uint(key)` and no default, so a "
          "missing key is 0 and the model fails or produces garbage. Other linters pass such a file.",
      example="A hand-edited header that lost `gemma3.embedding_length`.",
      fix="Re-convert with convert_hf_to_gguf.py, or add the key with its value from config.json "
          "(hidden_size, num_hidden_layers, max_position_embeddings, rms_norm_eps).",
      sources=(_LLAMA_MODEL,) + _GO_SOURCES)
def missing_required_key(hdr: GGUFHeader) -> Iterable[Hit]:
    arch = hdr.architecture
    if not arch or not hdr.tensors:
        return  # GG100; a vocabulary-only GGUF loads no model
    for key, engines in required_keys(arch).items():
        if f"{arch}.{key}" not in hdr.kv:
            who = " and ".join(e.title for e in engines)
            yield Hit(f"{arch}.{key} is missing: {who} cannot load the model without it",
                      subject=f"{arch}.{key}", severity=Severity.ERROR,
                      hint=f"re-convert with convert_hf_to_gguf.py, or set {arch}.{key} (UINT32/FLOAT32) "
                           "from the model's config.json")


def _rows(hdr: GGUFHeader, name: str) -> tuple | None:
    for t in hdr.tensors:
        if t.name == name:
            return t
    return None


@rule("GG711", "vocab-vs-embedding-rows", Severity.ERROR,
      "The vocabulary size and the rows of token_embd/output disagree.",
      why="llama.cpp creates token_embd and output as {n_embd, n_vocab} with n_vocab the number of "
          "tokenizer.ggml.tokens and refuses a tensor of another shape (`tensor 'token_embd.weight' "
          "has wrong shape`); Ollama's Go engine indexes the embedding with token ids, and an id past its rows "
          "fails at run time. Happens after adding tokens to a tokenizer without resizing the embeddings, or the "
          "other way round.",
      example="262,145 tokens in tokenizer.ggml.tokens, token_embd.weight with 262,144 rows.",
      fix="Re-convert from a checkpoint whose tokenizer and embeddings agree (resize_token_embeddings before "
          "saving, or pad the vocabulary to the embedding rows).",
      sources=(_LLAMA_MODEL, "llama.cpp src/llama-vocab.cpp 00ad355 (n_tokens from tokenizer.ggml.tokens)"))
def vocab_vs_embedding(hdr: GGUFHeader) -> Iterable[Hit]:
    if not hdr.has_vocabulary:
        return
    # llama.cpp sizes token_embd/output by the tokens of the vocabulary (llama_vocab::n_tokens); the
    # {arch}.vocab_size key does not enter the shape check (llama-cpp-python 0.3.36 loads a file
    # whose vocab_size is one more than its tokens), so only the tokens are compared.
    n_vocab = _n_vocab(hdr)
    for name in ("token_embd.weight", "output.weight"):
        t = _rows(hdr, name)
        if t is None or len(t.shape) < 2 or t.shape[1] == n_vocab:
            continue
        yield Hit(f"{name} has {t.shape[1]:,} rows but the vocabulary has {n_vocab:,} tokens: llama.cpp refuses the "
                  "tensor's shape, Ollama fails on token ids past the rows",
                  subject=name, offset=t.info_offset,
                  hint="re-convert from a checkpoint whose tokenizer and embedding matrix have the same size")


def _arch_int(hdr: GGUFHeader, suffix: str) -> tuple[KV | None, int | None]:
    """The `{arch}.{suffix}` record and its whole-number value (None when absent or not a number)."""
    arch = hdr.architecture
    kv = hdr.kv.get(f"{arch}.{suffix}") if arch else None
    return kv, _int_value(kv)


@rule("GG712", "embedding-length-vs-tensors", Severity.ERROR,
      "`{arch}.embedding_length` disagrees with the width of token_embd/output/output_norm.",
      why="Every engine builds the model from `{arch}.embedding_length` (n_embd); llama.cpp refuses tensors "
          "whose shape does not follow (`has wrong shape; expected 640, …`), Ollama's Go engine reshapes with the "
          "wrong size.",
      example="gemma3.embedding_length = 1024 in a file whose token_embd.weight is 640 wide.",
      fix="Set embedding_length to the model's hidden_size, or re-convert.",
      sources=(_LLAMA_MODEL,))
def embedding_length_vs_tensors(hdr: GGUFHeader) -> Iterable[Hit]:
    kv, n_embd = _arch_int(hdr, "embedding_length")
    if n_embd is None or n_embd <= 0:
        return
    for name in ("token_embd.weight", "output.weight", "output_norm.weight"):
        t = _rows(hdr, name)
        if t is not None and t.shape and t.shape[0] != n_embd:
            yield Hit(f"{kv.key} = {n_embd} but {name} is {t.shape[0]} wide (shape {list(t.shape)}): "
                      "llama.cpp refuses the tensor's shape",
                      subject=kv.key, offset=kv.offset,
                      hint=f"set {kv.key} to {t.shape[0]} if the tensors are right, or re-convert")
            return


_BLK = re.compile(r"^blk\.(\d+)\.")


@rule("GG713", "block-count-vs-tensors", Severity.ERROR,
      "`{arch}.block_count` disagrees with the blk.N tensors present.",
      why="llama.cpp creates the tensors of blocks 0..block_count-1 and fails on the first missing one "
          "(`missing tensor 'blk.N.attn_norm.weight'`) or on tensors it did not create (`wrong number of "
          "tensors`); with block_count 0 it aborts the whole process (measured with llama-cpp-python 0.3.36). "
          "Ollama's Go engine allocates block_count layers and leaves the rest unused or empty.",
      example="A pruned model: block_count 26 but tensors for blk.0 … blk.21 only.",
      fix="Set block_count to the number of blocks the file holds, or re-convert.",
      sources=(_LLAMA_MODEL,))
def block_count_vs_tensors(hdr: GGUFHeader) -> Iterable[Hit]:
    kv, n = _arch_int(hdr, "block_count")
    if n is None:
        return
    present = {int(m.group(1)) for t in hdr.tensors if (m := _BLK.match(t.name))}
    if not present:
        return
    beyond = sorted(i for i in present if i >= n)
    missing = sorted(set(range(n)) - present)
    if beyond:
        yield Hit(f"{kv.key} = {n} but the file has tensors for blk.{beyond[0]}"
                  + (f" … blk.{beyond[-1]}" if len(beyond) > 1 else "")
                  + ": llama.cpp fails with `wrong number of tensors`",
                  subject=kv.key, offset=kv.offset, hint=f"set {kv.key} to {max(present) + 1}, or re-convert")
    elif missing:
        shown = ", ".join(f"blk.{i}" for i in missing[:5]) + (" …" if len(missing) > 5 else "")
        yield Hit(f"{kv.key} = {n} but {len(missing)} block(s) have no tensors ({shown}): llama.cpp fails with "
                  f"`missing tensor 'blk.{missing[0]}.…'`",
                  subject=kv.key, offset=kv.offset, hint=f"set {kv.key} to the number of blocks present, or re-convert")


# llama.cpp src/llama-vocab.cpp 00ad355, llama_vocab::impl::load: the tokenizer.ggml.pre values a BPE
# vocabulary may carry; anything else is `unknown pre-tokenizer type` (the load fails).
KNOWN_PRE_TOKENIZERS = frozenset("""
default minicpm5 llama3 llama-v3 llama-bpe falcon3 falcon-h1 pixtral midm-2.0 lfm2 jina-v5-nano deepseek-llm
deepseek-coder deepseek-v3 spark2_5 youtu falcon mpt starcoder gpt-2 phi-2 jina-es jina-de gigachat jina-v2-es
jina-v2-de a.x-4.0 mellum modern-bert jais-2 gemma4 granite-embed-multi-311m sarvam-moe jina-v1-en jina-v2-code
roberta-bpe whitespace refact command-r qwen2 deepseek-r1-qwen kormo f2llmv2 qwen35 stablelm2 olmo dbrx smaug-bpe
poro-chat glm4 chatglm-bpe viking jais tekken smollm codeshell bloom gpt3-finnish exaone exaone4 exaone-moe
chameleon minerva-7b megrez gpt-4o llama4 kanana2 talkie granite-embed-multi-97m tiny_aya cohere2moe superbpe
trillion granite-docling bailingmoe bailingmoe2 llada-moe seed-coder hunyuan hunyuan-dense hy_v4 joyai-llm kimi-k2
ufakzeka grok-2 afmoe laguna minimax-m2 solar-open mellum2
""".split())
_VOCAB_SRC = "llama.cpp src/llama-vocab.cpp 00ad355 (llama_vocab::impl::load: tokenizer_pre)"
_OLLAMA_PRE = "ollama v0.24.0 model/models/llama/model.go (tokenizer.ggml.pre)"


def _bpe(hdr: GGUFHeader) -> bool:
    return hdr.value("tokenizer.ggml.model") == "gpt2"


@rule("GG714", "bpe-without-pre-tokenizer", Severity.WARNING,
      "A BPE vocabulary has no tokenizer.ggml.pre: llama.cpp warns that generation quality will be degraded.",
      why="BPE models split text with a model-specific regex before merging; `tokenizer.ggml.pre` names it. "
          "Without it llama.cpp uses the default split and prints `GENERATION QUALITY WILL BE DEGRADED! CONSIDER "
          "REGENERATING THE MODEL`; Ollama's Go engine falls back to a llama-style split. Numbers, code and "
          "non-English text tokenize differently from training.",
      example="A Qwen or Llama 3 GGUF converted before its tokenizer hash was known to convert_hf_to_gguf.py.",
      fix="Re-convert with a current convert_hf_to_gguf.py, which writes the right tokenizer.ggml.pre.",
      sources=(_VOCAB_SRC, _OLLAMA_PRE))
def bpe_without_pre(hdr: GGUFHeader) -> Iterable[Hit]:
    if _bpe(hdr) and "tokenizer.ggml.pre" not in hdr.kv:
        yield Hit("BPE vocabulary (tokenizer.ggml.model = gpt2) without tokenizer.ggml.pre: llama.cpp splits text "
                  "with its default regex and warns that generation quality will be degraded",
                  subject="tokenizer.ggml.pre",
                  hint="re-convert with a current convert_hf_to_gguf.py (it writes tokenizer.ggml.pre)")


@rule("GG715", "unknown-pre-tokenizer", Severity.ERROR,
      "tokenizer.ggml.pre names a pre-tokenizer llama.cpp does not know: llama.cpp refuses to load the file.",
      why="llama.cpp maps tokenizer.ggml.pre to a split regex from a fixed list and throws `unknown pre-tokenizer "
          "type: '…'` for any other value. Ollama >= 0.30 loads through it, and Ollama v0.24 hands the "
          "architectures its Go engine does not run (llama, qwen2, …) to its vendored llama.cpp, which refuses "
          "too (ollama/ollama#4529); the Go engine itself silently uses a llama-style split.",
      example="tokenizer.ggml.pre = 'my-model' from a patched converter, or a name only a newer llama.cpp knows.",
      fix="Re-convert with convert_hf_to_gguf.py so the value is one llama.cpp knows (e.g. llama-bpe, qwen2), "
          "or wait for the llama.cpp release that adds it and say so on the model card.",
      sources=(_VOCAB_SRC,))
def unknown_pre_tokenizer(hdr: GGUFHeader) -> Iterable[Hit]:
    kv = hdr.kv.get("tokenizer.ggml.pre")
    if not _bpe(hdr) or kv is None or not isinstance(kv.value, str) or not kv.value:
        return
    if kv.value not in KNOWN_PRE_TOKENIZERS:
        yield Hit(f"tokenizer.ggml.pre = {_show(kv.value)} is not a pre-tokenizer llama.cpp knows: llama.cpp (and "
                  "Ollama >= 0.30) refuse to load the file with `unknown pre-tokenizer type`",
                  subject="tokenizer.ggml.pre", offset=kv.offset,
                  hint="re-convert with a current convert_hf_to_gguf.py, which writes a known tokenizer.ggml.pre")


# ---------------------------------------------------------------------------------------------
# GG8xx: GGUFs that are not models, and tags two files answer

@rule("GG801", "not-a-model", Severity.INFO,
      "The GGUF is an importance matrix or a LoRA adapter (by its header), not a model: it is linted as a file "
      "only, never smoked, built or listed as a quant.",
      applies_to=ANY,
      why="llama-imatrix and convert_lora_to_gguf.py write GGUFs too (`general.type` = `imatrix` / `adapter`). "
          "Linted as models they drew a page of false errors (no vocabulary, no end token, quant label); smoked "
          "they fail to load; listed as a quant they send `ollama run hf.co/ORG/REPO:TAG` to a file that is not a "
          "model.",
      example="`imatrix.gguf` next to the quants, or `model-lora-F16.gguf`.",
      fix="Nothing to fix. Keep the file out of the quant pattern, or name it so no quant label is in its name "
          "(the Hub matches tags by file name).",
      sources=("llama.cpp tools/imatrix/imatrix.cpp (general.type = imatrix)",
               "llama.cpp convert_lora_to_gguf.py (general.type = adapter)"))
def not_a_model(hdr: GGUFHeader) -> Iterable[Hit]:
    kind = gguf_kind(hdr)
    if kind in (IMATRIX, ADAPTER):
        yield Hit(f"this GGUF is {DESCRIPTION[kind]}, not a model: only file-level rules apply; smoke, build and the "
                  "card leave it out", subject="general.type")


class RepoFiles(Record):
    """The GGUFs of one folder or Hub repo: display path -> header (None when unreadable)."""

    __slots__ = ("name", "files")
    name: str
    files: dict[str, GGUFHeader | None]

    def __init__(self, name: str, files: dict[str, GGUFHeader | None]):
        self._fill(name, files)


@rule("GG802", "ambiguous-tag", Severity.ERROR,
      "Two files answer the same `hf.co/ORG/REPO:TAG`: the Hub picks one of them by file name.",
      applies_to="repo", engines=(Engine.OLLAMA_GO, Engine.OLLAMA),
      why="The Hub derives each GGUF's tag from its file name (huggingface.js parseGGUFQuantLabel: the last "
          "quant-type name in the upper-cased name), so `X-Q8_0.gguf` and `X-imat-Q8_0.gguf` both answer "
          "`:Q8_0` and users get one of them without knowing which. The parts of one split set count once; "
          "projectors (mmproj-*) are separate.",
      example="`X-Q8_0.gguf` and `X-imat-Q8_0.gguf` in one repo.",
      fix="Publish one file per tag: move the other model (e.g. the imatrix quants) to its own repo, as "
          "mradermacher's `…-i1-GGUF` repos do. Renaming within the repo does not help while both names end "
          "in the same quant name: the Hub reads the last one.",
      sources=("huggingface.js packages/gguf/src/types.ts (parseGGUFQuantLabel)", HF_BRIDGE_SOURCE))
def ambiguous_tag(repo: RepoFiles) -> Iterable[Hit]:
    by_tag: dict[str, list[str]] = {}
    for path, hdr in repo.files.items():
        name = _file_name(path)
        if is_projector_filename(name) or (hdr is not None and is_projector(hdr)):
            continue
        part = shard_info(name)
        if part and part[0] != 1:
            continue
        tag = hub_tag_label(name)
        if tag is not None:
            by_tag.setdefault(tag, []).append(path)
    for tag, paths in sorted(by_tag.items()):
        if len(paths) > 1:
            yield Hit(ambiguous_tag_message([repo_path(p, repo.name) for p in paths], f"hf.co/ORG/REPO:{tag}"),
                      subject=tag, path=paths[0],
                      hint="publish one file per tag: keep one of them here and move the other model to its own repo")


def check_repo(repo: RepoFiles) -> list[Finding]:
    """The findings of the rules that look at a folder's or repo's GGUFs together (duplicate labels,
    split sets), each with the repo's name as its path."""
    out: list[Finding] = []
    for r in RULES.values():
        if r.applies_to == "repo" and r.check is not None:
            out.extend(_finding(r, repo.name, hit) for hit in r.check(repo))
    return out


# ---------------------------------------------------------------------------------------------
# GG3xx: split sets (several files at once)

@rule("GG301", "split-set", Severity.WARNING,
      "The model is split into several files; Ollama's hf.co bridge refuses split GGUFs.", applies_to=SPLIT_SET)
def split_set_warning(s: SplitSet) -> Iterable[Hit]:
    first = s.parts.get(1)
    from publish.termtext import shell_command

    first_name = first.path if first is not None else s.name
    yield Hit(f"split into {s.count} files: Ollama's hf.co bridge refuses split GGUFs; "
              "ship an unsplit file for Ollama",
              hint=shell_command("llama-gguf-split", "--merge", first_name, unsplit_name(first_name)))


@rule("GG302", "split-part-missing", Severity.ERROR,
      "A part of a split set is missing.", applies_to=SPLIT_SET)
def split_part_missing(s: SplitSet) -> Iterable[Hit]:
    for path in s.missing:
        yield Hit(f"split part {_file_name(path)} is missing: llama.cpp cannot load the set",
                  subject=_file_name(path), hint="upload or copy every part of the split set")


@rule("GG303", "split-inconsistent", Severity.ERROR,
      "The parts of a split set disagree (split.no / split.count / split.tensors.count / names).",
      applies_to=SPLIT_SET)
def split_inconsistent(s: SplitSet) -> Iterable[Hit]:
    for hdr in s.misnamed:
        yield Hit(f"{_file_name(hdr)} has split.count = {hdr.value('split.count')} but its name does not follow "
                  "NAME-00001-of-0000N.gguf, so llama.cpp cannot find the other parts",
                  subject="split.count", offset=hdr.kv["split.count"].offset,
                  hint="rename the parts to NAME-0000i-of-0000N.gguf")
    if s.misnamed:
        return
    from publish.gguf.split import check_parts, part_names

    names = part_names(s.name) or [s.name]
    headers = [s.parts.get(no) for no in range(1, len(names) + 1)]
    for problem in check_parts(names, headers):
        yield Hit(problem.message, subject=problem.key, offset=problem.offset, path=problem.path)


def check_split_set(s: SplitSet) -> list[Finding]:
    """The findings of the split-set rules (GG3xx: missing parts, parts that disagree) for one set,
    reported on its first part."""
    path = s.parts[min(s.parts)].path if s.parts else s.name
    out: list[Finding] = []
    for r in RULES.values():
        if r.applies_to == SPLIT_SET and r.check is not None:
            out.extend(_finding(r, path, hit) for hit in r.check(s))
    return out


def merged_view(s: SplitSet) -> GGUFHeader | None:
    """The first part's header with the tensors of every present part, for the single-file rules."""
    first = s.parts.get(1)
    if first is None:
        return None
    tensors = [t for _, h in sorted(s.parts.items()) for t in h.tensors]
    return first.replace(tensors=tensors)


# the engines and page text of the rules registered before the registry had those fields
from publish.gguf import rule_docs  # noqa: E402,F401  (registers on import)
