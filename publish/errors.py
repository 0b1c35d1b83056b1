"""One exception hierarchy. Every message says what was wrong, where, and what to do next.

The CLI maps `exit_code` to the process exit status: 2 for usage/setup/input problems. Checks
that ran and failed are results (findings, verdicts), not exceptions; the commands exit 1 for
them. Expected failures never show a traceback.
"""

from __future__ import annotations


class PublishError(Exception):
    """Base class. `str(err)` is the full, user-facing message."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message}\n  hint: {hint}")


def message_of(err: BaseException) -> str:
    """`err`'s message without its hint: `err.message` for a PublishError, `str(err)` for any other.

    For putting one error inside another message, a finding or a JSON field: `str(err)` of a
    PublishError ends in `\n  hint: ...`, which a one-line field shows as a literal backslash-n.
    Pass the hint on as a hint of its own (`getattr(err, "hint", None)`)."""
    return err.message if isinstance(err, PublishError) else str(err)


class UsageError(PublishError):
    """Bad arguments or a missing prerequisite the user must install or start."""


class NoChatTemplateError(UsageError):
    """A GGUF holds no chat template under `key` (`tokenizer.chat_template`, or
    `tokenizer.chat_template.NAME` for a named one). `path` is the GGUF as given; `names` the
    named templates it does hold. Raised by publish.convert.inputs; callers that know why a
    template was wanted (a `[template] from = "gguf"` build) give their own hint."""

    def __init__(self, path: str, key: str, names: list[str] | tuple[str, ...] = (), *, hint: str | None = None):
        self.path = path
        self.key = key
        self.names = list(names)
        super().__init__(f"{path}: the GGUF has no {key}", hint=hint)


class TextFileError(UsageError):
    """A text file cannot be read as text: not a regular file, larger than the cap, unreadable or
    not UTF-8 (`publish.fsutil.read_utf8`).

    `path` is the file as given, `problem` the message without the path, `offset` the file's byte
    offset of the first byte that is not UTF-8 (0 for a UTF-16 byte-order mark; None when the
    problem is not the encoding)."""

    def __init__(self, path: str, problem: str, *, offset: int | None = None, hint: str | None = None):
        self.path = path
        self.problem = problem
        self.offset = offset
        super().__init__(f"{path}: {problem}", hint=hint)


class OutputPathError(UsageError):
    """A file or folder publish was asked to write cannot be created there: a part of the path is a
    file, the path is a folder, no permission, read-only filesystem, disk full
    (`publish.fsutil.output_error`). `path` is the output as given, `problem` the message
    without the path."""

    def __init__(self, path: str, problem: str, *, hint: str | None = None):
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: cannot write: {problem}", hint=hint)


class InputPathError(UsageError):
    """A file or folder publish was asked to read cannot be read: permission denied (on it, or on a
    folder on the way), a folder that cannot be listed, a broken symbolic link, a FIFO, device or
    socket where a file or folder belongs (`publish.fsutil.input_error`). `path` is the path as
    given, `problem` the message without the path ("cannot read folder: permission denied")."""

    def __init__(self, path: str, problem: str, *, hint: str | None = None):
        self.path = path
        self.problem = problem
        super().__init__(f"{path}: {problem}", hint=hint)


class TextFileMissing(TextFileError):
    """The text file does not exist (FileNotFoundError)."""


class GGUFError(PublishError):
    """A GGUF file is truncated, corrupt or hostile. Names the file and byte offset."""

    def __init__(self, path: str, offset: int, expected: str, *, hint: str | None = None):
        self.path = path
        self.offset = offset
        self.expected = expected
        super().__init__(f"{path}: at byte {offset}: {expected}", hint=hint)


class NotGGUFError(GGUFError):
    """The file has no GGUF magic at all: a Git LFS pointer, an HTML page, an empty file, another
    format (publish.gguf.sniff says which)."""


class TemplateError(PublishError):
    """A template (Go or Jinja) failed to parse or execute. Carries line and column when known:
    the message starts with `name:line:col`, `name:line` when the column is unknown (None or 0),
    `name` alone without a line. `problem` is the message without that location; `position` the
    location alone."""

    def __init__(self, message: str, *, name: str = "template", line: int | None = None,
                 col: int | None = None, hint: str | None = None):
        self.name = name
        self.line = line
        self.col = col
        self.problem = message
        where = name if line is None else f"{name}:{line}" if not col else f"{name}:{line}:{col}"
        super().__init__(f"{where}: {message}", hint=hint)

    @property
    def position(self) -> str | None:
        """`LINE:COL` (a column of 0 kept: publish.gotmpl counts Go's way, from 0), `LINE` without
        a column, None without a line."""
        if self.line is None:
            return None
        return f"{self.line}" if self.col is None else f"{self.line}:{self.col}"


class UnsafeTemplateError(TemplateError):
    """A chat template tried to escape the Jinja sandbox or exceeded its time/size bound."""


class TemplateRaised(TemplateError):
    """A Jinja chat template called raise_exception(): it refuses this conversation. `.reason` is
    its text (publish.chat renders templates)."""

    def __init__(self, reason: str, *, name: str = "chat_template"):
        self.reason = reason
        super().__init__(reason, name=name)


class SpecError(PublishError):
    """A release spec is invalid. Names the file, the key and the fix."""

    def __init__(self, path: str, key: str | None, message: str, *, hint: str | None = None):
        self.path = path
        self.key = key
        where = f"{path}: {key}" if key else path
        super().__init__(f"{where}: {message}", hint=hint)


class SpecErrors(SpecError):
    """Several problems in one release spec, reported together (publish.spec.load_spec reads every
    section it can). `errors`: the SpecErrors, in the order found; `path` the spec; `key` the first
    one's key. `str(err)` lists each with its hint; publish.termtext.error_text prints each as an
    `error:` line of its own."""

    def __init__(self, errors: list[SpecError]):
        self.errors = list(errors)
        self.path, self.key = self.errors[0].path, self.errors[0].key
        PublishError.__init__(self, f"{self.path}: {len(self.errors)} problems in the release spec")
        self.args = ("\n".join(str(e) for e in self.errors),)


class ModelfileError(PublishError):
    """A Modelfile is invalid or a value cannot be written into one safely.

    `reason` says which fault it is where a caller acts on it: NO_FROM (the Modelfile names no
    model: Ollama's parser.ParseFile "no FROM line"), else None. `line` is the 1-based line of the
    instruction at fault, None when the fault has no line (NO_FROM). `problem` is the message
    without its location (a value check's "top_k must be an integer (got '1.5')"), for callers
    that report it under their own (a spec key, a lint finding); the message itself otherwise."""

    NO_FROM = "no-from"

    def __init__(self, message: str, *, hint: str | None = None, reason: str | None = None,
                 line: int | None = None, problem: str | None = None):
        self.reason = reason
        self.line = line
        self.problem = message if problem is None else problem
        super().__init__(message, hint=hint)


class HubError(PublishError):
    """The Hub refused or could not be reached. Never contains a token.

    The subclasses below say which refusal it was; `publish.hub.client.hub_error` maps
    huggingface_hub's own exception classes (huggingface_hub.errors) and HTTP status codes onto
    them, never the text of a message."""


class HubNotFound(HubError):
    """The repo, revision or file does not exist (or is private and the token cannot see it): 404."""


class HubEntryNotFound(HubNotFound):
    """The repo and revision exist but the file does not (huggingface_hub's RemoteEntryNotFoundError)."""


class HubMetadataRejected(HubError):
    """The Hub refused the model card's YAML front matter (its validate-yaml endpoint answered
    400 before the commit); nothing was uploaded."""


class HubGated(HubError):
    """A gated repo whose terms this account has not accepted (GatedRepoError)."""


class HubAuthError(HubError):
    """The token is missing, invalid (401) or lacks the rights for the action (403)."""


class HubRateLimited(HubError):
    """HTTP 429: too many requests; retry after a pause."""


class HubConflict(HubError):
    """The repo changed under the action (HTTP 409/412: the branch head moved, the repo exists)."""


class HubUnreachable(HubError):
    """No answer from the Hub at all: its host does not resolve (offline, no DNS), refuses the
    connection or has no route; the connection kept failing or timing out through the retries;
    or huggingface_hub's offline mode (HF_HUB_OFFLINE) is on."""


class SmokeSetupError(PublishError):
    """An engine needed for a smoke test is missing or unreachable."""

