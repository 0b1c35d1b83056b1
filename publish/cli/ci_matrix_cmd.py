"""`publish ci-matrix TARGET`: the GitHub Actions matrix (JSON) for `publish smoke --shard`.

`publish plan --matrix TARGET`, its old spelling, still runs for one release with a warning on stderr.
"""

from __future__ import annotations

import click

from publish.cli.options import InputPath, format_option, quiet_option, warn_deprecated

def _print_matrix(target: str, shards: int | None, gguf_dir: str | None, fmt: str) -> None:
    from publish.cli.echo import say, say_json
    from publish.smoke.matrix import matrix
    from publish.termtext import one_line, shell_command

    doc = matrix(target, shards=shards, gguf_dir=gguf_dir)
    if fmt == "json":
        say_json(doc, separators=(",", ":"))
        return
    width = max(len(one_line(e["quants"])) for e in doc["include"])
    for entry in doc["include"]:
        say(f"{entry['shard']:>7}  {one_line(entry['quants']):<{width}}  ->  "
            f"{one_line(shell_command('publish', 'smoke', entry['target'], '--shard', entry['shard']))}")


_shards = click.option("--shards", type=click.IntRange(min=1), metavar="N", help="Number of jobs (default: one per quant, at most 256).")
_format = format_option({"text": "one line per job, for people", "json": "one line for $GITHUB_OUTPUT and fromJSON()"},
                        default="json")
_gguf_dir = click.option("--gguf-dir", type=InputPath(exists=True, file_okay=False), metavar="DIR",
                         help="For a release spec: the folder that holds its GGUFs.")


@click.command("ci-matrix")
@click.argument("target", metavar="SPEC|DIR|hf.co/ORG/NAME")
@_shards
@_gguf_dir
@_format
@quiet_option
def ci_matrix(target: str, shards: int | None, gguf_dir: str | None, fmt: str) -> None:
    """Print the GitHub Actions matrix that splits `publish smoke` over CI jobs.

    \b
    TARGET is a release spec (smoked as hf.co/<its repo>), a staged folder or hf.co/ORG/NAME.
    Output (JSON, one line):
      {"include": [{"shard": "1/N", "index": 1, "quants": "Q4_K_M", "target": "…"}, …]}
    Each job then runs `publish smoke TARGET --shard I/N`, which picks the same quants.
    """
    _print_matrix(target, shards, gguf_dir, fmt)


@click.command("plan", hidden=True)
@click.option("--matrix", "target", required=True, metavar="SPEC|DIR|hf.co/ORG/NAME",
              help="Print the smoke matrix of this release spec, staged folder or Hub repo.")
@_shards
@_gguf_dir
@_format
@quiet_option
def plan(target: str, shards: int | None, gguf_dir: str | None, fmt: str) -> None:
    """Deprecated spelling of `publish ci-matrix TARGET` (kept for one release)."""
    from publish.cli import DEPRECATED_COMMANDS

    _, old, new = DEPRECATED_COMMANDS["plan"]
    warn_deprecated(f"`{old}`", f"`{new}`")
    _print_matrix(target, shards, gguf_dir, fmt)
