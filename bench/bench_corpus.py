"""The chat-template corpus table: how many public chat templates get an Ollama Go template that
builds the same prompt, by three ways of getting one, measured in one run.

    python bench/bench_corpus.py              # the table, core and whole corpus
    python bench/bench_corpus.py -v           # plus one line per template and way
    python bench/bench_corpus.py --json F     # every verdict, for the README or a diff between runs
    python bench/bench_corpus.py --only NAME  # just the templates whose file name contains NAME

The corpus is tests/data/jinja (SOURCES.toml: 165 distinct templates of public models, with the
BOS/EOS texts each model uses). The three ways:

- convert:  publish.convert.convert(chat_template, bos_token, eos_token), which proves itself;
- suggest:  `publish template suggest` without conversion, i.e. the best of our family templates
            (templates/ollama/) as templatecheck.suggest ranks them;
- pick:     what the Hugging Face Hub serves for a GGUF repo without a `template` file: the real
            @huggingface/ollama-utils from npm (tests/ollama_utils_ref.py), all templates in one
            node process.

Every Go template is judged by the same machinery: templatecheck.prove on CONVERT_SUITE (the
conversion's own proof suite: plain, system, multi-turn, whitespace, same-role runs, prefill,
tools, thinking) when this checkout has it, else templatecheck.compare on STANDARD_SUITE (the
table's header says which). Capabilities of a family, picked or converted template follow Ollama
v0.24.0 (server/images.go), as templatecheck.ollama_capabilities decides for every way: tools when
the template mentions .Tools, thinking when publish.gotmpl.thinking_tags (a port of
thinking/template.go InferTags, tested against it) finds both tags. A tools or thinking case the
model's template supports but Ollama refuses for that Go template counts as a difference.

Verdicts per way and template:
  identical     every case the model's template supports renders byte-identical
  approximated  the rest differ only where the Jinja template trims message content (a Go template
                cannot), or, for convert, the Go template renders every supported case and the
                conversion names the constructs it approximated (line:column in the Jinja)
  failed        some supported case differs, the Go template errors, or conversion refused
  none          no template at all (the Hub serves none when ollama-utils picks nothing)
  n/a           the model's template renders none of the cases (it refuses them, or fails without
                an extra input: SOURCES.toml `requires`), so nothing can be compared
A case the model's own template fails on (raise_exception, or an error inside the Jinja template)
is left out of every way's count, as the model does not support it.

This is a report, not a timing: it exits 0 unless --min-identical FRACTION is given and convert's
identical share of the core corpus is below it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import jinja_corpus  # noqa: E402
import ollama_utils_ref  # noqa: E402
from publish import templatecheck  # noqa: E402
from publish.chat import ChatTemplate  # noqa: E402
from publish.errors import TemplateError  # noqa: E402

try:  # the converter (issue 9) lands separately; the table says when it is missing
    from publish import convert as convert_mod  # noqa: E402
except ImportError:  # pragma: no cover - depends on the checkout
    convert_mod = None

HAS_PROVE = hasattr(templatecheck, "prove") and hasattr(templatecheck, "CONVERT_SUITE")
WAYS = ("convert", "suggest", "pick")
VERDICTS = ("identical", "approximated", "failed", "none", "n/a")


def judge(chat: ChatTemplate, go_template: str, name: str) -> templatecheck.CheckResult:
    """The shared yardstick: prove (CONVERT_SUITE) when available, else compare (STANDARD_SUITE).
    prove takes the Go template's capabilities from templatecheck.ollama_capabilities."""
    if HAS_PROVE:
        return templatecheck.prove(chat, go_template, go_name=name)
    return templatecheck.compare(templatecheck.render_jinja_suite(chat), go_template, go_name=name)


def _compared(check: templatecheck.CheckResult) -> list:
    """The cases the model's own template renders: not refused (raise_exception), not n/a, and
    not failing inside the Jinja template itself (e.g. a tool_use template given no tools)."""
    return [c for c in check.compared
            if not (c.status == templatecheck.ERROR and (c.reason or "").startswith("Jinja render failed"))]


def verdict_of(check: templatecheck.CheckResult) -> str:
    compared = _compared(check)
    if not compared:
        return "n/a"
    if all(c.status == templatecheck.IDENTICAL for c in compared):
        return "identical"
    if all(c.status in (templatecheck.IDENTICAL, templatecheck.TRIM) for c in compared):
        return "approximated"
    return "failed"


def _failed_cases(check: templatecheck.CheckResult) -> str:
    bad = [c for c in _compared(check) if c.status != templatecheck.IDENTICAL]
    text = ", ".join(f"{c.name} {c.status}" for c in bad)
    first = next((c for c in bad if c.status == templatecheck.ERROR), None)
    if first is not None:
        text += f" (first error: {(first.reason or '')[:200]})"
    return text


def run_convert(entry, chat: ChatTemplate) -> dict:
    if convert_mod is None:
        return {"verdict": "not run", "why": ""}
    try:
        conv = convert_mod.convert(entry.source, bos_token=entry.bos_token, eos_token=entry.eos_token,
                                   name=entry.name)
    except TemplateError as err:
        return {"verdict": "failed", "why": f"refused: {err}"}
    except Exception as err:  # noqa: BLE001 - a converter crash is a finding, not the end of the run
        return {"verdict": "failed", "why": f"crashed: {type(err).__name__}: {err}"}
    check = conv.check
    verdict = verdict_of(check)
    approx = [str(a) for a in conv.approximations]
    go_errors = any(c.status == templatecheck.ERROR or getattr(c, "refused", False) for c in _compared(check))
    if verdict == "failed" and approx and not go_errors:
        verdict = "approximated"   # renders every supported case; the differences are where it says it approximates
        # (a tools/thinking case Ollama refuses for this template is lost, not approximated: it stays failed)
    why = _failed_cases(check)
    return {"verdict": verdict, "why": why, "approximations": approx, "stop": conv.stops,
            "cases": Counter(c.status for c in check.conversations)}


def run_suggest(entry, chat: ChatTemplate) -> dict:
    try:
        best = templatecheck.suggest(chat)
        family = best.family
        check = judge(chat, family.template, family.name)
    except TemplateError as err:
        return {"verdict": "failed", "why": f"error: {err}"}
    return {"verdict": verdict_of(check), "why": _failed_cases(check), "family": family.name,
            "stop": family.stop, "cases": Counter(c.status for c in check.conversations)}


def run_pick(entry, chat: ChatTemplate, pick) -> dict:
    if pick is None:
        return {"verdict": "none", "why": "ollama-utils picks nothing (the Hub serves no template)"}
    if isinstance(pick, Exception):
        return {"verdict": "failed", "why": f"ollama-utils threw: {pick}"}
    try:
        check = judge(chat, pick["template"], pick["model"])
    except TemplateError as err:
        return {"verdict": "failed", "why": f"picked template does not parse: {err}", "picked": pick["model"]}
    return {"verdict": verdict_of(check), "why": _failed_cases(check), "picked": pick["model"],
            "stop": pick["params"].get("stop", []), "cases": Counter(c.status for c in check.conversations)}


def table(rows: list[dict], title: str) -> str:
    counts = {way: Counter(r[way]["verdict"] for r in rows) for way in WAYS}
    head = f"{title}: {len(rows)} templates"
    lines = [head, f"  {'':34}" + "".join(f"{v:>14}" for v in VERDICTS)]
    labels = {"convert": "publish template convert",
              "suggest": "template suggest (families)",
              "pick": f"ollama-utils {ollama_utils_ref.version()} (Hub pick)"}
    for way in WAYS:
        if way == "convert" and convert_mod is None:
            lines.append(f"  {labels[way]:34}  (not on this checkout)")
            continue
        lines.append(f"  {labels[way]:34}" + "".join(f"{counts[way][v]:>14}" for v in VERDICTS))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--json", type=Path, help="write every verdict here")
    ap.add_argument("--only", help="only templates whose file name contains this")
    ap.add_argument("--min-identical", type=float, default=None,
                    help="exit 1 when convert's identical share of the core corpus is below this")
    args = ap.parse_args(argv)

    entries = [e for e in jinja_corpus.load() if not e.broken and (not args.only or args.only in e.name)]
    t0 = time.perf_counter()
    picks = ollama_utils_ref.pick_many(
        {"chat_template": e.source, "bos_token": e.bos_token or None, "eos_token": e.eos_token or None}
        for e in entries)
    t_pick = time.perf_counter() - t0
    rows = []
    for entry, pick in zip(entries, picks):
        chat = ChatTemplate(entry.source, name=entry.name, bos_token=entry.bos_token,
                            eos_token=entry.eos_token, now=templatecheck.CHECK_DATE)
        row = {"file": entry.name, "model": entry.model, "family": entry.family, "tier": entry.tier}
        t = time.perf_counter()
        row["convert"] = run_convert(entry, chat)
        row["convert"]["seconds"] = round(time.perf_counter() - t, 3)
        row["suggest"] = run_suggest(entry, chat)
        row["pick"] = run_pick(entry, chat, pick)
        rows.append(row)
        if args.verbose:
            print(f"{entry.name:58} " + "  ".join(
                f"{way}={row[way]['verdict']}" + (f"({row[way].get('family') or row[way].get('picked')})"
                                                   if way != "convert" and (row[way].get('family') or row[way].get('picked')) else "")
                for way in WAYS), flush=True)
            for way in WAYS:
                if row[way]["verdict"] in ("failed", "approximated") and row[way].get("why"):
                    print(f"    {way}: {row[way]['why'][:300]}")
    elapsed = time.perf_counter() - t0

    suite = ("templatecheck.prove on CONVERT_SUITE" if HAS_PROVE
             else "templatecheck.compare on STANDARD_SUITE (this checkout has no CONVERT_SUITE yet)")
    print(f"yardstick: {suite}; Jinja in publish.chat's sandbox, Go in publish.gotmpl")
    core = [r for r in rows if r["tier"] == "core"]
    print(table(core, "core corpus (families issue 9 names)"))
    print(table(rows, "whole corpus"))
    converted = [r["convert"]["seconds"] for r in rows if convert_mod is not None]
    if converted:
        converted.sort()
        print(f"convert + proof per template: median {converted[len(converted) // 2]:.2f} s, "
              f"max {converted[-1]:.2f} s ({converted.count(converted[-1])} at max); ")
    print(f"ollama-utils picks for {len(entries)} templates in one node process: {t_pick:.2f} s; "
          f"whole run {elapsed:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1, ensure_ascii=False, default=dict), encoding="utf-8")
    if args.min_identical is not None and convert_mod is not None and core:
        share = sum(r["convert"]["verdict"] == "identical" for r in core) / len(core)
        if share < args.min_identical:
            print(f"convert: {share:.0%} of the core corpus identical, below {args.min_identical:.0%}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
