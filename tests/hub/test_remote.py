"""Remote header reads (`hf://…`) against the loopback Hub stand-in: only the header is fetched."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from gguf import GGMLQuantizationType

import ggufs

from publish.cli import main
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


@pytest.fixture
def gemma_repo(hub, big_gemma, tiny_llama_path):
    path, header = big_gemma
    hub.put_file(REPO, NAME, path.read_bytes())
    hub.put_file(REPO, "sub/tiny-llama-F32.gguf", tiny_llama_path.read_bytes())
    hub.put_file(REPO, "README.md", b"---\nlicense: mit\n---\n")
    hub.reset_counters()
    return header


def test_open_hf_file_reads_the_header_and_not_the_tensor_data(hub, gemma_repo):
    with remote.open_hf_file(f"hf://{REPO}/{NAME}") as fh:
        header = read_header(fh, name=f"hf://{REPO}/{NAME}")
    assert header.data_offset == gemma_repo.data_offset
    assert len(header.tokens) == 262_144 and header.tokens[106] == "<end_of_turn>"
    assert gemma_repo.data_offset < hub.bytes_served[NAME] <= gemma_repo.data_offset + MiB


def test_seeking_back_fetches_nothing_again(hub, gemma_repo):
    with remote.open_hf_file(f"hf://{REPO}/{NAME}") as fh:
        first = fh.read(1000)
        fh.seek(10)
        assert fh.read(990) == first[10:]
        fh.seek(-4, 2)
        tail = fh.read(4)
        assert fh.requests == 2 and len(tail) == 4
        size = fh.size
    assert hub.bytes_served[NAME] == remote.BLOCK_SIZE + (size % remote.BLOCK_SIZE or remote.BLOCK_SIZE)


def test_inspect_hf_url(hub, gemma_repo):
    r = CliRunner().invoke(main, ["inspect", f"hf://{REPO}/{NAME}"])
    assert r.exit_code == 0, r.output
    assert "gemma3n" in r.output
    assert hub.bytes_served[NAME] <= gemma_repo.data_offset + MiB


def test_lint_a_whole_repo_reads_headers_only(hub, gemma_repo, tiny_llama_path):
    r = CliRunner().invoke(main, ["lint", f"hf://{REPO}"])
    assert r.exit_code in (0, 1), r.output
    assert "shared_kv_layers" in r.output                    # the broken gemma3n key, found remotely
    assert f"hf://{REPO}/sub/tiny-llama-F32.gguf" in r.output or "tiny-llama" in r.output
    assert set(hub.bytes_served) == {NAME, "sub/tiny-llama-F32.gguf"}
    assert hub.bytes_served[NAME] <= gemma_repo.data_offset + MiB
    tiny = read_header(tiny_llama_path)
    assert hub.bytes_served["sub/tiny-llama-F32.gguf"] <= tiny.data_offset + MiB


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
