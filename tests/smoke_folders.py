"""Staged folders for the smoke tests, built by hand (GGUF + template + params [+ system]) so the
smoke tests do not depend on `publish build`."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

# Ollama Go template equivalent to ggufs.GEMMA_JINJA: the system prompt is folded into the first
# user turn, exactly like the Jinja template does (minus its leading {{ bos_token }}).
GEMMA_GO_SYSTEM = (
    "{{- range $i, $_ := .Messages }}\n"
    "{{- $last := eq (len (slice $.Messages $i)) 1 }}\n"
    "{{- if eq .Role \"user\" }}<start_of_turn>user\n"
    "{{ if and $.System (le $i 1) }}{{ $.System }}\n\n{{ end }}{{ .Content }}<end_of_turn>\n"
    "{{ if $last }}<start_of_turn>model\n"
    "{{ end }}\n"
    "{{- else if eq .Role \"assistant\" }}<start_of_turn>model\n"
    "{{ .Content }}{{ if not $last }}<end_of_turn>\n"
    "{{ end }}\n"
    "{{- end }}\n"
    "{{- end }}"
)

GOOD_PARAMS = {"stop": ["<end_of_turn>"], "temperature": 1.0, "top_k": 64, "top_p": 0.95, "min_p": 0.0,
               "repeat_penalty": 1.0}


def make_folder(root: Path, gguf: Path, *, labels=("Q8_0",), template: str = GEMMA_GO_SYSTEM,
                params: dict | None = None, system: str | None = None, broken: tuple[str, ...] = ()) -> Path:
    """A staged folder with one copy of `gguf` per label; labels in `broken` get a truncated copy."""
    root.mkdir(parents=True, exist_ok=True)
    data = gguf.read_bytes()
    for label in labels:
        dst = root / f"tiny-{label}.gguf"
        if label in broken:
            dst.write_bytes(data[: len(data) * 2 // 3])
        else:
            shutil.copyfile(gguf, dst)
    (root / "template").write_text(template, encoding="utf-8")
    (root / "params").write_text(json.dumps(GOOD_PARAMS if params is None else params, indent=2), encoding="utf-8")
    if system is not None:
        (root / "system").write_text(system, encoding="utf-8")
    return root


def outcome_folders(root: Path, gguf: Path) -> dict[str, Path]:
    """The folders every backend must judge alike: good, runaway (no stop), <bos> template, one broken quant."""
    return {
        "good": make_folder(root / "good", gguf),
        "runaway": make_folder(root / "runaway", gguf, params={k: v for k, v in GOOD_PARAMS.items() if k != "stop"}),
        "bos": make_folder(root / "bos", gguf, template="<bos>" + GEMMA_GO_SYSTEM),
        "broken": make_folder(root / "broken", gguf, labels=("Q2_K", "Q4_K_M", "Q8_0"), broken=("Q4_K_M",)),
    }
