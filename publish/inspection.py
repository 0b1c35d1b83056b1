"""What `publish inspect FILE...` prints: each header's summary (and its split set), or the
whole header as JSON. Free of click, so the quick command path (publish.__main__) runs it
without importing the CLI framework; publish.cli.inspect_cmd is the click command over it."""

from __future__ import annotations

from publish.termtext import json_safe, one_line
from publish.units import human_size

TYPE_CHECKING = False  # typing is not imported at run time (see publish.records)
if TYPE_CHECKING:
    from typing import Callable

    Out = Callable[..., None]   # out(text, nl=True): one piece of stdout
    Err = Callable[[BaseException], None]  # err(exc): an error line on stderr


def inspect_files(files: list[str], fmt: str, *, full_arrays: bool = False, full_strings: bool = False,
                  out: Out, err: Err) -> int:
    """Print what `publish inspect` prints for `files` (.gguf paths, folders of them, hf:// URLs,
    `hf.co/ORG/NAME[:TAG]`: the one file Ollama pulls for the tag)
    through `out`; `fmt` is "text" or "json". Returns the exit code: 0, or 2 when some of several
    files could not be read (each reported through `err` after the others are printed).
    Raises UsageError when no file is found, and the file's PublishError when a single file fails."""
    from publish.errors import PublishError
    from publish.gguf.summary import header_to_json, summarize
    from publish.sources import expand, no_ggufs

    sources = expand(list(files), one_per_tag=True)
    if not sources:
        raise no_ggufs(list(files))  # one_line'd by the CLI
    headers, failed = [], []
    for src in sources:
        try:
            headers.append(src.read_header())
        except PublishError as exc:
            if len(sources) == 1:
                raise
            failed.append(exc)  # inspect the others, then report
    if fmt == "json":
        from publish.jsonstream import write_json

        docs = [header_to_json(h, full_arrays=full_arrays, full_strings=full_strings) for h in headers]
        if docs:
            pending: list[str] = []
            size = 0

            def write(piece: str) -> None:  # in pieces of ~64K characters: see publish.jsonstream
                nonlocal size
                pending.append(piece)
                size += len(piece)
                if size >= 1 << 16:
                    out(json_safe("".join(pending)), nl=False)
                    pending.clear()
                    size = 0

            write_json(docs[0] if len(sources) == 1 else docs, write)
            out(json_safe("".join(pending)))
    else:
        from publish.termtext import block

        for i, h in enumerate(headers):
            if i:
                out("")
            out(block("\n".join(format_summary(summarize(h)))))
            if h.split is not None:
                out(block(split_line(h.path)))
    for exc in failed:
        err(exc)
    return 2 if failed else 0


def split_line(path: str) -> str:
    """The summary's `split set` line for a part of a split set: parts, parameters, tensor bytes."""
    from publish.gguf.split import SplitSetError, read_split_set
    from publish.sources import open_source

    try:
        s = read_split_set(path, opener=open_source)
    except SplitSetError as err:
        return "  split set       broken: " + one_line("; ".join(f"{p.path.rsplit('/', 1)[-1]}: {p.message}"
                                                                  for p in err.problems))
    first = "" if s.paths[0] == path else f"; model metadata is in {one_line(s.paths[0])}"
    return (f"  split set       {s.count} parts, {_count(s.n_params)} parameters, {human_size(s.tensor_bytes)} of tensors"
            f"{first}")


def format_summary(s) -> list[str]:
    """The summary lines of `s` (a publish.gguf.summary.Summary), every file value escaped."""
    def row(label: str, value) -> str:
        return f"  {label:<15} {one_line(value)}"   # every value may come from the file

    size = "" if s.file_size is None else f", {human_size(s.file_size)}"
    lines = [f"{one_line(s.path)}  (GGUF v{s.version}{size}, header {human_size(s.data_offset)})"]
    kind = "  (multimodal projector)" if s.is_projector else ""
    lines.append(row("architecture", f"{one_line(s.architecture) if s.architecture else '(missing)'}{kind}"))
    lines.append(row("name", one_line(s.name) if s.name else "(missing)"))
    if s.file_type is None:
        lines.append(row("file type", "(general.file_type missing)"))
    else:
        lines.append(row("file type", f"{s.file_type_name or 'unknown'} (general.file_type = {s.file_type})"))
    lines.append(row("parameters", f"{_count(s.n_params)} ({s.n_params:,}), {s.bits_per_weight:.2f} bits per weight"))
    if s.split:
        lines.append(row("split", f"part {s.split[0] + 1} of {s.split[1]} (split.no {s.split[0]})"))
    lines.append(row("context length", s.context_length if s.context_length is not None else "(missing)"))
    lines.append(row("vocab size", s.vocab_size if s.vocab_size is not None else "(missing)"))
    names = {"bos": "BOS", "eos": "EOS", "eot": "EOT", "eom": "EOM", "padding": "PAD", "unknown": "UNK"}
    shown = [f"{names[k]} {tid} {_token(text)}" for k, (tid, text) in s.special.items()]
    missing = [names[k] for k in ("bos", "eos", "eot", "padding") if k not in s.special]
    tokens = ", ".join(shown) or "(none)"
    if missing:
        tokens += f"  (not set: {', '.join(missing)})"
    lines.append(row("special tokens", tokens))
    lines.append(row("add_bos_token", _flag(s.add_bos_token)))
    lines.append(row("add_eos_token", _flag(s.add_eos_token)))
    if not s.templates:
        lines.append(row("chat template", "(none)"))
    for name, text in s.templates.items():
        label = "chat template" if name == "default" else f"template {one_line(name)}"
        lines.append(row(label, f"{len(text):,} chars: {_preview(text)}"))
    lines.append(row("tensors", f"{sum(g.count for g in s.groups)}, {human_size(s.tensor_bytes)}"))
    for g in s.groups:
        lines.append(f"    {g.ggml_type:<8} {g.count:>5} tensors  {_count(g.n_elements):>8} weights  "
                     f"{human_size(g.n_bytes):>9}  {g.bits_per_weight:5.2f} bpw")
    return lines


def _flag(v) -> str:
    return "(not set)" if v is None else str(v).lower()


def _token(text) -> str:
    if text is None:
        return "(outside the vocabulary)"
    return repr(text)


def _preview(text: str, limit: int = 70) -> str:
    flat = text[:limit + 1].replace("\n", "\\n")  # a prefix: the text may be 250 MiB
    return repr(flat if len(flat) <= limit else flat[:limit] + "…")


def _count(n: int) -> str:
    for unit, size in (("B", 10**9), ("M", 10**6), ("K", 10**3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)
