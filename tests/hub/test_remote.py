"""Remote header reads (`hf://…`) against the loopback Hub stand-in (tests/standins/hub.py): the
requests and body bytes one read costs, as the stand-in counts them (resolve 302 + CDN ranges)."""

from __future__ import annotations

import hashlib
import mmap

import pytest
from click.testing import CliRunner
from gguf import GGMLQuantizationType

import ggufs
from publish.cli import main
from publish.errors import HubError, HubNotFound
from publish.gguf.reader import read_header
from publish.hub import remote

MiB = 1024 * 1024
REPO = "alice/gemma-3n-E4B-it-GGUF"
NAME = "gemma-3n-E4B-it-Q4_K_M.gguf"


@pytest.fixture(scope="session")
def big_gemma(tmp_path_factory):
    """262,144-token gemma3n header (~6.4 MB) followed by ~52 MB of tensor data."""
    path = tmp_path_factory.mktemp("remote") / NAME
    ggufs.write_gemma3n_like(path, extra_tensors=[("pad.weight", (4096, 3200), GGMLQuantizationType.F32)])
    assert path.stat().st_size > 50 * MiB
    return path, read_header(path)


@pytest.fixture(scope="session")
def real_gemma(gemma3_270m):
    """The real Gemma 3 270M GGUF (6.22 MiB header, 262,144 tokens), mapped, its sha256 once."""
    with open(gemma3_270m, "rb") as f:
        data = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    sha = hashlib.sha256(data).hexdigest()
    yield data, sha, read_header(gemma3_270m)
    data.close()


def _sized_gemma(path, header_size: int):
    """A gemma3n-like GGUF (tokens tok10000.., 24 header bytes per token) whose header is
    `header_size` bytes give or take one token, with 4 MiB of tensor data after it."""
    pad = [("pad.weight", (1024, 1024), GGMLQuantizationType.F32)]
    probe = read_header(ggufs.write_gemma3n_like(path, n_vocab=20_000, chat_template=None, extra_tensors=pad))
    n_vocab = 20_000 + (header_size - probe.header_size) // 24
    assert 10_000 < n_vocab < 100_000         # every extra token is "tokNNNNN": 24 bytes with score and type
    ggufs.write_gemma3n_like(path, n_vocab=n_vocab, chat_template=None, extra_tensors=pad)
    return read_header(path)


@pytest.fixture
def gemma_repo(hub, big_gemma, tiny_llama_path):
    path, header = big_gemma
    hub.put_file(REPO, NAME, path.read_bytes())
    hub.put_file(REPO, "sub/tiny-llama-F32.gguf", tiny_llama_path.read_bytes())
    hub.put_file(REPO, "README.md", b"---\nlicense: mit\n---\n")
    hub.reset_counters()
    return header


def _read(url: str):
    with remote.open_hf_file(url) as fh:
        return read_header(fh, name=url), fh


def _cost(hub, path: str) -> tuple[int, int]:
    """(HTTP requests, body bytes) the stand-in served for repo file `path`."""
    transfers = hub.file_transfers(path)
    return len(transfers), sum(t.sent for t in transfers)


# -- the target: a 6 MiB header in at most 4 requests and header + 1 MiB ------------------

def test_the_real_gemma_3_header_takes_at_most_4_requests_and_header_plus_1_mib(hub, real_gemma):
    data, sha, local = real_gemma
    hub.put_file("google/gemma-3-270m-GGUF", "gemma-3-270m-q4_k_m.gguf", data, sha256=sha)
    hub.reset_counters()
    header, _ = _read("hf://google/gemma-3-270m-GGUF/gemma-3-270m-q4_k_m.gguf")
    assert header.data_offset == local.data_offset == 6_525_120 and len(header.tokens) == 262_144
    assert header.tokens[106] == local.tokens[106]
    requests, sent = _cost(hub, "gemma-3-270m-q4_k_m.gguf")
    assert requests <= 4, hub.file_transfers("gemma-3-270m-q4_k_m.gguf")
    assert local.header_size < sent <= local.header_size + MiB


def test_the_synthetic_gemma3n_header_takes_at_most_4_requests(hub, gemma_repo):
    header, fh = _read(f"hf://{REPO}/{NAME}")
    assert header.data_offset == gemma_repo.data_offset and len(header.tokens) == 262_144
    assert header.tokens[106] == "<end_of_turn>"
    requests, sent = _cost(hub, NAME)
    assert requests <= 4 and gemma_repo.header_size < sent <= gemma_repo.header_size + MiB
    assert fh.transport.requests == requests and fh.transport.bytes_fetched == sent   # the client's count agrees


def test_the_first_range_follows_the_redirect_and_later_ranges_go_straight_to_the_cdn(hub, gemma_repo):
    _read(f"hf://{REPO}/{NAME}")
    first, *rest = hub.file_transfers(NAME)
    assert (first.method, first.status, first.range) == ("GET", 302, f"bytes=0-{remote.FIRST_RANGE - 1}")
    assert "/resolve/main/" in first.path and first.authorized          # the Hub gets the token ...
    assert rest and all(t.path.startswith("/standin-lfs/") and t.status == 206 for t in rest)
    assert not any(t.authorized for t in rest)                           # ... the CDN never does
    assert hub.count("HEAD") == 0                                        # Content-Range gave the size


def test_a_small_header_is_one_range(hub, tiny_llama_path):
    hub.put_file("alice/tiny", "tiny.gguf", tiny_llama_path.read_bytes())
    hub.put_file("alice/tiny", "tiny-git.gguf", tiny_llama_path.read_bytes(), lfs=False)
    hub.reset_counters()
    _read("hf://alice/tiny/tiny.gguf")
    _read("hf://alice/tiny/tiny-git.gguf")
    assert [t.status for t in hub.file_transfers("tiny.gguf")] == [302, 206]      # an LFS file: redirect + 1 range
    assert [t.status for t in hub.file_transfers("tiny-git.gguf")] == [206]       # a git file: 1 range


@pytest.mark.parametrize("over", [-8 * 1024, 8 * 1024, 600 * 1024])
def test_a_header_near_the_first_range_boundary(hub, tmp_path, over):
    """Just past the first range: one more range, not a cascade. Just inside it the same: the
    reader's own read-ahead (publish.gguf.reader scans string arrays in windows) asks for bytes
    past the first range, which one more range serves together with its final refill."""
    path = tmp_path / "edge.gguf"
    local = _sized_gemma(path, remote.FIRST_RANGE + over)
    assert abs(local.header_size - (remote.FIRST_RANGE + over)) <= 24
    hub.put_file("alice/edge", "edge.gguf", path.read_bytes())
    hub.reset_counters()
    header, _ = _read("hf://alice/edge/edge.gguf")
    assert header.data_offset == local.data_offset
    requests, sent = _cost(hub, "edge.gguf")
    assert requests == 3 if over > 0 else requests <= 3     # the redirect, the first range, one more
    assert sent <= local.header_size + MiB


def test_seeking_back_fetches_nothing_again_and_a_tail_read_only_the_tail(hub, gemma_repo):
    with remote.open_hf_file(f"hf://{REPO}/{NAME}") as fh:
        first = fh.read(1000)
        fh.seek(10)
        assert fh.read(990) == first[10:]
        fh.seek(-4, 2)
        tail = fh.read(4)
        fh.seek(-4, 2)
        assert fh.read(4) == tail and len(tail) == 4
        size = fh.size
    assert [t.range for t in hub.file_transfers(NAME) if t.status == 206] == [
        f"bytes=0-{remote.FIRST_RANGE - 1}", f"bytes={size - 4}-{size - 1}"]
    assert hub.bytes_served[NAME] == remote.FIRST_RANGE + 4


def test_an_expired_cdn_url_is_resolved_again(hub, gemma_repo):
    with remote.open_hf_file(f"hf://{REPO}/{NAME}") as fh:
        hub.expire_cdn_urls()          # the signed URL from the first range is past its lifetime
        header = read_header(fh, name=NAME)
    assert header.data_offset == gemma_repo.data_offset
    statuses = [t.status for t in hub.file_transfers(NAME)]
    assert statuses[:4] == [302, 206, 403, 302] and statuses[4:] and set(statuses[4:]) == {206}


def test_a_file_the_hub_serves_itself_is_read_at_one_commit(hub, big_gemma, tiny_llama_path):
    """A git (non-LFS) file: later ranges go to resolve/<the commit of the first>/…, so a push in
    between changes nothing the read sees."""
    path, local = big_gemma
    hub.put_file("alice/git", "m.gguf", path.read_bytes(), lfs=False)
    commit = hub.head("alice/git").oid
    hub.reset_counters()
    with remote.open_hf_file("hf://alice/git/m.gguf") as fh:
        hub.put_file("alice/git", "m.gguf", tiny_llama_path.read_bytes(), lfs=False)   # someone pushes
        header = read_header(fh, name="m.gguf")
    assert header.data_offset == local.data_offset
    first, *rest = hub.file_transfers("m.gguf")
    assert "/resolve/main/" in first.path and rest
    assert all(f"/resolve/{commit}/" in t.path and t.authorized for t in rest)


def test_a_revision_is_read_where_it_points(hub, gemma_repo, tiny_llama_path):
    old = hub.head(REPO).oid
    hub.put_file(REPO, NAME, tiny_llama_path.read_bytes())        # main moves on to another file
    hub.reset_counters()
    header, _ = _read(f"hf://{REPO}@{old}/{NAME}")
    assert header.data_offset == gemma_repo.data_offset
    assert f"/resolve/{old}/" in hub.file_transfers(NAME)[0].path


def test_a_file_that_is_not_a_gguf_is_read_as_asked(hub):
    """No header to plan from: a read fetches what it asks for, nothing speculative."""
    blob = bytes(range(256)) * (12 * 4096)        # 12 MiB
    hub.put_file("alice/other", "weights.bin", blob)
    hub.reset_counters()
    with remote.open_hf_file("hf://alice/other/weights.bin") as fh:
        assert fh.read(3 * MiB) == blob[:3 * MiB]
    assert hub.bytes_served["weights.bin"] == 3 * MiB


def test_a_server_that_ignores_ranges_is_refused_without_reading_the_body(hub, gemma_repo):
    """A 200 with the whole file (here 56 MiB; on the Hub multi-GB) is not read into memory
    (huggingface.js#1979 rejects non-206 answers for the same reason)."""
    hub.ignore_ranges = True
    r = CliRunner().invoke(main, ["inspect", f"hf://{REPO}/{NAME}"])
    assert r.exit_code == 2 and "ignored the byte range" in r.output, r.output
    from huggingface_hub import hf_hub_url

    ranges = remote.HubRanges(hf_hub_url(REPO, NAME, endpoint=hub.url), {}, NAME, repo_id=REPO, path=NAME,
                              endpoint=hub.url)
    with pytest.raises(HubError, match="ignored the byte range"):
        ranges.first(remote.FIRST_RANGE)
    assert ranges.bytes_fetched == 0


def test_an_empty_file_is_a_gguf_error_not_a_crash(hub):
    hub.put_file("alice/empty", "empty.gguf", b"", lfs=False)
    r = CliRunner().invoke(main, ["inspect", "hf://alice/empty/empty.gguf"])
    assert r.exit_code == 2 and "empty.gguf" in r.output and "Traceback" not in r.output


def test_inspect_hf_url(hub, gemma_repo):
    r = CliRunner().invoke(main, ["inspect", f"hf://{REPO}/{NAME}"])
    assert r.exit_code == 0, r.output
    assert "gemma3n" in r.output
    requests, sent = _cost(hub, NAME)
    assert requests <= 4 and sent <= gemma_repo.header_size + MiB


def test_a_person_at_a_terminal_sees_the_remote_read_on_stderr_json_stays_clean(hub, gemma_repo, terminal):
    import json

    r = CliRunner().invoke(main, ["inspect", f"hf://{REPO}/{NAME}", "--format", "json"])
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["path"] == f"hf://{REPO}/{NAME}"
    frames = [f for f in r.stderr.split("\r") if f.startswith(f"read hf://{REPO}/{NAME}: ")]
    assert frames and frames[0].split(": ", 1)[1].startswith("1.00MB ")   # the first range, 1 MiB
    quiet = CliRunner().invoke(main, ["inspect", f"hf://{REPO}/{NAME}", "--format", "json", "--quiet"])
    assert quiet.exit_code == 0 and quiet.stderr == "" and json.loads(quiet.stdout) == json.loads(r.stdout)

def test_lint_a_whole_repo_reads_headers_only(hub, gemma_repo, tiny_llama_path):
    r = CliRunner().invoke(main, ["lint", f"hf://{REPO}"])
    assert r.exit_code in (0, 1), r.output
    assert "shared_kv_layers" in r.output                    # the broken gemma3n key, found remotely
    assert f"hf://{REPO}/sub/tiny-llama-F32.gguf" in r.output or "tiny-llama" in r.output
    assert set(hub.bytes_served) == {NAME, "sub/tiny-llama-F32.gguf"}
    requests, sent = _cost(hub, NAME)
    assert requests <= 4 and sent <= gemma_repo.header_size + MiB
    tiny = read_header(tiny_llama_path)
    assert _cost(hub, "sub/tiny-llama-F32.gguf")[1] <= tiny.data_offset + MiB


def test_list_gguf_urls_keeps_the_revision(hub, gemma_repo):
    head = hub.head(REPO).oid
    assert remote.list_gguf_urls(f"hf://{REPO}@{head}") == [
        f"hf://{REPO}@{head}/{NAME}", f"hf://{REPO}@{head}/sub/tiny-llama-F32.gguf"]


@pytest.mark.parametrize("url, message", [
    ("hf://alice/missing/x.gguf", "repo alice/missing not found"),
    (f"hf://{REPO}@nope/{NAME}", "revision 'nope' does not exist"),
    (f"hf://{REPO}/missing.gguf", "file not found"),
    ("hf://carol/gated/model.gguf", "gated repo"),
])
def test_remote_read_errors(hub, gemma_repo, url, message):
    hub.create_repo("carol/gated", gated=True)
    r = CliRunner().invoke(main, ["inspect", url])
    assert r.exit_code == 2
    assert message in r.output


def test_a_missing_file_is_the_typed_not_found_error(hub, gemma_repo):
    with pytest.raises(HubNotFound, match="file not found"):
        with remote.open_hf_file(f"hf://{REPO}/missing.gguf"):
            pass
