"""Cost of hostile input against an anchor of ordinary input of the same size, in this run.

1. GGUF headers of ~1 MiB built to be slow (the issue's cases): a string array of empty strings
   (was 33 s), zero-filled strings, long and short strings mixed, many keys, many tensors, the
   most nested arrays allowed. Anchor: a 1 MiB header holding an ordinary vocabulary
   (tok0, tok1, ...), read vectorised. Targets: each under 1 s, and under 60x the anchor (a key,
   tensor or nested array is a Python object of its own, ~5 us each, where the vocabulary costs
   ~0.3 us per item; the string-array cases stay under 10x).
2. Modelfile quoting (publish.modelfile.quote) of a 200 KB system prompt in several shapes
   (40,000 words: was 476 s; 100,000 short lines; a prompt that needs a \"\"\" block). Anchor: the
   same shapes at 20 KB; linear cost means a ratio near 10. Targets: each under 0.5 s, ratio
   under 20.

Exits 1 when a target is missed. Takes a few seconds.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from timing import finish  # noqa: E402

MiB = 1 << 20
MAX_HEADER_S = 1.0
MAX_HEADER_RATIO = 60.0
MAX_QUOTE_S = 0.5
MAX_QUOTE_RATIO = 20.0


def best(fn, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def write_header(path: Path, kv=(), tensors: int = 0) -> Path:
    import numpy as np
    from gguf import GGUFWriter

    writer = GGUFWriter(path, "llama")
    for key, value, vtype, sub in kv:
        writer.add_key_value(key, value, vtype, sub)
    for i in range(tensors):
        writer.add_tensor_info(f"{i}", (1,), np.dtype(np.float32), 4)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_ti_data_to_file()
    writer.close()
    with open(path, "ab") as fh:
        fh.write(b"\0" * (32 * tensors + 64))
    return path


def headers(folder: Path) -> tuple[Path, dict[str, Path]]:
    from gguf import GGUFValueType as V

    anchor = write_header(folder / "anchor.gguf", [("tokenizer.ggml.tokens", [f"tok{i}" for i in range(MiB // 15)],
                                                    V.ARRAY, V.STRING)])
    cases = {
        "empty strings": [("a", [""] * (MiB // 8), V.ARRAY, V.STRING)],
        "zero-filled strings": [("a", ["\0" * 7] * (MiB // 15), V.ARRAY, V.STRING)],
        "0 and 300-byte strings": [("a", ["", "x" * 300] * (MiB // 316), V.ARRAY, V.STRING)],
        "many keys": [(f"{i}", 1, V.UINT8, None) for i in range(MiB // 18)],
        "65,536 nested arrays": [("a", [[""]] * 65_536, V.ARRAY, V.ARRAY)],
    }
    out = {name: write_header(folder / f"{n}.gguf", kv) for n, (name, kv) in enumerate(cases.items())}
    out["many tensors"] = write_header(folder / "tensors.gguf", tensors=MiB // 24)
    return anchor, out


def prompts(size: int) -> dict[str, str]:
    return {
        "words": ("word " * (size // 5)).strip(),
        "short lines": "a\n" * (size // 2),
        "needs a block": '"quoted"\n' + "x \n" * (size // 3) + 'end "',
        "prose": ("Answer briefly and cite sources; never invent facts.\n" * (size // 52)).strip(),
    }


def main() -> int:
    from publish.gguf.reader import read_header
    from publish.modelfile import quote

    failures = []
    with tempfile.TemporaryDirectory(prefix="bench-hostile-") as tmp:
        anchor, cases = headers(Path(tmp))
        t_anchor = best(lambda: read_header(anchor))
        print(f"GGUF headers of ~1 MiB (anchor: an ordinary {anchor.stat().st_size / MiB:.2f} MiB vocabulary "
              f"header, {t_anchor:.4f} s)")
        for name, path in cases.items():
            t = best(lambda: read_header(path))
            ratio = t / t_anchor
            print(f"  {name:24} {path.stat().st_size / MiB:5.2f} MiB  {t:7.4f} s  {ratio:6.1f}x anchor")
            if t >= MAX_HEADER_S or ratio >= MAX_HEADER_RATIO:
                failures.append(f"header '{name}' took {t:.3f} s ({ratio:.1f}x the anchor)")

    print("Modelfile quoting of a system prompt (anchor: the same shape at 20 KB)")
    small, big = prompts(20_000), prompts(200_000)
    for name in big:
        t_small = statistics.median(best(lambda: quote(small[name])) for _ in range(3))
        t_big = best(lambda: quote(big[name]))
        ratio = t_big / t_small
        print(f"  {name:24} {len(big[name]) / 1000:5.0f} KB  {t_big:7.4f} s  {ratio:6.1f}x the 20 KB one")
        if t_big >= MAX_QUOTE_S or ratio >= MAX_QUOTE_RATIO:
            failures.append(f"quoting '{name}' took {t_big:.3f} s ({ratio:.1f}x the 20 KB one)")
    return finish(failures)


if __name__ == "__main__":
    sys.exit(main())
