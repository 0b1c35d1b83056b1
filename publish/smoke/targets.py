"""What to smoke: the quants of a staged folder (scratch model names) or of an hf.co repo (tags
Ollama pulls through the Hub's registry), the `--quants` filter and the `--shard I/N` pick.

`plan_folder` / `plan_hub` return a `Planned`: the targets, every label of the source (for the
other shards), where each quant's GGUF header is read from, and why the release's files are unknown.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from publish.addresses import ollama_hub_name, parse_ollama_hub_name
from publish.errors import SmokeSetupError, UsageError
from publish.smoke.base import Target

if TYPE_CHECKING:
    from publish.smoke.runner import SmokeOptions


def parse_shard(text: str) -> tuple[int, int]:
    """`--shard I/N` -> (I, N), 1-based. Raises UsageError unless 1 <= I <= N."""
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


# What Go's net/http and crypto/tls put in the error Ollama v0.24.0 returns when the pull cannot
# reach the registry at all (server/images.go pullModelManifest -> makeRequestWithRetry): the
# registry is down, misspelt or blocked, not the quant broken.
_UNREACHABLE = ("no such host", "connection refused", "network is unreachable", "no route to host",
                "i/o timeout", "server misbehaving", "tls handshake timeout", "x509:",
                "server gave http response to https client", "connection reset by peer")


def registry_unreachable(model: str, error: str) -> SmokeSetupError | None:
    """The setup error (exit 2) for a pull of `model` (`HOST/ORG/NAME:TAG`) that failed with
    Ollama's `error` text because the registry HOST cannot be reached (DNS, refused, TLS, timeout);
    None for any other failure (a missing tag, a broken GGUF: those are the quant's load failure)."""
    if not any(marker in error.lower() for marker in _UNREACHABLE):
        return None
    host = model.split("/", 1)[0]
    return SmokeSetupError(
        f"cannot reach the registry {host} to pull {model}: {error.strip()}",
        hint="check the network and DNS of the machine running Ollama, or pull from a Hub mirror or "
             "stand-in with --registry URL (`publish release` passes its --registry, default $HF_ENDPOINT)")


def scratch_name(folder: Path, label: str) -> str:
    """The Ollama model a folder's quant is created as: `publish-smoke/<folder name>:<label>`,
    lower-cased, the folder name reduced to the characters an Ollama name allows."""
    slug = re.sub(r"[^a-z0-9_.-]+", "-", folder.resolve().name.lower()).strip("-.") or "model"
    return f"publish-smoke/{slug}:{label.lower()}"


@dataclass
class Planned:
    """The quants one smoke run covers (after --quants and --shard)."""
    targets: list[Target]
    all_labels: list[str]
    headers: dict[str, object]  # label -> header, or its source (path or hf:// url), for GGUF facts
    release_unknown: str | None = None  # why the release's params/template are unknown


def _filter_quants(all_labels: list[str], wanted: list[str] | None, where: str) -> list[str]:
    if not wanted:
        return list(all_labels)
    by_lower = {label.lower(): label for label in all_labels}
    missing = [w for w in wanted if w.lower() not in by_lower]
    if missing:
        raise UsageError(f"{where}: no quant {', '.join(missing)} (found: {', '.join(all_labels) or 'none'})")
    return [by_lower[w.lower()] for w in wanted]


def plan_folder(folder, options: SmokeOptions) -> Planned:
    """The targets of a staged folder: a publish.staged.StagedFolder (what `publish build`
    returned), or a path, read here once (a `params` value Ollama refuses, such as a string
    `stop`, fails each case: runner.refused_params). Raises UsageError when the folder's `params`
    is faulty or it holds no GGUF, or it is a Hub repo (publish.staged.staged), TemplateError
    (file:line:col) when `template` does not parse."""
    from publish.staged import staged

    folder = staged(folder)
    path = folder.path
    if not folder.quants:
        raise UsageError(f"{path}: no GGUF files in the folder", hint="run `publish build SPEC -o DIR` first")
    if folder.template is not None:
        from publish import gotmpl

        gotmpl.parse(folder.template, folder.where("template"))  # TemplateError names file:line:col
    labels = _filter_quants([q.label for q in folder.quants], options.quants, str(path))
    targets = []
    for label in select_shard(labels, options.shard):
        q = folder.quant(label)
        targets.append(Target(label=q.label, model=scratch_name(path, q.label), gguf=q.path,
                              template=folder.template, params=dict(folder.params), system=folder.system,
                              kind=folder.kind, header=folder.headers.get(q.path),
                              unreadable=folder.unreadable.get(q.path)))
    # the headers the folder's read kept: the GGUF facts and the llama.cpp engine read none again
    return Planned(targets, labels, {t.label: t.header or t.gguf for t in targets})


def plan_hub(target: str, options: SmokeOptions) -> Planned:
    """The targets of `hf.co/ORG/NAME[:TAG]`: one per quant in the repo (the tag, or --quants,
    picks), named `<registry host>/ORG/NAME:<label>` for Ollama to pull, with the repo's own
    `template`, `params` and `system`, read as a staged folder's are (StagedFolder.from_hub: one
    listing, no GGUF header read; each quant's header source is its hf:// URL, the first of its
    label's files). A fault in those files (params not a JSON object, a file not UTF-8, larger
    than 1 MB or refused by the Hub) sets `release_unknown` to its message, naming
    hf://ORG/NAME/FILE[:LINE:COL], and the checks against them are skipped. Raises UsageError
    when the repo holds no GGUF quant or not the one asked for, HubError when the Hub refuses
    the listing."""
    from publish.staged import StagedFolder

    name = parse_ollama_hub_name(target)
    repo, tag = name.repo_id, name.tag
    wanted = options.quants or ([tag] if tag else None)
    folder = StagedFolder.from_hub(repo, tolerant=True)
    quants = first_per_label(folder)
    if not quants:
        raise UsageError(f"{ollama_hub_name(repo)}: no GGUF quants found in the repo")
    labels = _filter_quants(list(quants), wanted, ollama_hub_name(repo))
    unknown = folder.problems[0].error(folder.path).message if folder.problems else None
    host, insecure = registry_host(options.registry)
    targets = [Target(label=label, model=f"{host}/{repo}:{label}", params=dict(folder.params),
                      template=folder.template, system=folder.system, kind=folder.kind, insecure=insecure)
               for label in select_shard(labels, options.shard)]
    return Planned(targets, labels, {t.label: quants[t.label].path for t in targets}, unknown)


def first_per_label(folder) -> dict:
    """Label -> the folder's first StagedQuant with that label, in the folder's order (two files
    with one label in a Hub repo both answer its tag; the Hub picks one, lint reports GG802)."""
    out: dict = {}
    for q in folder.quants:
        out.setdefault(q.label, q)
    return out
