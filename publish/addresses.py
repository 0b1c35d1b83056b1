"""The two kinds of Hub address, parsed in one place (stdlib only: every layer may import this).

- A Hub *file* URL, read by lint/inspect/fix: `hf://ORG/NAME[@REV][/PATH]` (huggingface_hub's
  HfFileSystem spelling; `hf://models/ORG/NAME/…` also accepted). -> `HubFileUrl`.
- An Ollama *model name* on the Hub, pulled by `ollama run`/smoke: `hf.co/ORG/NAME[:TAG]`
  (also `https://hf.co/…` and `https://huggingface.co/…`). -> `ollama_hub_repo`.

A bare repo id, `ORG/NAME` (a spec's `repo`, `--repo`), is checked by `is_repo_id`.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from publish.errors import UsageError
from publish.records import Record

HUB_FILE_PREFIX = "hf://"        # a file on the Hub, read over HTTP range requests
OLLAMA_HUB_PREFIX = "hf.co/"     # an Ollama model name Ollama pulls from the Hub


_REPO_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}\Z")


def is_repo_id(text: str) -> bool:
    """Whether `text` is a Hub model repo id `ORG/NAME`: huggingface_hub's validate_repo_id rules
    (huggingface_hub/utils/_validators.py: at most 96 characters a part, no `--` or `..`, not
    ending in `.git`) with the namespace required and ASCII letters, digits, `-`, `_`, `.` only,
    starting with a letter or digit and not ending in `-` or `.`."""
    return (bool(_REPO_ID.match(text)) and "--" not in text and ".." not in text
            and not text.endswith((".git", "-", ".")))


def check_repo_option(repo: str) -> None:
    """Raise UsageError ("--repo 'X': not a Hub repo id", with an example) when `repo` is not
    `is_repo_id`: the check of a repo id a user passed (`--repo`, or a caller of plan_push)."""
    if not is_repo_id(repo):
        raise UsageError(f"--repo {repo!r}: not a Hub repo id", hint="write it as ORG/NAME, e.g. your-org/model-GGUF")


class HubFileUrl(Record):
    """`hf://ORG/NAME[@REV]/PATH` split up; `revision` None means the default branch, `path` may be "".
    Frozen."""

    __slots__ = ("repo_id", "revision", "path")
    frozen = True
    repo_id: str
    revision: str | None
    path: str

    def __init__(self, repo_id: str, revision: str | None, path: str):
        object.__setattr__(self, "repo_id", repo_id)
        object.__setattr__(self, "revision", revision)
        object.__setattr__(self, "path", path)

    def with_path(self, path: str) -> str:
        """The `hf://` URL of another file `path` in the same repo and revision (a sibling split
        part, `template` beside a GGUF)."""
        rev = f"@{self.revision}" if self.revision else ""
        return f"{HUB_FILE_PREFIX}{self.repo_id}{rev}/{path}"


def is_hub_file_url(arg: str) -> bool:
    """True for `hf://…` (a Hub file or repo to read), False for local paths and `hf.co/…` names."""
    return arg.startswith(HUB_FILE_PREFIX)


def parse_hub_file_url(url: str) -> HubFileUrl:
    """Parse `hf://ORG/NAME[@REV][/PATH]`. Raises UsageError naming the expected shape; a PATH
    with a `..` segment is refused."""
    if not url.startswith(HUB_FILE_PREFIX):
        raise UsageError(f"{url}: not an hf:// URL", hint="use hf://ORG/NAME[@REV]/FILE.gguf")
    rest = url[len(HUB_FILE_PREFIX):]
    if rest.startswith("models/"):
        rest = rest[len("models/"):]
    parts = rest.split("/", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise UsageError(f"{url}: expected hf://ORG/NAME[@REV][/PATH]", hint="for example hf://my-org/my-model-GGUF")
    org, name = parts[0], parts[1]
    revision = None
    if "@" in name:
        name, revision = name.split("@", 1)
        revision = unquote(revision) or None
    path = parts[2].strip("/") if len(parts) == 3 else ""
    if not name or ".." in path.split("/"):
        raise UsageError(f"{url}: expected hf://ORG/NAME[@REV][/PATH]")
    return HubFileUrl(f"{org}/{name}", revision, path)


_OLLAMA_HUB = re.compile(r"^(https://)?(hf\.co|huggingface\.co)/")


def is_ollama_hub_name(target: str) -> bool:
    """True for an Ollama model name on the Hub: `hf.co/ORG/NAME[:TAG]` or its https:// forms."""
    return target.startswith(OLLAMA_HUB_PREFIX) or target.startswith("https://hf.co/") \
        or target.startswith("https://huggingface.co/")


def ollama_hub_repo(target: str) -> str:
    """`hf.co/ORG/NAME[:TAG]` -> "ORG/NAME". Raises UsageError for anything else."""
    repo = _OLLAMA_HUB.sub("", target).strip("/")
    repo = repo.split(":", 1)[0]
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise UsageError(f"{target}: expected hf.co/ORG/NAME")
    return repo
