"""Engines and page text (why, example, fix, sources) of the GG rules registered before the
registry had those fields. Rules written since carry them in their `@rule(...)` call.

Sources are the files read for the claim, with the version: Ollama v0.24.0 from its Go module
(`go env GOMODCACHE`/github.com/ollama/ollama@v0.24.0), llama.cpp from ggml-org/llama.cpp.
"""

from __future__ import annotations

from publish.engines import ALL_ENGINES, LLAMA_CPP_LOADER, OLLAMA_ANY, Engine
from publish.gguf.rules import HF_BRIDGE_SOURCE as HF_BRIDGE
from publish.gguf.rules import RULES, document

GO = (Engine.OLLAMA_GO,)
OLLAMA_KV = "ollama v0.24.0 fs/ggml/ggml.go (keyValue: kv[key].(T), default on a type mismatch)"
OLLAMA_ENGINE = "ollama v0.24.0 fs/ggml/ggml.go (KV.OllamaEngineRequired) and llm/server.go (NewLlamaServer)"
LLAMA_LOADER = "llama.cpp src/llama-model-loader.cpp (get_key: a key of another type is refused)"
LLAMA_VOCAB = "llama.cpp src/llama-vocab.cpp 00ad355 (llama_vocab::impl::load)"

_DOCS = {
    "GG001": dict(engines=ALL_ENGINES, why="Every engine parses the whole header before it loads anything; a "
                  "truncated or corrupt file fails with a parse error far from the cause.",
                  example="An upload interrupted at 60%: the tensor data ends before the last tensor's offset.",
                  fix="Re-download or re-convert the file; compare its size and sha256 with the source. A file "
                  "without the GGUF magic is named for what it is (a Git LFS pointer: `git lfs pull`; the Hub's "
                  "web page of the file: fetch its /resolve/ URL; an empty file; a pre-GGUF GGML/GGJT model: "
                  "convert it) and the finding's hint says what to do.",
                  sources=("llama.cpp ggml/src/gguf.cpp (gguf_init_from_file)", "ollama v0.24.0 fs/ggml/gguf.go")),
    "GG100": dict(engines=ALL_ENGINES, why="The architecture key picks the model code in both engines; without it "
                  "llama.cpp fails with `unknown model architecture` and Ollama cannot pick a runner.",
                  example="A header edited by hand, or written by a custom gguf-py script, that lost "
                  "`general.architecture`: llama.cpp stops with `unknown model architecture: ''`. A value "
                  "stored as another type than STRING is reported too. An importance matrix (`imatrix.gguf`, "
                  "which llama-imatrix writes without an architecture) is not reported: see GG801.",
                  fix="Re-convert with llama.cpp's convert_hf_to_gguf.py.",
                  sources=("llama.cpp src/llama-model.cpp (load_arch)", OLLAMA_ENGINE)),
    "GG101": dict(engines=GO, why="Ollama's Go engine reads `{arch}.attention.shared_kv_layers` with "
                  "`c.Uint(...)`: a FLOAT32 or INT32 value fails the Go type assertion and reads as 0, so no layer "
                  "shares the KV cache it was trained to share. Nothing fails: the model loads, `ollama run` "
                  "answers, and the answer is wrong. On the real Ollama v0.24.0 (a tiny gemma3n, greedy) the "
                  "FLOAT32 file writes different text than the UINT32 one, HTTP 200, "
                  "no error; the only trace is a DEBUG line with OLLAMA_DEBUG=1, verbatim: "
                  "`level=DEBUG source=ggml.go:326 msg=\"key with type not found\" "
                  "key=gemma3n.attention.shared_kv_layers default=0`. After `publish fix` the file writes the "
                  "UINT32 file's text again.",
                  example="gemma3n.attention.shared_kv_layers stored as FLOAT32 10.0 by an old converter.",
                  fix="`publish fix FILE` rewrites it as UINT32 in place.",
                  sources=("ollama v0.24.0 model/models/gemma3n/model_text.go (sharedKeyValueLayers)", OLLAMA_KV,
                           "run: Ollama v0.24.0 built by `make ollama`, CPU (docs/real-engines.md)")),
    "GG102": dict(engines=(Engine.OLLAMA_GO,),
                  why="Ollama's gemma3n engine looks rows of per_layer_token_embd up (get_rows) for every token and "
                  "keeps the tensor with the output layer, on the GPU when that is offloaded. ggml's CPU backend "
                  "looks rows up in any type: on the real Ollama v0.24.0 (CPU) a Q4_K per_layer_token_embd runs "
                  "and writes exactly the text of the same values in F32, with no message at all. ggml's CUDA "
                  "backend (v0.24.0) looks rows up only in "
                  "F32/F16/BF16/Q4_0/Q4_1/Q5_0/Q5_1/Q8_0/Q6_K; for other types its scheduler copies the weight to "
                  "a backend that can (ggml-backend.cpp, \"the weight will need to be copied\"): slower, not "
                  "broken, and not run here (no GPU). This rule used to say the model fails in Ollama; on v0.24.0 "
                  "it does not, so it is a warning. llama.cpp puts this tensor in a buffer whose backend supports "
                  "GET_ROWS for its type (llama-arch.cpp LLM_TENSOR_LAYER_OUTPUT + GGML_OP_GET_ROWS), so it is "
                  "not about llama.cpp.",
                  example="gemma-3n-E4B-it-Q4_K_M.gguf with per_layer_token_embd.weight in Q4_K.",
                  fix="Requantize with `--tensor-type per_layer_token_embd=q8_0` (Ollama's own quantizer never "
                  "quantizes this tensor: server/quantization.go).",
                  sources=("ollama v0.24.0 model/models/gemma3n/model_text.go (TokenEmbedding per_layer_token_embd)",
                           "ollama v0.24.0 ml/backend/ggml/ggml.go (output layer tensors)",
                           "ollama v0.24.0 ml/backend/ggml/ggml/src/ggml-cuda/ggml-cuda.cu (supports_op GET_ROWS)",
                           "run: Ollama v0.24.0 built by `make ollama`, CPU (docs/real-engines.md)")),
    "GG103": dict(engines=ALL_ENGINES, why="Ollama reads metadata with Go type assertions and silently takes the "
                  "default (0/false/\"\") when the stored type differs; llama.cpp refuses a required key of another "
                  "type when it loads.",
                  example="llama.context_length stored as INT32, tokenizer.ggml.add_bos_token stored as UINT8.",
                  fix="`publish fix FILE` re-types values that convert without loss; otherwise re-convert.",
                  sources=(OLLAMA_KV, LLAMA_LOADER)),
    "GG200": dict(engines=ALL_ENGINES, why="Without tokenizer.ggml.tokens there is nothing to tokenize with: "
                  "llama.cpp fails with `cannot find tokenizer vocab in model file`.",
                  example="A GGUF written by a custom export script that copied the tokenizer's settings "
                  "(`tokenizer.ggml.model`, the special-token ids) but not the token list "
                  "`tokenizer.ggml.tokens`: llama.cpp stops with `error loading model vocabulary: cannot find "
                  "tokenizer vocab in model file`. With no `tokenizer.ggml.*` key at all it stops one step "
                  "earlier, with `key not found in model: tokenizer.ggml.model`.",
                  fix="Re-convert with convert_hf_to_gguf.py from a folder that has the tokenizer files.",
                  sources=(LLAMA_VOCAB,)),
    "GG201": dict(engines=ALL_ENGINES, why="A special token id past the vocabulary makes llama.cpp fall back to "
                  "its default id (`bad special token`) and Ollama index out of range.",
                  example="`tokenizer.ggml.eos_token_id = 32000` in a file whose `tokenizer.ggml.tokens` holds "
                  "32,000 tokens (ids 0 to 31,999), reported as `tokenizer.ggml.eos_token_id = 32000 is outside "
                  "the vocabulary (32,000 tokens)`. A model converted with exactly this EOS id led llama.cpp to "
                  "check these ids when it loads (ggml-org/llama.cpp#3635).",
                  fix="Set the right id with `publish fix` or re-convert.", sources=(LLAMA_VOCAB,)),
    "GG202": dict(engines=ALL_ENGINES, why="With no EOS/EOT declared, Ollama's Go engine stops on token 0 and "
                  "llama.cpp on its default id: generation runs on until the context is full.",
                  example="A file whose vocabulary was copied by a script that left out the special-token ids: "
                  "it has `tokenizer.ggml.tokens` but none of `tokenizer.ggml.eos_token_id`, "
                  "`tokenizer.ggml.eot_token_id` and `tokenizer.ggml.eos_token_ids`. A file that declares any "
                  "one of the three is not reported.",
                  fix="Set tokenizer.ggml.eos_token_id (and eot_token_id for chat models).",
                  sources=(LLAMA_VOCAB, "ollama v0.24.0 model/models/llama/model.go (EOS from eos_token_id)")),
    "GG203": dict(engines=ALL_ENGINES, why="Without a chat template, llama.cpp's --jinja and Ollama's hf.co "
                  "bridge have no prompt format; chat clients fall back to a raw prompt. A base (pretrained) "
                  "model has no chat format and needs none: the rule does not run for a base release "
                  "(`[model] kind = \"base\"`, a staged `template` of `{{ .Prompt }}`, or `publish lint --base`; "
                  "docs/base-models.md).",
                  example="An instruct finetune converted from a folder whose tokenizer_config.json has no "
                  "`chat_template` (its author never added one), so the GGUF has no `tokenizer.chat_template`. "
                  "Not reported for a base model (`[model] kind = \"base\"` in the release spec, or `publish "
                  "lint --base`).",
                  fix="Copy chat_template from tokenizer_config.json with `publish fix --chat-template`, or "
                  "ship a Go `template` file.", sources=(HF_BRIDGE,)),
    "GG204": dict(engines=(Engine.LLAMA_CPP,), why="The chat template, rendered with the GGUF's BOS text, starts "
                  "the prompt with BOS, and llama.cpp adds another when it tokenizes with add_special "
                  "(add_bos_token, or its default for the vocabulary); it warns \"Added a BOS token to the prompt "
                  "as specified by the model but the prompt also starts with a BOS token\". llama-server --jinja "
                  "strips one; clients that render the template and tokenize the text themselves (LM Studio, "
                  "llama-cpp-python's raw API) send two. Ollama renders its Go template instead (RP103).",
                  example="Llama 3.1 template `{{- bos_token }}` with tokenizer.ggml.add_bos_token = true.",
                  fix="Tokenize rendered prompts without adding BOS; keep BOS out of Ollama Go templates.",
                  sources=(LLAMA_VOCAB + " and tokenize (check_double_bos_eos)",)),
    "GG205": dict(engines=GO, why="Ollama's own engine stops only on eos_token_id, eos_token_ids and the "
                  "`stop` parameters; llama.cpp also guesses EOG tokens from their text.",
                  example="A Gemma 3n instruct GGUF whose chat template ends every turn with `<end_of_turn>` "
                  "while the header declares only `<eos>` (`tokenizer.ggml.eos_token_id`, no `eot_token_id`, no "
                  "`eos_token_ids`): Ollama's gemma3n engine stops only on `eos_token_id` and `eos_token_ids`, "
                  "so without a `stop` parameter the answer runs past the turn end. `publish fix` sets "
                  "`tokenizer.ggml.eot_token_id` to the id of `<end_of_turn>` and adds it to "
                  "`tokenizer.ggml.eos_token_ids`.",
                  fix="`publish fix FILE --select GG205`; in a staged folder RP115 says whether `stop` covers it.",
                  sources=("ollama v0.24.0 model/models/gemma3n/model.go (EOS: eos_token_id and eos_token_ids)",
                           LLAMA_VOCAB)),
    "GG301": dict(engines=OLLAMA_ANY, why="`ollama run hf.co/ORG/REPO:TAG` pulls one GGUF per tag and refuses "
                  "split sets.",
                  example="`ollama run hf.co/ubergarm/Kimi-K2-Thinking-GGUF:Q2_K`, whose Q2_K quant is split "
                  "into `…-00001-of-0000N.gguf` parts, is refused with `400: The specified repository contains "
                  "sharded GGUF. Ollama does not support this yet` (unslothai/unsloth#3594; ollama/ollama#5245).",
                  fix="`llama-gguf-split --merge` and ship the merged file.", sources=(HF_BRIDGE,)),
    "GG302": dict(engines=ALL_ENGINES, why="llama.cpp opens every part of a split set; one missing part fails "
                  "the load.",
                  example="`Kimi-K2-Instruct-BF16-384x14B-Q2_K_S-00001-of-00013.gguf` loaded without its second "
                  "part beside it: llama.cpp stops with `failed to load GGUF split from "
                  "Kimi-K2-Instruct-BF16-384x14B-Q2_K_S-00002-of-00013.gguf` (ggml-org/llama.cpp#15164).",
                  fix="Upload every part.", sources=("llama.cpp src/llama-model-loader.cpp (splits)",)),
    "GG303": dict(engines=ALL_ENGINES, why="Parts that disagree on split.count/split.no or tensor lists cannot "
                  "be joined.",
                  example="The parts of a Q6_K split set joined with `cat` into `llama.gguf` "
                  "(ggml-org/llama.cpp#9613): the result keeps the first part's header, with `split.count` "
                  "greater than 1, under a name that is not `NAME-00001-of-0000N.gguf`, and llama.cpp stops "
                  "with `invalid split file: llama.gguf` (the report's version; the llama.cpp of "
                  "llama-cpp-python 0.3.36 says `invalid split file name: llama.gguf`, with the path). Parts "
                  "that disagree on `split.no`, `split.count` or "
                  "`split.tensors.count`, or that hold the same tensor twice, are reported too.",
                  fix="Re-split with llama-gguf-split.",
                  sources=("llama.cpp src/llama-model-loader.cpp (splits)",)),
    "GG401": dict(engines=ALL_ENGINES, why="Hub users pick a quant by the label in the file name "
                  "(`hf.co/ORG/REPO:Q4_K_M`) and tools show general.file_type: the two should agree.",
                  example="`model-Q4_K_M.gguf` whose `general.file_type` is 7 (Q8_0): a Q8_0 file saved under "
                  "the Q4_K_M name, reported as `file name says Q4_K_M but general.file_type is Q8_0 (7)`. "
                  "Unsloth's dynamic quants (`UD-Q4_K_XL`) are not compared this way: their file type says "
                  "nothing about the label (GG402 checks their tensors).",
                  fix="Rename the file to the quant it holds, or re-quantize.",
                  sources=("llama.cpp src/llama-quant.cpp (general.file_type = ftype)",)),
    "GG403": dict(engines=ALL_ENGINES, why="A file labelled BF16/F16/F32 promises unquantized weights.",
                  example="`model-F16.gguf` whose weights are Q8_0 (a Q8_0 quant saved under the float name), "
                  "reported as `file name says F16 but N tensor(s) are quantized (first: token_embd.weight "
                  "Q8_0)`.",
                  fix="Rename the file to the quant it holds, or re-convert without quantization.",
                  sources=("llama.cpp src/llama-quant.cpp",)),
    "GG404": dict(engines=ALL_ENGINES, why="`ollama show` and the Hub show the quantization as unknown.",
                  example="A GGUF written by a custom gguf-py script that adds the tensors and tokenizer keys "
                  "but never calls `add_file_type`; llama-quantize and convert_hf_to_gguf.py always write the "
                  "key. Readers then have to guess the quantization from the tensor types "
                  "(huggingface/huggingface.js#794).",
                  fix="Quantize with llama-quantize, which writes general.file_type.",
                  sources=("llama.cpp src/llama-quant.cpp",)),
    "GG405": dict(engines=OLLAMA_ANY, why="The hf.co bridge selects a file by the label after the tag, read "
                  "from the file name the Hub's way (huggingface.js parseGGUFQuantLabel: the last full quant "
                  "name in the upper-cased name). A name without one is reachable only as the default; a short "
                  "or unofficial label (`Q4_K`, `FP16`, `Q8`) is refused: 400 \"The specified tag is not a valid "
                  "quantization scheme\" (ollama/ollama#7268, huggingface/hub-docs#1476).",
                  example="`gemma-3-270m-it-Q4_K.gguf` or `model-FP16.gguf`: the Hub reads no full quant name "
                  "in them, so `ollama run hf.co/ORG/REPO:Q4_K` is refused with 400 \"The specified tag is not "
                  "a valid quantization scheme\" (ollama/ollama#7268). `model.gguf`, with no label at all, is "
                  "reachable only as the repo's default.",
                  fix="Rename to NAME-<QUANT>.gguf with the full quant name general.file_type gives.",
                  sources=(HF_BRIDGE,)),
    "GG501": dict(engines=ALL_ENGINES, why="Tools show the file name instead of the model's name.",
                  example="A GGUF written by a script that copied the weights and the tokenizer but no "
                  "`general.name`; convert_hf_to_gguf.py writes it from the model folder's name or its model "
                  "card.",
                  fix="Set general.name when converting.", sources=("gguf-py gguf/constants.py (Keys.General)",)),
    "GG502": dict(engines=ALL_ENGINES, why="Users cannot tell who made the quant.",
                  example="Almost any quant made with convert_hf_to_gguf.py and llama-quantize: neither writes "
                  "`general.quantized_by` unless it is given in a `--metadata` override file (gguf-py "
                  "metadata.py).",
                  fix="Set general.quantized_by.",
                  sources=("gguf-py gguf/constants.py (Keys.General)",)),
    "GG503": dict(engines=ALL_ENGINES, why="`ollama show --license` shows nothing.",
                  example="A GGUF converted from a checkpoint whose README.md front matter has no `license:`: "
                  "convert_hf_to_gguf.py takes `general.license` from the model card (gguf-py metadata.py), so "
                  "it writes none.",
                  fix="Set general.license.",
                  sources=("gguf-py gguf/constants.py (Keys.General)",)),
    "GG504": dict(engines=ALL_ENGINES, why="The Hub cannot link the quant to its base model.",
                  example="A GGUF converted from a checkpoint whose README.md front matter has no `base_model:` "
                  "(a finetune uploaded without it): convert_hf_to_gguf.py writes `general.base_model.*` from "
                  "the card's `base_model` (or `base_models`) field or a `--metadata` override file only (gguf-py "
                  "metadata.py).",
                  fix="Set general.base_model.* (convert_hf_to_gguf.py does it from the model card).",
                  sources=("gguf-py gguf/constants.py (Keys.General)",)),
    "GG601": dict(engines=LLAMA_CPP_LOADER, why="llama.cpp's mtmd loads no encoder from a projector that "
                  "declares none.",
                  example="`mmproj-F16.gguf` with `general.type = mmproj` whose header sets neither "
                  "`clip.has_vision_encoder` nor `clip.has_audio_encoder` to true, reported as `projector "
                  "declares neither clip.has_vision_encoder nor clip.has_audio_encoder`.",
                  fix="Re-convert with convert_hf_to_gguf.py --mmproj.",
                  sources=("llama.cpp tools/mtmd/clip.cpp",)),
    "GG602": dict(engines=LLAMA_CPP_LOADER, why="Without clip.projector_type llama.cpp guesses the projector.",
                  example="`mmproj-F16.gguf` with `clip.has_vision_encoder = true` but none of "
                  "`clip.projector_type`, `clip.vision.projector_type` and `clip.audio.projector_type`.",
                  fix="Re-convert with convert_hf_to_gguf.py --mmproj.", sources=("llama.cpp tools/mtmd/clip.cpp",)),
    "GG603": dict(engines=ALL_ENGINES, why="publish's staged folder and tools that pair models with projectors "
                  "look for `mmproj` in the name.",
                  example="`Qwen2.5-Omni-7B-mmproj-Q8_0.gguf`, as the projectors of the Hub repo "
                  "koboldcpp/mmproj are named (LostRuins/koboldcpp#1976): a projector by its header "
                  "(`general.type = mmproj` or architecture `clip`), but its name starts with the model's name, "
                  "so publish's staged folder "
                  "would list it as the model's Q8_0 quant. Reported with the hint `rename it to "
                  "mmproj-Qwen2.5-Omni-7B-mmproj-Q8_0.gguf`.",
                  fix="Rename it to mmproj-NAME.gguf.", sources=()),
    "GG604": dict(engines=ALL_ENGINES, why="A language model named mmproj-* is taken for a projector and never "
                  "offered as a model.",
                  example="`mmproj-Llama-3-8B-Q4_K_M.gguf` that holds the Llama 3 language model itself (it has "
                  "a vocabulary and `general.type` is not `mmproj`), e.g. a download renamed by hand; a tool "
                  "that loads it as the projector fails, the mistake diagnosed in LostRuins/koboldcpp#801.",
                  fix="Rename the file.", sources=()),
}


def apply() -> None:
    """Copy the page text above onto the GG rules registered without one
    (publish.gguf.rules.document). Runs once at import; idempotent."""
    for code, docs in _DOCS.items():
        if code in RULES and not RULES[code].why:
            document(code, **docs)


apply()
