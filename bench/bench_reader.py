"""GGUF header reader and in-place fix, measured against anchors in the same run.

1. A gemma3n-like GGUF with a 262,144-token vocabulary (tests/ggufs.write_gemma3n_like):
   publish's read_header vs gguf.GGUFReader(path). Targets: >= 100x faster, and read_header
   (median of 7 in-process runs) under 0.1 s.
2. The same header in front of 20 MB and of 20 GB of (sparse) tensor data: read_header time
   ratio big/small should be ~1 (target < 1.5) and the bytes read identical.
3. `publish fix` of shared_kv_layers FLOAT32 -> UINT32 on both: bytes written (target <= 4 KiB
   whatever the file size) and time.

Exits non-zero when a target is missed. Takes about 30 s (most of it gguf.GGUFReader).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from ggufs import CountingFile  # noqa: E402
from timing import finish  # noqa: E402

MIN_RATIO = 100.0
MAX_READ_S = 0.1
MAX_SPARSE_RATIO = 1.5
MAX_FIX_BYTES = 4096


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def median_time(fn, runs: int = 7) -> float:
    return statistics.median(timed(fn) for _ in range(runs))


def build_sized(path: Path, data_bytes: int) -> None:
    """The gemma3n-like vocabulary header, declaring one F32 tensor of `data_bytes`, as a sparse file."""
    import numpy as np
    from gguf import GGUFValueType as V, GGUFWriter

    n_vocab = 262_144
    writer = GGUFWriter(path, "gemma3n")
    writer.add_string("general.name", "Gemma-3N-E4B-It")
    writer.add_uint32("general.file_type", 15)
    writer.add_key_value("gemma3n.attention.shared_kv_layers", 10.0, V.FLOAT32)
    writer.add_array("tokenizer.ggml.tokens", ["<pad>", "<eos>", "<bos>", "<unk>"] + [f"tok{i}" for i in range(4, n_vocab)])
    writer.add_key_value("tokenizer.ggml.scores", [0.0] * n_vocab, V.ARRAY, V.FLOAT32)
    writer.add_key_value("tokenizer.ggml.token_type", [1] * n_vocab, V.ARRAY, V.INT32)
    rows = data_bytes // (4 * 4096)
    writer.add_tensor_info("token_embd.weight", (rows, 4096), np.dtype(np.float32), rows * 4096 * 4)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    with open(path, "r+b") as fh:
        fh.truncate(-(-path.stat().st_size // 32) * 32 + rows * 4096 * 4)


def main() -> int:
    import gguf

    import ggufs
    from publish.fixing import plan_fix
    from publish.gguf.fix import apply_changes
    from publish.gguf.reader import read_header

    failures = []
    with tempfile.TemporaryDirectory(prefix="bench-reader-") as tmp:
        folder = Path(tmp)
        path = ggufs.write_gemma3n_like(folder / "gemma-3n-E4B-it-Q4_K_M.gguf")
        first = timed(lambda: read_header(path))  # cold: first call in this process
        ours = median_time(lambda: read_header(path))
        theirs = timed(lambda: gguf.GGUFReader(path))
        ratio = theirs / ours
        print(f"262,144-token header ({path.stat().st_size / 2**20:.1f} MiB file):")
        print(f"  gguf.GGUFReader(path)      {theirs:8.3f} s   (anchor)")
        print(f"  publish read_header        {ours:8.4f} s   median of 7 (first call {first:.4f} s)")
        print(f"  ratio                      {ratio:8.0f}x   target >= {MIN_RATIO:.0f}x")
        if ratio < MIN_RATIO:
            failures.append(f"read_header only {ratio:.0f}x faster than gguf.GGUFReader")
        if ours >= MAX_READ_S:
            failures.append(f"read_header took {ours:.3f} s (target < {MAX_READ_S} s)")

        small, big = folder / "small.gguf", folder / "big.gguf"
        build_sized(small, 20 * 10**6)
        build_sized(big, 20 * 10**9)
        read_header(small), read_header(big)  # warm both equally
        pairs = [(timed(lambda: read_header(small)), timed(lambda: read_header(big))) for _ in range(9)]
        t_small = statistics.median(a for a, _ in pairs)  # alternating runs: load changes hit both
        t_big = statistics.median(b for _, b in pairs)
        with CountingFile(small) as a, CountingFile(big) as b:
            read_header(a)
            read_header(b)
        sparse_ratio = t_big / t_small
        print("same header before 20 MB vs 20 GB (sparse) of tensor data:")
        print(f"  read_header 20 MB          {t_small:8.4f} s   ({a.reads} reads, {a.bytes_read:,} bytes)")
        print(f"  read_header 20 GB          {t_big:8.4f} s   ({b.reads} reads, {b.bytes_read:,} bytes)")
        print(f"  ratio 20 GB / 20 MB        {sparse_ratio:8.2f}    target < {MAX_SPARSE_RATIO}")
        if sparse_ratio >= MAX_SPARSE_RATIO or b.bytes_read != a.bytes_read:
            failures.append(f"header cost depends on data size (ratio {sparse_ratio:.2f})")

        print("publish fix shared_kv_layers FLOAT32 -> UINT32 (in place):")
        for p in (path, big):
            size = p.stat().st_size
            t0 = time.perf_counter()
            plan = plan_fix(p)
            result = apply_changes(p, plan.changes)
            took = time.perf_counter() - t0
            label = f"{size / 2**30:.1f} GiB" if size > 2**30 else f"{size / 2**20:.1f} MiB"
            print(f"  {label:>9} file: in place={result.in_place}, {result.bytes_touched} bytes written, "
                  f"size unchanged={p.stat().st_size == size}, {took:.3f} s")
            if not result.in_place or result.bytes_touched > MAX_FIX_BYTES or p.stat().st_size != size:
                failures.append(f"in-place fix of {p.name} wrote {result.bytes_touched} bytes")
            assert read_header(p).kv["gemma3n.attention.shared_kv_layers"].type == gguf.GGUFValueType.UINT32
    return finish(failures)


if __name__ == "__main__":
    sys.exit(main())
