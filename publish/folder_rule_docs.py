"""Page text (engines, why, example, fix, sources) of the staged-folder rules (RP1xx) in
publish/folder_rules.py: what `publish rule RPxxx` prints and docs/rules/RPxxx.md shows.

Sources are the files read for the claim, with the version: Ollama v0.24.0 from its Go module
(`go env GOMODCACHE`/github.com/ollama/ollama@v0.24.0).
"""

from __future__ import annotations

from dataclasses import replace

from publish.engines import ALL_ENGINES, OLLAMA_ANY
from publish.folder_rules import RULES

HF_BRIDGE = "ollama v0.24.0 server (hf.co pulls: the repo's `template`, `params` and `system` files)"
TEMPLATE_PARSE = "ollama v0.24.0 template/template.go (Parse)"
OPTIONS = "ollama v0.24.0 api/types.go (Options, Runner, FromMap)"
PARSER = "ollama v0.24.0 parser/parser.go (ParseFile)"
CAPABILITIES = "ollama v0.24.0 server/images.go (Capabilities)"
HUB_CARD = "Hugging Face Hub model cards: YAML front matter (base_model, license, tags)"
REBUILD = "Fix it in the release spec and run `publish build` again: the folder's files are generated from the spec."

_DOCS = {
    "RP101": dict(
        engines=OLLAMA_ANY,
        why="`ollama run hf.co/ORG/REPO` takes the prompt format from the repo's `template` file. Without one, "
            "the Hub picks an Ollama template by matching the GGUF's Jinja chat template against a fixed list "
            "(`@huggingface/ollama-utils`); on the chat-template corpus that pick builds the trained prompt "
            "for only a minority of models (see the corpus page), and the model then answers off-format.",
        example="A staged folder with GGUFs, `params` and `README.md`, but no `template`.",
        fix="Add a `[template]` table to the release spec (`family = \"gemma3\"`, a file, or `from = \"gguf\"` to "
            "convert the GGUF's own chat template) and run `publish build`.",
        sources=(HF_BRIDGE, "@huggingface/ollama-utils (the Hub's template pick)")),
    "RP102": dict(
        engines=OLLAMA_ANY,
        why="Ollama parses `template` with Go's `text/template`; a template that does not parse cannot build "
            "any prompt, so the model cannot be chatted with.",
        example="`{{ if .System }}{{ .System }}` with no `{{ end }}`: reported as `DIR/template:1:29: RP102 "
                "not a valid Go template: unexpected EOF`, the hint naming the `{{if}}` at 1:3 (columns count bytes "
                "from 0, as Go's own errors do).",
        fix="Correct the template in the release spec's `[template]` and rebuild; `publish template suggest "
            "MODEL.gguf` proposes one that builds the model's own prompt.",
        sources=(TEMPLATE_PARSE,)),
    "RP103": dict(
        engines=OLLAMA_ANY,
        why="Ollama adds BOS itself when the GGUF asks for it (`tokenizer.ggml.add_bos_token`, or the "
            "architecture's default). A template that also writes the BOS text (`<bos>`, `<|begin_of_text|>`) "
            "gives the model two BOS tokens, a prompt it never saw in training; answers degrade.",
        example="A Gemma template that starts with `<bos>{{ range .Messages }}…` for a GGUF with "
                "`add_bos_token = true`.",
        fix="Remove the BOS text from the template (the release spec's `[template]`); the engine adds it.",
        sources=("ollama v0.24.0 model/models/gemma3/model.go (AddBOS)",
                 "llama.cpp src/llama-vocab.cpp (add_bos)")),
    "RP104": dict(
        engines=OLLAMA_ANY,
        why="Gemma and Llama models need BOS first. When the GGUF says not to add one (`add_bos_token = "
            "false`) and the template does not write it either, the prompt has none and the model "
            "degenerates into repeated words.",
        example="A Gemma 3 GGUF with `tokenizer.ggml.add_bos_token = false` and a template starting with "
                "`<start_of_turn>`.",
        fix="Start the template with the BOS text, or set the GGUF's flag with `publish fix MODEL.gguf "
            "--select GG702`.",
        sources=("ollama v0.24.0 model/models/gemma3/model.go (AddBOS)",)),
    "RP106": dict(
        engines=OLLAMA_ANY,
        why="Ollama executes `template` for every chat or generate request; a template that parses but fails "
            "while executing (a `{{ template \"name\" . }}` with no `{{ define }}`, an `index` past the end of "
            "`.Messages`, a method call on a missing field) makes Ollama answer each such request with the "
            "error, although the folder builds, pushes and pulls.",
        example="`{{ template \"system\" . }}{{ .Prompt }}` with no `{{ define \"system\" }}`: reported as "
                "`fails on a one-turn conversation (a user message, no system prompt, no tools): "
                "template:1:12: executing \"template\" at <{{template \"system\" .}}>: template \"system\" not "
                "defined`.",
        fix="Correct the template in the release spec's `[template]` and rebuild; `publish template check "
            "--jinja MODEL.gguf --go template` shows the prompts it builds.",
        sources=("ollama v0.24.0 template/template.go (Execute)", "ollama v0.24.0 server/prompt.go (chatPrompt)")),
    "RP105": dict(
        engines=OLLAMA_ANY,
        why="Ollama reads `template` and `system` as bytes and hands them on unchanged (`string(bts)`, no "
            "check), so a byte that is not UTF-8, such as an `é` saved as Latin-1 (0xE9), reaches the model as "
            "a stray byte instead of the character the author wrote; `params` goes through Go's JSON decoder, "
            "which turns such bytes into U+FFFD, so a `stop` string holding one never matches. The Hub shows "
            "the files with U+FFFD too. `publish smoke` refuses such a folder before it runs.",
        example="A `system` file saved by an editor in Latin-1: `Réponds en français.` with byte 0xE9 at "
                "offset 1 (reported as `not UTF-8 text: byte 0xE9 at offset 1 (line 1, byte 2 of the line) is not "
                "valid UTF-8`).",
        fix="Save the file as UTF-8, or fix the text in the release spec and run `publish build` again (it "
            "writes UTF-8).",
        sources=("ollama v0.24.0 server/images.go (GetModel: template, system and params layers)",
                 "Go 1.23 encoding/json (invalid UTF-8 in strings becomes U+FFFD)")),
    "RP107": dict(
        engines=OLLAMA_ANY,
        why="Editors on Windows (Notepad, some IDE settings) save UTF-8 with a byte order mark, EF BB BF. "
            "Ollama's Modelfile parser drops it, but the hf.co bridge reads the repo's `template` and `system` "
            "as they are: checked with the real Ollama v0.24.0 pulling such a repo, the template it keeps starts "
            "with U+FEFF, so every prompt starts with a character the model never saw in training (and a "
            "different first token than the GGUF's chat template builds); a `system` file gives every system "
            "prompt the same start. A `params` file with one is worse: Ollama's JSON decoder refuses it and the "
            "model does not load (`invalid character 'ï' looking for beginning of value`), which lint reports "
            "as RP110.",
        example="A `template` saved by Notepad, reported as `starts with a UTF-8 byte order mark (bytes EF BB BF "
                "at offset 0): Ollama keeps it, so every prompt Ollama builds starts with an invisible U+FEFF`.",
        fix="Save the file as UTF-8 without a byte order mark (\"UTF-8\", not \"UTF-8 with BOM\"), or run "
            "`publish build` again: it drops a byte order mark from the files the release spec names.",
        sources=("ollama v0.24.0 server/images.go (GetModel: template, system and params layers)",
                 "ollama v0.24.0 parser/parser.go (the Modelfile parser's BOM override)")),
    "RP110": dict(
        engines=OLLAMA_ANY,
        why="Ollama reads `params` as a JSON object of options; anything else is not applied.",
        example="`params` holding `temperature: 0.7` (YAML, not JSON).",
        fix=REBUILD, sources=(HF_BRIDGE, OPTIONS)),
    "RP111": dict(
        engines=OLLAMA_ANY,
        why="Ollama does not know the option (or removed it, such as `tfs_z`). The hf.co bridge reads `params` "
            "with api.Options.FromMap, which skips it with a warning in the server log only, so the setting "
            "silently never applies; a Modelfile with it is refused by `ollama create` (\"unknown parameter\").",
        example="`{\"tfs_z\": 1.0}` or a misspelt `{\"temprature\": 0.7}`.",
        fix="Remove or rename the key in the spec's `[params]` and rebuild.", sources=(OPTIONS,)),
    "RP112": dict(
        engines=OLLAMA_ANY,
        why="Ollama accepts these options but ignores them; users think a setting applies that does not.",
        example="`{\"mirostat\": 2}`.",
        fix="Remove the key from the spec's `[params]` and rebuild.", sources=(OPTIONS,)),
    "RP113": dict(
        engines=OLLAMA_ANY,
        why="Ollama checks each option's JSON type against its Go type (api.Options.FromMap) when it loads the "
            "model's options, on every /api/generate and /api/chat request, and converts nothing: a string "
            "`stop`, a quoted number (`\"num_ctx\": \"4096\"`) or a `use_mmap` that is not true/false makes every "
            "request fail with its error, e.g. `option \"stop\" must be of type array`, even when the request "
            "sets that option itself. `ollama create` from a Modelfile would have accepted the same values "
            "(it parses text), so only the hf.co bridge shows it. A float option beyond float32's range (`1e39`) "
            "is accepted as infinity and then fails every answer (\"failed to marshal data: json: unsupported "
            "value: +Inf\"). Also reported here: an empty stop string.",
        example="`{\"stop\": \"<end_of_turn>\"}` (a string where Ollama needs an array of strings), "
                "`{\"top_k\": \"64\"}` or `{\"stop\": [\"<end_of_turn>\", 5]}`.",
        fix="Give the value the right type in the spec's `[params]` and rebuild.", sources=(OPTIONS,)),
    "RP114": dict(
        engines=OLLAMA_ANY,
        why="A stop string that the model can never produce never stops anything: it is neither a token of "
            "the GGUF's vocabulary nor text its tokens can spell (special-looking strings such as "
            "`<|eot_id|>` must be tokens). Generation then runs until `num_predict`.",
        example="`stop = [\"<|im_end|>\"]` on a Gemma GGUF, whose turn end is `<end_of_turn>`.",
        fix="Use the token that ends a turn for this model (`publish template suggest MODEL.gguf` prints the "
            "family's stop list) and rebuild."),
    "RP115": dict(
        engines=OLLAMA_ANY,
        why="After each answer the template (and the model's own chat template) writes a turn-end token. "
            "Ollama stops on the GGUF's declared end-of-generation tokens and on `stop`; when the turn end is "
            "neither, the model writes it and keeps going: runaway answers with the turn end visible. A turn "
            "end that is not a token of the GGUF's vocabulary is left to RP114 (a stop the model cannot emit).",
        example="A Gemma release whose `params` has no `stop` while the GGUF declares only `<eos>`: the "
                "model ends its turn with `<end_of_turn>` and carries on.",
        fix="Add the token named in the finding to `stop` in the spec's `[params]` and rebuild (`publish smoke` "
            "shows the same failure as `runaway` at run time).",
        sources=("ollama v0.24.0 model/models/gemma3/model.go (EOS)",)),
    "RP116": dict(
        engines=OLLAMA_ANY,
        why="Some templates write text at the start of every answer (after the generation prompt). A stop "
            "string inside that text matches before the answer begins, so every answer is empty.",
        example="`stop = [\"<start_of_turn>\"]` with a template whose answers start `<start_of_turn>model`.",
        fix="Remove that string from `stop` in the spec's `[params]` and rebuild."),
    "RP117": dict(
        engines=OLLAMA_ANY,
        why="Ollama (api.Options.FromMap) takes any JSON number for an integer option and drops its fraction "
            "(`top_k: 64.5` runs with 64; Go's conversion of a number beyond int64 is undefined) and skips a "
            "null value (its default applies). Nothing fails, but the model runs with another value than the "
            "one written.",
        example="`{\"top_k\": 64.5}`, `{\"seed\": 1e30}` or `{\"num_ctx\": null}`.",
        fix="Write the value Ollama should use (an integer) in the spec's `[params]`, or remove "
            "the key, and rebuild.", sources=(OPTIONS,)),
    "RP120": dict(
        engines=OLLAMA_ANY,
        why="`ollama run hf.co/ORG/REPO:TAG` pulls one GGUF per tag; split files (`NAME-00001-of-00003.gguf`) "
            "cannot be loaded that way.",
        example="`model-Q8_0-00001-of-00002.gguf` and `model-Q8_0-00002-of-00002.gguf` in the folder.",
        fix="Merge the parts (`llama-gguf-split --merge`) and release one file per quant.", sources=(HF_BRIDGE,)),
    "RP130": dict(
        engines=ALL_ENGINES,
        why="The Hub shows README.md as the model card: without it users see no description, no quant table "
            "and no `ollama run` line, and the repo carries no license or base model.",
        example="A folder assembled by hand, or the GGUFs copied out of `dist/NAME` without the rest: "
                "`template` and `params` but no README.md, reported as `no README.md: the Hub shows no model "
                "card`.",
        fix="Run `publish build`: it renders the card from the release spec.", sources=(HUB_CARD,)),
    "RP131": dict(
        engines=ALL_ENGINES,
        why="The Hub reads the repo's metadata (base model, license, tags) from the card's YAML front matter; "
            "missing or invalid YAML means none of it is shown or searchable.",
        example="A README.md that starts with `# My model` instead of `---`.",
        fix="Run `publish build`, or add valid front matter between `---` lines at the top.", sources=(HUB_CARD,)),
    "RP132": dict(
        engines=ALL_ENGINES,
        why="Without `base_model` the Hub cannot link the quants to their model; without `license` users "
            "cannot tell whether they may use it; without `tags` it is not found by search.",
        example="Front matter holding only `license: apache-2.0` and `tags: [gguf, ollama]`, reported as "
                "`front matter lacks base_model`.",
        fix="Set `base_model` and `license` in the release spec and rebuild.", sources=(HUB_CARD,)),
    "RP133": dict(
        engines=ALL_ENGINES,
        why="The Hub's GGUF and Ollama filters list repos by the `gguf` and `ollama` tags.",
        example="Front matter with `tags: [text-generation]`, reported as `tags lack gguf, ollama`.",
        fix="Rebuild with `publish build` (it always adds both), or add them under `tags`.", sources=(HUB_CARD,)),
    "RP140": dict(
        engines=OLLAMA_ANY,
        why="A user who downloads the repo runs `ollama create NAME -f Modelfile.Q4_K_M`; a Modelfile that "
            "does not parse, or sets an invalid parameter, is refused there.",
        example="`PARAMETER temperature hot`.",
        fix=REBUILD, sources=(PARSER, OPTIONS)),
    "RP141": dict(
        engines=OLLAMA_ANY,
        why="A download (Modelfile) and `ollama run hf.co/…` (the `template`, `system`, `params` files) would "
            "behave differently.",
        example="`Modelfile.Q4_K_M` with `PARAMETER temperature 0.7` after `params` was edited by hand to "
                "`{\"temperature\": 1.0}`, reported as `PARAMETER differ(s) from the folder's params`.",
        fix="Rebuild the folder with `publish build` so both come from the spec.", sources=(PARSER, HF_BRIDGE)),
    "RP142": dict(
        engines=OLLAMA_ANY,
        why="`ollama create -f Modelfile` fails when FROM names a file that is not there.",
        example="`FROM ./model-Q4_K_M.gguf` after that quant was renamed.",
        fix=REBUILD, sources=(PARSER,)),
    "RP143": dict(
        engines=OLLAMA_ANY,
        why="Ollama's hf.co bridge reads only the repo's `template`, `params` and `system` files, never a "
            "Modelfile: settings that exist only in a Modelfile are lost for `ollama run hf.co/…` users.",
        example="`Modelfile.Q4_K_M` with `PARAMETER stop <end_of_turn>` and no `params` file.",
        fix="Ship `template`, `params` and `system` beside the GGUFs (`publish build` writes them from the "
            "spec).", sources=(HF_BRIDGE,)),
    "RP144": dict(
        engines=OLLAMA_ANY,
        why="ADAPTER is for LoRA adapters. A vision projector (mmproj) is added with a second FROM, where "
            "Ollama recognises it from its header and stores it as the model's projector.",
        example="`ADAPTER ./mmproj-F16.gguf`.",
        fix="Replace `ADAPTER ./mmproj-….gguf` with a second `FROM ./mmproj-….gguf`.",
        sources=("ollama v0.24.0 server/create.go (media type from the GGUF kind: adapter, projector)",)),
    "RP145": dict(
        engines=OLLAMA_ANY,
        why="`ollama create` needs a FROM naming the model; a Modelfile with none, or with only the "
            "projector, cannot create a model.",
        example="A Modelfile whose only FROM is `./mmproj-F16.gguf`.",
        fix="Add `FROM ./MODEL-QUANT.gguf` before the projector's FROM (or rebuild).", sources=(PARSER,)),
    "RP150": dict(
        engines=OLLAMA_ANY,
        why="Ollama gives a model the `tools` capability only when its template mentions `.Tools`; otherwise "
            "every request that sends tools gets \"does not support tools\", even though the model's own "
            "chat template handles them.",
        example="A Qwen 2.5 release whose `template` renders messages but no `.Tools`.",
        fix="Render `.Tools` in the release's Go template the way the chat template writes tools; `publish "
            "template convert MODEL.gguf` translates the chat template, tools included.",
        sources=(CAPABILITIES,)),
    "RP151": dict(
        engines=OLLAMA_ANY,
        why="Ollama reports the `thinking` capability only when it can find `.Thinking` between the model's "
            "thinking tags inside the range over `.Messages`; otherwise it refuses `think=true` and the model's "
            "reasoning shows up inside the answers.",
        example="A Qwen3 release whose `template` has no `.Thinking`.",
        fix="Render `.Thinking` inside `{{ range .Messages }}` between the thinking tags (as Ollama's "
            "qwen3 and deepseek-r1 templates do), or convert the chat template with `publish template convert`.",
        sources=(CAPABILITIES, "ollama v0.24.0 thinking/template.go (InferTags)")),
}


def apply() -> None:
    """Copy the page text above (engines, why, example, fix, sources) onto the RP rules in
    publish.folder_rules.RULES that have none yet. Runs once at import; idempotent."""
    for code, docs in _DOCS.items():
        if code in RULES and not RULES[code].why:
            RULES[code] = replace(RULES[code], **docs)


apply()
