"""Regenerate the bundled tiny GGUFs byte-for-byte (tests/test_build_examples.py checks they match).

    python examples/tiny/regenerate.py
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "tests"))

from gguf import GGMLQuantizationType  # noqa: E402

import ggufs  # noqa: E402

# file name -> quant type for tests/ggufs.write_tiny_llama (None: all F32)
FILES = {
    "tiny-llama-F32.gguf": None,
    "tiny-llama-Q8_0.gguf": GGMLQuantizationType.Q8_0,
}


def write_all(folder: Path) -> list[Path]:
    return [ggufs.write_tiny_llama(folder / name, quant=quant) for name, quant in FILES.items()]


if __name__ == "__main__":
    import os
    import tempfile

    # Written aside and renamed over: `publish build` hard-links these files into dist/, and
    # writing into them in place would change every staged copy too.
    with tempfile.TemporaryDirectory(dir=HERE) as scratch:
        for fresh in write_all(Path(scratch)):
            os.replace(fresh, HERE / fresh.name)
            print(f"wrote {HERE / fresh.name} ({(HERE / fresh.name).stat().st_size} bytes)")
