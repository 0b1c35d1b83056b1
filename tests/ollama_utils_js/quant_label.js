// The quant label the Hugging Face Hub reads from a GGUF file name (what `hf.co/ORG/REPO:TAG` is
// matched against): parseGGUFQuantLabel from the npm package @huggingface/tasks (the function the
// Hub's GGUF pages and @huggingface/gguf export), pinned in package-lock.json.
//
// stdin:  a JSON array of file names (or repo paths)
// stdout: a JSON array, one label (a string) or null per name
"use strict";
const { parseGGUFQuantLabel } = require("@huggingface/tasks");

const chunks = [];
process.stdin.on("data", (c) => chunks.push(c));
process.stdin.on("end", () => {
  const names = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  if (!Array.isArray(names)) throw new Error("stdin must be a JSON array");
  process.stdout.write(JSON.stringify(names.map((n) => parseGGUFQuantLabel(n) ?? null)));
});
