"""Remote header reads (`hf://…`) against the loopback Hub stand-in (tests/standins/hub.py; no
real Hub): HTTP requests, body bytes and time of one `open_hf_file` + `read_header`.

Files: the real Gemma 3 270M GGUF (6.22 MiB header, 262,144 tokens; skipped with a note when the
`real` extra is not installed) and the synthetic gemma3n of tests/ggufs.py (6.4 MB header, the
same vocabulary size) padded with 52 MB of tensor data. Both are LFS files: the stand-in's resolve
answers with a 302 to its CDN, which counts as a request.

Targets (issue 10 §5): at most 4 requests and at most header + 1 MiB of body bytes.
Anchor, measured in the same run on the same stand-in: an oracle that knows the header size, one
ranged GET of exactly the header through the same huggingface_hub session (redirect followed),
then `read_header` over those bytes in memory. The time ratio ours/anchor is printed, not a target
(the loopback has no latency; on the real Hub each request adds a round trip, which is what the
request count is about). Exits 1 if a target is missed.

    python bench/bench_remote.py
"""

from __future__ import annotations

import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from timing import load_line  # noqa: E402

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")   # huggingface_hub's daily /api/agent-harnesses fetch

MiB = 1024 * 1024
MAX_REQUESTS = 4
MAX_OVER = MiB
RUNS = 3


class _PaddedHeader(io.RawIOBase):
    """The fetched header bytes as a file of the real size (the reader checks tensor offsets
    against it); bytes past the header read as zeros and are never looked at."""

    def __init__(self, data: bytes, size: int):
        super().__init__()
        self.data, self.size, self.pos = data, size, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset if whence == 0 else (self.pos + offset if whence == 1 else self.size + offset)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def readinto(self, b) -> int:
        n = max(0, min(len(b), self.size - self.pos))
        chunk = self.data[self.pos:self.pos + n]
        b[:len(chunk)] = chunk
        b[len(chunk):n] = bytes(n - len(chunk))
        self.pos += n
        return n


def _files(tmp: Path) -> list[tuple[str, Path]]:
    import ggufs
    from gguf import GGMLQuantizationType

    out = []
    try:
        import importlib.util

        spec = importlib.util.spec_from_file_location("gemma_3_270m_fetch", ROOT / "examples" / "gemma-3-270m" / "fetch.py")
        gemma_fetch = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(gemma_fetch)
        out.append(("real Gemma 3 270M", Path(gemma_fetch.model_path())))
    except Exception as err:  # noqa: BLE001 - the `real` extra is optional for this bench
        print(f"(real Gemma 3 270M not available: {type(err).__name__}: {err}; synthetic only)")
    g = tmp / "gemma-3n-E4B-it-Q4_K_M.gguf"
    ggufs.write_gemma3n_like(g, extra_tensors=[("pad.weight", (4096, 3200), GGMLQuantizationType.F32)])
    out.append(("synthetic gemma3n", g))
    return out


def main() -> int:
    import hashlib
    import mmap
    import secrets

    from standins.hub import HubStandIn, Token

    token = "hf_bench" + secrets.token_hex(8)
    hub = HubStandIn({token: Token("alice")}).start()
    os.environ.update(HF_ENDPOINT=hub.url, HF_TOKEN=token)
    from huggingface_hub import hf_hub_url
    from huggingface_hub.utils import build_hf_headers, http_backoff

    from publish.gguf.reader import read_header
    from publish.hub import remote

    failures: list[str] = []
    print(f"loopback Hub stand-in at {hub.url}; {load_line()}; {RUNS} runs each, medians")
    with tempfile.TemporaryDirectory(prefix="bench-remote-") as tmp:
        for label, path in _files(Path(tmp)):
            local = read_header(path)
            with open(path, "rb") as f:
                data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            repo = "alice/" + path.stem.lower()[:40]
            hub.put_file(repo, path.name, data, sha256=hashlib.sha256(data).hexdigest())
            url = f"hf://{repo}/{path.name}"
            ours, anchor = [], []
            for _ in range(RUNS):
                hub.reset_counters()
                t = time.perf_counter()
                with remote.open_hf_file(url) as fh:
                    header = read_header(fh, name=url)
                ours.append(time.perf_counter() - t)
                transfers = hub.file_transfers(path.name)
                assert header.data_offset == local.data_offset
                t = time.perf_counter()
                resolve = hf_hub_url(repo, path.name, endpoint=hub.url)
                r = http_backoff("GET", resolve, headers={**build_hf_headers(token=token),
                                                          "Range": f"bytes=0-{local.header_size - 1}"})
                read_header(_PaddedHeader(r.content, local.file_size), name=url)
                anchor.append(time.perf_counter() - t)
            requests, sent = len(transfers), sum(t.sent for t in transfers)
            over = sent - local.header_size
            t_ours, t_anchor = statistics.median(ours), statistics.median(anchor)
            print(f"{label}: file {local.file_size / MiB:.1f} MiB, header {local.header_size / MiB:.2f} MiB "
                  f"({len(local.tokens):,} tokens)")
            print(f"  publish:  {requests} requests ({', '.join(str(t.status) for t in transfers)}), "
                  f"{sent / MiB:.2f} MiB body, over header by {over / 1024:.0f} KiB, {t_ours * 1000:.0f} ms")
            print(f"  anchor:   2 requests (302, 206), {local.header_size / MiB:.2f} MiB body "
                  f"(knows the header size), {t_anchor * 1000:.0f} ms")
            print(f"  ratio publish/anchor (time) {t_ours / t_anchor:.2f}x;  targets: requests <= {MAX_REQUESTS}, "
                  f"over <= {MAX_OVER // 1024} KiB")
            if requests > MAX_REQUESTS:
                failures.append(f"{label}: {requests} requests")
            if over > MAX_OVER:
                failures.append(f"{label}: {over / 1024:.0f} KiB past the header")
            data.close()
    hub.stop()
    for f in failures:
        print("FAIL:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
