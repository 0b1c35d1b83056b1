"""`publish fix FILE`: apply the fixable lint findings, in place when the bytes allow.

Exit 0 when fixed or nothing to fix, 1 when error findings remain that fix cannot fix, 2 for
usage or I/O problems.
"""

from __future__ import annotations

import click

from publish.cli.options import InputPath, format_option, quiet_option


@click.command()
@click.argument("file", type=InputPath(dir_okay=False))
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write the fixed file here (a plain copy when there is nothing to fix); FILE stays "
                   "untouched. Must not be FILE itself.")
@click.option("--dry-run", is_flag=True, help="Print the changes; write nothing.")
@click.option("--backup", is_flag=True, help="Keep the original as FILE.bak before changing it.")
@click.option("--chat-template", "chat_template", type=InputPath(exists=True, dir_okay=False),
              help="Set tokenizer.chat_template from this Jinja file or tokenizer_config.json (its chat_template; "
                   "named templates become tokenizer.chat_template.NAME). Refused when it does not parse.")
@click.option("--set", "assignments", multiple=True, metavar="KEY=VALUE[:TYPE]",
              help="Set a metadata key, e.g. general.license=apache-2.0 or "
                   "gemma3n.attention.shared_kv_layers=10:uint32 (TYPE: a GGUF value type name). Without "
                   ":TYPE a stored key keeps its type and a well-known key gets the type lint expects. Repeatable.")
@click.option("--select", multiple=True, metavar="CODES",
              help="Apply the fixes of these codes or prefixes (default: every fixable error; ALL for all).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Do not apply the fixes of these codes.")
@click.option("--verify-data", is_flag=True,
              help="Also hash the tensor data before and after an in-place patch (a rewrite always does).")
@format_option({"text": "for people", "json": "each change with its lint code, where and how it was written, "
                                                  "the findings left"})
@quiet_option
@click.pass_context
def fix(ctx: click.Context, file: str, output: str | None, dry_run: bool, backup: bool, chat_template: str | None,
        assignments: tuple[str, ...], select: tuple[str, ...], ignore: tuple[str, ...], verify_data: bool,
        fmt: str) -> None:
    """Fix FILE's header: wrong stored types (in place, a few bytes), or header changes such as a
    new chat template (atomic rewrite, tensor data copied and verified byte for byte).

    Links are never written through: when FILE has more than one hard link (a GGUF `publish build`
    staged is a hard link to its source) or is a symbolic link, the in-place patch goes to a copy
    (a reflink where the filesystem allows) that then replaces FILE atomically; the other names
    keep the original bytes. A later `publish build` stages the source again: fix the source
    GGUF to keep the fix.
    """
    from publish.fixing import fix_file

    outcome = fix_file(file, assignments=assignments, chat_template=chat_template, select=select or None,
                       ignore=ignore or None, output=output, backup=backup, dry_run=dry_run,
                       verify_data=verify_data)
    plan, result = outcome.plan, outcome.result

    from publish.cli.echo import say, say_json

    if fmt == "json":
        say_json(outcome.to_dict(), indent=2)   # publish.fixing.FixOutcome.to_dict
        ctx.exit(1 if outcome.errors else 0)
    from publish.termtext import one_line, shell_command

    def echo(line: str = "") -> None:   # every line is one record: a value from the file stays on it
        say(one_line(line))
    echo(f"{file}:")
    verb = "would change" if dry_run else "changed"
    codes = {c.key: f"{f.code}: " for f, cs in plan.fixes for c in cs}
    for r in result.changes:
        echo(f"  {verb} {codes.get(r.key, '')}{r.describe()}")
    if not result.changes:
        echo("  nothing to fix" + (f"; {output} not written (dry run)" if output and dry_run
                                   else f"; copied {file} unchanged to {output}" if result.copied_unchanged else ""))
    elif dry_run:
        how = (f"in place ({result.bytes_touched} bytes)" if result.in_place
               else f"by rewriting {'to ' + output if output else 'the file'}")
        if result.link_broken:
            how = (f"to a copy ({result.bytes_touched} bytes patched): {file} {result.link_broken}, "
                   "so the copy replaces it and the other name(s) keep the original")
        echo(f"  dry run: would apply {how}; nothing written")
    elif result.link_broken:
        echo(f"  {file} {result.link_broken}: broke the link instead of writing through it: made a "
             f"{result.copy_method} of the file, patched {result.bytes_touched} bytes of the copy, renamed it over "
             f"{file}; the other name(s) keep the original bytes")
        if result.data_sha256_verified:
            echo(f"  tensor data sha256 {result.data_sha256} identical in the copy")
    elif result.in_place:
        spans = ", ".join(f"{p.offset}..{p.offset + len(p.data) - 1}" for p in result.patches)
        echo(f"  in place: {result.bytes_touched} bytes written at bytes {spans}; file size unchanged; "
             f"tensor data not touched (every write ends before byte {plan.header.data_offset})")
        if result.data_sha256_verified:
            echo(f"  tensor data sha256 {result.data_sha256} identical before and after")
    else:
        target = output or file
        echo(f"  rewrote {target} atomically ({result.bytes_touched} bytes); tensor data sha256 "
             f"{result.data_sha256} verified identical")
    if result.backup:
        echo(f"  backup: {result.backup}")

    for finding, _ in plan.skipped:
        echo(f"  not applied {finding.code} ({finding.severity.value}): {finding.message}")
        echo(f"    apply with: {shell_command('publish', 'fix', file, '--select', finding.code)}")

    errors = outcome.errors   # what is left: the written file re-checked, or what the plan leaves
    listed = {(finding.code, finding.message) for finding, _ in plan.skipped}
    for f in errors:
        if (f.code, f.message) in listed:
            continue  # listed above as "not applied"
        if f.fixable:   # an error the fix itself left (a --set value a rule refuses): fixable by another run
            echo(f"  still {f.code} (error): {f.message}")
            echo(f"    apply with: {shell_command('publish', 'fix', output or file, '--select', f.code)}")
            continue
        echo(f"  cannot fix {f.code} (error): {f.message}")
        if f.hint:
            echo(f"    how: {f.hint}")
    if errors:
        echo(f"{len(errors)} error(s) remain; see above.")
    ctx.exit(1 if errors else 0)
