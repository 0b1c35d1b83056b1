"""The chat-template corpus in tests/data/jinja/ (manifest: SOURCES.toml, documented at its top).

    from jinja_corpus import load
    for entry in load():
        entry.name, entry.source, entry.bos_token, entry.eos_token, entry.tier, entry.broken

`entry.source` is the template text exactly as published (for the older files, the text after
their `{#- source: ... -#}` header line). Used by tests/convert/test_corpus.py and bench/bench_corpus.py.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path(__file__).parent / "data" / "jinja"
MANIFEST = CORPUS_DIR / "SOURCES.toml"
_HEADER = re.compile(r"\A\{#-.*?-#\}\n", re.S)


@dataclass(frozen=True)
class CorpusEntry:
    name: str                 # file name, e.g. "gguf-ollama-llama3.1-8b.jinja"
    model: str                # Hub repo id, or ollama.com/library/NAME:TAG (a GGUF's template)
    family: str
    tier: str                 # "core" (a family the issue names) or "extra"
    source: str               # the template text, verbatim
    bos_token: str
    eos_token: str
    sha256: str               # of `source`, as recorded in the manifest
    origin: dict              # the manifest's [template.source] table
    tokens_from: str          # "family" / "source" / "unknown" (see SOURCES.toml)
    requires: str | None      # an extra input without which no plain conversation renders
    upstream_bug: str | None  # a bug of the published template that fails some conversations
    broken: str | None        # why the template cannot be used at all (upstream bug), else None
    header: str               # the `{#- source: ... -#}` comment of the older files, else ""

    def actual_sha256(self) -> str:
        return hashlib.sha256(self.source.encode("utf-8")).hexdigest()


def read_template(path: Path, *, header_comment: bool) -> tuple[str, str]:
    """(header, template text) of a corpus file (as stored; no newline translation)."""
    with open(path, encoding="utf-8", newline="") as fh:
        text = fh.read()
    if not header_comment:
        return "", text
    m = _HEADER.match(text)
    if m is None:
        raise ValueError(f"{path}: the manifest says it starts with a {{#- source -#}} header; it does not")
    return m.group(0), text[m.end():]


def manifest() -> list[dict]:
    return tomllib.loads(MANIFEST.read_text(encoding="utf-8"))["template"]


def load(*, tier: str | None = None) -> list[CorpusEntry]:
    out = []
    for item in manifest():
        if tier is not None and item["tier"] != tier:
            continue
        header, text = read_template(CORPUS_DIR / item["file"], header_comment=item.get("header_comment", False))
        out.append(CorpusEntry(
            name=item["file"], model=item["model"], family=item["family"], tier=item["tier"], source=text,
            bos_token=item.get("bos_token", ""), eos_token=item.get("eos_token", ""),
            sha256=item["sha256"], origin=item.get("source", {}), tokens_from=item.get("tokens_from", "unknown"),
            requires=item.get("requires"), upstream_bug=item.get("upstream_bug"), broken=item.get("broken"),
            header=header))
    return out
