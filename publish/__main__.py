"""`python -m publish` and the `publish` command (pyproject's console script points here).

`publish inspect` and `publish lint` command lines that publish.quickcli knows run without
importing click (a fresh process per file is the common case, and click's import costs about as
much as reading a 262,144-token header), and end the process without the interpreter's teardown
(quickcli.exit_now); everything else goes to the click CLI, publish.cli.main."""

import sys


def main() -> None:
    """Run the command line in sys.argv and exit with its code."""
    from publish import quickcli

    code = quickcli.run(sys.argv[1:])
    if code is None:
        from publish.cli import main as cli

        cli()  # click's standalone mode exits
    quickcli.exit_now(code)


if __name__ == "__main__":
    main()
