"""`publish push DIR [--repo ORG/NAME] [--format json]`: plan, print the plan, then one commit."""

from __future__ import annotations

import click

from publish.cli.options import InputPath, format_option, quiet_option


@click.command("push")
@click.argument("folder", type=InputPath(file_okay=False, path_type=str))
@click.option("--repo", "repo_id", metavar="ORG/NAME",
              help="Hub model repo to push to (default: the repo `publish build` recorded for FOLDER).")
@click.option("--revision", default="main", show_default=True, metavar="BRANCH", help="Branch to commit to.")
@click.option("--create-pr", is_flag=True, help="Open a pull request instead of committing to the branch.")
@click.option("--private", is_flag=True, help="Create the repo as private (only when it does not exist yet).")
@click.option("--dry-run", is_flag=True, help="Print the plan and stop; nothing is written anywhere.")
@click.option("--delete-extra", is_flag=True, help="Delete remote files that are not in the folder.")
@click.option("-m", "--message", default=None, metavar="TEXT", help="Commit message (default: a summary).")
@format_option({"text": "the plan and the commit, for people",
                "json": "one document: the commit (oid, URL), files uploaded, files skipped as unchanged, "
                        "the plan"})
@quiet_option
def push(folder: str, repo_id: str | None, revision: str, create_pr: bool, private: bool, dry_run: bool,
         delete_extra: bool, message: str | None, fmt: str) -> None:
    """Push the staged FOLDER to the Hub in one commit, skipping files whose sha256 is unchanged.

    The token comes from HF_TOKEN or `hf auth login`; it is never printed or written.
    `--format json` prints one document on stdout (publish.hub.push.push_report) after the push,
    the dry run or the up-to-date check; errors go to stderr as text, with exit status 2.
    """
    from publish.errors import HubError
    from publish.hub.client import require_token
    from publish.hub.plan import check_push_folder, format_plan, plan_push, push_repo
    from publish.hub.push import push as do_push

    from publish.staged import StagedFolder

    check_push_folder(folder, repo_id)
    staged = StagedFolder.load(folder, tolerant=True)   # read once; push sends it as it is (lint judges it)
    repo_id = push_repo(staged, repo_id)   # before the token check and any hashing
    if not dry_run:
        require_token()  # fail before hashing gigabytes
    plan = plan_push(staged, repo_id, revision=revision, delete_extra=delete_extra, allow_unreachable=dry_run)
    from publish.cli.echo import say, say_json
    from publish.hub.push import push_report
    from publish.termtext import one_line

    unreachable = None if plan.remote_checked else HubError(
        f"dry run: could not compare with {repo_id}@{revision}: {plan.remote_error}",
        hint="; ".join(filter(None, [plan.remote_hint, "the local side (plan.local in the JSON) is complete"
                                     if fmt == "json" else "the local side above is complete"]))
        + "; run again when the Hub is reachable")
    if fmt == "json":
        # do_push makes no commit when the repo already holds the folder (committed: false)
        result = None if dry_run or unreachable else do_push(plan, message=message, create_pr=create_pr,
                                                             private=private)
        say_json(push_report(plan, result, dry_run=dry_run), indent=2)
        if unreachable:
            raise unreachable
        return
    say(format_plan(plan))
    if unreachable:
        raise unreachable
    if dry_run:
        say("dry run: nothing was sent")
        return
    if not plan.has_changes and plan.repo_exists:
        say(f"{repo_id}@{revision} is up to date: nothing to push, no commit made")
        return
    result = do_push(plan, message=message, create_pr=create_pr, private=private)
    for note in result.notes:
        say(one_line(f"note: {note}"))
    say(one_line(result.summary()))

