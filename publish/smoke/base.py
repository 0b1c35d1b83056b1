"""What an engine backend gives the smoke runner. Backends: ollama (api, cli), llamacpp.

The runner (runner.py, case.py) owns the prompts and the checks; a backend only loads, chats, shows
and renders. Everything crossing this boundary is a plain dataclass.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

# The smoke's bound on a runaway answer (tokens) when the release sets no num_predict.
DEFAULT_NUM_PREDICT = 128


@dataclass(frozen=True)
class Target:
    """One quant to smoke: a local GGUF with the folder's Ollama files, or an hf.co tag."""
    label: str                        # quant label, e.g. "Q4_K_M"
    model: str                        # model name the engine uses (scratch name or hf.co/ORG/NAME:QUANT)
    gguf: Path | None = None          # local GGUF (folder targets)
    template: str | None = None       # Go template text (folder targets)
    params: dict = field(default_factory=dict)
    system: str | None = None
    kind: str = "chat"                # "base": a base release (publish.modelkind), chat checks skipped
    insecure: bool = False            # pull over plain HTTP (a registry given as http://HOST:PORT)
    # the GGUF's GGUFHeader when already read (a staged folder's); not part of the target's identity
    header: object | None = field(default=None, compare=False, repr=False)


@dataclass
class ChatResult:
    text: str
    done_reason: str                  # "stop" | "length" | …
    prompt_tokens: int = 0
    eval_tokens: int = 0
    load_seconds: float = 0.0
    prompt_seconds: float = 0.0
    eval_seconds: float = 0.0
    prompt_token_ids: list[int] | None = None  # when the engine exposes them (llamacpp)
    engine_bos_id: int | None = None           # BOS the engine itself prepends, if any
    stopped_by: str | None = None              # the stop string or end token that ended generation,
                                               # when the engine tells (llamacpp; Ollama does not)
    reused: bool = False                       # the same request was already generated in this run:
                                               # answered from that generation, times are 0


@dataclass
class ShowResult:
    template: str | None
    parameters: dict                  # name -> value or list of values (stop)
    system: str | None = None


class Backend(Protocol):
    name: str

    def prepare(self, target: Target) -> None:
        """Remove any old model of that name, then create (folder) or pull (hf.co). Raises LoadError."""

    def chat(self, target: Target, messages: list[dict], options: dict, timeout: float) -> ChatResult: ...

    # Optional: `generate(target, prompt, options, timeout) -> ChatResult` and
    # `render_completion(target, prompt) -> str | None` send a completion prompt as a raw prompt
    # (Ollama's /api/generate, with the model's template). A backend without them gets the
    # completion as one user message through chat(), which a `{{ .Prompt }}` template hands over
    # unchanged (Ollama's `ollama run NAME PROMPT` does exactly that).

    def show(self, target: Target) -> ShowResult | None:
        """What the engine reports for the model, or None when it cannot say."""

    def render(self, target: Target, messages: list[dict]) -> str | None:
        """The prompt the engine would build, or None when the engine cannot tell (check is skipped)."""

    def unload(self, target: Target) -> None: ...

    def remove(self, target: Target) -> None: ...

    def close(self) -> None: ...


class LoadError(Exception):
    """The quant could not be created, pulled or loaded. The runner records it and goes on."""


class Unsupported(Exception):
    """The backend cannot run this request as asked (e.g. a multi-turn chat through
    `ollama run NAME PROMPT`). The runner reports the check as skipped, with this reason."""
