"""Each lint rule fires on a real bad GGUF and stays silent on a good one."""

from __future__ import annotations

from pathlib import Path

import pytest
from gguf import GGMLQuantizationType as Q
from gguf import GGUFValueType as T

from ggufs import write_gguf
from publish.findings import Severity
from publish.gguf.changes import RemoveKey, SetValue
from publish.gguf.reader import read_header
from publish.gguf.rules import RULES, check_header, planned_fixes
from paths import ROOT

VOCAB = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>", "a", "b"]
TEMPLATE = (
    "{% for m in messages %}<start_of_turn>{{ m.role }}\n{{ m.content }}<end_of_turn>\n{% endfor %}"
    "{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)
DROP = object()


def clean_kv() -> dict:
    return {
        "general.name": "Clean",
        "general.file_type": (7, T.UINT32),  # MOSTLY_Q8_0
        "general.quantization_version": (2, T.UINT32),
        "general.quantized_by": "publish tests",
        "general.license": "apache-2.0",
        "general.base_model.count": (1, T.UINT32),
        "general.base_model.0.name": "Clean Base",
        "llama.block_count": 1,
        "llama.context_length": 4096,
        "llama.embedding_length": 256,
        "llama.feed_forward_length": 64,
        "llama.attention.head_count": 2,
        "llama.attention.head_count_kv": 2,
        "llama.attention.layer_norm_rms_epsilon": 1e-5,
        "llama.rope.freq_base": 10000.0,
        "tokenizer.ggml.model": "llama",
        "tokenizer.ggml.tokens": (VOCAB, T.ARRAY, T.STRING),
        "tokenizer.ggml.bos_token_id": 2,
        "tokenizer.ggml.eos_token_id": 1,
        "tokenizer.ggml.eot_token_id": 5,
        "tokenizer.ggml.padding_token_id": 0,
        "tokenizer.ggml.add_bos_token": True,
        "tokenizer.chat_template": TEMPLATE,
    }


def clean_tensors(main: Q = Q.Q8_0) -> list:
    return [
        ("token_embd.weight", (256, 8), main),
        ("blk.0.attn_q.weight", (256, 4), main),
        ("blk.0.ffn_up.weight", (256, 4), main),
        ("output_norm.weight", (256,), Q.F32),
    ]


def build(tmp_path: Path, name: str = "clean-Q8_0.gguf", *, arch: str = "llama", kv: dict | None = None,
          tensors: list | None = None, **overrides):
    """Write a GGUF from the clean baseline with `overrides` (key=value, DROP removes) and read it back."""
    base = clean_kv() if kv is None else kv
    for key, value in overrides.items():
        key = key.replace("__", ".")
        if value is DROP:
            base.pop(key, None)
        else:
            base[key] = value
    path = write_gguf(tmp_path / name, arch=arch, kv=base, tensors=tensors or clean_tensors())
    return read_header(path)


def codes(hdr) -> set[str]:
    return {f.code for f in check_header(hdr)}


def only(hdr, code: str):
    found = [f for f in check_header(hdr) if f.code == code]
    assert found, f"{code} did not fire; got {codes(hdr)}"
    return found


def test_clean_file_has_no_findings(tmp_path):
    assert check_header(build(tmp_path)) == []


def test_registry_codes_are_unique_and_documented():
    for code, r in RULES.items():
        assert code == r.code and code[:2] == "GG" and len(code) == 5
        assert r.summary and r.name
    # The README names each family of codes (`GG1xx`...), whose every code `publish rule --list`
    # lists; every code's documentation page: tests/test_docs.py
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    families = {code[:3] for code in RULES}
    missing = [f for f in sorted(families) if f"`{f}xx`" not in readme and not any(
        f"`{code}`" in readme for code in RULES if code.startswith(f))]
    assert not missing, f"rule families missing from the README's rules table: {missing}"


# -- GG1xx stored types ---------------------------------------------------------------------------

def test_shared_kv_layers_float32_is_a_fixable_error(tmp_path):
    hdr = build(tmp_path, arch="gemma3n", kv={**{k.replace("llama.", "gemma3n."): v for k, v in clean_kv().items()},
                                               "gemma3n.attention.shared_kv_layers": (10.0, T.FLOAT32)})
    (f,) = only(hdr, "GG101")
    assert f.severity == Severity.ERROR and f.fixable
    assert f.subject == "gemma3n.attention.shared_kv_layers"
    assert f.offset == hdr.kv[f.subject].offset
    assert "FLOAT32" in f.message and "UINT32" in f.message
    [(finding, changes)] = [p for p in planned_fixes(hdr) if p[0].code == "GG101"]
    assert changes == [SetValue("gemma3n.attention.shared_kv_layers", 10, T.UINT32, reason=changes[0].reason)]
    assert isinstance(changes[0].value, int)


@pytest.mark.parametrize("value,fixable", [((10, T.INT32), True), ((10.5, T.FLOAT32), False),
                                           ((-1, T.INT32), False)])
def test_shared_kv_layers_other_types(tmp_path, value, fixable):
    hdr = build(tmp_path, llama__attention__shared_kv_layers=value)
    (f,) = only(hdr, "GG101")
    assert f.fixable is fixable


def test_shared_kv_layers_uint32_is_silent(tmp_path):
    assert "GG101" not in codes(build(tmp_path, llama__attention__shared_kv_layers=(10, T.UINT32)))


@pytest.mark.parametrize("ggml_type,bad", [(Q.Q4_K, True), (Q.Q6_K, False), (Q.IQ4_XS, True), (Q.Q5_K, True),
                                           (Q.Q8_0, False), (Q.Q4_0, False), (Q.F16, False), (Q.BF16, False)])
def test_per_layer_token_embd_types(tmp_path, ggml_type, bad):
    tensors = clean_tensors() + [("per_layer_token_embd.weight", (256, 4), ggml_type)]
    hdr = build(tmp_path, tensors=tensors)
    if not bad:
        assert "GG102" not in codes(hdr)
        return
    (f,) = only(hdr, "GG102")
    assert f.severity == Severity.WARNING and not f.fixable
    assert ggml_type.name in f.message and "runs it on the CPU" in f.message
    assert "--tensor-type per_layer_token_embd=q8_0" in f.hint
    assert f.offset == next(t.info_offset for t in hdr.tensors if t.name == "per_layer_token_embd.weight")


@pytest.mark.parametrize("key,value,fix", [
    ("llama.context_length", (4096.0, T.FLOAT32), SetValue("llama.context_length", 4096, T.UINT32)),
    ("llama.block_count", (1, T.INT32), SetValue("llama.block_count", 1, T.UINT32)),
    ("llama.embedding_length", (32, T.UINT64), SetValue("llama.embedding_length", 32, T.UINT32)),
    ("llama.rope.freq_base", (10000, T.UINT32), SetValue("llama.rope.freq_base", 10000.0, T.FLOAT32)),
    ("llama.attention.layer_norm_rms_epsilon", (1e-5, T.FLOAT64),
     SetValue("llama.attention.layer_norm_rms_epsilon", 1e-5, T.FLOAT32)),
    ("tokenizer.ggml.add_bos_token", (1, T.UINT8), SetValue("tokenizer.ggml.add_bos_token", True, T.BOOL)),
    ("tokenizer.ggml.bos_token_id", (2, T.INT32), SetValue("tokenizer.ggml.bos_token_id", 2, T.UINT32)),
    ("general.file_type", (7.0, T.FLOAT32), SetValue("general.file_type", 7, T.UINT32)),
    ("llama.attention.head_count", ([2.0], T.ARRAY, T.FLOAT32),
     SetValue("llama.attention.head_count", [2], T.ARRAY, array_type=T.UINT32)),
    ("tokenizer.ggml.padding_token_id", (-1, T.INT32), RemoveKey("tokenizer.ggml.padding_token_id")),
    ("llama.context_length", (4096.5, T.FLOAT32), None),
    ("general.name", (3, T.UINT32), None),
])
def test_well_known_key_types(tmp_path, key, value, fix):
    hdr = build(tmp_path, **{key.replace(".", "__"): value})
    (f,) = only(hdr, "GG103")
    assert f.subject == key and f.severity == Severity.ERROR
    assert f.fixable is (fix is not None)
    if fix is not None:
        [(_, changes)] = [p for p in planned_fixes(hdr) if p[0].code == "GG103"]
        got = changes[0]
        assert type(got) is type(fix) and got.key == fix.key
        if isinstance(fix, SetValue):
            assert (got.type, got.array_type) == (fix.type, fix.array_type)
            assert got.value == pytest.approx(fix.value)


@pytest.mark.parametrize("key,value", [
    ("llama.feed_forward_length", ([64, 64], T.ARRAY, T.INT32)),   # Ollama's UintOrArrayValueAsArray
    ("llama.attention.head_count_kv", ([2, 1], T.ARRAY, T.UINT32)),
    ("tokenizer.ggml.token_type", ([1] * len(VOCAB), T.ARRAY, T.INT32)),
])
def test_accepted_array_forms_are_silent(tmp_path, key, value):
    assert "GG103" not in codes(build(tmp_path, **{key.replace(".", "__"): value}))


def test_missing_architecture_is_an_error(tmp_path):
    path = write_gguf(tmp_path / "noarch-Q8_0.gguf", kv=clean_kv(), tensors=clean_tensors())
    data = path.read_bytes()
    path.write_bytes(data.replace(b"general.architecture", b"general.architecturX", 1))
    (f,) = only(read_header(path), "GG100")
    assert f.severity == Severity.ERROR


# -- GG2xx tokenizer -------------------------------------------------------------------------------

def test_no_vocabulary(tmp_path):
    (f,) = only(build(tmp_path, tokenizer__ggml__tokens=DROP), "GG200")
    assert f.severity == Severity.ERROR


@pytest.mark.parametrize("key", ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.padding_token_id",
                                 "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eot_token_id"])
def test_token_id_outside_vocab(tmp_path, key):
    hdr = build(tmp_path, **{key.replace(".", "__"): len(VOCAB)})
    found = only(hdr, "GG201")
    assert [f.subject for f in found] == [key]
    assert "outside the vocabulary" in found[0].message and found[0].severity == Severity.ERROR


def test_negative_token_id_is_reported_once_as_a_type_problem(tmp_path):
    hdr = build(tmp_path, tokenizer__ggml__padding_token_id=(-1, T.INT32))
    assert codes(hdr) == {"GG103"}


def test_no_end_token(tmp_path):
    hdr = build(tmp_path, tokenizer__ggml__eos_token_id=DROP, tokenizer__ggml__eot_token_id=DROP)
    assert only(hdr, "GG202")[0].severity == Severity.ERROR
    assert "GG202" not in codes(build(tmp_path, tokenizer__ggml__eos_token_id=DROP))


def test_no_chat_template(tmp_path):
    (f,) = only(build(tmp_path, tokenizer__chat_template=DROP), "GG203")
    assert f.severity == Severity.WARNING


@pytest.mark.parametrize("template", [
    "{{ bos_token }}" + TEMPLATE,
    "{{- bos_token + '' -}}" + TEMPLATE,
    "<bos>" + TEMPLATE,
    # found by rendering: BOS through a variable, a concatenation, a macro (text search missed these)
    "{% set prefix = bos_token + '' %}{{ prefix }}" + TEMPLATE,
    "{%- set ns = namespace(p=bos_token) -%}{{ ns.p }}" + TEMPLATE,
    "{% macro start() %}{{ bos_token }}{% endmacro %}{{ start() }}" + TEMPLATE,
    "{{ ('<' ~ 'bos>') }}" + TEMPLATE,
])
def test_double_bos(tmp_path, template):
    """llama.cpp warns "Added a BOS token to the prompt as specified by the model but the prompt also
    starts with a BOS token" (llama-cpp-python#1501, koboldcpp#917, cortex.cpp#618)."""
    (f,) = only(build(tmp_path, tokenizer__chat_template=template), "GG204")
    assert f.severity == Severity.WARNING
    assert "'<bos>'" in f.message and "two BOS tokens" in f.message and "--jinja" in f.message
    assert "Ollama Go templates" in f.hint


@pytest.mark.parametrize("template", [
    "{# the model card says: start with {{ bos_token }} #}" + TEMPLATE,   # BOS only in a comment
    "{% if false %}{{ bos_token }}{% endif %}" + TEMPLATE,                 # BOS in a branch never taken
    "\n" + TEMPLATE,
])
def test_no_double_bos_when_the_render_has_none(tmp_path, template):
    assert "GG204" not in codes(build(tmp_path, tokenizer__chat_template=template))


def test_bos_in_template_without_add_bos_is_silent(tmp_path):
    hdr = build(tmp_path, tokenizer__chat_template="{{ bos_token }}" + TEMPLATE, tokenizer__ggml__add_bos_token=False)
    assert "GG204" not in codes(hdr)


def test_turn_end_token_not_declared_is_fixable(tmp_path):
    hdr = build(tmp_path, tokenizer__ggml__eot_token_id=DROP)
    (f,) = only(hdr, "GG205")
    # the fix line is the advice; no hint tells the maintainer to add a stop (params may have it: RP115's call)
    assert "<end_of_turn>" in f.message and f.fixable and f.hint is None
    [(_, changes)] = [p for p in planned_fixes(hdr) if p[0].code == "GG205"]
    by_key = {c.key: c for c in changes}
    assert by_key["tokenizer.ggml.eot_token_id"] == SetValue("tokenizer.ggml.eot_token_id", 5, T.UINT32,
                                                             reason=by_key["tokenizer.ggml.eot_token_id"].reason)
    ids = by_key["tokenizer.ggml.eos_token_ids"]   # what Ollama's engine reads, EOS first
    assert (ids.value, ids.type, ids.array_type) == ([1, 5], T.ARRAY, T.INT32)


@pytest.mark.parametrize("overrides", [
    {"tokenizer__ggml__eos_token_id": 5},                                   # EOS is the turn end
    {},                                                                     # EOT is declared (clean kv)
    {"tokenizer__ggml__eot_token_id": DROP,
     "tokenizer__ggml__eos_token_ids": ([1, 5], T.ARRAY, T.INT32)},         # Ollama's extra EOS ids
    {"tokenizer__ggml__eot_token_id": DROP, "tokenizer__chat_template": "{{ messages }}"},  # not used
])
def test_turn_end_token_declared_or_unused_is_silent(tmp_path, overrides):
    assert "GG205" not in codes(build(tmp_path, **overrides))


def test_turn_end_with_other_eot_only_extends_eos_ids(tmp_path):
    hdr = build(tmp_path, tokenizer__ggml__eot_token_id=1, tokenizer__ggml__eos_token_ids=([1], T.ARRAY, T.INT32))
    [(f, changes)] = [p for p in planned_fixes(hdr) if p[0].code == "GG205"]
    assert [(c.key, c.value) for c in changes] == [("tokenizer.ggml.eos_token_ids", [1, 5])]


# -- GG4xx quant label -----------------------------------------------------------------------------

def test_label_disagrees_with_file_type(tmp_path):
    (f,) = only(build(tmp_path, "m-Q4_K_M.gguf", tensors=clean_tensors(Q.Q4_K)), "GG401")
    assert "Q4_K_M" in f.message and "Q8_0" in f.message and f.subject == "general.file_type"


def test_label_disagrees_with_tensors(tmp_path):
    hdr = build(tmp_path, "m-Q4_K_M.gguf", general__file_type=(15, T.UINT32))  # tensors are Q8_0
    (f,) = only(hdr, "GG402")
    assert "Q8_0" in f.message
    assert "GG401" not in codes(hdr)


def test_k_quant_mix_matches_its_label(tmp_path):
    tensors = clean_tensors(Q.Q4_K) + [("blk.0.ffn_down.weight", (256, 16), Q.Q6_K)]
    assert not codes(build(tmp_path, "m-Q4_K_M.gguf", general__file_type=(15, T.UINT32), tensors=tensors)) & {
        "GG401", "GG402"}


@pytest.mark.parametrize("label,file_type,tensors", [
    # llama-quantize's own mixes: the labelled type dominates by count or by bytes
    ("IQ3_M", 27, [("blk.0.attn_q.weight", (256, 8), Q.IQ3_S), ("blk.0.ffn_up.weight", (256, 8), Q.IQ3_S),
                   ("blk.0.ffn_down.weight", (256, 8), Q.Q4_K)]),
    ("Q4_0", 2, [("blk.0.attn_q.weight", (256, 4), Q.Q4_0), ("blk.0.ffn_up.weight", (256, 4), Q.Q4_0),
                 ("output.weight", (256, 16), Q.Q6_K)]),
    ("MXFP4_MOE", 38, [("blk.0.attn_q.weight", (256, 1), Q.Q8_0), ("blk.0.attn_k.weight", (256, 1), Q.Q8_0),
                       ("blk.0.attn_v.weight", (256, 1), Q.Q8_0),
                       ("blk.0.ffn_up_exps.weight", (256, 64, 4), Q.MXFP4),
                       ("blk.0.ffn_down_exps.weight", (256, 64, 4), Q.MXFP4)]),
    ("F16", 1, [("token_embd.weight", (256, 8), Q.F16), ("blk.0.attn_q.weight", (256, 4), Q.F32)]),
    ("UD-IQ2_XXS", 19, [("blk.0.attn_q.weight", (256, 4), Q.IQ2_XXS), ("blk.0.ffn_down.weight", (256, 64), Q.Q4_K)]),
])
def test_real_world_mixes_match_their_labels(tmp_path, label, file_type, tensors):
    hdr = build(tmp_path, f"model-{label}.gguf", general__file_type=(file_type, T.UINT32), tensors=tensors)
    assert not codes(hdr) & {"GG401", "GG402", "GG403"}


def test_unsloth_dynamic_label_accepts_family(tmp_path):
    tensors = [("token_embd.weight", (256, 8), Q.Q6_K), ("blk.0.attn_q.weight", (256, 32), Q.Q8_0),
               ("blk.0.ffn_up.weight", (256, 4), Q.Q4_K), ("output_norm.weight", (32,), Q.F32)]
    hdr = build(tmp_path, "gemma-3n-E4B-it-UD-Q4_K_XL.gguf", general__file_type=(15, T.UINT32), tensors=tensors)
    assert not codes(hdr) & {"GG401", "GG402", "GG403"}


def test_unsloth_dynamic_label_of_other_family_is_flagged(tmp_path):
    """A UD mix's general.file_type is its base run's (GG401 stays quiet); its tensors are checked."""
    hdr = build(tmp_path, "m-UD-Q2_K_XL.gguf", general__file_type=(7, T.UINT32))
    assert "GG402" in codes(hdr) and "GG401" not in codes(hdr)


def test_float_label_with_quantized_tensor_is_an_error(tmp_path):
    tensors = [("token_embd.weight", (32, 8), Q.BF16), ("blk.0.attn_q.weight", (32, 32), Q.Q8_0)]
    hdr = build(tmp_path, "m-BF16.gguf", general__file_type=(32, T.UINT32), tensors=tensors)
    (f,) = only(hdr, "GG403")
    assert f.severity == Severity.ERROR and f.subject == "blk.0.attn_q.weight"


def test_float_label_all_float_is_silent(tmp_path):
    tensors = [("token_embd.weight", (32, 8), Q.BF16), ("blk.0.attn_q.weight", (32, 32), Q.BF16),
               ("output_norm.weight", (32,), Q.F32)]
    hdr = build(tmp_path, "m-BF16.gguf", general__file_type=(32, T.UINT32), tensors=tensors)
    assert not codes(hdr) & {"GG401", "GG402", "GG403"}


def test_no_file_type_and_no_label(tmp_path):
    hdr = build(tmp_path, "model.gguf", general__file_type=DROP)
    assert {"GG404", "GG405"} <= codes(hdr)
    assert all(f.severity == Severity.INFO for f in check_header(hdr) if f.code in {"GG404", "GG405"})


# -- GG5xx general metadata ------------------------------------------------------------------------

@pytest.mark.parametrize("code,drop", [("GG501", ["general.name"]), ("GG502", ["general.quantized_by"]),
                                       ("GG503", ["general.license"]),
                                       ("GG504", ["general.base_model.count", "general.base_model.0.name"])])
def test_general_metadata_is_info(tmp_path, code, drop):
    hdr = build(tmp_path, **{k.replace(".", "__"): DROP for k in drop})
    assert {f.code for f in check_header(hdr)} == {code}
    assert only(hdr, code)[0].severity == Severity.INFO


# -- GG6xx projectors ------------------------------------------------------------------------------

def projector_kv(**extra) -> dict:
    kv = {"general.type": "mmproj", "general.name": "Vision", "general.file_type": (1, T.UINT32),
          "clip.has_vision_encoder": True, "clip.projector_type": "gemma3",
          "clip.vision.image_size": 896}
    kv.update(extra)
    return {k: v for k, v in kv.items() if v is not DROP}


PROJECTOR_TENSORS = [("v.patch_embd.weight", (32, 32), Q.F16), ("mm.input_projection.weight", (32, 32), Q.F16)]


def test_projector_is_linted_as_projector(tmp_path):
    hdr = build(tmp_path, "mmproj-model-F16.gguf", arch="clip", kv=projector_kv(), tensors=PROJECTOR_TENSORS)
    assert check_header(hdr) == []  # no vocabulary, chat template, label or metadata findings


def test_projector_without_encoder_or_type(tmp_path):
    kv = projector_kv(**{"clip.has_vision_encoder": DROP, "clip.projector_type": DROP})
    hdr = build(tmp_path, "mmproj-model-F16.gguf", arch="clip", kv=kv, tensors=PROJECTOR_TENSORS)
    assert codes(hdr) == {"GG601", "GG602"}


def test_projector_recognised_by_header_with_other_name(tmp_path):
    hdr = build(tmp_path, "vision-F16.gguf", arch="clip", kv=projector_kv(), tensors=PROJECTOR_TENSORS)
    assert codes(hdr) == {"GG603"}


def test_language_model_named_mmproj(tmp_path):
    hdr = build(tmp_path, "mmproj-oops-Q8_0.gguf")
    assert codes(hdr) == {"GG604"}


@pytest.mark.parametrize("name, fires", [
    ("model-Q4_K.gguf", True),           # our parser reads Q4_K; the Hub reads nothing: `:Q4_K` is a 400
    ("model-FP16.gguf", True),
    ("model-Q4_K_M.gguf", False),
    ("tiny-q4_k_m-imat.gguf", False),    # the Hub reads Q4_K_M from the middle of the name (GG802 uses it)
    ("model-UD-Q4_K_XL.gguf", False),
    ("model.gguf", True),
])
def test_gg405_follows_the_hubs_reading_of_the_name(tmp_path, name, fires):
    hdr = build(tmp_path, name)
    assert ("GG405" in codes(hdr)) is fires
    if name == "model-Q4_K.gguf":
        hit = next(f for f in check_header(hdr) if f.code == "GG405")
        assert "Q4_K" in hit.message and "400" in hit.message


def test_only_the_jinja_rules_ask_for_jinja_facts(tmp_path, monkeypatch):
    """check_header runs JINJA_RULES last so that lint's worker has computed their facts by then
    (publish.jinja_worker): a rule that asks publish.jinja_facts and is not listed would wait for
    the worker early, one that is listed and does not ask would only be late. Its findings stay in
    registry order."""
    from ggufs import write_tiny_llama
    from publish import jinja_facts
    from publish.gguf import rules

    asked: dict[str, set[str]] = {}
    running: list[str] = []
    real = jinja_facts._fact
    monkeypatch.setattr(jinja_facts, "_fact", lambda key: (asked.setdefault(running[-1], set()).add(key[0]),
                                                           real(key))[1])
    for add_bos in (True, False):   # GG204 renders when BOS is added, GG702 when it is not
        hdr = read_header(write_tiny_llama(tmp_path / f"m-{add_bos}-F32.gguf", add_bos_token=add_bos))
        for r in RULES.values():
            if r.check is not None and r.applies_to in (rules._scope(hdr), rules.ANY):
                running.append(r.code)
                list(r.check(hdr))
    assert set(asked) == rules.JINJA_RULES, asked
    hdr = read_header(write_tiny_llama(tmp_path / "m-Q8_0.gguf", add_bos_token=False,
                                       chat_template="{% for m in messages %}{{ m['content'] }}{% endfor %}",
                                       drop_kv=("llama.context_length",)))   # + GG710, after GG702
    codes = [f.code for f in check_header(hdr)]
    assert codes == [r.code for r, _ in rules._hits(hdr)] and codes[-2:] == ["GG702", "GG710"]
