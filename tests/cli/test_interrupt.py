"""Interruptions leave nothing behind (issue 11, item 6).

Temp files carry a recognisable name (`.NAME.publish-tmp-PID-RANDOM`), SIGINT/SIGTERM remove them,
a SIGKILL leaves the original intact and the next run removes (and reports) the dead run's temp
file. The signal tests run the real CLI in a child process that pauses at a chosen point of the
write (a wrapper holds `os.fsync` or `os.replace` until the parent has sent its signal).
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from publish import fsutil
from paths import ROOT

TINY = ROOT / "examples" / "tiny"
TEMP = re.compile(r"\..+\.publish-tmp-(\d+)-[0-9a-f]+\Z")

# Runs `publish ARGS…` with one os function (PAUSE_AT) held on its first call: it says PAUSED on
# stderr and sleeps, so the parent can signal the child at a known point of the write.
WRAPPER = textwrap.dedent("""
    import os, sys, time
    name = os.environ["PAUSE_AT"]
    real = getattr(os, name)
    calls = []
    def held(*args, **kwargs):
        if not calls:
            calls.append(args)
            sys.stderr.write("PAUSED\\n")
            sys.stderr.flush()
            time.sleep(60)
        return real(*args, **kwargs)
    setattr(os, name, held)
    from publish.cli import main
    sys.argv = ["publish", *sys.argv[1:]]
    main()
""")


def temps(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if TEMP.match(p.name))


def start_paused(args: list, pause_at: str, cwd: Path) -> subprocess.Popen:
    env = dict(os.environ, PAUSE_AT=pause_at, PYTHONPATH=str(ROOT), HF_HUB_DISABLE_TELEMETRY="1")
    child = subprocess.Popen([sys.executable, "-c", WRAPPER, *map(str, args)], cwd=cwd, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    line = ""
    while "PAUSED" not in line:
        ready, _, _ = select.select([child.stderr], [], [], max(0.0, deadline - time.monotonic()))
        if not ready or child.poll() is not None:
            child.kill()
            out, err = child.communicate()
            pytest.fail(f"the child never reached {pause_at}: {line}{err}{out}")
        line = child.stderr.readline()
    return child


def finish(child: subprocess.Popen, sig: int) -> tuple[int, str]:
    child.send_signal(sig)
    try:
        _, err = child.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        pytest.fail(f"the child did not end after signal {sig}")
    return child.returncode, err


@pytest.fixture
def rewrite_case(tiny_llama):
    """`publish fix FILE --set general.license=mit`: a header rewrite to a temp file."""
    return tiny_llama, ["fix", tiny_llama, "--set", "general.license=mit"]


@pytest.mark.parametrize("pause_at", ["fsync", "replace"])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_sigint_remove_the_temp_file_of_a_fix(rewrite_case, pause_at, sig):
    gguf, args = rewrite_case
    before = gguf.read_bytes()
    child = start_paused(args, pause_at, gguf.parent)
    [tmp] = temps(gguf.parent)                                  # recognisable, next to the file
    assert tmp.name.startswith(f".{gguf.name}.publish-tmp-{child.pid}-")
    code, err = finish(child, sig)
    assert temps(gguf.parent) == [], "the temp file survived the signal"
    assert gguf.read_bytes() == before
    assert "Traceback" not in err, err
    if sig == signal.SIGTERM:
        assert code == -signal.SIGTERM                          # ended by the signal, as CI expects
    else:
        assert code == 130 and err.strip().endswith("Aborted!")   # 128 + SIGINT; 1 would say a check failed


def test_sigkill_leaves_the_original_and_the_next_run_removes_the_temp_file(rewrite_case):
    gguf, args = rewrite_case
    before = gguf.read_bytes()
    child = start_paused(args, "replace", gguf.parent)
    code, _ = finish(child, signal.SIGKILL)
    assert code == -signal.SIGKILL
    assert gguf.read_bytes() == before                        # the original is intact
    [stale] = temps(gguf.parent)
    size = stale.stat().st_size
    assert size > len(before) // 2                            # a full copy was left behind
    res = subprocess.run([sys.executable, "-m", "publish", *map(str, args)], cwd=gguf.parent,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert temps(gguf.parent) == []
    assert f"removed {stale} ({size:,} bytes), a temp file left by an interrupted run" in res.stderr


def test_sigkill_while_breaking_a_hard_link_leaves_both_names_intact(gemma3n_broken, tmp_path):
    staged = tmp_path / "dist" / gemma3n_broken.name
    staged.parent.mkdir()
    os.link(gemma3n_broken, staged)
    before = gemma3n_broken.read_bytes()
    child = start_paused(["fix", staged], "fsync", tmp_path)
    finish(child, signal.SIGKILL)
    assert staged.read_bytes() == before and gemma3n_broken.read_bytes() == before
    assert os.stat(staged).st_ino == os.stat(gemma3n_broken).st_ino
    assert len(temps(staged.parent)) == 1


def test_sigterm_during_build_removes_the_staging_temp_and_keeps_the_source(tmp_path):
    spec_dir = tmp_path / "spec"
    shutil.copytree(TINY, spec_dir)
    source = {p.name: p.read_bytes() for p in spec_dir.glob("*.gguf")}
    out = tmp_path / "out"
    child = start_paused(["build", spec_dir / "release.toml", "-o", out], "replace", tmp_path)
    [tmp] = temps(out)
    assert tmp.stat().st_nlink == 2                            # the hard link being staged
    code, err = finish(child, signal.SIGTERM)
    assert code == -signal.SIGTERM, err
    assert temps(out) == [] and temps(tmp_path) == []
    assert {p.name: p.read_bytes() for p in spec_dir.glob("*.gguf")} == source


# -- the library ---------------------------------------------------------------------------------

def test_handlers_exist_only_around_the_write(tmp_path):
    def mine(signum, frame):  # noqa: ANN001
        pass

    old = signal.signal(signal.SIGTERM, mine)
    try:
        fsutil.atomic_write_text(tmp_path / "a.txt", "x")
        assert signal.getsignal(signal.SIGTERM) is mine
        with pytest.raises(RuntimeError):
            with fsutil.atomic_writer(tmp_path / "b.txt") as fh:
                assert signal.getsignal(signal.SIGTERM) is not mine   # ours, during the write
                fh.write(b"half")
                raise RuntimeError("boom")
        assert signal.getsignal(signal.SIGTERM) is mine
        assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt"]
    finally:
        signal.signal(signal.SIGTERM, old)


def test_an_ignored_signal_stays_ignored(tmp_path):
    old = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with fsutil.atomic_writer(tmp_path / "a.txt") as fh:
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGTERM)                   # nohup-style: no effect
            fh.write(b"done")
        assert (tmp_path / "a.txt").read_bytes() == b"done"
    finally:
        signal.signal(signal.SIGTERM, old)


def test_a_signal_in_a_write_raises_into_the_previous_handler_after_cleanup(tmp_path):
    seen = []

    def mine(signum, frame):  # noqa: ANN001
        seen.append((signum, sorted(p.name for p in tmp_path.iterdir())))
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, mine)
    try:
        with pytest.raises(KeyboardInterrupt):
            with fsutil.atomic_writer(tmp_path / "a.txt") as fh:
                fh.write(b"half")
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
        assert seen == [(signal.SIGTERM, [])]                      # the temp file was gone first
    finally:
        signal.signal(signal.SIGTERM, old)


def test_long_file_names_get_a_temp_name_that_fits(tmp_path):
    name = "m" * 250 + ".gguf"
    fsutil.atomic_write_bytes(tmp_path / name, b"GGUF")
    assert (tmp_path / name).read_bytes() == b"GGUF"


def test_sweep_removes_only_temp_files_of_dead_processes(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (tmp_path / f".a.gguf.publish-tmp-{dead.pid}-00ff").write_bytes(b"x" * 10)
        (tmp_path / f".b.gguf.publish-tmp-{alive.pid}-00ff").write_bytes(b"y")
        (tmp_path / f".c.gguf.publish-tmp-{os.getpid()}-00ff").write_bytes(b"z")   # ours, not live
        (tmp_path / ".d.gguf.12345.tmp").write_bytes(b"not ours")
        (tmp_path / "e.gguf").write_bytes(b"data")
        removed = fsutil.sweep_stale(tmp_path)
        assert sorted(Path(p).name for p, _ in removed) == [f".a.gguf.publish-tmp-{dead.pid}-00ff",
                                                            f".c.gguf.publish-tmp-{os.getpid()}-00ff"]
        assert sorted(p.name for p in tmp_path.iterdir()) == [f".b.gguf.publish-tmp-{alive.pid}-00ff",
                                                             ".d.gguf.12345.tmp", "e.gguf"]
        assert (str(tmp_path / f".a.gguf.publish-tmp-{dead.pid}-00ff"), 10) in fsutil.take_stale()
    finally:
        alive.kill()
        alive.wait()
