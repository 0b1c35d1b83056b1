"""`publish release SPEC`: lint -> build -> smoke (folder) -> push -> smoke (hf.co), one summary screen."""

from __future__ import annotations

import sys

import click

from publish.cli.options import InputPath, Seconds, format_option, output_option, quiet_option, renamed_option
from publish.smoke.base import DEFAULT_TIMEOUT


@click.command("release")
@click.argument("spec", type=InputPath(exists=True, dir_okay=False))
@output_option("Staged folder to build (default: dist/NAME, NAME from the spec's repo).", dest="out_dir",
               file_okay=False, dir_okay=True)
@renamed_option("--out", "-o/--output", "out_dir", type=click.Path(file_okay=False))
@click.option("--gguf-dir", type=InputPath(exists=True, file_okay=False), metavar="DIR",
              help="Folder that holds the GGUFs (overrides quants.dir in the spec).")
@click.option("--push", "do_push", is_flag=True, help="Push the folder to the Hub and smoke hf.co/ORG/NAME after.")
@click.option("--repo", metavar="ORG/NAME",
              help="Hub repo to build for and push to (default: the spec's `repo`).")
@click.option("--backend", type=click.Choice(["ollama", "llamacpp"]), default="ollama", show_default=True,
              help="Engine for the folder smoke; the hf.co smoke always uses Ollama.")
@click.option("--via", type=click.Choice(["api", "cli"]), default="api", show_default=True,
              help="ollama backend: HTTP API or the literal `ollama` commands.")
@click.option("--also-ollama", is_flag=True,
              help="With --backend llamacpp: smoke the folder through Ollama too when a server answers "
                   "(or --serve can start one); reported as skipped, with the reason, otherwise.")
@click.option("--keep-going", is_flag=True, help="Run every stage even after one failed.")
@click.option("--host", metavar="URL", help="Ollama server (default: $OLLAMA_HOST or http://127.0.0.1:11434).")
@click.option("--serve", is_flag=True, help="Start `ollama serve` for the smoke stages when no server answers.")
@click.option("--timeout", type=Seconds(), default=DEFAULT_TIMEOUT, show_default=True, metavar="S",
              help="Seconds allowed for each engine call.")
@click.option("--registry", metavar="URL",
              help="The registry the hf.co smoke pulls from, e.g. http://127.0.0.1:8080 (a Hub mirror or "
                   "stand-in; http:// pulls over plain HTTP). Default: $HF_ENDPOINT when it names another "
                   "Hub than huggingface.co, else hf.co.")
@click.option("--prompts", "prompts_file", type=InputPath(exists=True, dir_okay=False), metavar="FILE",
              help="Smoke prompts (TOML/JSON, as for `publish smoke --prompts`) for both smoke stages.")
@click.option("-v", "--verbose", is_flag=True, help="Print each stage's full report before the summary.")
@format_option({"text": "the summary screen, for people",
                "json": "one document: every stage with its status and result (findings, staged files, "
                        "smoke reports, the push's commit), the stage that failed"})
@quiet_option
def release(spec, out_dir, gguf_dir, do_push, repo, backend, via, also_ollama, keep_going, host, serve, timeout,
            registry, prompts_file, verbose, fmt):
    """Release SPEC: lint its GGUFs, build the staged folder, smoke it, push it, smoke hf.co.

    Stops at the first failing stage unless --keep-going. Without --push it stops after the
    local stages and prints the push plan (files, sizes, sha256) without contacting the Hub.
    Exit 0 when every stage that ran passed, 1 when checks failed, 2 for setup errors.
    `--format json` prints one document on stdout (publish.release.ReleaseResult.to_dict), with
    every stage's report in it (--verbose adds nothing).
    """
    from pathlib import Path

    from publish.cli.echo import say, say_json
    from publish.release import FAILED, ReleaseOptions, format_summary
    from publish.release import release as run_release

    prompts = None
    if prompts_file:
        from publish.smoke.prompts import load_prompts

        prompts = load_prompts(prompts_file)
    options = ReleaseOptions(
        out_dir=Path(out_dir) if out_dir else None, gguf_dir=Path(gguf_dir) if gguf_dir else None,
        push=do_push, repo=repo, backend=backend, via=via, also_ollama=also_ollama, keep_going=keep_going,
        host=host, serve=serve,
        timeout=timeout, prompts=prompts, registry=registry,
    )
    result = run_release(spec, options)
    if fmt == "json":
        say_json(result.to_dict(), indent=2)
        sys.exit(result.exit_code)
    for stage in result.stages:
        if stage.detail and (verbose or stage.status == FAILED):
            say(f"== {stage.name} ==")
            say(stage.detail)
            say()
    say(format_summary(result))
    sys.exit(result.exit_code)
