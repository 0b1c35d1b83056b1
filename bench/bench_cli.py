"""`publish inspect --json FILE` and `publish lint FILE` as whole processes, against the GGUF
readers people use, all measured in this run on the same file (issue 10, section 5).

The file: a GGUF whose header holds a 262,144-token vocabulary (tests/ggufs.write_gemma3n_like,
6.4 MB of header, with a chat template and, as Gemma 3's, 6,247 special tokens); with --real, also
the real Gemma 3 270M (the `real` extra).
Each command runs N times as a fresh process (round-robin, so a change in the machine's load hits
every command alike) after one unmeasured warm-up run (bytecode caches written). Printed per
command: the median wall time, its spread (min-max), the median CPU time (user+sys), and the
ratios of the medians against the anchors:

  - `gguf-inspect FILE` and `gguf-inspect --json FILE` (PyPI gguf-inspect, standard library only:
    the fastest peer reader; the faster of its two modes is the anchor), target <= 0.5x;
  - `gguf-dump --json FILE` (the `gguf` package's own dumper), target <= 0.05x.

The load average (os.getloadavg) is printed at the start and the end: on a shared machine the
ratios hold better than the absolute times. Exits 1 when a target is missed.

With --installed the commands run from wheels, as users install them: publish's wheel built from
a copy of this checkout's files (nothing is written into the checkout), gguf-inspect and gguf from PyPI (pip's cache), each installed without
dependencies into a temporary venv whose dependencies (Jinja, numpy...) come from this venv
through a path line. A development install (`pip install -e`, what `make install` does) puts a
setuptools import hook in site-packages that every Python process of this venv imports at start
(pathlib, importlib.util, re...: about 20 ms), for the peers as much as for publish; a user's
install has none.

    python bench/bench_cli.py [-n 15] [--dump-runs 3] [--real] [--installed]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from timing import finish, load_line  # noqa: E402

MAX_VS_PEER = 0.5
MAX_VS_DUMP = 0.05
BIN = Path(sys.executable).parent
PEERS = ("gguf-inspect", "gguf")   # installed from PyPI, without dependencies, for --installed


def run_once(argv: list[str], env: dict) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the child, exit code) of one run, output discarded."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):  # lint exits 1 for a file with errors
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr.decode(errors='replace')}")
    return wall, cpu, proc.returncode


def tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        raise SystemExit(f"{name} is not installed in {BIN}: run `make install` (the `bench` extra installs "
                         "gguf-inspect; gguf-dump comes with the gguf package)")
    return str(path)


def installed(tmp: Path) -> Path:
    """The bin folder of a temporary venv with publish (a wheel of this checkout), gguf-inspect
    and gguf installed from wheels without dependencies; this venv's site-packages is on its path
    for the dependencies (a path line, so none of this venv's start-up hooks run)."""
    venv = tmp / "installed"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    # Built from a copy of the checkout's files (git's view: tracked, and new files not ignored):
    # setuptools would leave build/ in the checkout and put whatever an old build/lib holds in the wheel.
    source = tmp / "source"
    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            check=True, capture_output=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    wheels = tmp / "wheels"
    pip = [sys.executable, "-m", "pip", "--quiet", "--disable-pip-version-check"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(source)],
                   check=True, stderr=subprocess.DEVNULL)
    peers = [f"{name}=={importlib.metadata.version(name)}" for name in PEERS]
    subprocess.run([*pip, "--python", str(venv / "bin" / "python"), "install", "--no-deps",
                    *map(str, wheels.glob("*.whl")), *peers], check=True)
    (site,) = venv.glob("lib/python*/site-packages")
    deps = subprocess.run([sys.executable, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout
    (site / "_bench_dependencies.pth").write_text(deps, encoding="utf-8")
    return venv / "bin"


def measure(path: Path, runs: int, dump_runs: int, env: dict) -> dict[str, dict]:
    commands = {
        "python -c pass (interpreter start)": [tool("python"), "-c", "pass"],
        "gguf-inspect FILE": [tool("gguf-inspect"), str(path)],
        "gguf-inspect --json FILE": [tool("gguf-inspect"), "--json", str(path)],
        "publish inspect FILE": [tool("publish"), "inspect", str(path)],
        "publish inspect --json FILE": [tool("publish"), "inspect", "--json", str(path)],
        "publish lint FILE": [tool("publish"), "lint", str(path)],
        "gguf-dump --json FILE": [tool("gguf-dump"), "--json", str(path)],
    }
    times: dict[str, dict] = {name: {"wall": [], "cpu": []} for name in commands}
    for argv in commands.values():  # warm-up: bytecode caches, page cache
        run_once(argv if "gguf-dump" not in argv[0] else [sys.executable, "-c", "import gguf"], env)
    for i in range(runs):
        for name, argv in commands.items():
            if name.startswith("gguf-dump") and i >= dump_runs:
                continue  # ~10-30 s a run: a few runs are enough for a 0.05x target
            wall, cpu, _ = run_once(argv, env)
            times[name]["wall"].append(wall)
            times[name]["cpu"].append(cpu)
    return times


def report(label: str, times: dict[str, dict]) -> list[str]:
    med = {name: statistics.median(t["wall"]) for name, t in times.items()}
    cpu = {name: statistics.median(t["cpu"]) for name, t in times.items()}
    peer_name = min(("gguf-inspect FILE", "gguf-inspect --json FILE"), key=med.__getitem__)
    peer, dump = med[peer_name], med["gguf-dump --json FILE"]
    print(f"\n{label}")
    print(f"  {'command':<36} {'runs':>4} {'median s':>9} {'min-max s':>15} {'cpu s':>7} "
          f"{'vs peer':>8} {'vs dump':>8}")
    for name, t in times.items():
        print(f"  {name:<36} {len(t['wall']):>4} {med[name]:>9.3f} {min(t['wall']):>7.3f}-{max(t['wall']):<7.3f}"
              f" {cpu[name]:>7.3f} {med[name] / peer:>7.2f}x {med[name] / dump:>7.3f}x")
    print(f"  anchor 'peer' = {peer_name} (the faster gguf-inspect mode), 'dump' = gguf-dump --json")
    failures = []
    for name in ("publish inspect --json FILE", "publish lint FILE"):
        vs_peer, vs_dump = med[name] / peer, med[name] / dump
        print(f"  {name:<36} {vs_peer:.2f}x the peer (target <= {MAX_VS_PEER}x), "
              f"{vs_dump:.3f}x gguf-dump (target <= {MAX_VS_DUMP}x)")
        if vs_peer > MAX_VS_PEER:
            failures.append(f"{label}: {name} took {vs_peer:.2f}x {peer_name}")
        if vs_dump > MAX_VS_DUMP:
            failures.append(f"{label}: {name} took {vs_dump:.3f}x gguf-dump --json")
    return failures


def main() -> int:
    global BIN
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=15, help="runs of each command (default 15)")
    parser.add_argument("--dump-runs", type=int, default=3, help="runs of gguf-dump --json (default 3)")
    parser.add_argument("--real", action="store_true", help="also the real Gemma 3 270M (the `real` extra)")
    parser.add_argument("--installed", action="store_true",
                        help="run every command from wheels installed in a temporary venv (module doc)")
    args = parser.parse_args()

    import ggufs

    # Bytecode caches as a user has them (PYTHONDONTWRITEBYTECODE would recompile publish every run).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    print(f"at start: {load_line()}")
    failures = []
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        if args.installed:
            BIN = installed(Path(tmp))
            print(f"commands from wheels installed in {BIN.parent} (--installed)")
        else:
            print(f"commands from this venv ({BIN.parent}); --installed runs them from wheels")
        path = ggufs.write_gemma3n_like(Path(tmp) / "gemma-3n-E4B-it-Q4_K_M.gguf", unused_specials=6242)
        times = measure(path, args.runs, args.dump_runs, env)
        failures += report(f"{path.name}: 262,144-token vocabulary, {path.stat().st_size / 1e6:.1f} MB "
                           f"(tests/ggufs.write_gemma3n_like, with a chat template and 6,247 special tokens)", times)
        if args.real:
            sys.path.insert(0, str(ROOT / "examples" / "gemma-3-270m"))
            import fetch

            real = Path(fetch.model_path())
            failures += report(f"{real.name}: the real Gemma 3 270M (262,144 tokens, {real.stat().st_size / 1e6:.0f} MB)",
                               measure(real, args.runs, args.dump_runs, env))
    print(f"\nat end: {load_line()}")
    return finish(failures)


if __name__ == "__main__":
    sys.exit(main())
