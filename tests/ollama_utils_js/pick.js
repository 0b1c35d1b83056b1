// What the Hugging Face Hub picks as the Ollama template of a GGUF repo that has no `template`
// file: @huggingface/ollama-utils' convertGGUFTemplateToOllama(gguf), called the way that
// package's README shows the Hub doing it (gguf = {chat_template, bos_token, eos_token}).
//
// stdin:  a JSON array of {"chat_template": str, "bos_token"?: str|null, "eos_token"?: str|null}
// stdout: a JSON array, one item per input:
//           null                                      no pick (the Hub then serves no template)
//           {"model", "template", "params", "tokens"} the pick (model names the table entry,
//                                                     "custom-matching" or "auto-conversion")
//           {"error": "..."}                          the package threw (e.g. OuteTTS templates)
"use strict";
const { convertGGUFTemplateToOllama } = require("@huggingface/ollama-utils");

function readStdin() {
  return new Promise((resolve, reject) => {
    const chunks = [];
    process.stdin.on("data", (c) => chunks.push(c));
    process.stdin.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    process.stdin.on("error", reject);
  });
}

function pickOne(item) {
  const gguf = { chat_template: item.chat_template };
  if (item.bos_token != null) gguf.bos_token = item.bos_token;
  if (item.eos_token != null) gguf.eos_token = item.eos_token;
  try {
    const entry = convertGGUFTemplateToOllama(gguf);
    if (!entry) return null;
    return {
      model: entry.model,
      template: entry.ollama.template,
      params: entry.ollama.params || {},
      tokens: entry.ollama.tokens || [],
    };
  } catch (err) {
    return { error: String((err && err.message) || err) };
  }
}

readStdin().then((text) => {
  const items = JSON.parse(text);
  if (!Array.isArray(items)) throw new Error("stdin must be a JSON array");
  process.stdout.write(JSON.stringify(items.map(pickOne)));
}).catch((err) => {
  process.stderr.write(`pick.js: ${err && err.stack || err}\n`);
  process.exit(2);
});
