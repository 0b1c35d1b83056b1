"""The ollama backend through Ollama's HTTP API, with the official `ollama` Python client.

Folder target: /api/blobs + /api/create (what `ollama create -f Modelfile` does), after removing
any older model of that name. hf.co target: delete (`ollama rm`), then pull, so a re-upload is
really fetched. Per prompt: chat (stream off), show, and the rendered prompt from
`_debug_render_only` (skipped, not passed, when the server does not support it).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import httpx
import ollama

from publish.errors import SmokeSetupError
from publish.hub.hashing import sha256_file
from publish.progress import bar, note, progress_enabled
from publish.smoke.base import ChatResult, LoadError, ShowResult, Target
from publish.smoke.targets import registry_unreachable
from publish.smoke.serve import OllamaServe, ensure_server, server_version, tls_verify

NS = 1e-9

# ---------------------------------------------------------------- `show` parameters text


_GO_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
               "\\": "\\", '"': '"', "'": "'"}
_GO_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)")


def go_unquote(text: str) -> str:
    """Undo Go's strconv.Quote (what `%#v` prints for a string; Go 1.23 src/strconv/quote.go),
    including \\x, \\u, \\U escapes."""
    body = text[1:-1]

    def one(m: re.Match) -> str:
        esc = m.group(1)
        if esc[0] in "xuU":
            return chr(int(esc[1:], 16))
        if esc[0].isdigit():
            return chr(int(esc, 8))
        return _GO_ESCAPES.get(esc, esc)

    return _GO_ESCAPE.sub(one, body)


def _scalar(text: str):
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return go_unquote(text)
    if text in ("true", "false"):
        return text == "true"
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def parse_parameters(text: str | None) -> dict:
    """Ollama's `show` parameters text (`stop    "<end_of_turn>"` per line, a line per stop
    value) -> {name: value}; names given more than once (stop) become lists."""
    params: dict = {}
    for line in (text or "").splitlines():
        line = line.strip()
        if not line:
            continue
        name, _, raw = line.partition(" ")
        value = _scalar(raw.strip())
        if name == "stop" or name in params:
            prev = params.get(name)
            params[name] = (prev if isinstance(prev, list) else ([] if prev is None else [prev])) + [value]
        else:
            params[name] = value
    return params


# ---------------------------------------------------------------- helpers


def is_not_found(err: Exception) -> bool:
    """Whether `err` is the Ollama API's 404 (model not found), told by ollama.ResponseError's
    status code."""
    return isinstance(err, ollama.ResponseError) and err.status_code == 404


def chat_result(resp) -> ChatResult:
    """ChatResponse / GenerateResponse -> ChatResult; durations are nanoseconds on the wire."""
    message = getattr(resp, "message", None)
    text = message.content if message is not None else getattr(resp, "response", "")
    return ChatResult(
        text=text or "",
        done_reason=resp.done_reason or "",
        prompt_tokens=resp.prompt_eval_count or 0,
        eval_tokens=resp.eval_count or 0,
        load_seconds=(resp.load_duration or 0) * NS,
        prompt_seconds=(resp.prompt_eval_duration or 0) * NS,
        eval_seconds=(resp.eval_duration or 0) * NS,
    )


# ---------------------------------------------------------------- the backend


class OllamaAPIBackend:
    """Backend over a running Ollama (OLLAMA_HOST or `host`); `serve=True` starts `ollama serve`
    when none answers and stops it in close()."""

    name = "ollama-api"

    def __init__(self, host: str | None = None, *, serve: bool = False, timeout: float = 600.0,
                 ollama_bin: str = "ollama", progress: bool | None = None):
        self.url, self._server = ensure_server(host, serve=serve, ollama_bin=ollama_bin)
        self.timeout = timeout
        self.progress = progress_enabled() if progress is None else progress
        self._clients: dict[float, ollama.Client] = {}
        self.client = self._client(timeout)
        # `_debug_render_only` is not a field of the client's request types: sent with httpx,
        # the client's own HTTP library, against the same host.
        self._http = httpx.Client(base_url=self.url, timeout=timeout, verify=tls_verify(self.url))
        self.render_supported: bool | None = None
        self._load_seconds: dict[str, float] = {}  # model -> load time measured in prepare()

    @property
    def server(self) -> OllamaServe | None:
        """The `ollama serve` this backend started (--serve), None when it uses a server that was
        already running."""
        return self._server

    def _client(self, timeout: float) -> ollama.Client:
        if timeout not in self._clients:
            self._clients[timeout] = ollama.Client(host=self.url, timeout=timeout, verify=tls_verify(self.url))
        return self._clients[timeout]

    def _unreachable(self, what: str, err: Exception) -> Exception:
        """A connection failure mid-run: setup error if the server is gone, else a load error."""
        if server_version(self.url) is None:
            return SmokeSetupError(f"Ollama at {self.url} stopped answering during {what}: {err}",
                                   hint="check the server log (`journalctl -u ollama` or the `ollama serve` output)")
        return LoadError(f"{what}: {err}")

    # -- model lifecycle

    def prepare(self, target: Target) -> None:
        """rm, then create (folder) or pull (hf.co), then load, so a quant that does not load is
        reported as a load failure before any prompt."""
        self.remove(target)
        if target.gguf is not None:
            self._create(target)
        else:
            self._pull(target)
        self._load(target)

    def _load(self, target: Target) -> None:
        """generate with no prompt: Ollama loads the model and answers done_reason "load". That
        answer carries no metrics, so the load time is the wall time of the call; it is reported
        with the first chat, where Ollama would have reported it."""
        start = time.perf_counter()
        try:
            resp = self.client.generate(model=target.model)
        except ollama.ResponseError as err:
            raise LoadError(f"load {target.model}: {err.error}") from None
        except httpx.TimeoutException:
            raise LoadError(f"load {target.model}: not loaded within {self.timeout:g}s") from None
        except (ConnectionError, httpx.TransportError) as err:
            raise self._unreachable(f"load {target.model}", err) from None
        self._load_seconds[target.model] = (resp.load_duration * NS if resp.load_duration
                                            else time.perf_counter() - start)

    def _create(self, target: Target) -> None:
        gguf = Path(target.gguf)
        what = f"create {target.model} from {gguf}"
        try:
            with bar(gguf.stat().st_size, f"sha256 of {gguf.name}", enabled=self.progress) as hashing:
                digest = f"sha256:{sha256_file(gguf, hashing)}"
            if self._http.head(f"/api/blobs/{digest}").status_code != 200:
                uploaded = self.client.create_blob(gguf)
                if uploaded != digest:
                    raise LoadError(f"{what}: {gguf} changed while it was uploaded")
            for _ in self.client.create(
                model=target.model, files={gguf.name: digest}, template=target.template,
                system=target.system, parameters=dict(target.params) or None, stream=True,
            ):
                pass
        except ollama.ResponseError as err:
            raise LoadError(f"{what}: {err.error}") from None
        except (ConnectionError, httpx.TransportError) as err:
            raise self._unreachable(what, err) from None
        except OSError as err:
            raise LoadError(f"{what}: {err}") from None

    def _pull(self, target: Target) -> None:
        bars: dict[str, object] = {}
        try:
            for part in self.client.pull(target.model, insecure=target.insecure, stream=True):
                if self.progress:
                    self._progress(part, bars)
        except ollama.ResponseError as err:
            if (setup := registry_unreachable(target.model, err.error)) is not None:
                raise setup from None
            raise LoadError(f"pull {target.model}: {err.error}") from None
        except (ConnectionError, httpx.TransportError) as err:
            raise self._unreachable(f"pull {target.model}", err) from None
        finally:
            for pulling in bars.values():
                pulling.close()

    @staticmethod
    def _progress(part, bars: dict) -> None:
        """One byte bar per layer Ollama pulls, and its status lines (the server's text, escaped)."""
        if part.digest and part.total:
            pulling = bars.get(part.digest)
            if pulling is None:
                pulling = bars[part.digest] = bar(part.total, f"pulling {part.digest[7:19]}", enabled=True)
            pulling.update((part.completed or 0) - pulling.n)
        elif part.status:
            note(part.status, enabled=True)

    def remove(self, target: Target) -> None:
        """`ollama rm` semantics: gone afterwards; a model that was not there is fine. Raises
        LoadError when Ollama refuses otherwise, SmokeSetupError when the server is unreachable."""
        try:
            self.client.delete(target.model)
        except ollama.ResponseError as err:
            if not is_not_found(err):
                raise LoadError(f"rm {target.model}: {err.error}") from None
        except (ConnectionError, httpx.TransportError) as err:
            raise self._unreachable(f"rm {target.model}", err) from None

    def unload(self, target: Target) -> None:
        """keep_alive 0 with no prompt: Ollama unloads the model now (done_reason "unload"). Raises
        SmokeSetupError when the server is unreachable."""
        try:
            self.client.generate(model=target.model, keep_alive=0)
        except ollama.ResponseError:
            pass
        except (ConnectionError, httpx.TransportError) as err:
            raise self._unreachable(f"unload {target.model}", err) from None

    # -- per prompt

    def chat(self, target: Target, messages: list[dict], options: dict, timeout: float) -> ChatResult:
        """One chat turn through /api/chat (stream off). Raises LoadError when Ollama refuses or
        gives no answer within `timeout` seconds, SmokeSetupError when the server is unreachable."""
        return self._answer(f"chat with {target.model}", target, lambda client: client.chat(
            model=target.model, messages=messages, stream=False, options=dict(options)), timeout)

    def generate(self, target: Target, prompt: str, options: dict, timeout: float) -> ChatResult:
        """A completion prompt through /api/generate (not raw: the model's template applies, as for
        `ollama run`; a base release's `{{ .Prompt }}` hands the text over unchanged). Raises as `chat`."""
        return self._answer(f"generate with {target.model}", target, lambda client: client.generate(
            model=target.model, prompt=prompt, stream=False, options=dict(options)), timeout)

    def _answer(self, what: str, target: Target, ask, timeout: float) -> ChatResult:
        """`ask(client)` with the errors of a request mapped (LoadError, unreachable), as a ChatResult
        that carries the model's load time when this request loaded it."""
        try:
            resp = ask(self._client(timeout))
        except ollama.ResponseError as err:
            raise LoadError(f"{what}: {err.error}") from None
        except httpx.TimeoutException:
            raise LoadError(f"{what}: no answer within {timeout:g}s") from None
        except (ConnectionError, httpx.TransportError) as err:
            raise self._unreachable(what, err) from None
        result = chat_result(resp)
        result.load_seconds += self._load_seconds.pop(target.model, 0.0)
        return result

    def render_completion(self, target: Target, prompt: str) -> str | None:
        """The prompt /api/generate builds from `prompt` (`_debug_render_only`), or None when this
        server cannot tell."""
        return self._debug_render("/api/generate", {"model": target.model, "prompt": prompt}, target)

    def _post_json(self, what: str, path: str, body: dict) -> dict:
        """POST with httpx (the client's own HTTP library) for what the client's request and
        response types leave out; Ollama's errors become LoadError, a gone server a setup error."""
        try:
            r = self._http.post(path, json=body)
        except httpx.TimeoutException:
            raise LoadError(f"{what}: no answer within {self.timeout:g}s") from None
        except httpx.TransportError as err:
            raise self._unreachable(what, err) from None
        if r.status_code >= 400:
            raise LoadError(f"{what}: {ollama.ResponseError(r.text, r.status_code).error}")
        return r.json()

    def show(self, target: Target) -> ShowResult | None:
        """/api/show, read as JSON: Ollama answers `system` (and `license`) as fields of their
        own, which the client's ShowResponse drops (server/routes.go GetModelInfo, v0.24.0)."""
        info = self._post_json(f"show {target.model}", "/api/show", {"model": target.model})
        return ShowResult(template=info.get("template"), parameters=parse_parameters(info.get("parameters")),
                          system=info.get("system") or None)

    def render(self, target: Target, messages: list[dict]) -> str | None:
        """The prompt Ollama builds for these messages (`_debug_render_only` on /api/chat, the
        same prompt path the chat call takes), or None when this server cannot tell."""
        return self._debug_render("/api/chat", {"model": target.model, "messages": messages}, target)

    def _debug_render(self, path: str, body: dict, target: Target) -> str | None:
        if self.render_supported is False:
            return None
        info = self._post_json(f"render for {target.model}", path,
                               {**body, "stream": False, "_debug_render_only": True}).get("_debug_info")
        if not isinstance(info, dict) or "rendered_template" not in info:
            # An older server ignored the field and generated: it cannot tell us the prompt.
            self.render_supported = False
            return None
        self.render_supported = True
        return info["rendered_template"]

    def close(self) -> None:
        """Close the HTTP clients and stop the server this backend started (a running server it
        found is left alone). Idempotent."""
        for client in self._clients.values():
            client.close()
        self._http.close()
        server, self._server = self._server, None
        if server is not None:
            server.stop()

    def __enter__(self) -> "OllamaAPIBackend":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
