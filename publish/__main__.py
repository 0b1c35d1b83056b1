"""`python -m publish` and the `publish` command (pyproject's console script runs `console`).

`publish inspect` and `publish lint` command lines that publish.quickcli knows run without
importing click (a fresh process per file is the common case, and click's import costs about as
much as reading a 262,144-token header); everything else goes to the click CLI, publish.cli.main.
As the program itself (`console`), a quick command ends the process without the interpreter's
teardown (quickcli.exit_now); `main` is for a caller that goes on after it (it raises SystemExit).
"""

import sys


def main() -> None:
    """Run the command line in sys.argv; raises SystemExit with its exit code, as click's
    standalone mode does, so a program that calls it in process goes on after it."""
    sys.exit(_run())


def console() -> None:
    """The `publish` program (the console script, `python -m publish`): main(), except that a
    quick `inspect` or `lint` then ends the process at once (quickcli.exit_now)."""
    from publish import quickcli

    quickcli.exit_now(_run())


def _run() -> int | None:
    from publish import quickcli

    try:
        code = quickcli.run(sys.argv[1:])
        if code is None:
            from publish.cli import main as cli

            cli()  # click's standalone mode exits
    except OSError as err:   # writing the output itself failed (a full disk): said, no traceback
        status = quickcli.output_failed(err)
        if status is None:
            raise
        return status
    return code


if __name__ == "__main__":
    # `python -m publish` runs this module as the program (its globals are __main__'s); run by
    # runpy.run_module inside another program (which then goes on), it is not.
    console() if sys.modules["__main__"].__dict__ is globals() else main()
