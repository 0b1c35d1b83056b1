"""Which GGUF `hf.co/ORG/NAME[:TAG]` names: the file(s) the Hub's Ollama bridge serves for a tag.

`publish lint` and `publish inspect` take the address users type into `ollama run` and read the
GGUF it selects, as the Hub documents the selection ("Use Ollama with any GGUF Model on Hugging
Face Hub", huggingface/hub-docs docs/hub/ollama.md):

- TAG is matched case-insensitively against the quant label the Hub reads from each GGUF's file
  name (huggingface.js `parseGGUFQuantLabel`, mirrored by `publish.quants.hub_tag_label`); a TAG
  ending in `.gguf` is a file name ("you can also directly use the full filename as a tag").
- No TAG (Ollama sends `latest`): `Q4_K_M` "when it's present inside the model repo. If not, we
  default to picking one reasonable quant type present inside the repo" (the docs). The Hub's code
  is not public; the engineer who built the bridge described it in llama.cpp PR #11195 (which asks
  the Hub's manifest endpoint for the file): "By default, it will take `Q4_K_M` if it is available.
  Otherwise, it checks `Q4*`, then falls back to the first file in repo". We do that: Q4_K_M, else
  the first file (by path) whose label starts with `Q4`, else the first GGUF by path.
- Projector files (`mmproj*`) never answer a tag; a split set answers by its first part's name
  (the Hub refuses to serve split GGUFs to Ollama; lint's GG301 says so).
- Two files (or split sets) with one label both answer its tag: the Hub picks one by file name,
  which lint reports as GG802 and inspect refuses.

The repo's files are listed with huggingface_hub (`publish.hub.remote.list_gguf_paths`); the
headers are read from the hf:// URLs `TagPick.urls` gives, by `publish.hub.remote`.
"""

from __future__ import annotations

from dataclasses import dataclass

from publish.addresses import HubFileUrl, OllamaHubName, parse_ollama_hub_name
from publish.errors import UsageError
from publish.quants import ambiguous_tag_message, hub_tag_label, is_projector_filename, shard_info, shard_names

DEFAULT_LABEL = "Q4_K_M"   # "By default, the Q4_K_M quantization scheme is used, when it's present"
FALLBACK_PREFIX = "Q4"     # "Otherwise, it checks Q4*" (llama.cpp PR #11195, describing the Hub)


def default_file(candidates: list[str]) -> str:
    """The file a tagless name (`latest`) selects among `candidates` (sorted repo paths that can
    answer a tag, at least one): the first Q4_K_M, else the first whose label starts with Q4, else
    the first."""
    labels = [hub_tag_label(p) or "" for p in candidates]
    for wanted in (lambda lab: lab == DEFAULT_LABEL, lambda lab: lab.startswith(FALLBACK_PREFIX)):
        for path, label in zip(candidates, labels):
            if wanted(label):
                return path
    return candidates[0]


@dataclass(frozen=True)
class TagPick:
    """What `hf.co/ORG/NAME[:TAG]` selects in a repo listing.

    `name` is the parsed address; `label` the quant label the selection answers (the tag
    upper-cased, the default's label, or None for a file-name tag or an unlabelled default);
    `files` the repo paths that answer it, sorted (a split set by its first part): more than one
    means the Hub picks one of them by file name (GG802); `parts` each file's split set as listed
    in the repo (the file alone when it is not split)."""

    name: OllamaHubName
    label: str | None
    files: tuple[str, ...]
    parts: dict[str, tuple[str, ...]]

    @property
    def ambiguous(self) -> bool:
        """Whether several files answer the tag (the Hub picks one of them by file name)."""
        return len(self.files) > 1

    def shown(self) -> str:
        """The address as messages show it: `hf.co/ORG/NAME:TAG` (the label picked for no tag)."""
        tag = self.name.tag if self.name.tag is not None else (self.label or "latest")
        return f"{OllamaHubName(self.name.repo_id, None)}:{tag}"

    def urls(self, *, whole_sets: bool) -> list[str]:
        """The hf:// URL of each file that answers the tag; with `whole_sets`, every listed part of
        a split set (part 1 first), else the first part only."""
        base = HubFileUrl(self.name.repo_id, None, "")
        out: list[str] = []
        for path in self.files:
            out.extend(base.with_path(p) for p in (self.parts[path] if whole_sets else (path,)))
        return out


def _candidates(paths: list[str]) -> tuple[list[str], dict[str, tuple[str, ...]]]:
    """The GGUFs that can answer a tag (no projectors; a split set by its first part) and each one's
    listed split set."""
    listed = set(paths)
    out: list[str] = []
    parts: dict[str, tuple[str, ...]] = {}
    for path in sorted(paths):
        name = path.rsplit("/", 1)[-1]
        if not name.lower().endswith(".gguf") or is_projector_filename(name):
            continue
        shard = shard_info(name)
        if shard is not None and shard[0] != 1:
            continue
        out.append(path)
        parts[path] = tuple(p for p in (shard_names(path) or [path]) if p in listed)
    return out, parts


def offered_tags(paths: list[str]) -> list[str]:
    """The tags a repo listing answers: each quant label once, sorted, then the file name of each
    GGUF that carries no label."""
    candidates, _ = _candidates(paths)
    labels = sorted({lab for p in candidates if (lab := hub_tag_label(p)) is not None})
    return labels + [p.rsplit("/", 1)[-1] for p in candidates if hub_tag_label(p) is None]


def pick_files(name: OllamaHubName, paths: list[str]) -> TagPick:
    """The files of repo listing `paths` that `name`'s tag selects (the module doc's rules).
    Raises UsageError when none does, naming the tags the repo offers."""
    candidates, parts = _candidates(paths)
    if not candidates:
        raise UsageError(f"{name}: the repo holds no model GGUF (only projectors or split parts without part 1)",
                         hint="check the repo id")
    tag = name.tag
    label: str | None
    if tag is None or tag.lower() == "latest":
        first = default_file(candidates)
        label = hub_tag_label(first)
        files = [p for p in candidates if hub_tag_label(p) == label] if label else [first]
    elif tag.lower().endswith(".gguf"):
        label = None
        files = [p for p in candidates if p.rsplit("/", 1)[-1] == tag]
    else:
        label = tag.upper()
        files = [p for p in candidates if (hub_tag_label(p) or "").lower() == tag.lower()]
    if not files:
        offered = offered_tags(paths)
        default = pick_files(OllamaHubName(name.repo_id, None), paths)
        raise UsageError(f"{name}: no GGUF in {name.repo_id} answers the tag {tag}, so `ollama pull` would fail too",
                         hint=f"tags in {name.repo_id} (any case): {', '.join(offered)}; "
                              f"without a tag: {default.label or default.files[0].rsplit('/', 1)[-1]}")
    return TagPick(name, label, tuple(files), {p: parts[p] for p in files})


def pick_from_hub(address: str) -> TagPick:
    """List the repo of `hf.co/ORG/NAME[:TAG]` (or its https:// forms) on the Hub and pick the
    tag's files (`pick_files`). Raises UsageError for a malformed address, a repo without GGUFs or
    a tag no file answers; HubError subclasses when the Hub refuses the listing (not found, gated,
    bad token)."""
    from publish.hub.remote import list_gguf_paths

    name = parse_ollama_hub_name(address)
    paths = list_gguf_paths(name.repo_id, shown=str(OllamaHubName(name.repo_id, None)), hint="check the repo id")
    return pick_files(name, paths)


def ambiguous_error(pick: TagPick) -> UsageError:
    """The error for a command that reads ONE file (inspect) when several answer the tag: GG802's words."""
    names = [p.rsplit("/", 1)[-1] for p in pick.files]
    return UsageError(f"{ambiguous_tag_message(names, pick.shown())}; publish lint reports this as GG802",
                      hint="inspect each by its hf:// URL: " + " ".join(pick.urls(whole_sets=False)))
