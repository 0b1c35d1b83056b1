"""What the Hugging Face Hub picks as the Ollama template of a GGUF repo without a `template` file.

The Hub's Ollama bridge runs `convertGGUFTemplateToOllama` from the npm package
`@huggingface/ollama-utils` on the GGUF's chat template and BOS/EOS texts. This module runs that
real package (pinned in tests/ollama_utils_js/package-lock.json, installed by `make ollama-utils`,
which `make test` runs) with Node.js, many templates per node process:

    from ollama_utils_ref import pick, pick_many
    pick(chat_template, bos_token="<s>", eos_token="</s>")
    pick_for_gguf("model.gguf")      # the same, from the GGUF's header (what the Hub reads)
    quant_labels(["m-Q8_0.gguf"])    # ["Q8_0"]: @huggingface/tasks parseGGUFQuantLabel, the tag
                                     # label the Hub reads from a file name (quant_label.js)
    # -> None (no pick: the Hub serves no template)
    #    or {"model": "library/llama3.1:8b" | "custom-matching" | "auto-conversion",
    #        "template": Go template text, "params": {"stop": [...]} (may be {}), "tokens": [...]}

Raises OllamaUtilsThrew when the package itself throws for that template (it does for OuteTTS
templates), OllamaUtilsMissing when node or the package is not installed.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Iterable

JS_DIR = Path(__file__).parent / "ollama_utils_js"
SCRIPT = JS_DIR / "pick.js"
PACKAGE = JS_DIR / "node_modules" / "@huggingface" / "ollama-utils" / "package.json"
TASKS_PACKAGE = JS_DIR / "node_modules" / "@huggingface" / "tasks" / "package.json"
INSTALL = "make ollama-utils   (npm ci in tests/ollama_utils_js)"


class OllamaUtilsMissing(RuntimeError):
    """Node.js or the pinned @huggingface/ollama-utils is not installed."""


class OllamaUtilsThrew(RuntimeError):
    """convertGGUFTemplateToOllama threw for this template (the Hub would fail the pull)."""


def version() -> str:
    """The installed @huggingface/ollama-utils version, e.g. "0.0.18"."""
    _check_installed()
    return json.loads(PACKAGE.read_text(encoding="utf-8"))["version"]


def _check_installed() -> str:
    node = shutil.which("node")
    if node is None:
        raise OllamaUtilsMissing("node (Node.js >= 20) is not on PATH; install it (apt-get install nodejs npm), "
                                 f"then run {INSTALL}")
    for package in (PACKAGE, TASKS_PACKAGE):
        if not package.is_file():
            raise OllamaUtilsMissing(f"{package.parent.parent.name}/{package.parent.name} is not installed in "
                                     f"{JS_DIR}; run {INSTALL}")
    return node


def _run(script: Path, payload: list, timeout: float) -> list:
    """One node process: `script` reads the JSON array `payload` on stdin and answers one item each."""
    node = _check_installed()
    proc = subprocess.run([node, str(script)], input=json.dumps(payload), capture_output=True,
                          text=True, encoding="utf-8", cwd=JS_DIR, timeout=timeout, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{script} failed (exit {proc.returncode}): {proc.stderr.strip()[-2000:]}")
    out = json.loads(proc.stdout)
    if len(out) != len(payload):
        raise RuntimeError(f"{script} answered {len(out)} items for {len(payload)}")
    return out


def quant_labels(names: list[str], *, timeout: float = 60.0) -> list[str | None]:
    """@huggingface/tasks parseGGUFQuantLabel of each name (None: no label), in one node process."""
    return _run(JS_DIR / "quant_label.js", list(names), timeout)


def pick_many(items: Iterable[dict], *, timeout: float = 120.0) -> list[dict | None | OllamaUtilsThrew]:
    """One node process for all `items` ({"chat_template", "bos_token"?, "eos_token"?} each).
    Returns, in order, the pick dict, None (no pick) or an OllamaUtilsThrew instance (not raised)."""
    payload = [{"chat_template": it["chat_template"], "bos_token": it.get("bos_token"),
                "eos_token": it.get("eos_token")} for it in items]
    out = _run(SCRIPT, payload, timeout)
    return [OllamaUtilsThrew(o["error"]) if isinstance(o, dict) and "error" in o else o for o in out]


def pick(chat_template: str, bos_token: str | None = None, eos_token: str | None = None) -> dict | None:
    """The Hub's pick for one chat template (see the module docstring for the shape)."""
    result = pick_many([{"chat_template": chat_template, "bos_token": bos_token, "eos_token": eos_token}])[0]
    if isinstance(result, OllamaUtilsThrew):
        raise result
    return result


def pick_for_gguf(path) -> dict | None:
    """The Hub's pick for a GGUF: its tokenizer.chat_template and the texts of its BOS/EOS token
    ids (the Hub's `gguf` model info: chat_template, bos_token, eos_token). None when the GGUF
    has no chat template (the package then picks nothing)."""
    from publish.gguf.reader import read_header

    hdr = read_header(path)
    template = hdr.chat_template
    if not isinstance(template, str) or not template:
        return None
    return pick(template, hdr.bos_text, hdr.eos_text)
