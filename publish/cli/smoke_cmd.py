"""`publish smoke TARGET`: every quant through a real engine, checked. Exit 0 passed, 1 failed, 2 setup."""

from __future__ import annotations

import sys

import click

from publish.cli.options import InputPath, SEED, Seconds, format_option, output_option, quiet_option, renamed_option
from publish.smoke.base import DEFAULT_SEED, DEFAULT_TIMEOUT


@click.command("smoke")
@click.argument("target")
@click.option("--backend", type=click.Choice(["ollama", "llamacpp"]), default="ollama", show_default=True,
              help="Engine: a real Ollama, or llama-cpp-python (gguf-publish[llamacpp]) without Ollama.")
@click.option("--via", type=click.Choice(["api", "cli"]), default="api", show_default=True,
              help="ollama backend: the HTTP API (official client) or the literal `ollama` commands.")
@click.option("--prompt", "prompt_texts", multiple=True, metavar="TEXT",
              help="A prompt to send (repeatable); each needs an --expect.")
@click.option("--expect", "expects", multiple=True, metavar="REGEX",
              help="Regex the answer to the matching --prompt must contain (repeatable).")
@click.option("--prompts", "prompts_file", type=InputPath(exists=True, dir_okay=False), metavar="FILE",
              help="Prompts file, TOML or JSON ([[prompt]] with prompt|messages, expect, system).")
@click.option("--quants", metavar="Q1,Q2", help="Only these quant labels (default: every quant).")
@click.option("--timeout", type=Seconds(), default=DEFAULT_TIMEOUT, show_default=True, metavar="S",
              help="Seconds allowed for each engine call.")
@click.option("--report-junit", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also write a JUnit XML report to FILE.")
@click.option("--report-markdown", "markdown", type=click.Path(dir_okay=False), metavar="FILE",
              help="Also write a Markdown report to FILE (it is appended to $GITHUB_STEP_SUMMARY when that is "
                   "set, with or without this option).")
@renamed_option("--markdown", "--report-markdown", "markdown", type=click.Path(dir_okay=False))
@format_option({"text": "a table for people", "json": "every check, answer, token count and timing",
                "junit": "JUnit XML, one testcase per quant and prompt", "markdown": "a Markdown table"},
               json_short=True)
@output_option("Write the report (in --format) to FILE instead of stdout.")
@click.option("--shard", metavar="I/N", help="Only every N-th quant, starting at the I-th (1-based), for CI fan-out.")
@click.option("--serve", is_flag=True, help="Start `ollama serve` for the run when no server answers.")
@click.option("--keep", is_flag=True, help="Keep the scratch (and pulled) models afterwards.")
@click.option("--host", metavar="URL", help="Ollama server (default: $OLLAMA_HOST or http://127.0.0.1:11434).")
@click.option("--registry", metavar="URL",
              help="hf.co targets: the registry Ollama pulls from instead of hf.co, e.g. http://127.0.0.1:8080 "
                   "(a Hub mirror or stand-in; http:// pulls over plain HTTP).")
@click.option("--seed", type=SEED, default=DEFAULT_SEED, show_default=True, help="Sampling seed sent with every request.")
@click.option("-v", "--verbose", is_flag=True, help="List every check in the table output.")
@quiet_option
def smoke(target, backend, via, prompt_texts, expects, prompts_file, quants, timeout, report_junit, fmt, output,
          markdown, shard, serve, keep, host, registry, seed, verbose):
    """Run every quant of TARGET through an engine and check the answers.

    TARGET is a staged folder (before publishing) or hf.co/ORG/NAME (after publishing).
    Checks per quant and prompt: the answer matches, generation stops by itself (no runaway), no
    stop string or special token leaks, the release's params and template are applied, the
    rendered prompt equals publish.gotmpl's and the GGUF's Jinja template, no double BOS.
    """
    from publish.cli.echo import say_report
    from publish.errors import UsageError
    from publish.smoke import prompts as P
    from publish.smoke import report as R
    from publish.smoke.runner import SmokeOptions
    from publish.smoke.runner import smoke as run_smoke
    from publish.smoke.targets import parse_shard

    if prompts_file and (prompt_texts or expects):
        raise UsageError("give either --prompts FILE or --prompt/--expect pairs, not both")
    from publish.fsutil import check_writable

    import os

    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    for report_path in (report_junit, markdown, output, summary):   # before the run, not after it
        if report_path:
            check_writable(report_path)
    if prompts_file:
        prompts = P.load_prompts(prompts_file)
    elif prompt_texts or expects:
        prompts = P.prompts_from_pairs(prompt_texts, expects)
    else:
        prompts = None
    options = SmokeOptions(
        backend=backend, via=via, prompts=prompts,
        quants=[q.strip() for q in quants.split(",") if q.strip()] if quants else None,
        timeout=timeout, shard=parse_shard(shard) if shard else None, serve=serve, keep=keep,
        host=host, registry=registry, seed=seed,
    )
    report = run_smoke(target, options)
    if report_junit:
        R.write_junit(report, report_junit)
    R.write_markdown(report, markdown)
    if fmt == "text":
        text = R.text_table(report, verbose=verbose)
    else:
        text = {"json": R.to_json, "junit": R.to_junit, "markdown": R.to_markdown}[fmt](report)
    say_report(text, output)  # answers are model text: shown escaped (publish.termtext)
    sys.exit(report.exit_code)
