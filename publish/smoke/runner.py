"""`smoke(target, options)`: every quant through an engine, every prompt checked.

One quant is loaded at a time and unloaded before the next (memory: one model). A quant that
does not load is recorded as a load failure and the run goes on. Scratch models are removed at
the end unless `keep`.
"""

from __future__ import annotations

import dataclasses
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from publish.addresses import OLLAMA_HUB_PREFIX, is_hub_file_url, is_ollama_hub_name, ollama_hub_repo
from publish.errors import TemplateError, UsageError
from publish.smoke import checks as C
from publish.smoke.base import Backend, ChatResult, LoadError, ShowResult, Target, Unsupported
from publish.smoke.checks import Check, Status
from publish.modelfile import stop_list
from publish.modelkind import BASE, BASE_REASON
from publish.smoke.prompts import Prompt, default_prompts, ollama_messages, render_go

HF_PREFIX = OLLAMA_HUB_PREFIX
DEFAULT_NUM_PREDICT = 128


@dataclass
class SmokeOptions:
    backend: str = "ollama"               # "ollama" | "llamacpp"
    via: str = "api"                      # ollama backend: "api" | "cli"
    prompts: list[Prompt] | None = None   # None: DEFAULT_PROMPTS, or DEFAULT_COMPLETIONS for a base release
    quants: list[str] | None = None       # None: every quant of the target
    timeout: float = 300.0                # seconds per engine call
    shard: tuple[int, int] | None = None  # (I, N), 1-based: quants I, I+N, I+2N, …
    serve: bool = False                   # start `ollama serve` when no server answers
    keep: bool = False                    # keep the scratch / pulled models
    host: str | None = None               # Ollama URL (default OLLAMA_HOST)
    seed: int = 42
    num_predict: int = DEFAULT_NUM_PREDICT  # bound on a runaway, unless the release sets its own
    progress: Callable[[str], None] | None = None
    backend_factory: Callable[[], Backend] | None = None  # a ready backend (tests, Python users)
    registry: str | None = None           # hf.co targets: the registry Ollama pulls from (None: hf.co)


@dataclass
class CaseResult:
    """One quant × prompt."""
    quant: str
    prompt: str
    checks: list[Check] = field(default_factory=list)
    answer: str | None = None
    done_reason: str | None = None
    prompt_tokens: int = 0
    eval_tokens: int = 0
    prompt_tps: float | None = None
    eval_tps: float | None = None
    seconds: float = 0.0          # wall time of this case in the runner
    load_seconds: float = 0.0     # model load the engine reported with this request (Ollama: the first)
    engine_seconds: float = 0.0   # prompt + generation time the engine reports (both paths)
    jinja_answer: str | None = None
    jinja_reused: bool = False    # the llama-cli --jinja path got the same request: not generated twice

    @property
    def status(self) -> Status:
        states = {c.status for c in self.checks}
        if Status.FAIL in states:
            return Status.FAIL
        if states and states <= {Status.SKIP}:
            return Status.SKIP
        return Status.WARN if Status.WARN in states else Status.PASS

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.status is Status.FAIL]

    @property
    def reason(self) -> str:
        bad = self.failures or [c for c in self.checks if c.status is Status.WARN]
        return "; ".join(f"{c.name}: {c.message}" for c in bad)

    def to_dict(self) -> dict:
        return {
            "quant": self.quant, "prompt": self.prompt, "status": self.status.value,
            "answer": self.answer, "done_reason": self.done_reason,
            "prompt_tokens": self.prompt_tokens, "eval_tokens": self.eval_tokens,
            "prompt_tokens_per_second": self.prompt_tps, "eval_tokens_per_second": self.eval_tps,
            "seconds": round(self.seconds, 6), "load_seconds": round(self.load_seconds, 6),
            "engine_seconds": round(self.engine_seconds, 6),
            "jinja_answer": self.jinja_answer, "jinja_reused": self.jinja_reused,
            "checks": [c.to_dict() for c in self.checks],
        }


@dataclass
class QuantResult:
    label: str
    model: str
    gguf: str | None = None
    load_error: str | None = None
    prepare_seconds: float = 0.0  # rm + create/pull (Ollama) or load (llamacpp), wall time
    load_seconds: float = 0.0     # model load as the engine reports it
    engine_seconds: float = 0.0   # load + prompt + generation, as the engine reports them
    wall_seconds: float = 0.0     # everything the runner spent on this quant
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def overhead_seconds(self) -> float:
        return max(0.0, self.wall_seconds - self.engine_seconds)

    @property
    def status(self) -> Status:
        if self.load_error or any(c.status is Status.FAIL for c in self.cases):
            return Status.FAIL
        return Status.PASS

    def to_dict(self) -> dict:
        return {
            "label": self.label, "model": self.model, "gguf": self.gguf, "status": self.status.value,
            "load_error": self.load_error, "prepare_seconds": round(self.prepare_seconds, 6),
            "load_seconds": round(self.load_seconds, 6),
            "engine_seconds": round(self.engine_seconds, 6), "wall_seconds": round(self.wall_seconds, 6),
            "cases": [c.to_dict() for c in self.cases],
        }


@dataclass
class SmokeReport:
    target: str
    backend: str
    prompts: list[Prompt]
    quants: list[QuantResult] = field(default_factory=list)
    shard: tuple[int, int] | None = None
    other_shards: list[str] = field(default_factory=list)  # quants left to the other shards
    seconds: float = 0.0

    @property
    def cases(self) -> list[CaseResult]:
        return [c for q in self.quants for c in q.cases]

    @property
    def failed(self) -> bool:
        return any(q.status is Status.FAIL for q in self.quants)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def counts(self) -> dict[str, int]:
        out = {s.value: 0 for s in Status}
        for c in self.cases:
            out[c.status.value] += 1
        return out

    def to_dict(self) -> dict:
        return {
            "target": self.target, "backend": self.backend,
            "shard": f"{self.shard[0]}/{self.shard[1]}" if self.shard else None,
            "other_shards": self.other_shards, "passed": not self.failed, "exit_code": self.exit_code,
            "counts": self.counts(), "seconds": round(self.seconds, 6),
            "prompts": [p.to_dict() for p in self.prompts],
            "quants": [q.to_dict() for q in self.quants],
        }


# -- targets -------------------------------------------------------------------------------------

def parse_shard(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not m or not (1 <= int(m.group(1)) <= int(m.group(2))):
        raise UsageError(f"--shard {text!r}: expected I/N with 1 <= I <= N, e.g. 1/4")
    return int(m.group(1)), int(m.group(2))


def select_shard(labels: list[str], shard: tuple[int, int] | None) -> list[str]:
    """Every N-th label starting at the I-th (1-based), over the labels sorted case-insensitively,
    so a spec, its staged folder and its Hub repo shard the same way."""
    if shard is None:
        return list(labels)
    i, n = shard
    return sorted(labels, key=lambda label: (label.lower(), label))[i - 1::n]


is_hub_target = is_ollama_hub_name   # hf.co/ORG/NAME[:TAG] (publish.addresses)
hub_repo = ollama_hub_repo


def registry_host(registry: str | None) -> tuple[str, bool]:
    """(the host part of the Ollama model name, whether the pull is plain HTTP) for `--registry`.

    None -> ("hf.co", False). "http://127.0.0.1:8080" -> ("127.0.0.1:8080", True): Ollama v0.24.0
    pulls a name whose first part has a dot or a colon from that host (types/model/name.go), over
    https unless the pull is `--insecure` (server/images.go makeRequest). Raises UsageError."""
    if registry is None:
        return "hf.co", False
    m = re.fullmatch(r"(https?)://([A-Za-z0-9_.-]+(?::\d{1,5})?)/?", registry.strip())
    if not m or ("." not in m.group(2) and ":" not in m.group(2)):
        raise UsageError(f"--registry {registry!r}: expected http(s)://HOST[:PORT], e.g. http://127.0.0.1:8080",
                         hint="the host Ollama pulls hf.co/ORG/NAME from; default hf.co")
    return m.group(2), m.group(1) == "http"


def scratch_name(folder: Path, label: str) -> str:
    slug = re.sub(r"[^a-z0-9_.-]+", "-", folder.resolve().name.lower()).strip("-.") or "model"
    return f"publish-smoke/{slug}:{label.lower()}"


@dataclass
class _Planned:
    targets: list[Target]
    all_labels: list[str]
    headers: dict[str, object]  # label -> header source (path or hf:// url) for GGUF facts
    release_unknown: str | None = None  # why the release's params/template are unknown


def _filter_quants(all_labels: list[str], wanted: list[str] | None, where: str) -> list[str]:
    if not wanted:
        return list(all_labels)
    by_lower = {label.lower(): label for label in all_labels}
    missing = [w for w in wanted if w.lower() not in by_lower]
    if missing:
        raise UsageError(f"{where}: no quant {', '.join(missing)} (found: {', '.join(all_labels) or 'none'})")
    return [by_lower[w.lower()] for w in wanted]


def plan_folder(path: Path, options: SmokeOptions) -> _Planned:
    from publish.staged import load_staged

    folder = load_staged(path)
    if not folder.quants:
        raise UsageError(f"{path}: no GGUF files in the folder", hint="run `publish build SPEC -o DIR` first")
    stop = folder.params.get("stop")
    if stop is not None and not (isinstance(stop, str) or (isinstance(stop, list)
                                                           and all(isinstance(s, str) for s in stop))):
        raise UsageError(f"{Path(path) / 'params'}: \"stop\" must be a string or a list of strings, not {stop!r}",
                         hint='for example "stop": ["<end_of_turn>"]')
    if folder.template is not None:
        from publish import gotmpl

        gotmpl.parse(folder.template, str(Path(path) / "template"))  # TemplateError names file:line:col
    labels = _filter_quants([q.label for q in folder.quants], options.quants, str(path))
    targets = []
    for label in select_shard(labels, options.shard):
        q = folder.quant(label)
        targets.append(Target(label=q.label, model=scratch_name(path, q.label), gguf=q.path,
                              template=folder.template, params=dict(folder.params), system=folder.system,
                              kind=folder.kind))
    return _Planned(targets, labels, {t.label: t.gguf for t in targets})


def hub_quant_urls(repo: str) -> dict[str, str]:
    """Quant label -> URL of its (first) GGUF in the Hub repo, projectors left out."""
    from publish.hub.remote import list_gguf_urls
    from publish.quants import is_projector_filename, label_from_filename, shard_info

    out: dict[str, str] = {}
    for url in sorted(list_gguf_urls(f"hf://{repo}")):
        name = url.rsplit("/", 1)[-1]
        if is_projector_filename(name):
            continue
        part = shard_info(name)
        if part and part[0] != 1:
            continue
        label = label_from_filename(name) or name[: -len(".gguf")]
        out.setdefault(label, url)
    return out


def plan_hub(target: str, options: SmokeOptions) -> _Planned:
    repo = hub_repo(target)
    tag = target.split(":", 1)[1] if ":" in target.split("/", 2)[-1] else None
    wanted = options.quants or ([tag] if tag else None)
    urls = hub_quant_urls(repo)
    if not urls:
        raise UsageError(f"hf.co/{repo}: no GGUF quants found in the repo")
    labels = _filter_quants(list(urls), wanted, f"hf.co/{repo}")
    release, unreadable = _hub_release_files(repo)
    from publish.modelkind import CHAT, is_completion_template

    kind = BASE if is_completion_template(release.get("template")) else CHAT
    host, insecure = registry_host(options.registry)
    targets = [Target(label=label, model=f"{host}/{repo}:{label}", params=release.get("params") or {},
                      template=release.get("template"), system=release.get("system"), kind=kind,
                      insecure=insecure)
               for label in select_shard(labels, options.shard)]
    return _Planned(targets, labels, {t.label: urls[t.label] for t in targets}, unreadable)


def _hub_release_files(repo: str) -> tuple[dict, str | None]:
    """The repo's own `template`, `params` and `system` (the files Ollama's hf.co bridge reads),
    and why they could not be read (then the params check is skipped). Missing files are omitted."""
    import json

    from publish.errors import HubError
    from publish.hub.remote import open_hf_file

    out: dict = {}
    for name in ("template", "params", "system"):
        url = f"hf://{repo}/{name}"
        try:
            with open_hf_file(url) as fh:
                raw = fh.read(1_000_001)
        except HubError as err:
            if "file not found" in err.message:
                continue
            return out, f"cannot read the repo's {name}: {err.message}"
        if len(raw) > 1_000_000:
            return out, f"{url}: larger than 1 MB, not an Ollama {name} file"
        text = raw.decode("utf-8", "replace")
        if name == "params":
            try:
                out[name] = json.loads(text)
            except json.JSONDecodeError as err:
                return out, f"{url}:{err.lineno}:{err.colno}: params is not valid JSON"
        else:
            out[name] = text
    return out, None


# -- GGUF facts the checks need -----------------------------------------------------------------

@dataclass
class _Facts:
    add_bos: bool | None = None
    bos_text: str | None = None
    eos_text: str | None = None
    chat_template: str | None = None
    control_tokens: list[str] = field(default_factory=list)
    why_unknown: str | None = None


def _facts(source) -> _Facts:
    from publish.errors import PublishError
    from publish.gguf.reader import read_header

    try:
        if isinstance(source, str) and is_hub_file_url(source):
            from publish.hub.remote import open_hf_file

            with open_hf_file(source) as fh:
                hdr = read_header(fh, name=source)
        else:
            hdr = read_header(source)
    except (PublishError, OSError) as err:
        return _Facts(why_unknown=f"GGUF header unreadable: {err}")
    controls: list[str] = []
    types = hdr.value("tokenizer.ggml.token_type")
    tokens = hdr.tokens
    if types is not None and len(types) == len(tokens):
        import numpy as np

        arr = types.numpy() if hasattr(types, "numpy") else np.asarray(list(types))
        controls = [tokens[int(i)] for i in np.nonzero(arr == 3)[0]]  # gguf TokenType.CONTROL
    return _Facts(add_bos=hdr.add_bos_token, bos_text=hdr.bos_text, eos_text=hdr.eos_text,
                  chat_template=hdr.chat_template, control_tokens=controls)


def _jinja_renders(facts: _Facts, conversations: list[list[dict]], cache: dict):
    """The GGUF's Jinja template on the run's conversations (with templatecheck's trim probes),
    in one sandboxed batch, shared by the quants that carry the same template. Returns
    (templatecheck.JinjaRenders | None, reason when None)."""
    if not facts.chat_template:
        return None, "the GGUF has no tokenizer.chat_template"
    key = (facts.chat_template, facts.bos_text, facts.eos_text, bool(facts.add_bos), repr(conversations))
    if key not in cache:
        from publish.chat import ChatTemplate
        from publish.errors import TemplateError
        from publish.templatecheck import Conversation, render_jinja_suite

        suite = tuple(Conversation(f"c{i}", conv) for i, conv in enumerate(conversations))
        try:
            tpl = ChatTemplate(facts.chat_template, bos_token=facts.bos_text or "", eos_token=facts.eos_text or "")
            cache[key] = (render_jinja_suite(tpl, suite, strip_bos=bool(facts.add_bos)), None)
        except TemplateError as err:
            cache[key] = (None, f"the GGUF's Jinja template cannot be rendered: {err}")
    return cache[key]


def _jinja_parity(jinja, index: int, rendered: str, template: str | None):
    """templatecheck's verdict on conversation `index`: the engine's prompt against the Jinja
    render; trim probes are rendered with publish.gotmpl."""
    from publish.templatecheck import compare

    conv = jinja.suite[index]

    def go_render(tpl: str, messages: list[dict]) -> str:
        return rendered if messages == conv.messages else render_go(template or "", messages)

    single = dataclasses.replace(jinja, suite=(conv,), renders=[jinja.renders[index]], probes=[jinja.probes[index]])
    return compare(single, template or "", go_render=go_render).conversations[0]


# -- the run ---------------------------------------------------------------------------------------

def _import_once() -> None:
    """Import what every quant needs before the first one, so per-quant timings are per quant."""
    import numpy  # noqa: F401

    import publish.chat  # noqa: F401
    import publish.gguf.reader  # noqa: F401
    import publish.gotmpl  # noqa: F401
    import publish.templatecheck  # noqa: F401


def make_backend(options: SmokeOptions) -> Backend:
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


def smoke(target: str, options: SmokeOptions | None = None) -> SmokeReport:
    """Smoke a staged folder or `hf.co/ORG/NAME`. Raises SmokeSetupError / UsageError (exit 2)."""
    options = options or SmokeOptions()
    started = time.perf_counter()
    if is_hub_target(target):
        if options.backend == "llamacpp" and options.backend_factory is None:
            raise UsageError(f"{target}: the llamacpp backend smokes a local staged folder",
                             hint="use --backend ollama for hf.co targets, or point at the folder")
        planned = plan_hub(target, options)
    else:
        path = Path(target)
        if not path.exists():
            raise UsageError(f"{target}: no such folder", hint="give a staged folder or hf.co/ORG/NAME")
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
        for t in planned.targets:
            if options.progress:
                options.progress(f"smoke {t.label} ({t.model})")
            report.quants.append(_smoke_quant(backend, t, planned.headers.get(t.label), prompts, options, prepared,
                                             jinja_cache, planned.release_unknown))
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


def _smoke_quant(backend: Backend, target: Target, header_source, prompts: list[Prompt],
                 options: SmokeOptions, prepared: list[Target], jinja_cache: dict,
                 release_unknown: str | None = None) -> QuantResult:
    start = time.perf_counter()
    qr = QuantResult(label=target.label, model=target.model, gguf=str(target.gguf) if target.gguf else None)
    try:
        prepare_start = time.perf_counter()
        try:
            backend.prepare(target)
        except LoadError as err:
            qr.load_error = str(err)
            qr.cases = [CaseResult(target.label, p.name, [C.failed("load", f"load failure: {err}")]) for p in prompts]
            return qr
        finally:
            prepared.append(target)
        qr.prepare_seconds = time.perf_counter() - prepare_start
        facts = _facts(header_source) if header_source is not None else _Facts(why_unknown="no GGUF header")
        conversations = [ollama_messages(p.messages, target.system) for p in prompts]
        jinja, jinja_why = _jinja_renders(facts, conversations, jinja_cache)
        show, show_error = None, None
        try:
            show = backend.show(target)
        except (LoadError, Unsupported) as err:
            show_error = str(err)
        if release_unknown:
            show, show_error = None, release_unknown
        # The release's own params win (seed and num_predict included); the smoke only fills in
        # a seed and a bound on a runaway when the release sets none.
        options_for_chat = {"num_predict": options.num_predict, "seed": options.seed, **target.params}
        for index, (prompt, conv) in enumerate(zip(prompts, conversations)):
            case = _smoke_prompt(backend, target, prompt, conv, options_for_chat, options.timeout,
                                 facts, (jinja, index, jinja_why), show, show_error)
            qr.cases.append(case)
            if options.progress:
                note = f" — {short_reason(case)}" if case.status in (Status.FAIL, Status.WARN) else ""
                options.progress(f"  {target.label} {prompt.name}: {case.status.value} ({case.seconds:.1f}s){note}")
        qr.load_seconds = sum(c.load_seconds for c in qr.cases)
        qr.engine_seconds = qr.load_seconds + sum(c.engine_seconds for c in qr.cases)
    finally:
        try:
            backend.unload(target)
        except LoadError:
            pass
        qr.wall_seconds = time.perf_counter() - start
    return qr


def _smoke_prompt(backend: Backend, target: Target, prompt: Prompt, conversation: list[dict], chat_options: dict,
                  timeout: float, facts: _Facts, jinja_slot: tuple,
                  show: ShowResult | None, show_error: str | None) -> CaseResult:
    start = time.perf_counter()
    case = CaseResult(target.label, prompt.name)
    engine_seconds = 0.0
    stops = [s for s in stop_list(target.params.get("stop")) if s]
    specials = list(dict.fromkeys([*C.KNOWN_SPECIAL_TOKENS, *facts.control_tokens]))
    messages = [dict(m) for m in prompt.messages]
    done_facts = {"end_texts": [facts.eos_text] if facts.eos_text else [],
                  "gguf_chat_template": None if facts.why_unknown else bool(facts.chat_template)}

    rendered, render_why = None, f"{getattr(backend, 'name', 'the engine')} cannot report the rendered prompt"
    # A base release gets a one-message prompt as a completion too (`--prompt TEXT` on a base folder).
    as_completion = prompt.completion or (target.kind == BASE and len(messages) == 1 and messages[0]["role"] == "user")
    generate = getattr(backend, "generate", None) if as_completion else None
    try:
        if generate is not None:
            render_completion = getattr(backend, "render_completion", None)
            rendered = render_completion(target, messages[0]["content"]) if render_completion is not None else None
        else:
            rendered = backend.render(target, messages)
    except Unsupported as err:
        render_why = str(err)
    except LoadError as err:
        render_why = f"render failed: {err}"
    except TemplateError as err:  # llamacpp renders with publish.gotmpl: render-go reports it below
        render_why = f"render failed: {err}"

    try:
        if generate is not None:
            result: ChatResult | None = generate(target, messages[0]["content"], chat_options, timeout)
        else:
            result = backend.chat(target, messages, chat_options, timeout)
    except Unsupported as err:
        result = None
        case.checks.append(C.skipped("chat", str(err)))
    except LoadError as err:
        result = None
        case.checks.append(C.failed("chat", str(err)))
    base = target.kind == BASE
    if result is not None:
        case.load_seconds = result.load_seconds
        engine_seconds += result.prompt_seconds + result.eval_seconds
        case.answer, case.done_reason = result.text, result.done_reason
        case.prompt_tokens, case.eval_tokens = result.prompt_tokens, result.eval_tokens
        case.prompt_tps = _rate(result.prompt_tokens, result.prompt_seconds)
        case.eval_tps = _rate(result.eval_tokens, result.eval_seconds)
        case.checks += [
            C.check_answer(prompt, result),
            C.skipped("done", f"{BASE_REASON} (a completion ends at num_predict or the model's EOS; "
                              "there is no end of turn to check)") if base else
            C.check_done_reason(result, specials, stops, target.template, **done_facts),
            C.check_no_leak(result, specials, stops),
            C.check_no_visible_thinking(result),
        ]

    why_show = show_error or f"{getattr(backend, 'name', 'the engine')} keeps no model to show: params go with each request"
    case.checks.append(C.check_params_applied(show, target.params, target.template, target.system, why_show))

    expected_go = None
    if target.template is not None:
        try:
            expected_go = render_go(target.template, conversation)
        except TemplateError as err:
            case.checks.append(C.failed("render-go", f"publish.gotmpl cannot render the template: {err}"))
    if expected_go is not None or target.template is None:
        case.checks.append(C.check_rendered_go(rendered, expected_go, render_why))
    jinja, index, jinja_why = jinja_slot
    if base:
        case.checks += [C.skipped(name, BASE_REASON) for name in ("render-jinja", "system", "turns")]
    else:
        # Without the engine's own prompt (ollama --via cli), the template Ollama holds (`ollama show
        # --template`, byte for byte) rendered with publish.gotmpl is the next best evidence for the
        # comparison with the GGUF's chat template; the check says so.
        jinja_evidence, derived = rendered, False
        if jinja_evidence is None and show is not None and show.template:
            try:
                jinja_evidence, derived = render_go(show.template, conversation), True
            except TemplateError:
                jinja_evidence = None
        if jinja_evidence is None or jinja is None:
            case.checks.append(C.skipped("render-jinja", render_why if jinja_evidence is None else jinja_why))
        else:
            check = C.check_jinja_parity(_jinja_parity(jinja, index, jinja_evidence, show.template if derived
                                                       else target.template), render_why)
            if derived and check.status is not Status.PASS:
                check = dataclasses.replace(check, message=check.message + " (the prompt is the template of "
                                            "`ollama show --template` rendered with publish.gotmpl)")
            case.checks.append(check)
        case.checks.append(C.check_system_reached(prompt.system or target.system, rendered, render_why))
        case.checks.append(C.check_turns_reached(prompt, rendered, render_why))
    # Without a rendered prompt (ollama --via cli), a template that starts with the BOS text
    # literally is proof enough: every prompt rendered from it starts with that text.
    bos_evidence = rendered
    if bos_evidence is None and show is not None and show.template and facts.bos_text \
            and show.template.startswith(facts.bos_text):
        bos_evidence = show.template
    case.checks.append(C.check_no_bos_text(bos_evidence, facts.add_bos, facts.bos_text,
                                           render_why if facts.why_unknown is None else facts.why_unknown))
    if result is not None:
        case.checks.append(C.check_double_bos(result, facts.bos_text))

    chat_jinja = getattr(backend, "chat_jinja", None)
    if chat_jinja is not None and result is not None and base:
        case.checks.append(C.skipped("jinja-chat", BASE_REASON))
    elif chat_jinja is not None and result is not None:
        jinja_text = jinja.renders[index].text if jinja is not None else None
        try:
            if jinja is not None and jinja_text is None:  # the template refused or failed this conversation
                raise Unsupported(f"the GGUF's Jinja template cannot render it: {jinja.renders[index].error}")
            jr = chat_jinja(target, messages, chat_options, timeout, rendered=jinja_text)
        except Unsupported as err:
            case.checks.append(C.skipped("jinja-chat", str(err)))
            jr = None
        except LoadError as err:
            case.checks.append(C.failed("jinja-chat", str(err)))
            jr = None
        except Exception as err:  # the GGUF's template refused or broke: llama-cli users see that too
            case.checks.append(C.failed("jinja-chat", f"llama-cli --jinja path: {err}"))
            jr = None
        if jr is not None:
            _, jres = jr
            engine_seconds += jres.prompt_seconds + jres.eval_seconds
            case.jinja_answer, case.jinja_reused = jres.text, jres.reused
            case.checks += [
                C.check_answer(prompt, jres, name="jinja-answer"),
                C.check_done_reason(jres, specials, stops, target.template, name="jinja-done", **done_facts),
                C.check_no_leak(jres, specials, stops, name="jinja-leak"),
                C.check_double_bos(jres, facts.bos_text, name="jinja-double-bos"),
            ]
    case.seconds = time.perf_counter() - start
    case.engine_seconds = engine_seconds
    return case


# Checks whose failure is a symptom of another's cause come last in the short reason.
_SYMPTOMS = ("answer", "leak", "jinja-answer", "jinja-leak")


def short_reason(case: CaseResult, limit: int = 110) -> str:
    """One readable line for the table and the progress line: the failing (else warning) check
    that names the cause first, cut to `limit` characters, and how many more there are. The whole
    messages stay in the JSON and JUnit reports."""
    bad = case.failures or [c for c in case.checks if c.status is Status.WARN]
    if not bad:
        return ""
    bad = sorted(bad, key=lambda c: c.name in _SYMPTOMS)
    text = f"{bad[0].name}: {bad[0].message}"
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    if len(bad) > 1:
        text += f" (+{len(bad) - 1} more: {', '.join(c.name for c in bad[1:])})"
    return text


def _rate(tokens: int, seconds: float) -> float | None:
    return tokens / seconds if tokens and seconds > 0 else None
