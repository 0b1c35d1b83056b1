"""The llamacpp engine (extra `gguf-publish[llamacpp]`): one GGUF loaded through llama-cpp-python,
generating with Ollama's option semantics.

`LlamaCppEngine` is shared: the llamacpp smoke backend below drives it directly, and the loopback
Ollama stand-in in tests/ serves `/api/chat` and `/api/generate` from it.

End of generation follows what the GGUF *declares* (`tokenizer.ggml.eos_token_id` plus
`tokenizer.ggml.eos_token_ids`) and the `stop` strings, the way Ollama ends a turn. llama.cpp's
own end-of-generation set is deliberately not used: it auto-detects tokens such as
`<end_of_turn>` or `<|im_end|>` by their text, which would quietly end a turn that Ollama lets
run on -- and hide exactly the missing-stop bug users hit (`2<end_of_turn>2<end_of_turn>…`).

The GGUF's chat templates never reach llama-cpp-python. `llama_cpp.Llama.__init__` (0.3.x,
llama_cpp/llama.py) builds a `Jinja2ChatFormatter` -- a jinja2 compile in this process, with no
time or memory bound -- for every `tokenizer.chat_template*` key of the model's metadata,
whatever `chat_format` or `chat_handler` is passed (a one-line template took 16.7 GB and 40 s
there; a syntax error ended in a traceback). So the templates are first compiled in publish's
own sandbox (publish.chat, a bounded child); one that fails makes the quant a LoadError with the
reason. Then the model is loaded through `_TemplateFreeLlama`, which hides those keys from
`Llama.__init__`; the engine keeps the full metadata for itself and renders the Jinja template
only through publish.chat.
"""

from __future__ import annotations

import dataclasses
import collections
import ctypes
import os
import threading
import time
from pathlib import Path
from typing import Any

from publish.errors import TemplateError, message_of
from publish.modelfile import stop_list
from publish.smoke.base import DEFAULT_NUM_PREDICT, DEFAULT_SEED, ChatResult, LoadError, ShowResult, Target
from publish.smoke.prompts import ollama_messages, render_go


# Ollama's defaults for the options a release usually sets (api/types.go DefaultOptions).
OLLAMA_DEFAULTS: dict[str, Any] = {
    "temperature": 0.8,
    "top_k": 40,
    "top_p": 0.9,
    "min_p": 0.0,
    "repeat_penalty": 1.1,
    "repeat_last_n": 64,
}

_LOG_LOCK = threading.Lock()
_LOG_LINES: collections.deque[str] = collections.deque(maxlen=64)
_GGML_WARN, _GGML_CONT = 3, 5  # ggml_log_level: DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5
_LAST_LEVEL = 0
_LOG_CALLBACK = None  # keeps the ctypes callback alive for as long as llama.cpp may call it


def _import_llama_cpp():
    try:
        import llama_cpp  # noqa: F401
    except ImportError as err:
        from publish.errors import SmokeSetupError

        raise SmokeSetupError(
            f"the llamacpp backend needs llama-cpp-python ({err})",
            hint="pip install 'gguf-publish[llamacpp]'",
        ) from None
    _install_quiet_log()
    return llama_cpp


def _install_quiet_log() -> None:
    """Route llama.cpp's log into a small buffer instead of stderr.

    llama-cpp-python's own callback prints some levels even with verbose=False; ours never
    prints, and the last lines become the reason of a LoadError.
    """
    global _LOG_CALLBACK
    if _LOG_CALLBACK is not None:
        return
    import llama_cpp

    @llama_cpp.llama_log_callback
    def _sink(level: int, text: bytes, user_data: ctypes.c_void_p) -> None:
        global _LAST_LEVEL
        if level == _GGML_CONT:
            level = _LAST_LEVEL
        _LAST_LEVEL = level
        if level < _GGML_WARN:
            return
        line = text.decode("utf-8", "replace").strip()
        if line:
            with _LOG_LOCK:
                _LOG_LINES.append(line)

    llama_cpp.llama_log_set(_sink, ctypes.c_void_p(0))
    _LOG_CALLBACK = _sink


def _load_failure_reason(default: str) -> str:
    """llama.cpp's own words for a failed load, without the generic wrapper lines."""
    with _LOG_LOCK:
        lines = list(_LOG_LINES)
    reasons = []
    for line in lines:
        if line.startswith("llama_model_load_from_file_impl:"):
            continue
        line = line.split("error loading model:", 1)[-1].strip()
        if line not in reasons:
            reasons.append(line)
    return "; ".join(reasons[-3:]) or default


TEMPLATE_KEY = "tokenizer.chat_template"  # and tokenizer.chat_template.<name>


def _is_template_key(key: str) -> bool:
    return key == TEMPLATE_KEY or key.startswith(TEMPLATE_KEY + ".")


_TEMPLATE_FREE: dict[type, type] = {}


def _template_free(llama_class: type) -> type:
    """A subclass of llama_cpp.Llama whose `metadata` hides the chat-template keys from
    Llama.__init__, so that it compiles none of them (see the module docstring). The full
    metadata is `gguf_metadata`."""
    cls = _TEMPLATE_FREE.get(llama_class)
    if cls is None:
        def get_metadata(self) -> dict[str, str]:
            return self.__dict__.get("_visible_metadata", {})

        def set_metadata(self, value: dict[str, str]) -> None:
            self.__dict__["gguf_metadata"] = dict(value)
            self.__dict__["_visible_metadata"] = {k: v for k, v in value.items() if not _is_template_key(k)}

        cls = type("_TemplateFreeLlama", (llama_class,), {
            "metadata": property(get_metadata, set_metadata),
            "__doc__": _template_free.__doc__,
        })
        _TEMPLATE_FREE[llama_class] = cls
    return cls


def _check_templates(path: Path, hdr) -> None:
    """Compile every chat template of the GGUF in publish's sandbox; LoadError naming the key
    and the reason when one does not compile there."""
    from publish.chat import ChatTemplate
    from publish.errors import TemplateError

    if hdr is None:
        return
    for key, kv in hdr.kv.items():
        if _is_template_key(key) and isinstance(kv.value, str):
            try:
                ChatTemplate(kv.value, name=key)
            except TemplateError as err:
                raise LoadError(f"{path.name}: not loaded: its {key} fails in publish's Jinja sandbox "
                                f"({err.message if hasattr(err, 'message') else err})") from None


def _read_header(path: Path):
    """Our reading of the GGUF, or None when our reader refuses a file llama.cpp may still take."""
    from publish.errors import PublishError
    from publish.gguf.reader import read_header

    try:
        return read_header(path)
    except (PublishError, OSError):
        return None


_PARAMS_LOCK = threading.Lock()


def load_llama(path: str, *, llama_class=None, **kwargs):
    """`Llama(path, **kwargs)` with llama.cpp's extra CPU buffer types off (`use_extra_bufts`, which
    llama-cpp-python 0.3.x does not expose): with them, llama.cpp repacks Q4_K/Q8_0/Q6_K weights for
    AMX, and on a VM whose CPU advertises AMX without the state being usable (our 2-core machines)
    the first matmul dies with SIGILL (`trap invalid opcode … in libggml-cpu.so`), killing the whole
    process. Plain CPU buffers give the same results everywhere; the smoke checks behaviour, not speed."""
    import llama_cpp.llama_cpp as capi

    if llama_class is None:
        from llama_cpp import Llama as llama_class
    with _PARAMS_LOCK:
        default = capi.llama_model_default_params

        def without_extra_bufts():
            params = default()
            if hasattr(params, "use_extra_bufts"):
                params.use_extra_bufts = False
            return params

        capi.llama_model_default_params = without_extra_bufts
        try:
            return llama_class(path, **kwargs)
        finally:
            capi.llama_model_default_params = default


def _declared_eos_ids(hdr, fallback: int | None) -> set[int]:
    """The EOS set the GGUF declares: eos_token_id plus eos_token_ids (Ollama's view).
    `fallback` (the engine's eos_token_id) when our header reader refused the file (hdr None)."""
    if hdr is None:
        return {fallback} if fallback is not None and fallback >= 0 else set()
    ids: set[int] = set()
    eos = hdr.value("tokenizer.ggml.eos_token_id")
    if eos is not None:
        ids.add(int(eos))
    more = hdr.value("tokenizer.ggml.eos_token_ids")
    if more is not None:
        ids.update(int(i) for i in (more.to_list() if hasattr(more, "to_list") else more))
    return ids


class LlamaCppEngine:
    """One loaded GGUF. Not re-entrant: calls are serialised with a lock."""

    def __init__(self, gguf_path: str | os.PathLike, *, n_ctx: int = 2048, seed: int = DEFAULT_SEED,
                 header=None):
        """Load `gguf_path` into llama.cpp with a context of `n_ctx` tokens. `header`: the file's
        publish.gguf.header.GGUFHeader when the caller read it already (a staged folder's), else
        it is read here. Raises LoadError when the file is missing, a chat template in it fails
        in the Jinja sandbox, or llama.cpp refuses it."""
        llama_cpp = _import_llama_cpp()
        from llama_cpp import Llama

        self.path = Path(gguf_path)
        if not self.path.is_file():
            raise LoadError(f"{self.path}: no such file")
        self._lock = threading.Lock()
        hdr = header if header is not None else _read_header(self.path)
        _check_templates(self.path, hdr)
        with _LOG_LOCK:
            _LOG_LINES.clear()
        start = time.perf_counter()
        try:
            # Prompt batches use as many threads as generation, like llama-cli (n_threads_batch
            # defaults to n_threads there); llama-cpp-python would use every core, and on a busy
            # 2-core CI runner its spinning threads made a 30-token prompt take 0.5 s instead of 1 ms.
            threads = max(1, (os.cpu_count() or 2) // 2)
            self._llama = load_llama(str(self.path), llama_class=_template_free(Llama), n_ctx=n_ctx, verbose=False,
                                     seed=seed, n_threads=threads, n_threads_batch=threads)
        except (ValueError, RuntimeError, OSError) as err:
            raise LoadError(f"{self.path.name}: llama.cpp could not load it: "
                            f"{_load_failure_reason(str(err))}") from None
        self.load_seconds = time.perf_counter() - start
        self._load_reported = False  # like Ollama: only the first request carries the load time
        self.n_ctx = self._llama.n_ctx()
        self._seed = seed
        # (prompt tokens, options) -> the generations already made for them within this load; a
        # request one of them decides is answered from it without generating (see _Generation).
        self._generations: dict[tuple, list[_Generation]] = {}
        model = self._llama._model
        self.bos_id: int | None = model.token_bos() if model.token_bos() >= 0 else None
        self.add_bos: bool = bool(model.add_bos_token())
        self.eos_ids: set[int] = _declared_eos_ids(hdr, model.token_eos())
        self._control_attr = int(llama_cpp.LLAMA_TOKEN_ATTR_CONTROL)
        self._control_tokens: list[str] | None = None
        self._eog_ids: set[int] | None = None
        self.metadata: dict[str, str] = dict(self._llama.gguf_metadata)

    # -- tokens -------------------------------------------------------------------------------

    def tokenize(self, text: str, add_bos: bool) -> list[int]:
        """Tokens of `text`, special tokens (`<start_of_turn>` …) parsed as such, like Ollama."""
        return self._llama.tokenize(text.encode("utf-8"), add_bos=add_bos, special=True)

    def token_text(self, token_id: int) -> str:
        """A token's text as llama.cpp detokenizes it with special tokens rendered (`<end_of_turn>`
        shows as itself); invalid UTF-8 as U+FFFD."""
        return self._llama.detokenize([token_id], special=True).decode("utf-8", "replace")

    @property
    def bos_text(self) -> str | None:
        """The BOS token's text, None when the model declares no BOS."""
        return None if self.bos_id is None else self.token_text(self.bos_id)

    @property
    def eos_texts(self) -> list[str]:
        """The texts of the end-of-generation tokens the engine stops on, sorted by id."""
        return [self.token_text(i) for i in sorted(self.eos_ids)]

    @property
    def control_tokens(self) -> list[str]:
        """Texts of the vocabulary's control tokens (`<end_of_turn>`, `<bos>`, …)."""
        if self._control_tokens is None:
            model = self._llama._model
            self._control_tokens = [
                model.token_get_text(i) for i in range(model.n_vocab())
                if model.token_get_attr(i) & self._control_attr
            ]
        return self._control_tokens

    @property
    def chat_template(self) -> str | None:
        """The GGUF's tokenizer.chat_template as llama.cpp read it, None when absent."""
        return self.metadata.get("tokenizer.chat_template")

    # -- generation ---------------------------------------------------------------------------

    @property
    def eog_ids(self) -> set[int]:
        """llama.cpp's own end-of-generation set (declared EOS/EOT plus tokens it recognises by
        text, such as <end_of_turn>): what llama-cli stops on. Not Ollama's view; see above."""
        if self._eog_ids is None:
            import llama_cpp

            vocab = llama_cpp.llama_model_get_vocab(self._llama._model.model)
            self._eog_ids = {i for i in range(self._llama.n_vocab()) if llama_cpp.llama_vocab_is_eog(vocab, i)}
        return self._eog_ids

    def complete(self, prompt: str, options: dict | None = None, *, end_ids: set[int] | None = None,
                 timeout: float | None = None) -> ChatResult:
        """Generate from a raw prompt with Ollama's option semantics.

        BOS is prepended when the GGUF says add_bos_token (as Ollama and llama.cpp do); the text
        renders control tokens, as Ollama does, so a leaked `<end_of_turn>` is visible.
        `end_ids` replaces the declared EOS set (the llama-cli path passes `eog_ids`); past
        `timeout` seconds a TimeoutError is raised.
        """
        return self.complete_tokens(self.tokenize(prompt, self.add_bos), options, end_ids=end_ids,
                                    timeout=timeout)

    def complete_tokens(self, tokens: list[int], options: dict | None = None, *,
                        end_ids: set[int] | None = None, timeout: float | None = None) -> ChatResult:
        """Generate from prompt token ids with Ollama's option semantics (defaults from Ollama
        v0.24.0 api/types.go DefaultOptions; num_predict -1/-2 fill the context; `stop` strings
        end the answer and are cut from it; the end-of-generation ids end it too, `end_ids`
        replacing them). An identical request earlier in this load is answered from its result
        (`reused`). Raises LoadError when the prompt does not fit the context (n_ctx tokens),
        TimeoutError past `timeout` seconds."""
        # a null value leaves Ollama's default in place (api/types.go Options.FromMap, v0.24.0)
        opts = {**OLLAMA_DEFAULTS, **{k: v for k, v in (options or {}).items() if v is not None}}
        stops = stop_list(opts.get("stop"), drop_empty=True)
        num_predict = opts.get("num_predict")
        num_predict = DEFAULT_NUM_PREDICT if num_predict is None else int(num_predict)
        if num_predict < 0:  # Ollama: -1 infinite, -2 fill the context
            num_predict = self.n_ctx
        if len(tokens) >= self.n_ctx:
            raise LoadError(f"prompt of {len(tokens)} tokens does not fit the {self.n_ctx}-token context")
        budget = min(num_predict, self.n_ctx - len(tokens))
        seed = opts.get("seed")
        last_n = int(opts["repeat_last_n"])
        end_ids = self.eos_ids if end_ids is None else end_ids
        key = (tuple(tokens), repr(sorted(opts.items(), key=lambda kv: kv[0])))
        for done in self._generations.get(key, ()):
            again = done.under(end_ids, stops, lambda tok: self._llama.detokenize([tok], special=True))
            if again is not None:
                return again

        with self._lock:
            load_reported, self._load_reported = self._load_reported, True
            llama = self._llama
            llama.set_seed(self._seed if seed is None or int(seed) < 0 else int(seed))
            llama.last_n_tokens_size = self.n_ctx if last_n < 0 else last_n
            llama.reset()  # every request is fresh, as Ollama's prompt cache is invisible in output
            out = bytearray()
            generated: list[int] = []
            offsets: list[int] = []  # len(out) before each generated token
            done_reason = "length"
            text = ""
            stopped_by = None
            start = time.perf_counter()
            first_token_at = None
            if budget > 0:
                for tok in llama.generate(
                    tokens,
                    temp=float(opts["temperature"]),
                    top_k=int(opts["top_k"]),
                    top_p=float(opts["top_p"]),
                    min_p=float(opts["min_p"]),
                    repeat_penalty=float(opts["repeat_penalty"]),
                    reset=True,
                ):
                    if first_token_at is None:
                        first_token_at = time.perf_counter()
                    generated.append(tok)
                    offsets.append(len(out))
                    if timeout is not None and time.perf_counter() - start > timeout:
                        raise TimeoutError(f"no end of generation within {timeout:g}s")
                    if tok in end_ids:
                        done_reason = "stop"
                        stopped_by = llama.detokenize([tok], special=True).decode("utf-8", "replace")
                        break
                    out += llama.detokenize([tok], special=True)
                    text = out.decode("utf-8", "ignore")
                    cut = _first_stop(text, stops)
                    if cut is not None:
                        stopped_by = min((s for s in stops if text.find(s) == cut), key=len)
                        text = text[:cut]
                        done_reason = "stop"
                        break
                    if len(generated) >= budget:
                        break
            end = time.perf_counter()
        if done_reason == "length":
            text = out.decode("utf-8", "replace")
        first_token_at = first_token_at or end
        result = ChatResult(
            text=text,
            done_reason=done_reason,
            prompt_tokens=len(tokens),
            eval_tokens=len(generated),
            load_seconds=0.0 if load_reported else self.load_seconds,
            prompt_seconds=first_token_at - start,
            eval_seconds=end - first_token_at,
            prompt_token_ids=list(tokens),
            engine_bos_id=self.bos_id if self.add_bos else None,
            stopped_by=stopped_by,
        )
        ended_by_id = done_reason == "stop" and bool(generated) and generated[-1] in end_ids
        self._generations.setdefault(key, []).append(_Generation(generated, offsets, bytes(out), ended_by_id, result))
        return result

    def close(self) -> None:
        """Free the model (llama.cpp's context and weights). Idempotent."""
        llama, self._llama = getattr(self, "_llama", None), None
        if llama is not None:
            llama.close()

    def __enter__(self) -> "LlamaCppEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@dataclasses.dataclass(frozen=True)
class _Generation:
    """One seeded generation: its tokens, the byte offset of each in the detokenized output, and
    whether it ended on an end id. Sampling is deterministic for the same prompt tokens, options
    and seed, so the same request with another end-id set (the llama-cli path stops on llama.cpp's
    end-of-generation set, the Ollama path on the declared EOS) produces the same tokens up to the
    first one in that set: `under` rebuilds that result without generating, or returns None when
    the other set would have let generation go on past where this one stopped."""
    generated: list[int]
    offsets: list[int]
    out: bytes
    ended_by_end_id: bool
    result: ChatResult

    def under(self, end_ids: set[int], stops: list[str], detok) -> ChatResult | None:
        """This generation as seen with `end_ids` (and the same stops); `detok(id) -> bytes`."""
        same = {"load_seconds": 0.0, "prompt_seconds": 0.0, "eval_seconds": 0.0, "reused": True}
        first = next((i for i, tok in enumerate(self.generated) if tok in end_ids), None)
        if first is None and self.ended_by_end_id:
            # Its last token ended it here but not under `end_ids`: the token is written out
            # instead, and only a stop string it completes ends generation at the same place.
            last = self.generated[-1]
            text = (self.out + detok(last)).decode("utf-8", "ignore")
            cut = _first_stop(text, stops)
            if cut is None:
                return None
            hit = min((s for s in stops if text.find(s) == cut), key=len)
            return dataclasses.replace(self.result, text=text[:cut], stopped_by=hit, **same)
        if first is None or (first == len(self.generated) - 1 and self.ended_by_end_id):
            return dataclasses.replace(self.result, **same)
        text = self.out[: self.offsets[first]].decode("utf-8", "ignore")
        return dataclasses.replace(self.result, text=text, done_reason="stop", eval_tokens=first + 1,
                                   stopped_by=detok(self.generated[first]).decode("utf-8", "replace"), **same)


def _first_stop(text: str, stops: list[str]) -> int | None:
    hits = [i for i in (text.find(s) for s in stops) if i >= 0]
    return min(hits) if hits else None


class LlamaCppBackend:
    """The smoke backend without Ollama: one LlamaCppEngine at a time (memory: one model).

    The Ollama path builds the prompt from the folder's Go template with publish.gotmpl, exactly
    as Ollama would, tokenizes it with BOS per the GGUF and generates with the release params.
    `chat_jinja` is the `llama-cli --jinja` path: the GGUF's own chat template (sandboxed), one
    leading BOS text stripped as llama.cpp does before tokenizing, llama.cpp's EOG set.
    """

    name = "llamacpp"

    def __init__(self, *, n_ctx: int = 2048, seed: int = DEFAULT_SEED):
        _import_llama_cpp()
        self.n_ctx = n_ctx
        self.seed = seed
        self._engine: LlamaCppEngine | None = None
        self._engine_for: str | None = None

    @property
    def engine(self) -> LlamaCppEngine | None:
        """The engine of the quant loaded now, None between quants."""
        return self._engine

    def prepare(self, target: Target) -> None:
        """Load the target's local GGUF with a context of the release's num_ctx (else the backend's
        n_ctx), as Ollama loads it, after unloading the previous one; the header a staged folder
        read (`target.header`) is reused. Raises LoadError for an hf.co target (no local file) or
        a GGUF llama.cpp refuses."""
        if target.gguf is None:
            raise LoadError(f"{target.model}: the llamacpp backend needs a local GGUF")
        self.unload(target)
        n_ctx = int(target.params.get("num_ctx") or self.n_ctx)  # Ollama loads with the model's num_ctx
        self._engine = LlamaCppEngine(target.gguf, n_ctx=n_ctx, seed=self.seed, header=target.header)
        self._engine_for = target.model

    def _loaded(self, target: Target) -> LlamaCppEngine:
        if self._engine is None or self._engine_for != target.model:
            self.prepare(target)
        return self._engine

    def render(self, target: Target, messages: list[dict]) -> str | None:
        """The prompt Ollama would build: the release's Go template rendered with publish.gotmpl
        over Ollama's message data (publish.smoke.prompts.ollama_messages); None without a
        template. Raises TemplateError when the template cannot render it."""
        if target.template is None:
            return None
        return render_go(target.template, ollama_messages(messages, target.system))

    def chat(self, target: Target, messages: list[dict], options: dict, timeout: float) -> ChatResult:
        """Render the conversation with the release's Go template and complete it with llama.cpp.
        Raises LoadError when there is no template, it cannot render the conversation, or no
        answer comes within `timeout` seconds."""
        engine = self._loaded(target)
        try:
            prompt = self.render(target, messages)
        except TemplateError as err:
            raise LoadError(f"{target.model}: the Go template cannot render this conversation: {message_of(err)}") from None
        if prompt is None:
            raise LoadError(f"{target.model}: no Go template to build the prompt with")
        try:
            result = engine.complete(prompt, options, timeout=timeout)
        except TimeoutError as err:
            raise LoadError(f"chat with {target.model}: {err}") from None
        return result

    def chat_jinja(self, target: Target, messages: list[dict], options: dict, timeout: float,
                   rendered: str | None = None) -> tuple[str, ChatResult] | None:
        """(rendered prompt, result) through the GGUF's Jinja template, or None without one.
        `rendered` is the Jinja render when the caller already has it (the runner renders every
        conversation in one sandboxed batch); otherwise it is rendered here, sandboxed. Raises
        LoadError when the generation passes `timeout` seconds."""
        engine = self._loaded(target)
        if rendered is None:
            source = engine.chat_template
            if not source:
                return None
            from publish.chat import render_chat

            eos = engine.eos_texts
            rendered = render_chat(source, ollama_messages(messages, target.system),
                                   bos_token=engine.bos_text or "", eos_token=eos[0] if eos else "")
        prompt = rendered
        if engine.add_bos and engine.bos_text and prompt.startswith(engine.bos_text):
            prompt = prompt[len(engine.bos_text):]
        try:
            result = engine.complete(prompt, options, end_ids=engine.eog_ids, timeout=timeout)
        except TimeoutError as err:
            raise LoadError(f"llama-cli --jinja path for {target.model}: {err}") from None
        return rendered, result

    def show(self, target: Target) -> ShowResult | None:
        """Always None: llama.cpp keeps no model store, the params go with each request."""
        return None  # no model store: params go with each request, nothing to read back

    def unload(self, target: Target) -> None:
        """Free the loaded quant, if any."""
        engine, self._engine, self._engine_for = self._engine, None, None
        if engine is not None:
            engine.close()

    def remove(self, target: Target) -> None:
        """Nothing to remove: llama.cpp reads the GGUF in place."""

    def close(self) -> None:
        """Free the loaded quant. Idempotent."""
        self.unload(None)  # type: ignore[arg-type]
