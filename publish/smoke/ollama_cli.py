"""The ollama backend through the `ollama` command line: the literal commands a user types.

    ollama rm NAME                     before every quant (so a re-upload is really fetched)
    ollama create NAME -f Modelfile    folder targets (a temporary Modelfile: FROM the GGUF,
                                       TEMPLATE, PARAMETER, SYSTEM of the folder)
    ollama pull NAME                   hf.co targets
    ollama run NAME ""                 load it (Ollama's FAQ: how to preload a model)
    ollama run NAME PROMPT --verbose   the answer (stdout) and the timing summary (stderr)
    ollama show NAME --template / --parameters / --system
    ollama stop NAME                   unload after the quant

What the CLI cannot tell, and is therefore reported as unknown/skipped rather than passed:
- done_reason: `ollama run` does not print it. It is inferred only where the evidence is
  certain: with a num_predict in force, the `--verbose` eval count says "length" (reached it)
  or "stop" (ended before it); "timeout" when the process had to be killed; otherwise
  "unknown". A runaway still shows up as stop strings or special tokens leaking into the answer.
- the rendered prompt (render() returns None);
- per-request options: `ollama run` takes none, so the model's own parameters (the release's
  params) apply. A multi-turn or system-message chat cannot be typed either: chat() raises
  Unsupported for those, and the case is reported skipped with that reason (never passed).
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from publish.errors import SmokeSetupError, message_of
from publish.termtext import shell_command
from publish.smoke.base import ChatResult, LoadError, ShowResult, Target, Unsupported
from publish.smoke.targets import registry_unreachable
from publish.smoke.ollama_api import parse_parameters
from publish.smoke.serve import OllamaServe, ensure_server, find_ollama

# Terminal escapes `ollama` writes when it thinks it talks to a terminal; the spinner (braille
# frames redrawn with \r) goes to stderr only.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[()][A-Za-z0-9]|\x1b[=>]")
_SPINNER = re.compile(r"[\u2800-\u28ff]|\r")
_GO_UNIT = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_PART = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|μs|ms|s|m|h)")


def strip_terminal(text: str, *, spinner: bool = False) -> str:
    """`ollama` CLI output without ANSI escape sequences (and, with `spinner`, without the braille
    spinner frames and carriage returns it draws while loading)."""
    text = _ANSI.sub("", text)
    return _SPINNER.sub("", text) if spinner else text


def go_duration_seconds(text: str) -> float:
    """Go's time.Duration text (`1m2.5s`, `523.4ms`, `850µs`) -> seconds; 0.0 when unreadable."""
    text = text.strip()
    parts = _GO_PART.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        return 0.0
    return sum(float(n) * _GO_UNIT[u] for n, u in parts)


def parse_verbose_stats(stderr: str) -> dict[str, float]:
    """The `--verbose` summary `ollama run` prints to stderr -> {label: number}."""
    stats: dict[str, float] = {}
    for line in strip_terminal(stderr, spinner=True).splitlines():
        label, sep, value = line.partition(":")
        if not sep:
            continue
        label, value = label.strip(), value.strip()
        if label in ("prompt eval count", "eval count"):
            m = re.match(r"(\d+)", value)
            if m:
                stats[label] = float(m.group(1))
        elif label in ("total duration", "load duration", "prompt eval duration", "eval duration"):
            stats[label] = go_duration_seconds(value)
    return stats


def write_modelfile(target: Target) -> str:
    """The Modelfile text for a folder target: FROM the GGUF (absolute path), the folder's files."""
    from publish.modelfile import ModelfileSpec, render

    return render(ModelfileSpec(from_=(str(Path(target.gguf).resolve()),), template=target.template,
                                system=target.system, params=dict(target.params)))


class OllamaCLIBackend:
    """Backend that shells out to `ollama` (PATH or `ollama_bin`); OLLAMA_HOST or `host` says
    which server the commands talk to; `serve=True` starts `ollama serve` when none answers."""

    name = "ollama-cli"

    def __init__(self, host: str | None = None, *, serve: bool = False, ollama_bin: str = "ollama",
                 timeout: float = 600.0):
        self.url, self._server = ensure_server(host, serve=serve, ollama_bin=ollama_bin)
        binary = find_ollama(ollama_bin)
        if binary is None:
            self.close()
            raise SmokeSetupError(
                f"`--via cli` runs the `{ollama_bin}` command, which is not on PATH "
                f"(a server answers at {self.url})",
                hint="install the Ollama CLI (https://ollama.com/download), or use `--via api`")
        self.bin = binary
        self.timeout = timeout
        self.env = dict(os.environ, OLLAMA_HOST=self.url, NO_COLOR="1", TERM="dumb")
        self._tmp = tempfile.TemporaryDirectory(prefix="publish-smoke-modelfiles-")
        self._load_seconds: dict[str, float] = {}  # model -> preload wall time, reported with the first chat

    @property
    def server(self) -> OllamaServe | None:
        """The `ollama serve` this backend started (--serve), None when it uses a running server."""
        return self._server

    def _run(self, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([self.bin, *args], env=self.env, stdin=subprocess.DEVNULL,
                              capture_output=True, text=True, encoding="utf-8", errors="replace",
                              timeout=timeout or self.timeout)

    def _checked(self, *args: str) -> subprocess.CompletedProcess:
        cmd = " ".join(["ollama", *args])
        try:
            proc = self._run(*args)
        except subprocess.TimeoutExpired:
            raise LoadError(f"`{cmd}` did not finish within {self.timeout:g}s") from None
        if proc.returncode != 0:
            raise LoadError(f"`{cmd}` failed: {_error_text(proc)}")
        return proc

    # -- model lifecycle

    def prepare(self, target: Target) -> None:
        """rm, create -f (folder) or pull (hf.co), then `ollama run NAME ""` (Ollama's documented
        way to preload), so a quant that does not load is reported as a load failure. Raises
        LoadError when a step fails, SmokeSetupError when a pull cannot reach the registry at all
        (publish.smoke.targets.registry_unreachable)."""
        self.remove(target)
        if target.gguf is None:
            try:
                self._checked("pull", *(["--insecure"] if target.insecure else []), target.model)
            except LoadError as err:
                if (setup := registry_unreachable(target.model, str(err))) is not None:
                    raise setup from None
                raise
        else:
            self._create(target)
        start = time.perf_counter()
        self._checked("run", target.model, "")
        # the load answer carries no metrics: its wall time goes with the first chat, as in --via api
        self._load_seconds[target.model] = time.perf_counter() - start

    def _create(self, target: Target) -> None:
        modelfile = Path(self._tmp.name) / f"Modelfile.{re.sub(r'[^A-Za-z0-9_.-]', '_', target.label)}"
        try:
            modelfile.write_text(write_modelfile(target), encoding="utf-8")
        except Exception as err:  # a value no Modelfile can carry: this quant cannot be created
            raise LoadError(f"{target.label}: cannot write a Modelfile: {message_of(err)}") from None
        self._checked("create", target.model, "-f", str(modelfile))

    def remove(self, target: Target) -> None:
        """`ollama rm NAME`; a model that is already gone is fine. Raises LoadError when rm fails
        otherwise or does not finish in time. The CLI tells "not found" only in its error text
        (exit status 1 either way), so that text is what is read here."""
        try:
            proc = self._run("rm", target.model)
        except subprocess.TimeoutExpired:
            raise LoadError(f"`{shell_command('ollama', 'rm', target.model)}` did not finish within {self.timeout:g}s") from None
        if proc.returncode != 0 and "not found" not in proc.stderr:
            raise LoadError(f"`{shell_command('ollama', 'rm', target.model)}` failed: {_error_text(proc)}")

    def unload(self, target: Target) -> None:
        """`ollama stop NAME` (frees the model's memory); a stop that does not finish in time is
        ignored."""
        try:
            self._run("stop", target.model)
        except subprocess.TimeoutExpired:
            pass

    # -- per prompt

    def chat(self, target: Target, messages: list[dict], options: dict, timeout: float) -> ChatResult:
        """`ollama run --verbose --nowordwrap NAME PROMPT`, as a user types it: one user message
        only (else Unsupported: multi-turn needs --via api), the answer from stdout, token counts
        and rates from --verbose's stderr. A timeout returns what was printed so far with
        done_reason "timeout"; a failing run raises LoadError."""
        if len(messages) != 1 or messages[0].get("role") != "user":
            what = ("a system message" if any(m.get("role") == "system" for m in messages)
                    else f"a multi-turn conversation ({len(messages)} messages)")
            raise Unsupported(f"not sent: `ollama run NAME PROMPT` cannot send {what}, only one user message; "
                              "use --via api to check this prompt")
        prompt = messages[0].get("content") or ""
        cmd = ["run", "--verbose", "--nowordwrap", target.model, *(["--"] if prompt.startswith("-") else []), prompt]
        try:
            proc = self._run(*cmd, timeout=timeout)
        except subprocess.TimeoutExpired as err:
            partial = err.stdout.decode("utf-8", "replace") if isinstance(err.stdout, bytes) else (err.stdout or "")
            return ChatResult(text=_answer(partial), done_reason="timeout")
        if proc.returncode != 0:
            raise LoadError(f"`{shell_command('ollama', 'run', target.model)}` failed: {_error_text(proc)}")
        stats = parse_verbose_stats(proc.stderr)
        eval_tokens = int(stats.get("eval count", 0))
        num_predict = target.params.get("num_predict")  # `ollama run` sends no options: the model's apply
        done_reason = "unknown"
        if stats and num_predict is not None and int(num_predict) > 0:
            done_reason = "length" if eval_tokens >= int(num_predict) else "stop"
        return ChatResult(
            text=_answer(proc.stdout),
            done_reason=done_reason,
            prompt_tokens=int(stats.get("prompt eval count", 0)),
            eval_tokens=eval_tokens,
            load_seconds=stats.get("load duration", 0.0) + self._load_seconds.pop(target.model, 0.0),
            prompt_seconds=stats.get("prompt eval duration", 0.0),
            eval_seconds=stats.get("eval duration", 0.0),
        )

    def show(self, target: Target) -> ShowResult | None:
        """`ollama show NAME --template / --parameters / --system`. Ollama prints the template and
        the system text exactly (fmt.Print: no newline added, cmd/cmd.go v0.24.0), the parameters
        with a newline after them (fmt.Println)."""
        template = self._checked("show", target.model, "--template").stdout
        parameters = self._checked("show", target.model, "--parameters").stdout
        system = None
        if target.system is not None:  # one process fewer when the release has no system prompt
            system = self._checked("show", target.model, "--system").stdout or None
        return ShowResult(template=template, parameters=parse_parameters(parameters), system=system)

    def render(self, target: Target, messages: list[dict]) -> str | None:
        """Always None: the CLI never shows the prompt it built (the prompt checks are skipped)."""
        return None  # the CLI never shows the prompt it built

    def close(self) -> None:
        """Remove the backend's temp folder (Modelfiles) and stop the server it started.
        Idempotent."""
        tmp = getattr(self, "_tmp", None)
        if tmp is not None:
            tmp.cleanup()
            self._tmp = None
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def __enter__(self) -> "OllamaCLIBackend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _answer(stdout: str) -> str:
    """The answer as the user reads it: terminal escapes gone, the trailing blank lines `ollama
    run` prints dropped."""
    return strip_terminal(stdout).rstrip("\n")


def _error_text(proc: subprocess.CompletedProcess) -> str:
    lines = [ln.strip() for ln in strip_terminal(proc.stderr, spinner=True).splitlines() if ln.strip()]
    errors = [ln[len("Error:"):].strip() for ln in lines if ln.startswith("Error:")]
    return errors[-1] if errors else (lines[-1] if lines else f"exit status {proc.returncode}")
