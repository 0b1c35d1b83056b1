"""`publish plan --matrix TARGET`: the GitHub Actions matrix (JSON) for `publish smoke --shard`."""

from __future__ import annotations

import click


@click.command("plan")
@click.option("--matrix", "target", required=True, metavar="SPEC|DIR|hf.co/ORG/NAME",
              help="Print the smoke matrix of this release spec, staged folder or Hub repo.")
@click.option("--shards", type=int, metavar="N", help="Number of jobs (default: one per quant, at most 256).")
@click.option("--gguf-dir", type=click.Path(exists=True, file_okay=False), metavar="DIR",
              help="For a release spec: the folder that holds its GGUFs.")
def plan(target, shards, gguf_dir):
    """Print the quant matrix for CI fan-out: publish plan --matrix TARGET.

    TARGET is a release spec (smoked as hf.co/<its repo>), a staged folder or hf.co/ORG/NAME.
    Output, one line: {"include": [{"shard": "1/N", "index": 1, "quants": "Q4_K_M", "target": "…"}, …]}
    """
    from publish.smoke.matrix import matrix

    from publish.cli.echo import say_json

    say_json(matrix(target, shards=shards, gguf_dir=gguf_dir), separators=(",", ":"))
