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
# The smoke's sampling seed (sent with every request unless the release sets its own) and the
# seconds allowed for each engine call: SmokeOptions' and `publish smoke`'s defaults.
DEFAULT_SEED = 42
DEFAULT_TIMEOUT = 300.0


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
    # the GGUF's GGUFHeader when already read (a staged folder's), or the GGUFError the folder's
    # read met (publish.staged: NotGGUFError says what the file is); not part of the identity
    header: object | None = field(default=None, compare=False, repr=False)
    unreadable: Exception | None = field(default=None, compare=False, repr=False)


@dataclass
class ChatResult:
    """One generation's answer as an engine reports it: the `text`, why it ended (`done_reason`:
    stop, length, ...), token counts, seconds spent loading, reading the prompt and generating,
    the prompt's token ids and the BOS id the engine prepends (when the engine exposes them:
    llama.cpp), what stopped it (`stopped_by`, llama.cpp only), and whether it was `reused` from
    an identical request earlier in the run (times then 0)."""
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
    """What the engine says it holds for a model (Ollama's /api/show or `ollama show`): the
    template, the parameters (name -> value; `stop` a list) and the system prompt."""
    template: str | None
    parameters: dict                  # name -> value or list of values (stop)
    system: str | None = None


class Backend(Protocol):
    """An engine the smoke test drives (llama.cpp in-process, Ollama over its API or its CLI):
    prepare a quant, chat, report what it holds and the prompt it builds, unload, remove, close.
    Methods raise LoadError for a quant that cannot be created or answered, SmokeSetupError when
    the engine itself is missing."""
    name: str

    def prepare(self, target: Target) -> None:
        """Remove any old model of that name, then create (folder) or pull (hf.co). Raises LoadError."""

    def chat(self, target: Target, messages: list[dict], options: dict, timeout: float) -> ChatResult:
        """One chat turn with `options` (Ollama option names), waiting at most `timeout` seconds.
        Raises LoadError when the engine refuses or does not answer in time."""

    # Optional: `generate(target, prompt, options, timeout) -> ChatResult` and
    # `render_completion(target, prompt) -> str | None` send a completion prompt as a raw prompt
    # (Ollama's /api/generate, with the model's template). A backend without them gets the
    # completion as one user message through chat(), which a `{{ .Prompt }}` template hands over
    # unchanged (Ollama's `ollama run NAME PROMPT` does exactly that).

    def show(self, target: Target) -> ShowResult | None:
        """What the engine reports for the model, or None when it cannot say."""

    def render(self, target: Target, messages: list[dict]) -> str | None:
        """The prompt the engine would build, or None when the engine cannot tell (check is skipped)."""

    def unload(self, target: Target) -> None:
        """Free the model's memory (the next quant loads alone)."""

    def remove(self, target: Target) -> None:
        """Delete the scratch model the backend made (unless --keep)."""

    def close(self) -> None:
        """Release the engine (clients, a server this backend started). Idempotent."""


class LoadError(Exception):
    """The quant could not be created, pulled or loaded. The runner records it and goes on."""


class Unsupported(Exception):
    """The backend cannot run this request as asked (e.g. a multi-turn chat through
    `ollama run NAME PROMPT`). The runner reports the check as skipped, with this reason."""
