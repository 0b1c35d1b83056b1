"""The CI fan-out: which quants a target has, split into shards for a GitHub Actions matrix.

`publish ci-matrix TARGET` prints `{"include": [{"shard": "1/3", "index": 1, "quants": "…",
"target": "…"}, …]}` on one line, ready for `echo "matrix=…" >> "$GITHUB_OUTPUT"` and
`strategy.matrix: ${{ fromJSON(needs.matrix.outputs.matrix) }}`. Each job then runs
`publish smoke TARGET --shard I/N`, which picks the same quants (targets.select_shard).
"""

from __future__ import annotations

from pathlib import Path

from publish.errors import HubError, SpecError, UsageError
from publish.addresses import (file_url_given_for_ollama, is_hub_file_url, is_ollama_hub_name, ollama_hub_name,
                                ollama_hub_repo)
from publish.smoke.targets import first_per_label, select_shard

GITHUB_MAX_JOBS = 256  # GitHub Actions: at most 256 jobs per matrix


def target_quants(target: str, *, gguf_dir: str | Path | None = None) -> tuple[str, list[str]]:
    """(the smoke target, its quant labels) for a spec, a staged folder or hf.co/ORG/NAME.

    A release spec is smoked after publishing, so its target is hf.co/<spec repo>; its quants come
    from its GGUF folder, or from the Hub repo when that folder is not there (a CI checkout of the
    spec rarely holds multi-GB GGUFs). Raises UsageError for a target that is none of those."""
    if is_ollama_hub_name(target):
        repo = ollama_hub_repo(target)
        return ollama_hub_name(repo), _hub_labels(repo)
    from publish.inputpaths import input_kind

    path = Path(target)
    kind = input_kind(path)   # InputPathError: unreadable on the way, a broken link, a FIFO
    if kind == "folder":
        from publish.staged import load_staged

        folder = load_staged(path)
        return str(path), [q.label for q in folder.quants]
    if kind == "file":
        from publish.spec import load_spec

        spec = load_spec(path, gguf_dir=gguf_dir)
        try:
            labels = [q.label for q in spec.resolve_quants()]
        except SpecError as missing:
            labels = _hub_labels_instead(spec.repo, missing, gguf_dir)
        return ollama_hub_name(spec.repo), labels
    if is_hub_file_url(target):
        raise file_url_given_for_ollama(target, "ci-matrix")
    raise UsageError(f"{target}: not a release spec, a staged folder or hf.co/ORG/NAME",
                     hint="give the release.toml, the folder `publish build` wrote, or hf.co/ORG/NAME")


def _hub_labels_instead(repo: str, missing: SpecError, gguf_dir: str | Path | None) -> list[str]:
    """`_hub_labels(repo)` for a spec whose GGUFs are not on this machine (`missing`); a HubError
    (the Hub cannot be reached, the repo is not published yet) is raised again, of the same class,
    with a hint that says why the Hub was asked and that --gguf-dir DIR reads a local folder."""
    try:
        return _hub_labels(repo)
    except HubError as err:
        where = f"not in --gguf-dir {gguf_dir}" if gguf_dir is not None else "not where the spec says"
        key = f" ({missing.key})" if missing.key else ""
        why = (f"the spec's GGUFs are {where}{key}, so their quants were read from the Hub; "
               "--gguf-dir DIR reads them from a local folder instead")
        raise type(err)(err.message, hint=why + (f"; {err.hint}" if err.hint else "")) from None


def _hub_labels(repo: str) -> list[str]:
    """The quant labels of the Hub repo `repo`, each once (StagedFolder.from_hub, tolerant: the
    matrix needs only the listing's labels)."""
    from publish.staged import StagedFolder

    return list(first_per_label(StagedFolder.from_hub(repo, tolerant=True)))


def matrix(target: str, *, shards: int | None = None, gguf_dir: str | Path | None = None) -> dict:
    """One matrix entry per shard; by default one shard per quant (at most 256). Raises UsageError
    when there are no quants or `shards` is below 1."""
    smoke_target, labels = target_quants(target, gguf_dir=gguf_dir)
    if not labels:
        raise UsageError(f"{target}: no quants to smoke")
    if shards is not None and shards < 1:
        raise UsageError(f"--shards {shards}: must be at least 1")
    n = min(shards or len(labels), len(labels), GITHUB_MAX_JOBS)
    include = []
    for i in range(1, n + 1):
        include.append({"shard": f"{i}/{n}", "index": i, "quants": ",".join(select_shard(labels, (i, n))),
                        "target": smoke_target})
    return {"include": include}
