"""What a smoke run returns: one `CaseResult` per quant × prompt, one `QuantResult` per quant,
one `SmokeReport` per run, and the one-line reason the table and the progress bar show.

Every class has `to_dict()` (the `--json` report); times are seconds (float), rates tokens/second.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from publish.smoke.checks import Check, Status
from publish.smoke.prompts import Prompt


@dataclass
class CaseResult:
    """One quant × prompt: every check's verdict, the answer(s), token counts, rates (tokens/s) and
    times (seconds). `jinja_*` hold the llamacpp backend's second answer through the GGUF's own
    Jinja template (`llama-cli --jinja`)."""
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
        """FAIL if any check failed; SKIP if the generation was not run (the `chat` check skipped:
        e.g. `ollama run` cannot send a system message) or every check was skipped; else WARN if
        any warned; else PASS. A case whose prompt never reached the model is never a pass."""
        states = {c.status for c in self.checks}
        if Status.FAIL in states:
            return Status.FAIL
        if self.skip_reason is not None:
            return Status.SKIP
        return Status.WARN if Status.WARN in states else Status.PASS

    @property
    def skip_reason(self) -> str | None:
        """Why the case is skipped (the skipped `chat` check's message when the generation was not
        run, else every check's message when all were skipped), or None when it was not skipped.
        Failed checks still fail the case (`status`)."""
        chat = [c for c in self.checks if c.name == "chat" and c.status is Status.SKIP]
        if chat:
            return f"chat: {chat[0].message}"
        if self.checks and all(c.status is Status.SKIP for c in self.checks):
            return "; ".join(c.message for c in self.checks)
        return None

    @property
    def failures(self) -> list[Check]:
        """The failed checks, in run order."""
        return [c for c in self.checks if c.status is Status.FAIL]

    @property
    def problems(self) -> list[Check]:
        """The failed checks, else the warned ones, in run order (what `reason` and `short_reason` tell)."""
        return self.failures or [c for c in self.checks if c.status is Status.WARN]

    @property
    def reason(self) -> str:
        """Every failed (else warned) check as `name: message`, joined by "; " (whole, not cut)."""
        return "; ".join(f"{c.name}: {c.message}" for c in self.problems)

    def to_dict(self) -> dict:
        """The case as the `--json` report shows it (times rounded to microseconds)."""
        return {
            "quant": self.quant, "prompt": self.prompt, "status": self.status.value,
            "skip_reason": self.skip_reason if self.status is Status.SKIP else None,
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
    """One quant: its cases, why it did not load (then every case fails with `load`), and where
    the time went (seconds): preparing it, as the engine reports, and in all."""
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
        """Seconds the runner spent beyond what the engine reports (never negative)."""
        return max(0.0, self.wall_seconds - self.engine_seconds)

    @property
    def status(self) -> Status:
        """FAIL when the quant did not load or any case failed, else PASS."""
        if self.load_error or any(c.status is Status.FAIL for c in self.cases):
            return Status.FAIL
        return Status.PASS

    def to_dict(self) -> dict:
        """The quant as the `--json` report shows it, its cases included."""
        return {
            "label": self.label, "model": self.model, "gguf": self.gguf, "status": self.status.value,
            "load_error": self.load_error, "prepare_seconds": round(self.prepare_seconds, 6),
            "load_seconds": round(self.load_seconds, 6),
            "engine_seconds": round(self.engine_seconds, 6), "wall_seconds": round(self.wall_seconds, 6),
            "cases": [c.to_dict() for c in self.cases],
        }


@dataclass
class SmokeReport:
    """One smoke run: the target (a folder or hf.co/ORG/NAME), the backend that ran, the prompts,
    every quant of this shard, the quants left to other shards, and the wall time (seconds)."""
    target: str
    backend: str
    prompts: list[Prompt]
    quants: list[QuantResult] = field(default_factory=list)
    shard: tuple[int, int] | None = None
    other_shards: list[str] = field(default_factory=list)  # quants left to the other shards
    seconds: float = 0.0

    @property
    def cases(self) -> list[CaseResult]:
        """Every case of every quant, quant by quant."""
        return [c for q in self.quants for c in q.cases]

    @property
    def failed(self) -> bool:
        """Whether any quant failed (a load failure or a failed check)."""
        return any(q.status is Status.FAIL for q in self.quants)

    @property
    def exit_code(self) -> int:
        """The command's exit status for this report: 1 when it failed, else 0."""
        return 1 if self.failed else 0

    def counts(self) -> dict[str, int]:
        """Cases per status value: {"pass": n, "warn": n, "skip": n, "fail": n}."""
        out = {s.value: 0 for s in Status}
        for c in self.cases:
            out[c.status.value] += 1
        return out

    def to_dict(self) -> dict:
        """The whole report as `publish smoke --format json` prints it."""
        return {
            "target": self.target, "backend": self.backend,
            "shard": f"{self.shard[0]}/{self.shard[1]}" if self.shard else None,
            "other_shards": self.other_shards, "passed": not self.failed, "exit_code": self.exit_code,
            "counts": self.counts(), "seconds": round(self.seconds, 6),
            "prompts": [p.to_dict() for p in self.prompts],
            "quants": [q.to_dict() for q in self.quants],
        }


# Checks whose failure is a symptom of another's cause come last in the short reason.
_SYMPTOMS = ("answer", "leak", "jinja-answer", "jinja-leak")


def short_reason(case: CaseResult, limit: int = 110) -> str:
    """One readable line for the table and the progress line: the failing (else warning) check
    that names the cause first, cut to `limit` characters, and how many more there are. The whole
    messages stay in the JSON and JUnit reports."""
    bad = sorted(case.problems, key=lambda c: c.name in _SYMPTOMS)
    if not bad:
        return ""
    text = f"{bad[0].name}: {bad[0].message}"
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    if len(bad) > 1:
        text += f" (+{len(bad) - 1} more: {', '.join(c.name for c in bad[1:])})"
    return text

