"""`publish lint` on a folder of 20 GGUFs with a 262,144-token vocabulary: target under 3 s.

Builds the folder once (one gemma3n-like file, copied 19 times), then times
  - lint_paths(DIR) in-process,
  - `python -m publish lint DIR` as a subprocess (interpreter start and imports included),
and prints both next to an anchor measured in the same run: gguf.GGUFReader opening ONE of the files.
Exits non-zero when either lint run misses 3 s.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

TARGET_S = 3.0
N_FILES = 20


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main() -> int:
    import gguf

    import ggufs
    from publish.lint import lint_paths

    with tempfile.TemporaryDirectory(prefix="bench-lint-") as tmp:
        folder = Path(tmp)
        first = ggufs.write_gemma3n_like(folder / "gemma-3n-E4B-it-00-Q4_K_M.gguf")
        for i in range(1, N_FILES):
            shutil.copyfile(first, folder / f"gemma-3n-E4B-it-{i:02d}-Q4_K_M.gguf")
        size_mb = first.stat().st_size / 1e6

        result = None

        def in_process():
            nonlocal result
            result = lint_paths([str(folder)])

        t_lib = min(timed(in_process) for _ in range(3))
        assert len(result.files) == N_FILES and result.exit_code == 1
        assert sum(f.code == "GG101" for f in result.findings) == N_FILES

        cmd = [sys.executable, "-m", "publish", "lint", str(folder), "--format", "json"]
        proc = None

        def as_cli():
            nonlocal proc
            proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)

        t_cli = min(timed(as_cli) for _ in range(2))
        assert proc.returncode == 1, proc.stderr

        t_anchor = timed(lambda: gguf.GGUFReader(first))

    print(f"bench_lint: {N_FILES} files x {ggufs.GEMMA3N_VOCAB:,}-token vocab ({size_mb:.1f} MB each)")
    print(f"  anchor  gguf.GGUFReader, ONE file      {t_anchor:8.3f} s")
    print(f"  lint_paths, {N_FILES} files (in-process)   {t_lib:8.3f} s   "
          f"= {t_lib / t_anchor:.4f} x anchor ({t_anchor / t_lib:.0f}x faster for {N_FILES}x the files)")
    print(f"  python -m publish lint DIR          {t_cli:8.3f} s   = {t_cli / t_anchor:.4f} x anchor")
    ok = t_lib < TARGET_S and t_cli < TARGET_S
    print(f"  target: under {TARGET_S:.0f} s for {N_FILES} files -> {'OK' if ok else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
