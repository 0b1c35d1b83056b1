"""The engines a GGUF meets after `ollama run hf.co/…` or a download, and which lint rules are about which.

- `ollama-0.24`: Ollama up to v0.24 running the file in its own Go engine (`model/models/*`,
  metadata read through `fs/ggml` with strict Go type assertions). In v0.24.0 this engine is used
  for the architectures of `fs/ggml/ggml.go` `KV.OllamaEngineRequired` (gemma3, gemma3n, gemma4,
  qwen3, gpt-oss, llama4, mistral3, …); the others go to its vendored llama.cpp runner
  (`llm/server.go` `NewLlamaServer`). Its server code (hf.co bridge, memory estimates) reads
  metadata through the same `fs/ggml` KV for every architecture.
- `ollama`: Ollama from v0.30, which runs GGUFs through llama.cpp's `llama-server` (not checked
  here against a v0.30 build): llama.cpp's loader, plus
  Ollama's own server (hf.co bridge, templates).
- `llama.cpp`: llama.cpp's own loader and backends (llama-cli, llama-server, llama-cpp-python,
  LM Studio, Jan).

`publish lint --target ollama-0.24|ollama|llama.cpp|all` keeps the rules that affect that engine.
"""

from __future__ import annotations

import enum

from publish.errors import UsageError


class Engine(str, enum.Enum):
    """An engine a rule's finding concerns, by the value used in `--target` and the rule pages:
    `ollama-0.24` (Ollama <= 0.24's own Go engine), `ollama` (Ollama >= 0.30, llama-server),
    `llama.cpp` (its loader and backends)."""
    OLLAMA_GO = "ollama-0.24"
    OLLAMA = "ollama"
    LLAMA_CPP = "llama.cpp"

    @property
    def title(self) -> str:
        """The engine's name for rule pages and reports, e.g. "Ollama ≤ 0.24 (Go engine)"."""
        return {"ollama-0.24": "Ollama ≤ 0.24 (Go engine)", "ollama": "Ollama ≥ 0.30 (llama-server)",
                "llama.cpp": "llama.cpp (loader and backends)"}[self.value]


ALL_ENGINES: tuple[Engine, ...] = tuple(Engine)
OLLAMA_ANY: tuple[Engine, ...] = (Engine.OLLAMA_GO, Engine.OLLAMA)
LLAMA_CPP_LOADER: tuple[Engine, ...] = (Engine.OLLAMA, Engine.LLAMA_CPP)  # both load through llama.cpp
TARGETS = ("all",) + tuple(e.value for e in Engine)


def parse_target(value: str | None) -> tuple[Engine, ...]:
    """"all" (the default: every engine a Hub user might have) or one engine name. Raises UsageError
    for an unknown name."""
    if value is None or value == "all":
        return ALL_ENGINES
    try:
        return (Engine(value),)
    except ValueError:
        raise UsageError(f"unknown target {value!r}", hint=f"use one of: {', '.join(TARGETS)}") from None
