"""The quick path of `publish inspect` and `publish lint` (publish.__main__ calls `run` first).

These two commands on files are what scripts and CI run most, often one process per file, where
starting the process is most of the time: importing click alone costs about as much as reading a
262,144-token header (bench/bench_cli.py measures it). So when every argument of `inspect` or `lint`
is one this module knows, the command runs here, with the same library calls, output and exit code
as the click command, without importing click. Any other command line (another command, --help,
an option not listed below, `--`, an invalid choice, a missing value or argument) returns None and
goes to the click CLI (publish.cli.main), which defines, checks and documents the interface: an
option added to a click command is handled there until it is added here too.
tests/cli/test_quickcli.py holds both paths to identical stdout, stderr and exit codes, and each
option below to its click definition (name, choices, default).
"""

from __future__ import annotations

import sys

# option -> (destination, value for a flag, or the allowed choices / None for any value)
_INSPECT_FLAGS = {"--json": ("fmt", "json"), "--full-arrays": ("full_arrays", True),
                  "--full-strings": ("full_strings", True), "-q": ("quiet", True), "--quiet": ("quiet", True)}
_INSPECT_VALUES = {"--format": ("fmt_option", ("text", "json"))}
_LINT_FLAGS = {"--base": ("base", True), "--chat": ("base", False), "-q": ("quiet", True), "--quiet": ("quiet", True)}
_LINT_VALUES = {"--format": ("fmt", ("text", "json", "github", "sarif")), "--select": ("select", None),
                "--ignore": ("ignore", None), "--target": ("target", ("all", "ollama-0.24", "ollama", "llama.cpp"))}
_MULTIPLE = {"select", "ignore"}
COMMANDS = {"inspect": (_INSPECT_FLAGS, _INSPECT_VALUES), "lint": (_LINT_FLAGS, _LINT_VALUES)}


def parse(args: list[str]) -> tuple[str, list[str], dict] | None:
    """(command, positional arguments, options) when `args` is an inspect or lint command line
    this module runs exactly as click would; None for anything else."""
    if not args or args[0] not in COMMANDS:
        return None
    flags, valued = COMMANDS[args[0]]
    positional: list[str] = []
    options: dict = {}
    rest = iter(args[1:])
    for arg in rest:
        if not arg.startswith("-") or arg == "-":
            if arg == "-":
                return None  # stdin is click's business
            positional.append(arg)
            continue
        name, eq, value = arg.partition("=")
        if name in flags and not eq:
            dest, flag_value = flags[name]
            options[dest] = flag_value
        elif name in valued:
            dest, choices = valued[name]
            if not eq:
                value = next(rest, None)
                if value is None or value.startswith("-"):
                    return None
            if choices is not None and value not in choices:
                return None
            if dest in _MULTIPLE:
                options.setdefault(dest, []).append(value)
            else:
                options[dest] = value
        else:
            return None  # --help, --, -o, --explain, a deprecated spelling, a typo: click decides
    if not positional:
        return None
    if args[0] == "inspect":
        given = options.pop("fmt_option", None)
        if options.get("fmt") == "json" and given not in (None, "json"):
            return None  # --json contradicts --format text: click words the usage error
        options["fmt"] = options.get("fmt") or given or "text"
    return args[0], positional, options


INTERRUPTED = 130   # exit status after Ctrl-C: 128 + SIGINT, as shells report it (1 means a check failed)


def run(args: list[str]) -> int | None:
    """Run `args` (the command line after `publish`) when `parse` accepts it; the exit code, or
    None when the click CLI must handle it (nothing has been printed then)."""
    parsed = parse(args)
    if parsed is None:
        return None
    command, positional, options = parsed
    if command == "lint":
        from publish import jinja_worker

        jinja_worker.prestart()   # first: Jinja is imported beside this process, not in it
    from publish import progress
    from publish.errors import PublishError

    progress.set_quiet(bool(options.pop("quiet", False)))
    try:
        if command == "inspect":
            from publish.inspection import inspect_files

            return inspect_files(positional, options["fmt"], full_arrays=options.get("full_arrays", False),
                                 full_strings=options.get("full_strings", False), out=_out, err=_err)
        return _lint(positional, **options)
    except PublishError as err:  # as publish.cli.PublishCLI.invoke
        _err(err)
        return err.exit_code
    except KeyboardInterrupt:  # as publish.cli.PublishCLI.invoke
        _flush()
        print("Aborted!", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # as click: the reader went away (`| head`)
        _quiet_stdout()
        return 1
    except OSError as exc:  # as publish.cli.PublishCLI.invoke
        from publish.inputpaths import unforeseen_os_error

        mapped = unforeseen_os_error(exc)
        if mapped is None:
            raise
        _err(mapped)
        return mapped.exit_code
    finally:
        worker = sys.modules.get("publish.jinja_worker")
        if worker is not None:
            worker.stop_prestarted()   # when nothing took it (an error before the lint ran)
        fsutil = sys.modules.get("publish.fsutil")
        for note in fsutil.stale_notes() if fsutil else ():
            _flush()
            print(note, file=sys.stderr, flush=True)
        _flush()


def _lint(paths: list[str], fmt: str = "text", **options) -> int:
    """What publish.cli.lint_cmd.lint does for these options (without -o, which click handles)."""
    from publish import jinja_worker
    from publish.lint import lint_report
    from publish.termtext import block

    try:
        text, code = lint_report(paths, fmt, **options)
    finally:
        jinja_worker.stop_prestarted()   # before the output: nothing waits for it then
    _out(block(text))
    return code


def exit_now(code: int | None) -> None:
    """End the process with exit status `code` (None: 0) once stdout and stderr are flushed,
    without the interpreter's teardown: freeing a 262,144-token header's objects and a hundred
    modules one by one costs about 5 ms of a 75 ms `publish lint` (bench/bench_cli.py), and the
    system frees a process's memory at once. Only for the `publish` program itself
    (publish.__main__.console), never for a caller that goes on. Whatever else may want the usual
    exit gets it (sys.exit): an atexit callback (coverage's data file, logging's handlers), a
    profiler or tracer (cProfile writes its file after the program returns, debuggers), a thread
    that is not a daemon, a flush that fails (Python reports its error). Raises SystemExit in those
    cases; never returns otherwise."""
    import atexit
    import os

    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):   # a full disk, a closed or missing stream
        sys.exit(code)
    threading = sys.modules.get("threading")
    others = threading is not None and any(not t.daemon for t in threading.enumerate()
                                           if t is not threading.main_thread())
    # atexit._ncallbacks is CPython's count; where it is missing, assume a callback
    quiet = getattr(atexit, "_ncallbacks", lambda: 1)() == 0 and sys.getprofile() is None and sys.gettrace() is None
    if quiet and not others:
        os._exit(code or 0)
    sys.exit(code)


def output_failed(err: OSError) -> int | None:
    """For an OSError that names no file and says the device refused the bytes (full, over quota,
    too large, an I/O error): what writing standard output or error raises (`publish inspect FILE
    >/dev/full`), on either CLI path, since every file publish writes names itself in an
    OutputPathError (publish.fsutil.output_error). Says so on stderr when stderr can still take it
    and returns exit status 2, as for an output path that cannot be written; what the refused
    stream still holds is dropped (the interpreter's last flush would fail the same way). None
    for any other error: the caller re-raises it."""
    import errno

    if err.filename is not None or err.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO):
        return None
    from publish.errors import OutputPathError

    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except (OSError, ValueError):   # stdout's device refused it: what it still holds goes nowhere
        _quiet_stdout()
    try:
        _err(OutputPathError("standard output", (err.strerror or str(err)).lower(),
                             hint="send the output to a file or pipe on a device with free space"))
    except (OSError, ValueError, AttributeError):   # stderr goes to the same full device (or nowhere)
        _quiet_stderr()
    return 2


def _out(text: str, nl: bool = True) -> None:
    if sys.stdout is not None:   # None: started with stdout closed (`>&-`); print() writes nothing then too
        sys.stdout.write(text + "\n" if nl else text)


def _err(err: BaseException) -> None:
    """As publish.cli.echo.say_error: red on a terminal (click.secho), plain otherwise."""
    from publish.termtext import error_text

    _flush()
    text = error_text(err)
    if sys.stderr.isatty():
        text = f"\x1b[31m{text}\x1b[0m"
    print(text, file=sys.stderr, flush=True)


def _flush() -> None:
    try:
        if sys.stdout is not None:
            sys.stdout.flush()
    except BrokenPipeError:
        _quiet_stdout()


def _quiet_stdout() -> None:
    """After a broken pipe (or a full device): send the rest of stdout (and the interpreter's
    final flush) nowhere."""
    _to_devnull(sys.stdout)


def _quiet_stderr() -> None:
    """As _quiet_stdout, for stderr."""
    _to_devnull(sys.stderr)


def _to_devnull(stream) -> None:
    import os

    try:
        target = stream.fileno()
        devnull = os.open(os.devnull, os.O_WRONLY)
    except (OSError, ValueError, AttributeError):   # a stream without a descriptor, or none at all
        return
    try:
        os.dup2(devnull, target)
    except OSError:
        pass
    finally:
        if devnull != target:
            os.close(devnull)
