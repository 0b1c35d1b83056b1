"""`smoke(target, options)`: the run loop. Every quant through an engine, every prompt checked.

One quant is loaded at a time and unloaded before the next (memory: one model). A quant that
does not load is recorded as a load failure and the run goes on. Scratch models are removed at
the end unless `keep`. What to smoke: `targets`; one prompt's checks: `case`; the results:
`results`.

Progress (publish.progress: stderr, a person at a terminal only): one bar over every quant ×
prompt, and one line per finished prompt above it with its verdict and, for a failure or a
warning, the cause (results.short_reason).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from publish.addresses import file_url_given_for_ollama, is_hub_file_url, is_ollama_hub_name
from publish.errors import UsageError
from publish.progress import bar, note
from publish.modelkind import BASE
from publish.smoke import checks as C
from publish.smoke.base import DEFAULT_NUM_PREDICT, DEFAULT_SEED, DEFAULT_TIMEOUT, Backend, LoadError, Target, Unsupported
from publish.smoke.case import smoke_prompt
from publish.smoke.checks import Status
from publish.smoke.gguf_facts import GGUFFacts, gguf_facts
from publish.smoke.jinja_parity import jinja_renders
from publish.smoke.prompts import Prompt, default_prompts, ollama_messages
from publish.smoke.results import CaseResult, QuantResult, SmokeReport, short_reason
from publish.smoke.targets import plan_folder, plan_hub


@dataclass
class SmokeOptions:
    """How to smoke: the engine, the prompts, which quants, and the bounds (seconds, tokens)."""
    backend: str = "ollama"               # "ollama" | "llamacpp"
    via: str = "api"                      # ollama backend: "api" | "cli"
    prompts: list[Prompt] | None = None   # None: DEFAULT_PROMPTS, or DEFAULT_COMPLETIONS for a base release
    quants: list[str] | None = None       # None: every quant of the target
    timeout: float = DEFAULT_TIMEOUT      # seconds per engine call
    shard: tuple[int, int] | None = None  # (I, N), 1-based: quants I, I+N, I+2N, …
    serve: bool = False                   # start `ollama serve` when no server answers
    keep: bool = False                    # keep the scratch / pulled models
    host: str | None = None               # Ollama URL (default OLLAMA_HOST)
    seed: int = DEFAULT_SEED
    num_predict: int = DEFAULT_NUM_PREDICT  # bound on a runaway, unless the release sets its own
    backend_factory: Callable[[], Backend] | None = None  # a ready backend (tests, Python users)
    registry: str | None = None           # hf.co targets: the registry Ollama pulls from (None: hf.co)

    def __post_init__(self) -> None:
        """Raises UsageError for a timeout that is not a positive finite number of seconds, a
        num_predict below 1 or a seed outside 0..2**32-1 (Ollama v0.24.0 takes -1 as "random")."""
        import math

        if not (isinstance(self.timeout, (int, float)) and math.isfinite(self.timeout) and self.timeout > 0):
            raise UsageError(f"timeout {self.timeout!r}: must be a positive number of seconds")
        if not 1 <= self.num_predict:
            raise UsageError(f"num_predict {self.num_predict!r}: must be at least 1 (it bounds a runaway)")
        if not 0 <= self.seed < 2**32:
            raise UsageError(f"seed {self.seed!r}: must be in 0..{2**32 - 1} (Ollama takes -1 as random)")


# -- the run ---------------------------------------------------------------------------------------

def _import_once() -> None:
    """Import what every quant needs before the first one, so per-quant timings are per quant."""
    import numpy  # noqa: F401

    import publish.chat  # noqa: F401
    import publish.gguf.reader  # noqa: F401
    import publish.gotmpl  # noqa: F401
    import publish.templatecheck  # noqa: F401


def make_backend(options: SmokeOptions) -> Backend:
    """The engine backend the options name: `backend_factory()` when given, else llamacpp or
    ollama (`via` api or cli). Raises UsageError for an unknown name; an Ollama backend raises
    SmokeSetupError when no server answers (and `serve` cannot start one)."""
    if options.backend_factory is not None:
        return options.backend_factory()
    if options.backend == "llamacpp":
        from publish.smoke.llamacpp import LlamaCppBackend

        return LlamaCppBackend(seed=options.seed)
    if options.backend != "ollama":
        raise UsageError(f"--backend {options.backend!r}: expected ollama or llamacpp")
    if options.via == "api":
        from publish.smoke.ollama_api import OllamaAPIBackend

        return OllamaAPIBackend(options.host, serve=options.serve, timeout=options.timeout)
    if options.via == "cli":
        from publish.smoke.ollama_cli import OllamaCLIBackend

        return OllamaCLIBackend(options.host, serve=options.serve, timeout=options.timeout)
    raise UsageError(f"--via {options.via!r}: expected api or cli")


def smoke(target, options: SmokeOptions | None = None) -> SmokeReport:
    """Smoke a staged folder (a publish.staged.StagedFolder, or its path) or `hf.co/ORG/NAME`.
    Raises SmokeSetupError / UsageError (exit 2)."""
    from publish.staged import StagedFolder

    options = options or SmokeOptions()
    started = time.perf_counter()
    if isinstance(target, StagedFolder):
        planned, target = plan_folder(target, options), str(target.path)
    elif is_ollama_hub_name(target):
        if options.backend == "llamacpp" and options.backend_factory is None:
            raise UsageError(f"{target}: the llamacpp backend smokes a local staged folder",
                             hint="use --backend ollama for hf.co targets, or point at the folder")
        planned = plan_hub(target, options)
    elif is_hub_file_url(target):
        raise file_url_given_for_ollama(target, "smoke")
    else:
        from publish.inputpaths import input_kind

        path = Path(target)
        if input_kind(path) == "missing":   # InputPathError: unreadable on the way, a broken link, a FIFO
            raise UsageError(f"{target}: no such folder", hint="give a staged folder or hf.co/ORG/NAME[:TAG]")
        planned = plan_folder(path, options)
    base = bool(planned.targets) and all(t.kind == BASE for t in planned.targets)
    prompts = list(options.prompts or default_prompts(base))

    report = SmokeReport(target=target, backend="", prompts=prompts, shard=options.shard)
    chosen = {t.label for t in planned.targets}
    report.other_shards = [label for label in planned.all_labels if label not in chosen]
    _import_once()  # before the backend: it may have started `ollama serve`, which close() must stop
    backend = make_backend(options)
    report.backend = getattr(backend, "name", options.backend)
    prepared: list[Target] = []
    jinja_cache: dict = {}
    try:
        with bar(len(planned.targets) * len(prompts), "smoke", unit="prompt") as cases_bar:
            for t in planned.targets:
                note(f"smoke {t.label} ({t.model})")
                cases_bar.set_description(f"smoke {t.label}")
                report.quants.append(_smoke_quant(backend, t, planned.headers.get(t.label), prompts, options,
                                                  prepared, jinja_cache, planned.release_unknown, cases_bar))
        if not options.keep:
            for t in prepared:
                try:
                    backend.remove(t)
                except LoadError:
                    pass
    finally:
        backend.close()
    report.seconds = time.perf_counter() - started
    return report


def refused_params(params: dict) -> str | None:
    """Why real Ollama refuses every /api/generate and /api/chat request to a model with these
    `params` (the message names each key, its value and Ollama's own error text:
    publish.modelfile.ollama_option_errors, api.Options.FromMap in Ollama v0.24.0), or None."""
    import json

    from publish.modelfile import ollama_option_errors

    errors = ollama_option_errors(params)
    if not errors:
        return None
    each = "; ".join(f"params {name} = {json.dumps(params[name])}: {err}" for name, err in errors.items())
    return f"Ollama refuses every request to this model: {each}"


def _refuse_non_gguf(target: Target) -> None:
    """A LoadError saying what a local `*.gguf` is when the folder's read found no GGUF magic (a
    Git LFS pointer, an HTML page, an empty file: publish.gguf.sniff) and what to do; the engines
    would only say "invalid magic"."""
    from publish.errors import NotGGUFError

    err = target.unreadable
    if isinstance(err, NotGGUFError) and target.gguf is not None:
        raise LoadError(f"{target.gguf.name}: {err.expected}; {err.hint}")


def _smoke_quant(backend: Backend, target: Target, header_source, prompts: list[Prompt],
                 options: SmokeOptions, prepared: list[Target], jinja_cache: dict,
                 release_unknown: str | None, cases_bar) -> QuantResult:
    start = time.perf_counter()
    qr = QuantResult(label=target.label, model=target.model, gguf=str(target.gguf) if target.gguf else None)
    refused = refused_params(target.params)
    if refused is not None:
        # real Ollama answers every request with this error (hf.co bridge included): no engine run
        # can pass, whichever backend would have been lenient
        qr.cases = [CaseResult(target.label, p.name, [C.failed("params", refused)]) for p in prompts]
        note(f"  {target.label}: {refused}")
        cases_bar.update(len(prompts))
        qr.wall_seconds = time.perf_counter() - start
        return qr
    try:
        prepare_start = time.perf_counter()
        cases_bar.set_postfix_str("loading")   # create/pull and load: the bar names what the wait is for
        try:
            _refuse_non_gguf(target)
            backend.prepare(target)
        except LoadError as err:
            qr.load_error = str(err)
            qr.cases = [CaseResult(target.label, p.name, [C.failed("load", f"load failure: {err}")]) for p in prompts]
            note(f"  {target.label}: load failure: {err}")
            cases_bar.update(len(prompts))
            return qr
        finally:
            prepared.append(target)
        qr.prepare_seconds = time.perf_counter() - prepare_start
        facts = gguf_facts(header_source) if header_source is not None else GGUFFacts(why_unknown="no GGUF header")
        conversations = [ollama_messages(p.messages, target.system) for p in prompts]
        jinja, jinja_why = jinja_renders(facts, conversations, jinja_cache)
        # what the engine holds is compared with the release's files: not asked when those are unknown
        show, show_error = None, release_unknown
        if not release_unknown:
            try:
                show = backend.show(target)
            except (LoadError, Unsupported) as err:
                show_error = str(err)
        # The release's own params win (seed and num_predict included); the smoke only fills in
        # a seed and a bound on a runaway when the release sets none.
        options_for_chat = {"num_predict": options.num_predict, "seed": options.seed, **target.params}
        for index, (prompt, conv) in enumerate(zip(prompts, conversations)):
            cases_bar.set_postfix_str(prompt.name)
            case = smoke_prompt(backend, target, prompt, conv, options_for_chat, options.timeout,
                                facts, (jinja, index, jinja_why), show, show_error)
            qr.cases.append(case)
            cause = f" — {short_reason(case)}" if case.status in (Status.FAIL, Status.WARN) else ""
            note(f"  {target.label} {prompt.name}: {case.status.value} ({case.seconds:.1f}s){cause}")
            cases_bar.update(1)
        qr.load_seconds = sum(c.load_seconds for c in qr.cases)
        qr.engine_seconds = qr.load_seconds + sum(c.engine_seconds for c in qr.cases)
    finally:
        try:
            backend.unload(target)
        except LoadError:
            pass
        qr.wall_seconds = time.perf_counter() - start
    return qr

