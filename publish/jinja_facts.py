"""What the GGUF rules learn by running Jinja on a chat template, kept per template text.

The rules that need Jinja: GG701 parses the template (`syntax_problem`), GG290 audits its parse
tree for sandbox-escape payloads (`audit`), GG204, GG702, GG703 and the folder rules' turn-end
check render it on the probe conversations in the sandbox (`probe`), RP150/RP151 ask whether it
handles tools and thinking (`capabilities`). Each fact is computed once per template text (and BOS/EOS
text for the probe) and kept, so a template is parsed and rendered once however many rules ask.

Importing this module does not import Jinja (about 40 ms). Lint computes the facts of the
headers it read in a worker process (`prepared`, publish.jinja_worker) while it runs its other
rules, so its own process never imports Jinja; outside `prepared`, or when the worker cannot
answer, a fact is computed in this process, with the same result.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any

    from publish.gguf.header import GGUFHeader
    from publish.jinja_results import Suspect, SyntaxProblem
    from publish.jinja_worker import Worker
    from publish.probes import Probe

KEEP = 32   # facts kept (a lint of a folder sees a handful of distinct templates)
IN_WORKER = False   # lint's worker sets it: renders compile there (publish.chat.ChatTemplate compile_here)
_KEPT: dict[tuple, tuple[str, Any]] = {}   # key -> ("value", fact) or ("raised", exception)
_SESSION: list[_Session] = []   # the active `prepared`'s worker, at most one in the process


def syntax_problem(source: str) -> SyntaxProblem | None:
    """publish.chat.syntax_problem(source), kept."""
    return _fact(("syntax", source))


def audit(source: str) -> list[Suspect]:
    """publish.jinja_audit.audit_template(source) (a new list each call), kept."""
    return list(_fact(("audit", source)))


def probe(source: str, hdr: GGUFHeader | None) -> Probe:
    """publish.probes.jinja_probe of `source` with hdr's BOS and EOS text, kept per (source, BOS
    text, EOS text): raises
    UnsafeTemplateError for a hostile template, as jinja_probe does, every time it is asked."""
    return _fact(("probe", source, *_bos_eos(hdr)))


def capabilities(source: str, hdr: GGUFHeader | None) -> frozenset[str]:
    """publish.probes.jinja_capabilities of `source` with hdr's BOS and EOS text ("tools",
    "thinking"), kept per (source, BOS text, EOS text)."""
    return _fact(("capabilities", source, *_bos_eos(hdr)))


class prepared:
    """`with prepared(headers):` the facts the GGUF rules will ask of these headers' chat templates
    are computed in a forked worker (publish.jinja_worker) from the moment this is entered, while
    the caller goes on; inside the block, in the thread that entered it, the functions above take
    the worker's answers (kept until the block ends) and send it what was not foreseen. The worker
    is stopped on leaving, however the block ends. Without a chat template, without os.fork (or
    when it fails), inside another `prepared` or in another thread, nothing is forked and the facts
    are computed in process.

    A worker `prestart` forked is taken; it is stopped at once (its import of Jinja is wasted
    work on the other core) when `needed` is False (the caller will ask nothing: lint's --select
    leaves no rule that asks) or when the headers call for no fact and `later` is False (nothing
    unforeseen is expected: a lint of GGUF files; a staged folder's rules ask more)."""

    def __init__(self, headers: Iterable[GGUFHeader | None], *, needed: bool = True, later: bool = True):
        self.needed = needed
        self.later = later
        self.session: _Session | None = None
        keys: list[tuple] = []
        for hdr in headers:
            for key in _keys_for(hdr) if hdr is not None else ():
                if key not in _KEPT and key not in keys:
                    keys.append(key)
        self.keys = keys

    def __enter__(self) -> prepared:
        from publish import jinja_worker

        worker = jinja_worker.take_prestarted()
        idle = not self.keys and not self.later
        if _SESSION or not self.needed or idle:   # another `prepared` has the worker, or none is needed
            if worker is not None:
                worker.stop()
            return self
        try:
            if self.keys and worker is None:
                worker = jinja_worker.Worker.start()
            if worker is not None:
                self.session = _Session(worker)
                _SESSION.append(self.session)
                if self.keys:
                    self.session.send(self.keys)
        except BaseException:   # Ctrl-C while sending: __exit__ will not run, so stop it here
            self.__exit__()
            if worker is not None:
                worker.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        if self.session is not None:
            if self.session in _SESSION:
                _SESSION.remove(self.session)
            self.session.worker.stop()


class _Session:
    """A worker and what it answered, for one `prepared` block and the thread that entered it."""

    def __init__(self, worker: Worker):
        import _thread

        self.worker = worker
        self.owner = _thread.get_ident()
        self.batches: list[list[tuple]] = []     # keys of each batch sent and not yet received
        self.answers: dict[tuple, tuple[str, Any]] = {}   # never evicted while the block lasts

    def send(self, keys: list[tuple]) -> bool:
        if self.worker.send([list(key) for key in keys]):
            self.batches.append(keys)
            return True
        return False

    def fact(self, key: tuple) -> tuple[str, Any] | None:
        """The worker's answer for `key`, or None: compute it in process."""
        if key not in self.answers:
            if not any(key in keys for keys in self.batches) and not self.send([key]):
                return None
            while key not in self.answers and self.batches:
                keys = self.batches.pop(0)
                answers = self.worker.receive(renders=sum(k[0] in _RENDERS for k in keys))
                if answers is None or len(answers) != len(keys):
                    self.batches.clear()   # the worker is gone: everything is computed in process
                    return None
                for k, answer in zip(keys, answers):
                    kept = _from_answer(k[0], answer)
                    if kept is not None:
                        self.answers[k] = kept
                if key in keys:
                    break   # answered, or the worker said to compute it here
        return self.answers.get(key)


def _session() -> _Session | None:
    """The active session when this thread entered it."""
    import _thread

    session = _SESSION[0] if _SESSION else None
    return session if session is not None and session.owner == _thread.get_ident() else None


_RENDERS = ("probe", "capabilities")   # the facts that render the template (publish.chat's bounds)


def _keys_for(hdr: GGUFHeader) -> list[tuple]:
    """The facts the GGUF rules ask about `hdr`: GG290 audits every tokenizer.chat_template* text;
    GG701 parses, and GG204/GG702/GG703 render (with a vocabulary), tokenizer.chat_template."""
    keys: list[tuple] = []
    template = hdr.chat_template
    if isinstance(template, str) and template.strip():
        keys += [("syntax", template), ("audit", template)]
        if hdr.has_vocabulary:
            keys.append(("probe", template, *_bos_eos(hdr)))
    for _, text in hdr.chat_templates():
        if ("audit", text) not in keys:
            keys.append(("audit", text))
    return keys


def _bos_eos(hdr: GGUFHeader | None) -> tuple[str, str]:
    if hdr is None:
        return "", ""
    return hdr.bos_text or "", hdr.eos_text or ""


def _fact(key: tuple) -> Any:
    kept = _KEPT.get(key)
    if kept is None:
        session = _session()
        kept = session.fact(key) if session is not None else None
        if kept is None:
            kept = _computed(key)
        _keep(key, kept)
    if kept[0] == "raised":
        raise kept[1]
    return kept[1]


def _computed(key: tuple) -> tuple[str, Any]:
    """("value", fact) or ("raised", TemplateError) of `key`, computed in this process."""
    try:
        return "value", _compute(key)
    except Exception as err:  # noqa: BLE001 - only what the computation itself raises
        from publish.errors import TemplateError

        if not isinstance(err, TemplateError):
            raise
        return "raised", err


def _compute(key: tuple) -> Any:
    kind, source = key[0], key[1]
    if kind == "syntax":
        from publish.chat import syntax_problem as parse

        return parse(source)
    if kind == "audit":
        from publish.jinja_audit import audit_template

        return audit_template(source)
    if kind == "capabilities":
        from publish.probes import jinja_capabilities

        return jinja_capabilities(source, key[2], key[3], compile_here=IN_WORKER)
    from publish.probes import jinja_probe

    return jinja_probe(source, key[2], key[3], compile_here=IN_WORKER)


def _keep(key: tuple, kept: tuple[str, Any]) -> None:
    _KEPT.pop(key, None)
    while len(_KEPT) >= KEEP:
        del _KEPT[next(iter(_KEPT))]
    _KEPT[key] = kept


# -- with a worker --------------------------------------------------------------------------------

JINJA_USERS = ("publish.chat", "publish.jinja_audit", "publish.probes")   # what computing a fact imports


def load_jinja() -> None:
    """Import JINJA_USERS, and so Jinja (the worker does this before its first job)."""
    from importlib import import_module

    for name in JINJA_USERS:
        import_module(name)


def answer(job: list) -> list:
    """In the worker: the answer to one job ([kind, source, ...], a key as a list):
    ["value", data], ["raised", error data] or ["local"] (the asker computes it itself)."""
    try:
        status, fact = _KEPT.get(tuple(job)) or _computed(tuple(job))
        _keep(tuple(job), (status, fact))
        if status == "raised":
            data = _error_data(fact)
            return ["local"] if data is None else ["raised", data]
        return ["value", _fact_data(job[0], fact)]
    except Exception:  # noqa: BLE001 - a bug shows itself again where the asker computes the fact
        return ["local"]


def _fact_data(kind: str, fact: Any) -> Any:
    if kind == "syntax":
        return None if fact is None else list(fact._values())
    if kind == "audit":
        return [list(s._values()) for s in fact]
    if kind == "capabilities":
        return sorted(fact)
    error = None if fact.error is None else _error_data(fact.error)
    if fact.error is not None and error is None:
        raise TypeError(f"{type(fact.error).__name__} cannot cross")
    return [fact.kind, fact.start, fact.history, error]


def _error_data(err: Exception) -> list | None:
    from publish.errors import TemplateError, TemplateRaised, UnsafeTemplateError

    kind = type(err)
    if kind is TemplateRaised and (err.line, err.col, err.hint) == (None, None, None):
        return ["TemplateRaised", err.reason, err.name, None, None, None]
    if kind in (TemplateError, UnsafeTemplateError):
        return [kind.__name__, err.problem, err.name, err.line, err.col, err.hint]
    return None


def _from_answer(kind: str, answer: Any) -> tuple[str, Any] | None:
    """The kept form of one answer, or None for ["local"] (or anything unexpected)."""
    try:
        status, data = answer
        if status == "raised":
            return "raised", _error(data)
        if status != "value":
            return None
        if kind == "syntax":
            from publish.jinja_results import SyntaxProblem

            return "value", None if data is None else SyntaxProblem(*data)
        if kind == "audit":
            from publish.jinja_results import Suspect

            return "value", [Suspect(*item) for item in data]
        if kind == "capabilities":
            return "value", frozenset(str(item) for item in data)
        from publish.probes import Probe

        probe_kind, start, history, error = data
        return "value", Probe(probe_kind, start, history, None if error is None else _error(error))
    except (TypeError, ValueError, KeyError):
        return None


def _error(data: list) -> Exception:
    from publish.errors import TemplateError, TemplateRaised, UnsafeTemplateError

    kind, problem, name, line, col, hint = data
    if kind == "TemplateRaised":
        return TemplateRaised(problem, name=name)
    cls = {"TemplateError": TemplateError, "UnsafeTemplateError": UnsafeTemplateError}[kind]
    return cls(problem, name=name, line=line, col=col, hint=hint)
