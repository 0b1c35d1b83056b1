"""The two kinds of Hub address, parsed in one place (stdlib only: every layer may import this).

- A Hub *file* URL, read by lint/inspect/fix: `hf://ORG/NAME[@REV][/PATH]` (huggingface_hub's
  HfFileSystem spelling; `hf://models/ORG/NAME/…` also accepted). -> `HubFileUrl`.
- An Ollama *model name* on the Hub, pulled by `ollama run`/smoke: `hf.co/ORG/NAME[:TAG]`
  (also `https://hf.co/…` and `https://huggingface.co/…`); lint/inspect read the GGUF(s) its tag
  selects (publish.hub.ollama_tags). -> `OllamaHubName` (`parse_ollama_hub_name`).

A bare repo id, `ORG/NAME` (a spec's `repo`, `--repo`), is checked by `is_repo_id`.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote

from publish.errors import UsageError
from publish.records import Record

HUB_FILE_PREFIX = "hf://"        # a file on the Hub, read over HTTP range requests
OLLAMA_HUB_PREFIX = "hf.co/"     # an Ollama model name Ollama pulls from the Hub


_REPO_ID = r"[A-Za-z0-9][A-Za-z0-9._-]{0,95}/[A-Za-z0-9][A-Za-z0-9._-]{0,95}\Z"  # compiled on first use (re's cache)


def is_repo_id(text: str) -> bool:
    """Whether `text` is a Hub model repo id `ORG/NAME`: huggingface_hub's validate_repo_id rules
    (huggingface_hub/utils/_validators.py: at most 96 characters a part, no `--` or `..`, not
    ending in `.git`) with the namespace required and ASCII letters, digits, `-`, `_`, `.` only,
    starting with a letter or digit and not ending in `-` or `.`."""
    return (bool(re.match(_REPO_ID, text)) and "--" not in text and ".." not in text
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
        return hub_file_url(self.repo_id, path, revision=self.revision, slash=True)


def hub_file_url(repo_id: str, path: str = "", *, revision: str | None = None, slash: bool = False) -> str:
    """The `hf://` URL of file `path` in `repo_id` ("ORG/NAME") at `revision` (None: the default
    branch), the form `parse_hub_file_url` reads back: `hf://ORG/NAME[@REV][/PATH]`. `path` ""
    names the repo itself (`hf://ORG/NAME`, what `publish.hub.remote.list_gguf_urls` takes);
    `slash` keeps the `/` before an empty path."""
    rev = f"@{revision}" if revision else ""
    return f"{HUB_FILE_PREFIX}{repo_id}{rev}" + (f"/{path}" if path or slash else "")


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
# Ollama v0.24.0 types/model/name.go isValidPart(kindTag): 1-80 characters, the first a letter, digit or
# `_`, the others also `-` or `.`.
_OLLAMA_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,79}\Z"  # compiled on first use (re's cache)


def is_ollama_hub_name(target: str) -> bool:
    """True for an Ollama model name on the Hub: `hf.co/ORG/NAME[:TAG]`, `huggingface.co/…` (the Hub's
    docs: "you can use both hf.co and huggingface.co as the domain name") or their https:// forms."""
    return bool(_OLLAMA_HUB.match(target))


class OllamaHubName(Record):
    """`hf.co/ORG/NAME[:TAG]` split up: `repo_id` "ORG/NAME", `tag` as typed (None when absent, which
    Ollama sends as `latest`). Frozen."""

    __slots__ = ("repo_id", "tag")
    frozen = True
    repo_id: str
    tag: str | None

    def __init__(self, repo_id: str, tag: str | None):
        object.__setattr__(self, "repo_id", repo_id)
        object.__setattr__(self, "tag", tag)

    def __str__(self) -> str:
        return f"{OLLAMA_HUB_PREFIX}{self.repo_id}" + (f":{self.tag}" if self.tag is not None else "")


def parse_ollama_hub_name(target: str) -> OllamaHubName:
    """Parse `hf.co/ORG/NAME[:TAG]`, `https://hf.co/…` or `https://huggingface.co/…` the way Ollama
    v0.24.0 splits a name (types/model/name.go ParseNameBare: the tag is after the last `:` that
    follows the last `/`). Raises UsageError for another shape or a tag Ollama would refuse."""
    rest = _OLLAMA_HUB.sub("", target).strip("/") if is_ollama_hub_name(target) else ""
    tag = None
    if rest.rfind(":") > rest.rfind("/"):
        rest, tag = rest.rsplit(":", 1)
    if rest.count("/") != 1 or not all(rest.split("/")):
        raise UsageError(f"{target}: expected hf.co/ORG/NAME[:TAG]",
                         hint="for example hf.co/my-org/my-model-GGUF:Q4_K_M; a file is hf://ORG/NAME/FILE.gguf")
    if tag is not None and not re.match(_OLLAMA_TAG, tag):
        raise UsageError(f"{target}: {tag!r} is not an Ollama tag",
                         hint="a tag is 1-80 letters, digits, `_`, `-` or `.` (e.g. Q4_K_M), after the last `:`")
    return OllamaHubName(rest, tag)


def ollama_hub_name(repo_id: str, tag: str | None = None) -> str:
    """The Ollama model name of `repo_id` ("ORG/NAME") on the Hub, `hf.co/ORG/NAME[:TAG]` (no TAG:
    Ollama sends `latest` and the Hub picks a quant, publish.hub.ollama_tags); the form
    `parse_ollama_hub_name` reads back."""
    return str(OllamaHubName(repo_id, tag))


def file_url_given_for_ollama(url: str, command: str) -> UsageError:
    """The UsageError for an `hf://` address given to a command that runs a model as Ollama pulls
    it (`publish smoke`, `publish ci-matrix`): those take `hf.co/ORG/NAME[:TAG]`. The hint gives
    the command with the name for the same repo, tagged with the quant label of the file's name
    when it has one (hf://org/x-GGUF/x-Q4_K_M.gguf -> hf.co/org/x-GGUF:Q4_K_M). Raises UsageError
    from parse_hub_file_url for a malformed address."""
    from publish.quants import label_from_filename
    from publish.termtext import shell_command

    parsed = parse_hub_file_url(url)
    label = label_from_filename(parsed.path.rsplit("/", 1)[-1]) if parsed.path.lower().endswith(".gguf") else None
    name = ollama_hub_name(parsed.repo_id, label)
    return UsageError(f"{url}: an hf:// address names a Hub file to read (publish inspect and lint take it); "
                      f"publish {command} works on the model as Ollama pulls it, by the name hf.co/ORG/NAME[:TAG]",
                      hint=f"run `{shell_command('publish', command, name)}`"
                           + ("" if label else " (no tag: the Hub picks the quant Ollama pulls; add :TAG for another)"))


def ollama_hub_repo(target: str) -> str:
    """`hf.co/ORG/NAME[:TAG]` -> "ORG/NAME". Raises UsageError for anything else."""
    return parse_ollama_hub_name(target).repo_id


def repo_path(path: str | os.PathLike, root: str | os.PathLike) -> str:
    """`path` as a repo lists it: relative to `root` (a staged folder, or `hf://ORG/NAME`) and
    `/`-separated when below it (a sub-folder's file: `Q4_K_M/x-00001-of-00002.gguf`), else its
    file name."""
    path, root = os.fspath(path).replace("\\", "/"), os.fspath(root).replace("\\", "/").rstrip("/") + "/"
    return path[len(root):] if path.startswith(root) else path.rsplit("/", 1)[-1]
