"""Re-push of an unchanged 20-file release against the loopback Hub stand-in
(tests/standins/hub.py; no real Hub). Remote header reads: bench/bench_remote.py.

1. First push of a 20-file staged folder (8 GGUF-sized files + 12 small ones): hashes everything.
2. Re-push, unchanged: must hash 0 bytes, make no commit, and finish within 2 s plus its API
   round trips (counted, each priced at the mean round trip measured in this run).

Exits 1 if a target is missed.

    python bench/bench_push.py [--gguf-mib 64]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
os.environ["HF_HUB_DISABLE_XET"] = "1"               # before huggingface_hub is imported
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

MiB = 1024 * 1024


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--gguf-mib", type=int, default=64, help="size of each of the 8 GGUF-like files")
    args = ap.parse_args()

    import secrets

    from standins.hub import HubStandIn, Token

    token = "hf_bench" + secrets.token_hex(8)
    hub = HubStandIn({token: Token("alice")}).start()
    ok = True
    with tempfile.TemporaryDirectory(prefix="bench-push-") as tmp:
        os.environ.update(HF_ENDPOINT=hub.url, HF_TOKEN=token, PUBLISH_HASH_CACHE=f"{tmp}/cache/hashes.json")
        from huggingface_hub import HfApi

        from publish.hub.plan import plan_push
        from publish.hub.push import push

        stage = Path(tmp) / "stage"
        stage.mkdir()
        block = os.urandom(MiB)
        for i, q in enumerate(["Q2_K", "Q3_K_M", "Q4_0", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "BF16"]):
            with open(stage / f"model-{q}.gguf", "wb") as fh:
                fh.write(b"GGUF" + i.to_bytes(4, "little"))
                for _ in range(args.gguf_mib):
                    fh.write(block)
        for name in ["template", "params", "system", "README.md"] + [f"Modelfile.{i}" for i in range(8)]:
            (stage / name).write_text(f"{name}\n")
        assert len(list(stage.iterdir())) == 20

        t = time.perf_counter()
        first_plan = plan_push(stage, "alice/bench-GGUF")
        first_hash_s = time.perf_counter() - t
        push(first_plan)
        first_s = time.perf_counter() - t

        api = HfApi(endpoint=hub.url, token=token)
        t = time.perf_counter()
        for _ in range(20):
            api.repo_info("alice/bench-GGUF")
        rtt = (time.perf_counter() - t) / 20

        hub.reset_counters()
        t = time.perf_counter()
        plan = plan_push(stage, "alice/bench-GGUF")
        result = push(plan)
        repush_s = time.perf_counter() - t
        trips = len(hub.requests)
        budget = 2.0 + trips * rtt
        print(f"20-file release, {sum(p.stat().st_size for p in stage.iterdir()) / MiB:.0f} MiB, stand-in at {hub.url}")
        print(f"  first push: {first_s:.2f} s (hashing + plan {first_hash_s:.2f} s, "
              f"{first_plan.hashing.bytes_hashed / MiB:.0f} MiB hashed)")
        print(f"  re-push unchanged: {repush_s:.3f} s, {plan.hashing.bytes_hashed} bytes hashed "
              f"({plan.hashing.cache_hits} cache hits), {trips} round trips x {rtt * 1000:.1f} ms, "
              f"committed={result.committed}")
        print(f"  re-push vs first hash+plan: {first_hash_s / repush_s:.1f}x faster; "
              f"budget 2 s + round trips = {budget:.2f} s")
        if plan.hashing.bytes_hashed or result.committed or repush_s > budget:
            print("  FAIL: the re-push hashed, committed or took too long")
            ok = False

    hub.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
